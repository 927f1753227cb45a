// End to end on local storage: many threads emit through the real Recorder into the real
// local-directory destination; every file is read back from disk and checked against the format
// rules of the spec (§0-§3); every eventID must appear exactly once; the counters must add up.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <unistd.h>

#include "simulated_service/simulated_service.hpp"
#include "support/files.hpp"
#include "support/log_file_checks.hpp"
#include "trailkit/recorder.hpp"

namespace trailkit {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using testing::read_file;
using testing::TempDir;

// Reads every object under root back, checks it, and returns (key -> records).
std::vector<std::pair<std::string, nlohmann::json>> read_all(const fs::path& root) {
  std::vector<std::pair<std::string, nlohmann::json>> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    const std::string key = fs::relative(entry.path(), root).string();
    EXPECT_FALSE(key.starts_with(".trailkit-tmp")) << "temp file left behind: " << key;
    // Log files only: digests (CloudTrail-Digest/) and their metadata sidecars have their own tests.
    if (key.find("/CloudTrail/") == std::string::npos || key.starts_with(".trailkit-metadata")) continue;
    files.emplace_back(key, testing::check_log_file(key, read_file(entry.path())));
  }
  return files;
}

std::size_t events_per_thread() {
  // The scale is 4 x 250,000; the sanitizer pass (much slower) may scale it down.
  if (const char* v = std::getenv("TRAILKIT_STRESS_EVENTS_PER_THREAD")) return std::strtoul(v, nullptr, 10);
  return 250'000;
}

void run_producers_and_check(Compression codec, std::size_t threads, std::size_t per_thread) {
  TempDir dir;
  RecorderOptions options;
  options.account_id = "111122223333";
  options.region = "us-east-1";
  options.local_directory.root = dir.path().string();
  options.roll_interval = 1s;
  options.compression.codec = codec;
  options.overflow_policy = OverflowPolicy::kDrop;
  auto recorder = Recorder::create(options);

  std::atomic<std::uint64_t> ok{0}, dropped{0};
  // Each thread records which of its events were accepted; only those may (and must) appear.
  std::vector<std::vector<char>> accepted(threads, std::vector<char>(per_thread, 0));
  std::vector<std::thread> producers;
  for (std::size_t t = 0; t < threads; ++t) {
    producers.emplace_back([&, t] {
      examples::SimulatedServiceOptions sim;
      sim.account_id = "111122223333";
      sim.regions = {"us-east-1", "eu-west-1"};
      sim.seed = 1000 + t;
      examples::SimulatedService service(sim);
      char id[48];
      Event event;
      for (std::size_t i = 0; i < per_thread; ++i) {
        service.next_call(event);
        // A recognisable UUID-shaped eventID: thread in the first group, sequence in the last.
        std::snprintf(id, sizeof id, "%08x-0000-4000-8000-%012llx", static_cast<unsigned>(t),
                      static_cast<unsigned long long>(i));
        event.set(Field::kEventId, std::string_view(id, 36));
        EmitStatus status = recorder->emit(event);
        if (status == EmitStatus::kDroppedFull) dropped.fetch_add(1);
        // Half the events retry (what a caller that must not lose an event does), half accept the
        // drop: both paths are exercised, and every kDroppedFull must be counted exactly once.
        while (status == EmitStatus::kDroppedFull && (i % 2) == 0) {
          std::this_thread::sleep_for(std::chrono::microseconds(200));
          status = recorder->emit(event);
          if (status == EmitStatus::kDroppedFull) dropped.fetch_add(1);
        }
        if (status == EmitStatus::kOk) {
          accepted[t][i] = 1;
          ok.fetch_add(1);
        } else {
          ASSERT_EQ(status, EmitStatus::kDroppedFull);
        }
      }
    });
  }
  for (auto& p : producers) p.join();
  ASSERT_TRUE(recorder->shutdown(120s));
  const Stats stats = recorder->stats();
  EXPECT_EQ(stats.accepted, stats.written + stats.dropped + stats.pending);
  EXPECT_EQ(stats.pending, 0u);
  EXPECT_EQ(stats.written, ok.load());
  EXPECT_EQ(stats.dropped_full, dropped.load());
  EXPECT_EQ(stats.dropped, stats.dropped_full);

  const auto files = read_all(dir.path());
  EXPECT_EQ(files.size(), stats.files_written);
  std::vector<std::vector<char>> seen(threads, std::vector<char>(per_thread, 0));
  std::size_t records = 0;
  for (const auto& [key, file_records] : files) {
    for (const auto& r : file_records) {
      ++records;
      const std::string id = r["eventID"];
      const std::size_t t = std::stoul(id.substr(0, 8), nullptr, 16);
      const std::size_t i = std::stoul(id.substr(24), nullptr, 16);
      ASSERT_LT(t, threads);
      ASSERT_LT(i, per_thread);
      ASSERT_EQ(seen[t][i], 0) << "eventID " << id << " appears twice";
      ASSERT_EQ(accepted[t][i], 1) << "eventID " << id << " was not accepted but was written";
      seen[t][i] = 1;
      // The file's folders match the record's routing fields.
      ASSERT_NE(key.find("/" + r["recipientAccountId"].get<std::string>() + "/CloudTrail/" +
                         r["awsRegion"].get<std::string>() + "/"),
                std::string::npos)
          << key;
    }
  }
  EXPECT_EQ(records, ok.load());
  EXPECT_EQ(seen, accepted) << "an accepted event is missing from the files";
}

