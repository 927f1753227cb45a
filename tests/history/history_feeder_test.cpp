// The recorder feeds the event history off the emit path: every management event written to a log
// file reaches the history with its exact record; data events do not; a slow or failing history
// never stalls the log files, and its lag and losses are visible in the counters.
#include <gtest/gtest.h>

#include <chrono>
#include <iterator>
#include <algorithm>
#include <sstream>
#include <fstream>
#include <filesystem>
#include <cstdio>
#include <ctime>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/files.hpp"
#include "support/log_file_checks.hpp"
#include "history/history_feeder.hpp"
#include "trailkit/clock.hpp"
#include "trailkit/history.hpp"
#include "trailkit/in_memory_destination.hpp"
#include "trailkit/recorder.hpp"

namespace trailkit {
namespace {

using namespace std::chrono_literals;

// A store that keeps what it is given and can be held (a slow disk) or made to fail.
class RecordingHistory final : public EventHistory {
 public:
  void add(const std::vector<HistoryRecord>& records) override {
    std::unique_lock lock(mutex_);
    released_.wait(lock, [&] { return !held_; });
    if (fail_) throw std::runtime_error("disk full (injected)");
    ++add_calls_;
    for (const HistoryRecord& r : records) by_id_.emplace(r.event_id, r);
  }
  LookupResult lookup(const LookupRequest&, std::int64_t) const override { return {}; }
  std::uint64_t prune(std::int64_t) override { return 0; }
  std::uint64_t size() const override {
    std::lock_guard lock(mutex_);
    return by_id_.size();
  }
  void hold(bool held) {
    {
      std::lock_guard lock(mutex_);
      held_ = held;
    }
    released_.notify_all();
  }
  void fail(bool fail) {
    std::lock_guard lock(mutex_);
    fail_ = fail;
  }
  int add_calls() const {
    std::lock_guard lock(mutex_);
    return add_calls_;
  }
  std::map<std::string, HistoryRecord> records() const {
    std::lock_guard lock(mutex_);
    return by_id_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable released_;
  int add_calls_ = 0;
  bool held_ = false;
  bool fail_ = false;
  std::map<std::string, HistoryRecord> by_id_;
};

Event management_event(int i, std::int64_t base = 1714557600) {
  EventBuilder b("iam.amazonaws.com", i % 2 ? "CreateUser" : "GetUser");
  b.region("us-east-1").source_ip("203.0.113.10").read_only(i % 2 == 0).event_time(base + i);
  return b.build();
}

Event data_event(int i) {
  EventBuilder b("s3.amazonaws.com", "GetObject");
  b.region("us-east-1").source_ip("203.0.113.10").category(EventCategory::kData).event_time(1714557600 + i);
  return b.build();
}

struct Fixture {
  std::shared_ptr<InMemoryDestination> destination = std::make_shared<InMemoryDestination>();
  std::shared_ptr<RecordingHistory> history = std::make_shared<RecordingHistory>();
  std::vector<ErrorReport> errors;
  std::mutex errors_mutex;

