// Fault tests of S3 delivery: a real Recorder -> S3Destination -> FakeS3 that injects what S3 and
// networks do (500s, 503 SlowDown, resets mid-body, a stalled reply, the endpoint down then up,
// 403 for a while, a skewed clock, a corrupted spool entry). Every test ends with the promise
// users rely on: each sealed file is in the bucket exactly once, under its key, with the bytes that
// were spooled, and the counters add up (Recorder: accepted == written + dropped + pending, pending
// 0; S3Destination: delivered == sealed, backlog 0).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "adapters/s3/support/fake_s3.hpp"
#include "deliver/spool.hpp"
#include "support/files.hpp"
#include "s3/s3_destination.hpp"
#include "simulated_service/simulated_service.hpp"
#include "support/log_file_checks.hpp"
#include "trailkit/recorder.hpp"

namespace trailkit::s3 {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::FakeS3;
using testing::FakeS3Attempt;
using testing::FakeS3Fault;

constexpr char kSecret[] = "FAULT-TEST-CANARY-SECRET-0815";

using trailkit::testing::TempDir;

// System time whose monotonic reading can be moved forward, so a test can let retries scheduled
// minutes ahead (403: 5 s doubling to 15 min; SlowDown: up to 60 s) fall due at once after the fault
// cleared, instead of sleeping through the backoff. Wall time (signing, x-amz-date) stays real.
class SteppableClock final : public Clock {
 public:
  int64_t wall_now_ns() const noexcept override { return system_->wall_now_ns(); }
  int64_t monotonic_now_ns() const noexcept override { return system_->monotonic_now_ns() + skipped_ns_.load(); }
  void skip(std::chrono::seconds seconds) { skipped_ns_ += std::chrono::nanoseconds(seconds).count(); }

 private:
  std::shared_ptr<Clock> system_ = system_clock();
  std::atomic<std::int64_t> skipped_ns_{0};
};

// Forwards to the S3 destination and keeps a copy of every committed object: exactly the bytes
// that went into the spool under each key, to compare with what reached the bucket.
class TeeDestination final : public Destination {
 public:
  explicit TeeDestination(std::shared_ptr<Destination> inner) : inner_(std::move(inner)) {}

  std::unique_ptr<ObjectWriter> begin_object(Status& status) noexcept override {
    auto writer = inner_->begin_object(status);
    if (!writer) return nullptr;
    return std::make_unique<Writer>(std::move(writer), *this);
  }
  std::string describe() const override { return inner_->describe(); }

  std::map<std::string, std::string> committed() const {
    std::lock_guard lock(mutex_);
    return committed_;
  }

 private:
  class Writer final : public ObjectWriter {
   public:
    Writer(std::unique_ptr<ObjectWriter> inner, TeeDestination& owner) : inner_(std::move(inner)), owner_(owner) {}
    Status write(std::string_view bytes) noexcept override {
      Status s = inner_->write(bytes);
      if (s) bytes_.append(bytes);
      return s;
    }
    Status commit(std::string_view key) noexcept override {
      Status s = inner_->commit(key);
      if (s) {
        std::lock_guard lock(owner_.mutex_);
        owner_.committed_[std::string(key)] = bytes_;
      }
      return s;
    }
    void abort() noexcept override { inner_->abort(); }

   private:
    std::unique_ptr<ObjectWriter> inner_;
    TeeDestination& owner_;
    std::string bytes_;
  };