TEST(PipelineIntegrationTest, FourProducersEveryEventExactlyOnceGzip) {
  run_producers_and_check(Compression::kGzip, 4, events_per_thread());
}

TEST(PipelineIntegrationTest, TwoProducersEveryEventExactlyOnceZstd) {
  run_producers_and_check(Compression::kZstd, 2, events_per_thread() / 5);
}

TEST(PipelineIntegrationTest, HostileKeyPrefixIsASetupErrorAndWritesNothing) {
  TempDir dir;
  const fs::path root = dir.path() / "root";
  for (const char* prefix : {"../../etc", "/abs", "a/../../b", "%2e%2e/x", "a\\b", "a//b"}) {
    RecorderOptions options;
    options.account_id = "111122223333";
    options.local_directory.root = root.string();
    options.key_prefix = prefix;
    try {
      Recorder::create(options);
      ADD_FAILURE() << "prefix accepted: " << prefix;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("key_prefix"), std::string::npos) << e.what();
    }
  }
  // Nothing was created anywhere, not even the root.
  EXPECT_FALSE(fs::exists(root));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 0);
}

TEST(PipelineIntegrationTest, BadEventsNeverCorruptAFileOnDisk) {
  TempDir dir;
  RecorderOptions options;
  options.account_id = "111122223333";
  options.local_directory.root = dir.path().string();
  auto recorder = Recorder::create(options);
  const std::string nul_and_controls("a\0b\x01\x1f\x7f\"\\\n", 9);
  const std::string invalid_utf8 = "\xff\xfe\xC0\xAF\xED\xA0\x80";
  const std::string huge = "{\"k\":\"" + std::string(1 << 20, 'x') + "\"}";
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  std::vector<std::string> inputs = {nul_and_controls, invalid_utf8, huge, deep, "{\"unterminated\":"};
  for (const auto& in : inputs) {
    EventBuilder b("iam.amazonaws.com", in);
    b.user_agent(in).error(in, in).request_parameters(in).response_elements(in).additional_event_data(in)
        .source_ip(in).user_name(in);
    ASSERT_EQ(recorder->emit(b.build()), EmitStatus::kOk);
  }
  // A good event in the same file must come through intact.
  EventBuilder good("sts.amazonaws.com", "GetCallerIdentity");
  good.request_parameters("{}").event_id("00000000-0000-4000-8000-000000000001");
  ASSERT_EQ(recorder->emit(good.build()), EmitStatus::kOk);
  ASSERT_TRUE(recorder->shutdown(30s));
  const auto files = read_all(dir.path());
  ASSERT_EQ(files.size(), 1u);
  ASSERT_EQ(files[0].second.size(), inputs.size() + 1);
  bool found_good = false;
  for (const auto& r : files[0].second) {
    if (r["eventID"] == "00000000-0000-4000-8000-000000000001") {
      found_good = true;
      EXPECT_EQ(r["requestParameters"], nlohmann::json::object());
    }
  }
  EXPECT_TRUE(found_good);
  EXPECT_GT(recorder->stats().fields_omitted, 0u);
}

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