  RecorderOptions options() {
    RecorderOptions o;
    o.account_id = "111122223333";
    o.destination = destination;
    o.buffer_bytes = 4u << 20;
    o.history.enabled = true;
    o.history.store = history;
    o.history.max_queue_bytes = 1u << 20;
    o.error_handler = [this](const ErrorReport& r) {
      std::lock_guard lock(errors_mutex);
      errors.push_back(r);
    };
    return o;
  }
};

TEST(HistoryFeederTest, ManagementEventsReachTheHistoryWithTheirExactRecord) {
  Fixture f;
  auto recorder = Recorder::create(f.options());
  for (int i = 0; i < 500; ++i) {
    ASSERT_EQ(recorder->emit(management_event(i)), EmitStatus::kOk);
    ASSERT_EQ(recorder->emit(data_event(i)), EmitStatus::kOk);
  }
  ASSERT_TRUE(recorder->flush(10s));
  const Stats s = recorder->stats();
  EXPECT_EQ(s.history_written, 500u) << "management events only: LookupEvents has no data events";
  EXPECT_EQ(s.history_pending, 0u) << "flush() waits for the history too";
  EXPECT_EQ(s.history_dropped, 0u);
  const auto stored = f.history->records();
  ASSERT_EQ(stored.size(), 500u);
  std::size_t compared = 0;
  for (const auto& [key, bytes] : f.destination->objects()) {
    for (const auto& record : testing::check_log_file(key, bytes)) {
      if (record["eventSource"] != "iam.amazonaws.com") continue;
      auto it = stored.find(record["eventID"].get<std::string>());
      ASSERT_NE(it, stored.end());
      EXPECT_EQ(nlohmann::json::parse(it->second.cloudtrail_event), record) << "CloudTrailEvent is the record as written";
      EXPECT_EQ(it->second.read_only, record["readOnly"].get<bool>());
      ++compared;
    }
  }
  EXPECT_EQ(compared, 500u);
}

TEST(HistoryFeederTest, ASlowHistoryNeverStallsTheLogFiles) {
  Fixture f;
  f.history->hold(true);  // the history store is stuck
  RecorderOptions o = f.options();
  o.overflow_policy = OverflowPolicy::kBlock;  // this test is about the history, not buffer drops
  o.block_timeout = 5s;
  auto recorder = Recorder::create(o);
  for (int i = 0; i < 20000; ++i) ASSERT_EQ(recorder->emit(management_event(i)), EmitStatus::kOk);
  ASSERT_TRUE(recorder->flush(30s)) << "log files are written while the history is stuck";
  Stats s = recorder->stats();
  EXPECT_EQ(s.written, 20000u);
  EXPECT_GT(s.history_dropped, 0u) << "past max_queue_bytes records skip the history, counted";
  EXPECT_GT(s.history_pending, 0u) << "the lag is visible";
  f.history->hold(false);
  ASSERT_TRUE(recorder->shutdown(30s));
  s = recorder->stats();
  EXPECT_EQ(s.history_pending, 0u);
  EXPECT_EQ(s.history_written + s.history_dropped, 20000u) << "every event is either in the history or counted";
  EXPECT_EQ(f.history->size(), s.history_written);
  bool reported = false;
  for (const ErrorReport& r : f.errors) reported |= r.component == "history";
  EXPECT_TRUE(reported) << "the skipped records are reported";
}

TEST(HistoryFeederTest, AFailingHistoryIsReportedAndCounted) {
  Fixture f;
  f.history->fail(true);
  auto recorder = Recorder::create(f.options());
  for (int i = 0; i < 100; ++i) ASSERT_EQ(recorder->emit(management_event(i)), EmitStatus::kOk);
  ASSERT_TRUE(recorder->shutdown(10s));
  const Stats s = recorder->stats();
  EXPECT_EQ(s.written, 100u);
  EXPECT_EQ(s.history_dropped, 100u);
  EXPECT_EQ(s.history_written, 0u);
  bool reported = false;
  for (const ErrorReport& r : f.errors) reported |= r.message.find("disk full (injected)") != std::string::npos;
  EXPECT_TRUE(reported);
}

TEST(HistoryFeederTest, SqliteHistoryInTheStateDirSurvivesARestart) {
  testing::TempDir state("trailkit-history");
  Fixture f;
  RecorderOptions o = f.options();
  o.history.store = nullptr;
  o.state_dir = state.str();
  // Recent events: the history prunes what is older than its 90-day retention.
  const std::int64_t base = static_cast<std::int64_t>(std::time(nullptr)) - 3600;
  {
    auto recorder = Recorder::create(o);
    for (int i = 0; i < 50; ++i) ASSERT_EQ(recorder->emit(management_event(i, base)), EmitStatus::kOk);
    ASSERT_TRUE(recorder->shutdown(10s));
    EXPECT_EQ(recorder->stats().history_written, 50u);
  }
  SqliteHistoryOptions sqlite;
  sqlite.path = state.str() + "/history.sqlite3";
  auto history = open_sqlite_history(sqlite);
  EXPECT_EQ(history->size(), 50u);
  LookupRequest request;
  request.attributes.push_back({"EventName", "CreateUser"});
  const LookupResult result = history->lookup(request, base + 3600);
  ASSERT_EQ(result.events.size(), 25u);
  EXPECT_EQ(result.events.front().event_time, base + 49) << "newest first";
}

TEST(HistoryFeederTest, HistoryNeedsAPlaceToLive) {
  Fixture f;
  RecorderOptions o = f.options();
  o.history.store = nullptr;
  EXPECT_THROW(Recorder::create(o), std::invalid_argument);
  o = f.options();
  o.history.retention_days = 0;
  EXPECT_THROW(Recorder::create(o), std::invalid_argument);
  o = f.options();
  o.history.compression_level = 20;
  try {
    Recorder::create(o);
    FAIL() << "accepted history.compression_level 20";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("history.compression_level"), std::string::npos) << e.what();
  }
}

// A trickle of small hand-offs (an idle worker hands off at every tick) is gathered into one
// store: the SQLite history writes a block per add(), and tiny blocks would make lookups slower.
TEST(HistoryFeederTest, SmallHandOffsAreGatheredIntoOneStore) {
  auto store = std::make_shared<RecordingHistory>();
  detail::HistoryCounters counters;
  {
    detail::HistoryFeeder feeder(store, 64u << 20, 90 * 86400, *system_clock(), counters);
    for (int hand_off = 0; hand_off < 5; ++hand_off) {
      for (int i = 0; i < 10; ++i) {
        char record[160];
        std::snprintf(record, sizeof record,
                      R"({"eventID":"id-%d-%d","eventName":"GetUser","eventSource":"iam.amazonaws.com","eventTime":"%s"})",
                      hand_off, i, "2030-01-01T00:00:00Z");
        feeder.offer(record);
      }
      feeder.hand_off();
    }
    ASSERT_TRUE(feeder.drain(std::chrono::seconds(10)));
    EXPECT_EQ(counters.written.load(), 50u);
    EXPECT_EQ(counters.pending.load(), 0u);
  }
  EXPECT_EQ(store->add_calls(), 1) << "five hand-offs within the hold time make one add()";
  EXPECT_EQ(store->size(), 50u);
}

// Nice values of this process's threads, from /proc/self/task/*/stat (field 19).
std::vector<int> thread_nice_values() {
  std::vector<int> out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');  // the command name may hold spaces
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i) {
      if (i == 19) out.push_back(std::stoi(field));
    }
  }
  return out;
}

