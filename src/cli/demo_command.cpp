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
#include "s3/s3_destination.hpp"
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
  int compression_threads = 0;
  std::string account_id = "111122223333";
  std::vector<std::string> regions;  // empty = us-east-1
  std::string trail_name = "trailkit-demo";
  std::string endpoint_url;              // S3 endpoint (moto, MinIO, LocalStack); default from env / ~/.aws
  std::string state_dir = "./.trailkit";  // S3 spool, digest chain, signing key, trail.json
  double digest_interval_seconds = 3600;  // CloudTrail: one hour
  std::string key_file;                   // "" = <state_dir>/keys/digest-key.pem, generated once
  bool no_digests = false;
  bool no_history = false;
  bool allow_insecure_key = false;
  std::string s3_preset;                 // aws | localstack | minio
  double delivery_timeout_seconds = 60;  // how long to wait for the bucket to confirm everything
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

  std::shared_ptr<s3::S3Destination> s3_destination;  // set for s3:// destinations
  std::unique_ptr<Recorder> recorder;
  try {
    RecorderOptions options;
    options.account_id = args.account_id;
    options.region = args.regions.front();
    options.trail_name = args.trail_name;
    options.roll_interval =
        std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(args.roll_interval_seconds * 1000)));
    options.compression.codec = parse_compression(args.compression);
    options.compression.threads = args.compression_threads;
    if (args.destination.rfind("s3://", 0) == 0) {
      auto [bucket, prefix] = s3::parse_s3_url(args.destination);
      s3::S3DestinationOptions s3_options;
      s3_options.bucket = bucket;
      s3_options.state_dir = args.state_dir;
      s3_options.settings.preset = args.s3_preset;
      if (!args.endpoint_url.empty()) s3_options.settings.endpoint_url = args.endpoint_url;
      if (!args.regions.empty() && args.regions.front() != "us-east-1") s3_options.settings.region = args.regions.front();
      s3_destination = s3::S3Destination::create(std::move(s3_options));
      options.destination = s3_destination;
      options.key_prefix = prefix;
    } else {
      options.local_directory.root = args.destination;
    }
    options.state_dir = args.state_dir;
    options.digest.enabled = !args.no_digests;
    options.history.enabled = !args.no_history;
    options.digest.interval = std::chrono::seconds(std::llround(args.digest_interval_seconds));
    options.digest.private_key_file = args.key_file;
    options.digest.allow_insecure_key_permissions = args.allow_insecure_key;
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
  const std::string root = s3_destination ? s3_destination->describe()
                                          : std::filesystem::absolute(args.destination, ignored).lexically_normal().string();
  std::printf("trailkit demo: %u thread(s), %s events/s, %.1f s, regions", args.threads,
              args.rate == 0 ? "unlimited" : std::to_string(args.rate).c_str(), args.duration_seconds);
  for (const std::string& region : args.regions) std::printf(" %s", region.c_str());
  std::printf(", writing to %s\n", root.c_str());
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

  bool delivered = true;
  if (s3_destination) {
    // Sealed files are durable in the spool; wait for the bucket to confirm them.
    delivered = s3_destination->wait_until_delivered(std::chrono::milliseconds(
        static_cast<std::int64_t>(args.delivery_timeout_seconds * 1000)));
    s3_destination->shutdown(std::chrono::seconds(10));
  }
  std::printf("\ndestination:   %s\n", root.c_str());
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
  if (s3_destination) {
    const s3::DeliveryStatus d = s3_destination->status();
    std::printf("delivered %llu objects (%s) to the bucket, %llu waiting in the spool %s, %llu quarantined, "
                "%llu failed attempts%s%s\n",
                static_cast<unsigned long long>(d.delivered_objects), human_bytes(d.delivered_bytes).c_str(),
                static_cast<unsigned long long>(d.backlog_objects), (args.state_dir + "/spool").c_str(),
                static_cast<unsigned long long>(d.quarantined), static_cast<unsigned long long>(d.failed_attempts),
                d.latest_delivery_error.empty() ? "" : "; latest error: ", d.latest_delivery_error.c_str());
  }
  if (!args.no_digests) {
    std::printf("digest files written: %llu (every %.0f s and at shutdown; state in %s)%s\n",
                static_cast<unsigned long long>(stats.digests_written), args.digest_interval_seconds,
                args.state_dir.c_str(), stats.digest_errors != 0 ? "; some digest deliveries failed and are retried" : "");
  }
  if (!args.no_history) {
    std::printf("event history: %llu events added (%llu not added) in %s/history.sqlite3; try `trailkit lookup "
                "--state-dir %s --max-results 5`\n",
                static_cast<unsigned long long>(stats.history_written),
                static_cast<unsigned long long>(stats.history_dropped), args.state_dir.c_str(), args.state_dir.c_str());
  }
  if (!shut_down) std::fprintf(stderr, "trailkit demo: shutdown did not finish within 30 s\n");
  if (!delivered) std::fprintf(stderr, "trailkit demo: not every file reached the bucket (kept in the spool)\n");
  return shut_down && delivered && stats.dropped == 0 ? kExitOk : kExitFailure;
}

}  // namespace

void add_demo_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<DemoArgs>();
  CLI::App* demo = app.add_subcommand("demo", "Run a simulated AWS-like service and record its calls as CloudTrail logs");
  demo->add_option("--destination", args->destination, "A local directory, or s3://BUCKET[/PREFIX]")
      ->capture_default_str();
  demo->add_option("--endpoint-url", args->endpoint_url, "S3 endpoint (default: AWS_ENDPOINT_URL_S3, ~/.aws, AWS)");
  demo->add_option("--state-dir", args->state_dir,
                   "State directory: S3 spool, digest chain, signing key, trail.json (read by `trailkit serve`)")
      ->capture_default_str();
  demo->add_option("--digest-interval", args->digest_interval_seconds,
                   "Seconds per digest file (log-file integrity validation; CloudTrail: 3600)")
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str();
  demo->add_option("--key", args->key_file,
                   "PEM RSA private key that signs digests (default: STATE_DIR/keys/digest-key.pem, generated once)");
  demo->add_flag("--allow-insecure-key", args->allow_insecure_key,
                 "Accept a signing key file readable by group or others");
  demo->add_flag("--no-digests", args->no_digests, "Do not write digest files");
  demo->add_flag("--no-history", args->no_history, "Do not keep the event history (LookupEvents)");
  demo->add_option("--s3-preset", args->s3_preset, "S3 preset: aws, localstack (:4566 test/test), minio (:9000)")
      ->check(CLI::IsMember({"aws", "localstack", "minio"}));
  demo->add_option("--delivery-timeout", args->delivery_timeout_seconds,
                   "Seconds to wait for the bucket to confirm every file")
      ->check(CLI::PositiveNumber)
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
  demo->add_option("--compression-threads", args->compression_threads,
                   "zstd only: threads compressing beside the worker (0..8)")
      ->check(CLI::Range(0, 8))
      ->capture_default_str();
  demo->add_option("--account-id", args->account_id, "12-digit account id of the events")->capture_default_str();
  demo->add_option("--region", args->regions, "Region to spread calls over (repeatable; default us-east-1)")
      ->type_name("REGION");
  demo->add_option("--trail-name", args->trail_name, "Trail name")->capture_default_str();
  demo->callback([args, &exit_code] { exit_code = run_demo(*args); });
}

}  // namespace trailkit::cli