  std::shared_ptr<Destination> inner_;
  mutable std::mutex mutex_;
  std::map<std::string, std::string> committed_;
};

// Error reports of the destination, collected (thread-safe: uploaders report concurrently).
struct Reports {
  std::mutex mutex;
  std::vector<ErrorReport> list;
  std::vector<ErrorReport> snapshot() {
    std::lock_guard lock(mutex);
    return list;
  }
};

S3DestinationOptions destination_options(const std::string& endpoint_url, const std::string& state_dir,
                                         std::shared_ptr<Clock> clock, Reports& reports,
                                         std::size_t upload_threads = 2) {
  S3DestinationOptions o;
  o.bucket = "audit-logs";
  o.state_dir = state_dir;
  o.settings.endpoint_url = endpoint_url;
  o.settings.credentials = Credentials{"AKIDFAULTTEST", kSecret, ""};
  o.settings.region = "us-east-1";
  o.settings.path_style = true;
  o.http.connect_timeout = 500ms;
  o.http.io_timeout = 500ms;
  o.http.request_timeout = 5s;
  o.upload_threads = upload_threads;
  o.clock = std::move(clock);
  o.error_handler = [&reports](const ErrorReport& r) {
    std::lock_guard lock(reports.mutex);
    reports.list.push_back(r);
  };
  return o;
}

// What the recorder sealed and spooled.
struct Emitted {
  std::map<std::string, SealedFile> sealed;    // by key, from on_file_sealed
  std::map<std::string, std::string> spooled;  // by key: the bytes committed to the destination
  std::set<std::string> event_ids;
  Stats stats;
};

// Emits `rounds` x `per_round` events over `regions`, flushing after each round (so each round seals
// its own files, one per region), then shuts the recorder down. eventIDs are "...-<first_id + i>".
Emitted emit_events(const std::shared_ptr<S3Destination>& destination, int rounds, int per_round, int first_id = 0,
                    std::vector<std::string> regions = {"us-east-1", "eu-west-1", "ap-southeast-2"}) {
  Emitted emitted;
  std::mutex mutex;
  auto tee = std::make_shared<TeeDestination>(destination);
  RecorderOptions options;
  options.account_id = "111122223333";
  options.destination = tee;
  options.buffer_bytes = 8u << 20;
  options.error_handler = [](const ErrorReport&) {};
  options.on_file_sealed = [&](const SealedFile& file) {
    std::lock_guard lock(mutex);
    EXPECT_TRUE(emitted.sealed.emplace(file.key, file).second) << "sealed twice: " << file.key;
  };
  auto recorder = Recorder::create(options);
  examples::SimulatedServiceOptions sim;
  sim.regions = std::move(regions);
  examples::SimulatedService service(sim);
  Event event;
  int id = first_id;
  for (int round = 0; round < rounds; ++round) {
    for (int i = 0; i < per_round; ++i, ++id) {
      service.next_call(event);
      char text[40];
      std::snprintf(text, sizeof text, "00000000-0000-4000-8000-%012d", id);
      emitted.event_ids.insert(text);
      event.set(Field::kEventId, text);
      EXPECT_EQ(recorder->emit(event), EmitStatus::kOk);
    }
    EXPECT_TRUE(recorder->flush(30s));
  }
  EXPECT_TRUE(recorder->shutdown(30s));
  emitted.stats = recorder->stats();
  emitted.spooled = tee->committed();
  return emitted;
}

std::map<std::string, std::vector<FakeS3Attempt>> attempts_by_key(const FakeS3& fake) {
  std::map<std::string, std::vector<FakeS3Attempt>> by_key;
  for (const auto& a : fake.attempts()) by_key[a.key].push_back(a);
  return by_key;
}

// Polls `condition` every 20 ms for up to `timeout`.
template <class Condition>
bool eventually(std::chrono::milliseconds timeout, Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// The end state every fault test must reach. `quarantined` are keys that must NOT be in the bucket.
void expect_delivered_exactly_once(const FakeS3& fake, const Emitted& emitted, const S3Destination& destination,
                                   Reports& reports, const std::set<std::string>& quarantined = {}) {
  // Recorder accounting: everything accepted was written into sealed (spooled) files.
  const Stats& stats = emitted.stats;
  EXPECT_EQ(stats.accepted, stats.written + stats.dropped + stats.pending);
  EXPECT_EQ(stats.pending, 0u);
  EXPECT_EQ(stats.dropped, 0u);
  EXPECT_EQ(stats.written, emitted.event_ids.size());
  EXPECT_EQ(stats.files_written, emitted.sealed.size());
  ASSERT_FALSE(emitted.sealed.empty());

  std::set<std::string> sealed_keys, spooled_keys;
  for (const auto& [key, file] : emitted.sealed) sealed_keys.insert(key);
  for (const auto& [key, bytes] : emitted.spooled) spooled_keys.insert(key);
  EXPECT_EQ(sealed_keys, spooled_keys);

  // The bucket: every sealed key but the quarantined ones, stored once, with the spooled bytes.
  const auto objects = fake.objects();
  std::set<std::string> stored_keys, expected_keys;
  for (const auto& [key, object] : objects) stored_keys.insert(key);
  for (const auto& key : sealed_keys) {
    if (!quarantined.count(key)) expected_keys.insert(key);
  }
  EXPECT_EQ(stored_keys, expected_keys);
  std::set<std::string> ids_in_bucket, ids_expected = emitted.event_ids;
  std::uint64_t bytes_in_bucket = 0;
  for (const auto& [key, object] : objects) {
    EXPECT_EQ(object.put_successes, 1u) << key << " was stored more than once";
    EXPECT_EQ(object.distinct_sha256.size(), 1u) << key << " was stored with different bytes";
    EXPECT_EQ(object.content_type, "application/json") << key;
    const auto spooled = emitted.spooled.find(key);
    if (spooled == emitted.spooled.end()) continue;
    EXPECT_TRUE(object.bytes == spooled->second) << key << ": bucket bytes differ from the spooled bytes";
    bytes_in_bucket += object.bytes.size();
    const SealedFile& file = emitted.sealed.at(key);
    EXPECT_EQ(object.bytes.size(), file.compressed_bytes) << key;
    const nlohmann::json records = trailkit::testing::check_log_file(key, object.bytes);
    EXPECT_EQ(records.size(), file.records) << key;
    for (const auto& record : records) {
      EXPECT_TRUE(ids_in_bucket.insert(record["eventID"].get<std::string>()).second)
          << "eventID delivered twice: " << record["eventID"];
    }
  }
  for (const auto& key : quarantined) {
    // The records of a quarantined file are in the spool's quarantine folder, not in the bucket.
    for (const auto& record : trailkit::testing::check_log_file(key, emitted.spooled.at(key))) {
      ids_expected.erase(record["eventID"].get<std::string>());
    }
  }
  EXPECT_EQ(ids_in_bucket, ids_expected);

  // Destination accounting.
  const DeliveryStatus status = destination.status();
  EXPECT_EQ(status.delivered_objects, emitted.sealed.size() - quarantined.size());
  EXPECT_EQ(status.delivered_bytes, bytes_in_bucket);
  EXPECT_EQ(status.backlog_objects, 0u);
  EXPECT_EQ(status.backlog_bytes, 0u);
  EXPECT_EQ(status.quarantined, quarantined.size());
  EXPECT_EQ(status.latest_delivery_error, "") << "the last attempt succeeded, so no error is current";
  EXPECT_GT(status.latest_delivery_time, 0);

  for (const auto& r : reports.snapshot()) {
    EXPECT_EQ(r.message.find(kSecret), std::string::npos) << "secret leaked into: " << r.message;
  }
}

// The baseline every fault test departs from: no fault, and an idle uploader starts a newly sealed
// file at once (it used to sleep out a 1 s timer first, so every flush took a second to deliver).
TEST(S3FaultTest, NoFaultDeliversEachFileOnceAndPromptly) {
  FakeS3 fake;
  TempDir state;
  Reports reports;
  auto destination = S3Destination::create(
      destination_options(fake.endpoint_url(), state.str(), std::make_shared<SteppableClock>(), reports));
  std::this_thread::sleep_for(100ms);  // the uploaders are idle
  const Emitted emitted = emit_events(destination, 1, 150);
  const auto sealed = std::chrono::steady_clock::now();
  ASSERT_TRUE(destination->wait_until_delivered(10s)) << destination->status().latest_delivery_error;
  EXPECT_LT(std::chrono::steady_clock::now() - sealed, 500ms);
  expect_delivered_exactly_once(fake, emitted, *destination, reports);
  EXPECT_EQ(destination->status().failed_attempts, 0u);
  EXPECT_EQ(fake.attempts().size(), emitted.sealed.size());
}

TEST(S3FaultTest, RandomInternalErrorsAreRetriedUntilEveryFileIsStoredOnce) {
  FakeS3 fake;
  std::mt19937 random(20240501);
  bool first = true;
  // ~30 % of all requests, and always the very first one, so the test cannot pass without a fault.
  // (The plan runs under the fake's lock: no extra locking needed for `random` and `first`.)
  fake.set_fault_plan([&](const std::string&, const std::string&, std::size_t) {
    const bool fail = first || std::uniform_real_distribution<double>(0, 1)(random) < 0.3;
    first = false;
    return fail ? FakeS3Fault::kInternalError : FakeS3Fault::kNone;
  });
  TempDir state;
  Reports reports;
  auto destination = S3Destination::create(
      destination_options(fake.endpoint_url(), state.str(), std::make_shared<SteppableClock>(), reports));
  const Emitted emitted = emit_events(destination, 5, 120);
  ASSERT_TRUE(destination->wait_until_delivered(20s)) << destination->status().latest_delivery_error;
  expect_delivered_exactly_once(fake, emitted, *destination, reports);

  // Every injected 500 surfaced as one failed attempt (none hidden, none double-counted).
  EXPECT_GE(fake.injected_faults(), 1u);
  EXPECT_EQ(destination->status().failed_attempts, fake.injected_faults());
  EXPECT_EQ(fake.attempts().size(), emitted.sealed.size() + fake.injected_faults());
}

TEST(S3FaultTest, SlowDownIsBackedOffThenEverythingIsDelivered) {
  FakeS3 fake;
  fake.fail_every_request(FakeS3Fault::kSlowDown);
  TempDir state;
  Reports reports;
  auto clock = std::make_shared<SteppableClock>();
  auto destination = S3Destination::create(destination_options(fake.endpoint_url(), state.str(), clock, reports));
  const auto throttle_start = std::chrono::steady_clock::now();
  const Emitted emitted = emit_events(destination, 2, 150);
  std::this_thread::sleep_until(throttle_start + 3s);
  const auto throttled_attempts = attempts_by_key(fake);
  const DeliveryStatus during = destination->status();
  fake.fail_every_request(FakeS3Fault::kNone);

  // Backed off: with SlowDown's backoff (1 s doubling, full jitter) an entry makes ~3.4 attempts in
  // 3 s on average, more than 7 with probability ~3e-7 and a mean above 4.5 over these 6 entries
  // with ~3e-5; the transient policy (0.2 s doubling) would make ~5.5, an immediate retry hundreds.
  ASSERT_EQ(throttled_attempts.size(), emitted.sealed.size()) << "every entry was tried during the throttle";
  double total = 0;
  for (const auto& [key, attempts] : throttled_attempts) {
    EXPECT_LE(attempts.size(), 7u) << key;
    for (const auto& a : attempts) EXPECT_EQ(a.error_code, "SlowDown");
    total += static_cast<double>(attempts.size());
  }
  EXPECT_LE(total / static_cast<double>(throttled_attempts.size()), 4.5);
  EXPECT_EQ(during.delivered_objects, 0u);
  EXPECT_EQ(during.backlog_objects, emitted.sealed.size());
  EXPECT_NE(during.latest_delivery_error.find("SlowDown"), std::string::npos) << during.latest_delivery_error;

  clock->skip(120s);  // past SlowDown's 60 s cap: every scheduled retry is due now
  ASSERT_TRUE(destination->wait_until_delivered(10s)) << destination->status().latest_delivery_error;
  expect_delivered_exactly_once(fake, emitted, *destination, reports);
  EXPECT_EQ(destination->status().failed_attempts, fake.injected_faults());
}

TEST(S3FaultTest, ConnectionResetMidBodyIsRetriedWithTheWholeBody) {
  FakeS3 fake;
  fake.reset_next_requests(3, 100);  // the first three uploads die after 100 body bytes
  TempDir state;
  Reports reports;
  auto destination = S3Destination::create(
      destination_options(fake.endpoint_url(), state.str(), std::make_shared<SteppableClock>(), reports));
  const Emitted emitted = emit_events(destination, 2, 150);
  ASSERT_TRUE(destination->wait_until_delivered(20s)) << destination->status().latest_delivery_error;
  expect_delivered_exactly_once(fake, emitted, *destination, reports);

  std::size_t cut = 0;
  for (const auto& r : fake.server().requests()) {
    if (!r.body_complete) {
      ++cut;
      EXPECT_EQ(r.method, "PUT");
      EXPECT_EQ(r.body.size(), 100u);
      EXPECT_GT(std::stoull(r.header("content-length").value_or("0")), 100u);
    }
  }
  EXPECT_EQ(cut, 3u);
  EXPECT_GE(destination->status().failed_attempts, 1u);
}

TEST(S3FaultTest, StalledResponseTimesOutAndTheRetrySucceeds) {
  FakeS3 fake;  // a stall withholds the reply for 10 s
  bool stalled_once = false;  // the plan runs under the fake's lock
  fake.set_fault_plan([&](const std::string&, const std::string&, std::size_t) {
    return std::exchange(stalled_once, true) ? FakeS3Fault::kNone : FakeS3Fault::kStall;
  });
  TempDir state;
  Reports reports;
  const auto start = std::chrono::steady_clock::now();
  auto destination = S3Destination::create(
      destination_options(fake.endpoint_url(), state.str(), std::make_shared<SteppableClock>(), reports));
  const Emitted emitted = emit_events(destination, 2, 150);
  ASSERT_TRUE(destination->wait_until_delivered(20s)) << destination->status().latest_delivery_error;
  // The 500 ms io timeout ended the wait, not the server's 10 s stall.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 8s);
  expect_delivered_exactly_once(fake, emitted, *destination, reports);

  std::size_t stalled = 0;
  for (const auto& [key, attempts] : attempts_by_key(fake)) {
    if (attempts.front().fault != FakeS3Fault::kStall) continue;
    ++stalled;
    ASSERT_EQ(attempts.size(), 2u) << key;
    EXPECT_EQ(attempts[1].status, 200);
  }
  EXPECT_EQ(stalled, 1u);
  EXPECT_EQ(destination->status().failed_attempts, 1u);
  bool reported_timeout = false;
  for (const auto& r : reports.snapshot()) reported_timeout |= r.message.find("timeout") != std::string::npos;
  EXPECT_TRUE(reported_timeout);
}

TEST(S3FaultTest, EndpointDownThenUpOnTheSamePortDeliversTheBacklog) {
  FakeS3 fake;
  testing::TcpRelay relay(fake.port());  // the endpoint the destination knows
  TempDir state;
  Reports reports;
  auto destination = S3Destination::create(
      destination_options(relay.endpoint_url(), state.str(), std::make_shared<SteppableClock>(), reports));

  // Phase 1: up. Phase 2: down while more files are sealed. Phase 3: up again.
  Emitted before = emit_events(destination, 1, 150, 0);
  ASSERT_TRUE(destination->wait_until_delivered(10s)) << destination->status().latest_delivery_error;
  relay.down();
  Emitted during = emit_events(destination, 2, 150, 1000);
  ASSERT_TRUE(eventually(5s, [&] { return !destination->status().latest_delivery_error.empty(); }));
  std::this_thread::sleep_for(1s);
  const DeliveryStatus outage = destination->status();
  EXPECT_EQ(outage.delivered_objects, before.sealed.size());
  EXPECT_EQ(outage.backlog_objects, during.sealed.size());
  EXPECT_GE(outage.failed_attempts, 1u);
  EXPECT_NE(outage.latest_delivery_error.find("connect"), std::string::npos) << outage.latest_delivery_error;
  EXPECT_GT(outage.latest_delivery_error_time, 0);

  relay.up();
  ASSERT_TRUE(destination->wait_until_delivered(20s)) << destination->status().latest_delivery_error;

  Emitted all = before;  // one view of both recorder runs
  all.sealed.insert(during.sealed.begin(), during.sealed.end());
  all.spooled.insert(during.spooled.begin(), during.spooled.end());
  all.event_ids.insert(during.event_ids.begin(), during.event_ids.end());
  all.stats.accepted += during.stats.accepted;
  all.stats.written += during.stats.written;
  all.stats.dropped += during.stats.dropped;
  all.stats.pending += during.stats.pending;
  all.stats.files_written += during.stats.files_written;
  expect_delivered_exactly_once(fake, all, *destination, reports);
}

TEST(S3FaultTest, AccessDeniedKeepsTheDataUntilThePolicyIsFixed) {
  FakeS3 fake;
  fake.fail_every_request(FakeS3Fault::kAccessDenied);
  TempDir state;
  Reports reports;
  auto clock = std::make_shared<SteppableClock>();
  auto destination = S3Destination::create(destination_options(fake.endpoint_url(), state.str(), clock, reports));
  const Emitted emitted = emit_events(destination, 2, 150);
  ASSERT_TRUE(eventually(5s, [&] { return attempts_by_key(fake).size() == emitted.sealed.size(); }));
  const auto first_denial = fake.attempts().front().time;
  std::this_thread::sleep_until(first_denial + 1s);

  // 403 is not a reason to drop anything: the files stay spooled, the error is visible, and the
  // retries are rare: 5 s doubling with equal jitter, so an entry's next attempt comes no sooner
  // than 2.5 s after the previous one (an immediate retry would make hundreds within the second).
  const DeliveryStatus during = destination->status();
  EXPECT_EQ(during.delivered_objects, 0u);
  EXPECT_EQ(during.backlog_objects, emitted.sealed.size());
  EXPECT_EQ(during.quarantined, 0u);
  EXPECT_NE(during.latest_delivery_error.find("AccessDenied"), std::string::npos) << during.latest_delivery_error;
  EXPECT_TRUE(fake.objects().empty());
  for (const auto& [key, attempts] : attempts_by_key(fake)) {
    for (std::size_t i = 0; i < attempts.size(); ++i) {
      EXPECT_EQ(attempts[i].status, 403) << key;
      if (i > 0) {
        EXPECT_GE(attempts[i].time - attempts[i - 1].time, 2500ms) << key << " attempt " << i + 1;
      }
    }
  }

  fake.fail_every_request(FakeS3Fault::kNone);  // the bucket policy was fixed
  clock->skip(16min);  // past the 15 min cap of the permanent-failure backoff
  ASSERT_TRUE(destination->wait_until_delivered(10s)) << destination->status().latest_delivery_error;
  expect_delivered_exactly_once(fake, emitted, *destination, reports);
}

TEST(S3FaultTest, RequestTimeTooSkewedAdoptsTheServerClockForTheRetry) {
  FakeS3 fake;
  constexpr std::int64_t kSkew = 3600;  // the server's clock is an hour ahead of ours
  fake.set_server_clock_offset(kSkew);
  TempDir state;
  Reports reports;
  // One uploader and one file: the clock offset is learned per S3Client (one per uploader thread),
  // and the second request is then the retry of the first.
  auto destination = S3Destination::create(destination_options(
      fake.endpoint_url(), state.str(), std::make_shared<SteppableClock>(), reports, /*upload_threads=*/1));
  const Emitted emitted = emit_events(destination, 1, 150, 0, {"us-east-1"});
  ASSERT_EQ(emitted.sealed.size(), 1u);
  ASSERT_TRUE(destination->wait_until_delivered(10s)) << destination->status().latest_delivery_error;
  expect_delivered_exactly_once(fake, emitted, *destination, reports);

  const auto attempts = fake.attempts();
  ASSERT_GE(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].error_code, "RequestTimeTooSkewed");
  EXPECT_EQ(attempts[1].key, attempts[0].key);
  EXPECT_EQ(attempts[1].status, 200);
  std::size_t skewed = 0;
  for (const auto& a : attempts) skewed += a.error_code == "RequestTimeTooSkewed";
  EXPECT_EQ(skewed, 1u);
  auto epoch = [](const std::string& amz_date) {
    std::tm tm{};
    EXPECT_NE(strptime(amz_date.c_str(), "%Y%m%dT%H%M%SZ", &tm), nullptr) << amz_date;
    return static_cast<std::int64_t>(timegm(&tm));
  };
  // The retry is signed with the server's time: an hour later, give or take the retry's delay.
  const std::int64_t shift = epoch(attempts[1].amz_date) - epoch(attempts[0].amz_date);
  EXPECT_GE(shift, kSkew - 1);
  EXPECT_LE(shift, kSkew + 2);
  EXPECT_EQ(destination->status().failed_attempts, 1u);
}

// The key stored in a spool entry's header (spool.hpp: key length at offset 96, key at 100).
std::string spool_entry_key(const fs::path& entry) {
  std::ifstream in(entry, std::ios::binary);
  char header[100];
  in.read(header, sizeof header);
  std::uint32_t length = 0;
  for (int i = 3; i >= 0; --i) length = length << 8 | static_cast<unsigned char>(header[96 + i]);
  std::string key(length, '\0');
  in.read(key.data(), static_cast<std::streamsize>(length));
  return key;
}

// Param: whether the bucket checks Content-MD5 (BadDigest) or only x-amz-content-sha256
// (XAmzContentSHA256Mismatch); either way the altered bytes must be caught, quarantined, never stored.
class CorruptSpoolTest : public ::testing::TestWithParam<bool> {};

TEST_P(CorruptSpoolTest, CorruptedSpoolPayloadIsQuarantinedNotUploaded) {
  const bool md5_checked = GetParam();
  FakeS3 fake(testing::FakeS3Options{.check_content_md5 = md5_checked});
  TempDir state;
  Reports reports;
  Emitted emitted;
  {
    // First process: the bucket throttles everything, so the files stay spooled.
    fake.fail_every_request(FakeS3Fault::kSlowDown);
    auto destination = S3Destination::create(
        destination_options(fake.endpoint_url(), state.str(), std::make_shared<SteppableClock>(), reports));
    emitted = emit_events(destination, 2, 150);
    destination->shutdown(5s);
    EXPECT_EQ(destination->status().backlog_objects, emitted.sealed.size());
  }
  // A bit flips in one entry's payload on disk (the header, and its CRC, stay intact).
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(state.str() + "/spool/ready")) entries.push_back(e.path());
  ASSERT_EQ(entries.size(), emitted.sealed.size());
  std::sort(entries.begin(), entries.end());
  const std::string corrupted_key = spool_entry_key(entries.front());
  ASSERT_TRUE(emitted.sealed.count(corrupted_key)) << corrupted_key;
  {
    std::fstream file(entries.front(), std::ios::in | std::ios::out | std::ios::binary);
    const std::streamoff at = trailkit::detail::kSpoolHeaderRegion + 10;
    file.seekg(at);
    char byte = 0;
    file.get(byte);
    file.seekp(at);
    file.put(static_cast<char>(byte ^ 0x40));
  }

