// `trailkit demo` — T threads each run a SimulatedService and emit its calls through one Recorder
// at rate/T events per second for the duration, then shut down and print what was written.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cli/commands.hpp"
#include "simulated_service/simulated_service.hpp"
#include "trailkit/recorder.hpp"

namespace trailkit::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct DemoArgs {
  std::string destination = "./trail-data";
  double duration_seconds = 10;
  std::uint64_t rate = 2000;
  unsigned threads = 2;
  double roll_interval_seconds = 5;  // the demo is short; the SDK default is 300 s
  std::string compression = "gzip";
  std::string account_id = "111122223333";
  std::vector<std::string> regions;  // empty = us-east-1
  std::string trail_name = "trailkit-demo";
};

// What one emitting thread saw; merged after join.
struct ThreadReport {
  std::map<std::string_view, std::uint64_t> by_event_name;  // keys are static strings
};

constexpr std::size_t kMaxListedFiles = 20;
// Pacing granularity: each thread emits a small batch, then sleeps until the next one is due.
constexpr double kBatchesPerSecond = 200;

void emit_for(Recorder& recorder, examples::SimulatedServiceOptions service_options, double rate,
              Clock::time_point start, Clock::time_point end, ThreadReport& report) {
  examples::SimulatedService service(std::move(service_options));
  Event event;
  const auto emit_one = [&] {
    ++report.by_event_name[service.next_call(event)];
    recorder.emit(event);  // drops are counted by the recorder and reported from its stats
  };
  if (rate <= 0) {  // as fast as possible
    while (Clock::now() < end) {
      for (int i = 0; i < 256; ++i) emit_one();
    }
    return;
  }
  const auto batch = static_cast<std::uint64_t>(std::max(1.0, std::round(rate / kBatchesPerSecond)));
  const auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
      static_cast<double>(batch) / rate));
  // A thread that falls behind catches up at full speed (sleep_until returns at once) but never
  // runs past the end.
  for (auto due = start; due < end && Clock::now() < end; due += period) {
    std::this_thread::sleep_until(due);
    for (std::uint64_t i = 0; i < batch; ++i) emit_one();
  }
}

std::string human_bytes(std::uint64_t bytes) {
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, kUnits[unit]);
  return text;
}

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