TEST(HistoryFeederTest, LowPriorityRunsTheHistoryThreadsAtNiceTen) {
  const auto count_at = [](int nice) {
    const auto values = thread_nice_values();
    return std::count(values.begin(), values.end(), nice);
  };
  const auto before = count_at(10);
  auto store = std::make_shared<RecordingHistory>();
  detail::HistoryCounters counters;
  {
    detail::HistoryFeeder feeder(store, 64u << 20, 90 * 86400, *system_clock(), counters, true);
    feeder.offer(R"({"eventID":"a","eventName":"GetUser","eventSource":"iam.amazonaws.com","eventTime":"2030-01-01T00:00:00Z"})");
    ASSERT_TRUE(feeder.drain(std::chrono::seconds(10)));  // both threads have started by now
    EXPECT_EQ(count_at(10) - before, 2) << "the feeder and the store thread";
  }
  {
    detail::HistoryFeeder feeder(store, 64u << 20, 90 * 86400, *system_clock(), counters);
    feeder.offer(R"({"eventID":"b","eventName":"GetUser","eventSource":"iam.amazonaws.com","eventTime":"2030-01-01T00:00:00Z"})");
    ASSERT_TRUE(feeder.drain(std::chrono::seconds(10)));
    EXPECT_EQ(count_at(10), before) << "default priority";
  }
}

}  // namespace
}  // namespace trailkit