TEST(PipelineIntegrationTest, MemoryStaysFlatHoweverLargeAFileGrows) {
  // One file of ~450 MB of JSON: the process must not hold the file, only a chunk of it.
  TempDir dir;
  RecorderOptions options;
  options.account_id = "111122223333";
  options.local_directory.root = dir.path().string();
  options.local_directory.fsync = false;
  options.roll_interval = std::chrono::hours(1);
  options.max_file_bytes = 4'000'000'000;
  options.buffer_bytes = 8u << 20;
  options.overflow_policy = OverflowPolicy::kBlock;
  options.block_timeout = std::chrono::seconds(10);
  auto recorder = Recorder::create(options);
  examples::SimulatedService service(examples::SimulatedServiceOptions{});
  Event event;
  for (int i = 0; i < 1000; ++i) {  // warm up: buffer, compressor and chunk buffers exist now
    service.next_call(event);
    ASSERT_EQ(recorder->emit(event), EmitStatus::kOk);
  }
  ASSERT_TRUE(recorder->flush(30s));
  const std::size_t baseline = resident_bytes();
  std::size_t peak = baseline;
  const std::size_t events = std::getenv("TRAILKIT_STRESS_EVENTS_PER_THREAD") ? 30'000 : 300'000;
  for (std::size_t i = 0; i < events; ++i) {
    service.next_call(event);
    ASSERT_EQ(recorder->emit(event), EmitStatus::kOk);
    if (i % 10'000 == 0) peak = std::max(peak, resident_bytes());
  }
  ASSERT_TRUE(recorder->shutdown(120s));
  const Stats s = recorder->stats();
  EXPECT_EQ(s.files_written, 2u);  // the warm-up file and the big one
  EXPECT_GT(s.bytes_uncompressed, events * 1000);
  // The ring (8 MiB) fills as it wraps; everything else is a few MiB of chunks and codec state.
  EXPECT_LT(peak - baseline, std::size_t{40} << 20)
      << "resident memory grew by " << (peak - baseline) / (1 << 20) << " MiB while writing "
      << s.bytes_uncompressed / (1 << 20) << " MiB of JSON into one file";
}

#ifdef TRAILKIT_CLI_PATH
// The README's first command, minus the build: the demo writes files that `trailkit cat` reads back.
TEST(PipelineIntegrationTest, DemoCommandWritesFilesThatCatReads) {
  const std::string cli = TRAILKIT_CLI_PATH;
  if (cli.empty()) GTEST_SKIP() << "CLI not built";
  TempDir dir;
  const fs::path out = dir.path() / "trail-data";
  const std::string demo = cli + " demo --destination " + out.string() + " --state-dir " +
                           (dir.path() / "state").string() + " --duration 2 --rate 3000 --threads 2 --roll-interval 1 --region us-east-1"
                           " --region eu-west-1 > " + (dir.path() / "demo.txt").string() + " 2>&1";
  ASSERT_EQ(std::system(demo.c_str()), 0) << read_file(dir.path() / "demo.txt");
  const std::string summary = read_file(dir.path() / "demo.txt");
  EXPECT_NE(summary.find("dropped 0"), std::string::npos) << summary;
  EXPECT_NE(summary.find("AssumeRole"), std::string::npos) << summary;
  // Digests are on by default in the demo: one per region at shutdown at least.
  EXPECT_NE(summary.find("digest files written: 2"), std::string::npos) << summary;
  const auto files = read_all(out);
  ASSERT_GE(files.size(), 2u);  // two regions at least, several 1-second rolls
  std::size_t records = 0, data_events = 0, failures = 0;
  for (const auto& [key, recs] : files) {
    for (const auto& r : recs) {
      ++records;
      if (r["eventCategory"] == "Data") ++data_events;
      if (r.contains("errorCode") || r.contains("errorMessage")) ++failures;
    }
  }
  EXPECT_GT(records, 4000u);
  EXPECT_GT(data_events, 0u);
  EXPECT_GT(failures, 0u);
  // `trailkit cat` prints one compact record per line.
  const std::string cat = cli + " cat " + (out / files[0].first).string() + " > " + (dir.path() / "cat.txt").string();
  ASSERT_EQ(std::system(cat.c_str()), 0);
  std::ifstream lines(dir.path() / "cat.txt");
  std::string line;
  std::size_t n = 0;
  while (std::getline(lines, line)) {
    EXPECT_TRUE(nlohmann::json::accept(line));
    ++n;
  }
  EXPECT_EQ(n, files[0].second.size());
}
#endif

}  // namespace
}  // namespace trailkit