int run_demo(DemoArgs args) {
  if (args.regions.empty()) args.regions = {"us-east-1"};

  // Declared before the recorder: the worker calls on_file_sealed until shutdown.
  std::mutex sealed_mutex;
  std::vector<SealedFile> sealed;

  std::unique_ptr<Recorder> recorder;
  try {
    RecorderOptions options;
    options.account_id = args.account_id;
    options.region = args.regions.front();
    options.trail_name = args.trail_name;
    options.roll_interval =
        std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(args.roll_interval_seconds * 1000)));
    options.compression.codec = parse_compression(args.compression);
    options.local_directory.root = args.destination;
    options.on_file_sealed = [&](const SealedFile& file) {
      const std::lock_guard lock(sealed_mutex);
      sealed.push_back(file);
    };
    // Every region the service will use must pass the recorder's own rule, not only the first.
    for (const std::string& region : args.regions) {
      RecorderOptions probe = options;
      probe.region = region;
      probe.validate();
    }
    recorder = Recorder::create(std::move(options));
  } catch (const std::invalid_argument& error) {
    std::fprintf(stderr, "trailkit: error: %s\n", error.what());
    return kExitUsage;
  } catch (const std::exception& error) {  // the destination cannot be created or opened
    std::fprintf(stderr, "trailkit: error: %s\n", error.what());
    return kExitFailure;
  }

  std::error_code ignored;
  const std::filesystem::path root = std::filesystem::absolute(args.destination, ignored).lexically_normal();
  std::printf("trailkit demo: %u thread(s), %s events/s, %.1f s, regions", args.threads,
              args.rate == 0 ? "unlimited" : std::to_string(args.rate).c_str(), args.duration_seconds);
  for (const std::string& region : args.regions) std::printf(" %s", region.c_str());
  std::printf(", writing to %s\n", root.string().c_str());
  std::fflush(stdout);

  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(args.duration_seconds));
  std::vector<ThreadReport> reports(args.threads);
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < args.threads; ++i) {
    examples::SimulatedServiceOptions service;
    service.account_id = args.account_id;
    service.regions = args.regions;
    service.seed = 1 + i;  // deterministic per thread, distinct across threads
    threads.emplace_back(emit_for, std::ref(*recorder), std::move(service),
                         static_cast<double>(args.rate) / args.threads, start, end, std::ref(reports[i]));
  }
  for (std::thread& thread : threads) thread.join();
  const auto emitted = Clock::now();
  const bool shut_down = recorder->shutdown(std::chrono::seconds(30));
  const auto finished = Clock::now();
  const Stats stats = recorder->stats();

  std::map<std::string_view, std::uint64_t> by_event_name;
  for (const ThreadReport& report : reports) {
    for (const auto& [name, count] : report.by_event_name) by_event_name[name] += count;
  }
  std::vector<std::string> keys;
  {
    const std::lock_guard lock(sealed_mutex);
    for (const SealedFile& file : sealed) keys.push_back(file.key);
  }
  std::sort(keys.begin(), keys.end());

  std::printf("\ndestination:   %s\n", root.string().c_str());
  std::printf("files written: %llu\n", static_cast<unsigned long long>(stats.files_written));
  for (std::size_t i = 0; i < keys.size() && i < kMaxListedFiles; ++i) std::printf("  %s\n", keys[i].c_str());
  if (keys.size() > kMaxListedFiles) std::printf("  ... (%zu more)\n", keys.size() - kMaxListedFiles);
  std::printf("events by eventName:\n");
  for (const auto& [name, count] : by_event_name) {
    std::printf("  %-20.*s %10llu\n", static_cast<int>(name.size()), name.data(),
                static_cast<unsigned long long>(count));
  }
  std::printf("accepted %llu, written %llu, dropped %llu, pending %llu\n",
              static_cast<unsigned long long>(stats.accepted), static_cast<unsigned long long>(stats.written),
              static_cast<unsigned long long>(stats.dropped), static_cast<unsigned long long>(stats.pending));
  if (stats.dropped != 0) {
    std::printf("  dropped: %llu buffer full, %llu invalid, %llu too large, %llu write failed\n",
                static_cast<unsigned long long>(stats.dropped_full),
                static_cast<unsigned long long>(stats.dropped_invalid),
                static_cast<unsigned long long>(stats.dropped_too_large),
                static_cast<unsigned long long>(stats.dropped_write_failed));
  }
  const double ratio = stats.bytes_compressed == 0
                           ? 0.0
                           : static_cast<double>(stats.bytes_uncompressed) / static_cast<double>(stats.bytes_compressed);
  std::printf("compressed %s from %s of JSON (ratio %.1fx, %s)\n", human_bytes(stats.bytes_compressed).c_str(),
              human_bytes(stats.bytes_uncompressed).c_str(), ratio, args.compression.c_str());
  const double emit_seconds = seconds_between(start, emitted);
  std::printf("elapsed %.2f s (emitting %.2f s at %.0f events/s, shutdown %.2f s)\n",
              seconds_between(start, finished), emit_seconds,
              emit_seconds > 0 ? static_cast<double>(stats.accepted) / emit_seconds : 0.0,
              seconds_between(emitted, finished));
  if (!shut_down) std::fprintf(stderr, "trailkit demo: shutdown did not finish within 30 s\n");
  return shut_down && stats.dropped == 0 ? kExitOk : kExitFailure;
}

}  // namespace

void add_demo_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* demo = app.add_subcommand("demo", "Run a simulated AWS-like service and record its calls as CloudTrail logs");
  demo->add_option("--destination", args->destination, "Directory that plays the S3 bucket")
      ->capture_default_str();
  demo->add_option("--duration", args->duration_seconds, "Seconds to emit for")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  demo->add_option("--rate", args->rate, "Events per second in total (0 = as fast as possible)")
      ->capture_default_str();
  demo->add_option("--threads", args->threads, "Emitting threads, each with its own simulated service")
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  demo->add_option("--roll-interval", args->roll_interval_seconds, "Seconds before an open log file is sealed")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  demo->add_option("--compression", args->compression, "Log-file codec")
      ->check(CLI::IsMember({"gzip", "zstd"}))
      ->capture_default_str();
  demo->add_option("--account-id", args->account_id, "12-digit account id of the events")->capture_default_str();
  demo->add_option("--region", args->regions, "Region to spread calls over (repeatable; default us-east-1)")
      ->type_name("REGION");
  demo->add_option("--trail-name", args->trail_name, "Trail name")->capture_default_str();
  demo->callback([args, &exit_code] { exit_code = run_demo(*args); });
}

}  // namespace trailkit::cli