  // Second process, same state dir, the bucket is fine: the corrupt entry gets BadDigest (its
  // Content-MD5 is the spooled digest) or XAmzContentSHA256Mismatch, is verified against its
  // recorded SHA-256 and quarantined.
  fake.fail_every_request(FakeS3Fault::kNone);
  const std::size_t attempts_before = fake.attempts().size();
  auto destination = S3Destination::create(
      destination_options(fake.endpoint_url(), state.str(), std::make_shared<SteppableClock>(), reports));
  ASSERT_TRUE(destination->wait_until_delivered(10s)) << destination->status().latest_delivery_error;
  expect_delivered_exactly_once(fake, emitted, *destination, reports, {corrupted_key});

  std::vector<std::string> codes;
  const auto attempts = fake.attempts();
  for (std::size_t i = attempts_before; i < attempts.size(); ++i) {
    if (attempts[i].key == corrupted_key) codes.push_back(attempts[i].error_code);
  }
  EXPECT_EQ(codes, std::vector<std::string>{md5_checked ? "BadDigest" : "XAmzContentSHA256Mismatch"})
      << "tried once, never stored";
  std::size_t quarantined_files = 0;
  for (const auto& e : fs::directory_iterator(state.str() + "/spool/quarantine")) {
    quarantined_files += e.path().extension() != ".reason";
  }
  EXPECT_EQ(quarantined_files, 1u) << "kept on disk for a human, not deleted";
}

std::string corrupt_spool_case_name(const ::testing::TestParamInfo<bool>& param) {
  return param.param ? "ContentMd5" : "ContentSha256Only";
}
INSTANTIATE_TEST_SUITE_P(S3FaultTest, CorruptSpoolTest, ::testing::Values(true, false), corrupt_spool_case_name);

}  // namespace
}  // namespace trailkit::s3
