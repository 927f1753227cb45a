// Recorder behaviour users rely on: what lands in files, the counters, flush/shutdown contracts,
// failure handling and hostile input. Uses InMemoryDestination (a real component) and ManualClock.
#include "trailkit/recorder.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/fast_random.hpp"
#include "support/log_file_checks.hpp"
#include "support/manual_clock.hpp"
#include "trailkit/in_memory_destination.hpp"

namespace trailkit {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr std::int64_t kStart = 1714557600;  // 2024-05-01T10:00:00Z

struct Fixture {
  std::shared_ptr<InMemoryDestination> destination = std::make_shared<InMemoryDestination>();
  std::shared_ptr<testing::ManualClock> clock = std::make_shared<testing::ManualClock>(kStart);
  std::vector<ErrorReport> errors;
  std::mutex errors_mutex;

  // Retry backoff runs on the recorder's monotonic clock: tests of retries use the real one.
  RecorderOptions options(bool manual_clock = true) {
    RecorderOptions o;
    o.account_id = "111122223333";
    o.region = "us-east-1";
    o.destination = destination;
    if (manual_clock) o.clock = clock;
    o.buffer_bytes = 4u << 20;
    o.error_handler = [this](const ErrorReport& r) {
      std::lock_guard lock(errors_mutex);
      errors.push_back(r);
    };
    return o;
  }

  // One 256 KiB shard: with the destination unavailable the worker stalls and it fills quickly.
  RecorderOptions small_buffer_options() {
    RecorderOptions o = options(false);
    o.buffer_bytes = 256u << 10;
    o.buffer_shards = 1;
    return o;
  }

  // All records of all delivered files, checked against the format rules.
  std::vector<json> records() {
    std::vector<json> all;
    for (const auto& [key, bytes] : destination->objects()) {
      for (auto& r : testing::check_log_file(key, bytes)) all.push_back(r);
    }
    return all;
  }
};

void expect_identity(const Stats& s) {
  EXPECT_EQ(s.accepted, s.written + s.dropped + s.pending);
  EXPECT_EQ(s.dropped, s.dropped_full + s.dropped_invalid + s.dropped_too_large + s.dropped_write_failed);
}

Event create_user_event() {
  static const Resource resources[] = {{"arn:aws:iam::111122223333:user/bob", "111122223333", "AWS::IAM::User"}};
  EventBuilder b("iam.amazonaws.com", "CreateUser");
  b.region("us-east-1")
      .source_ip("203.0.113.10")
      .user_agent("aws-cli/2.15.30")
      .assumed_role("111122223333", "AROAEXAMPLEROLEID1234:alice", "arn:aws:sts::111122223333:assumed-role/Admin/alice",
                    "ASIAEXAMPLEKEY123456", "AROAEXAMPLEROLEID1234", "arn:aws:iam::111122223333:role/Admin", "Admin")
      .session_attributes(kStart - 300, true)
      .request_parameters(R"({"userName": "bob"})")
      .response_elements(R"({"user":{"userName":"bob","createDate":"May 1, 2024, 10:03:31 AM"}})")
      .request_id("5b2f3a1e-7c4d-4e8f-9a0b-1c2d3e4f5a6b")
      .read_only(false)
      .resources(resources)
      .tls("TLSv1.3", "TLS_AES_128_GCM_SHA256", "iam.amazonaws.com")
      .event_time(kStart + 211);
  return b.build();
}

TEST(RecorderTest, WritesOneCloudTrailRecordPerEventWithSpecShape) {
  Fixture f;
  auto recorder = Recorder::create(f.options());
  ASSERT_EQ(recorder->emit(create_user_event()), EmitStatus::kOk);
  ASSERT_TRUE(recorder->flush(10s));
  auto records = f.records();
  ASSERT_EQ(records.size(), 1u);
  const json& r = records[0];
  EXPECT_EQ(r["eventVersion"], "1.11");
  EXPECT_EQ(r["eventTime"], "2024-05-01T10:03:31Z");
  EXPECT_EQ(r["eventSource"], "iam.amazonaws.com");
  EXPECT_EQ(r["eventName"], "CreateUser");
  EXPECT_EQ(r["awsRegion"], "us-east-1");
  EXPECT_EQ(r["requestParameters"], json::parse(R"({"userName":"bob"})"));
  EXPECT_EQ(r["readOnly"], false);
  EXPECT_EQ(r["managementEvent"], true);
  EXPECT_EQ(r["eventType"], "AwsApiCall");
  EXPECT_EQ(r["eventCategory"], "Management");
  EXPECT_EQ(r["recipientAccountId"], "111122223333");
  EXPECT_FALSE(r.contains("errorCode"));  // absent, not null, on success
  EXPECT_FALSE(r.contains("errorMessage"));
  EXPECT_FALSE(r["userIdentity"].contains("invokedBy"));
  EXPECT_EQ(r["userIdentity"]["type"], "AssumedRole");
  EXPECT_EQ(r["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"], "true");
  EXPECT_EQ(r["userIdentity"]["sessionContext"]["attributes"]["creationDate"], "2024-05-01T09:55:00Z");
  EXPECT_EQ(r["userIdentity"]["sessionContext"]["sessionIssuer"]["type"], "Role");
  EXPECT_EQ(r["userIdentity"]["sessionContext"]["webIdFederationData"], json::object());
  EXPECT_EQ(r["resources"][0]["ARN"], "arn:aws:iam::111122223333:user/bob");
  EXPECT_EQ(r["tlsDetails"]["tlsVersion"], "TLSv1.3");
  // eventID generated: lower-case UUIDv4.
  EXPECT_TRUE(std::regex_match(r["eventID"].get<std::string>(),
                               std::regex("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")));
  // Key order as in real files: eventVersion, userIdentity, eventTime, ... (spec §1.1).
  std::string raw;
  ASSERT_TRUE(detail::decompress(f.destination->objects().begin()->second, raw).is_ok());
  EXPECT_TRUE(raw.starts_with(R"({"Records":[{"eventVersion":"1.11","userIdentity":{"type":"AssumedRole")")) << raw;
  EXPECT_LT(raw.find("\"eventTime\""), raw.find("\"eventSource\""));
  EXPECT_LT(raw.find("\"requestID\""), raw.find("\"eventID\""));
  expect_identity(recorder->stats());
  EXPECT_EQ(recorder->stats().written, 1u);
  EXPECT_EQ(recorder->stats().files_written, 1u);
}

TEST(RecorderTest, AbsentVersusNullAndEmptyFollowTheSpec) {
  Fixture f;
  auto recorder = Recorder::create(f.options());
  EventBuilder failed("s3.amazonaws.com", "GetObject");
  failed.error("AccessDenied", "Access Denied").access_key_id("").category(EventCategory::kData).read_only(true);
  ASSERT_EQ(recorder->emit(failed.build()), EmitStatus::kOk);
  EventBuilder service("ec2.amazonaws.com", "RunInstances");
  service.aws_service("autoscaling.amazonaws.com").type(EventType::kAwsServiceEvent);
  ASSERT_EQ(recorder->emit(service.build()), EmitStatus::kOk);
  EventBuilder vpce("s3.amazonaws.com", "PutObject");
  vpce.type(EventType::kAwsVpceEvent).category(EventCategory::kNetworkActivity).vpc_endpoint("vpce-123", "444455556666");
  ASSERT_EQ(recorder->emit(vpce.build()), EmitStatus::kOk);
  ASSERT_TRUE(recorder->flush(10s));
  auto records = f.records();
  ASSERT_EQ(records.size(), 3u);
  for (const json& r : records) {
    if (r["eventName"] == "GetObject") {
      EXPECT_EQ(r["errorCode"], "AccessDenied");
      EXPECT_TRUE(r["requestParameters"].is_null());
      EXPECT_TRUE(r["responseElements"].is_null());
      EXPECT_EQ(r["userIdentity"]["accessKeyId"], "");  // empty is kept, not dropped
      EXPECT_EQ(r["managementEvent"], false);
      EXPECT_EQ(r["eventCategory"], "Data");
    } else if (r["eventName"] == "RunInstances") {
      EXPECT_EQ(r["userIdentity"], json::parse(R"({"type":"AWSService","invokedBy":"autoscaling.amazonaws.com"})"));
      EXPECT_EQ(r["eventType"], "AwsServiceEvent");
      EXPECT_FALSE(r.contains("readOnly"));
    } else {
      EXPECT_EQ(r["eventType"], "AwsVpceEvent");
      EXPECT_FALSE(r.contains("managementEvent"));  // only for the four API/console/service types
      EXPECT_EQ(r["vpcEndpointAccountId"], "444455556666");
    }
  }
}

TEST(RecorderTest, EventTimeDefaultsToTheClockInWholeSeconds) {
  Fixture f;
  auto recorder = Recorder::create(f.options());
  ASSERT_EQ(recorder->emit(EventBuilder("sts.amazonaws.com", "GetCallerIdentity").build()), EmitStatus::kOk);
  ASSERT_TRUE(recorder->flush(10s));
  auto records = f.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["eventTime"], "2024-05-01T10:00:00Z");
}

TEST(RecorderTest, OneFilePerAccountAndRegionWithExactKeys) {
  Fixture f;
  auto o = f.options();
  o.key_prefix = "audit/prod";
  auto recorder = Recorder::create(o);
  for (const char* account : {"111122223333", "444455556666"}) {
    for (const char* region : {"us-east-1", "eu-west-1"}) {
      for (int i = 0; i < 10; ++i) {
        EventBuilder b("sqs.amazonaws.com", "SendMessage");
        b.recipient_account_id(account).region(region);
        ASSERT_EQ(recorder->emit(b.build()), EmitStatus::kOk);
      }
    }
  }
  ASSERT_TRUE(recorder->flush(10s));
  auto objects = f.destination->objects();
  ASSERT_EQ(objects.size(), 4u);
  std::set<std::string> folders;
  for (const auto& [key, bytes] : objects) {
    auto records = testing::check_log_file(key, bytes);
    EXPECT_EQ(records.size(), 10u);
    EXPECT_TRUE(key.starts_with("audit/prod/AWSLogs/")) << key;
    const std::string account = records[0]["recipientAccountId"];
    const std::string region = records[0]["awsRegion"];
    EXPECT_NE(key.find("/" + account + "/CloudTrail/" + region + "/2024/05/01/" + account + "_CloudTrail_" + region +
                       "_20240501T1000Z_"),
              std::string::npos)
        << key;
    for (const auto& r : records) {
      EXPECT_EQ(r["recipientAccountId"], account);
      EXPECT_EQ(r["awsRegion"], region);
    }
    folders.insert(account + region);
  }
  EXPECT_EQ(folders.size(), 4u);
}

TEST(RecorderTest, RollIntervalSealsFilesOnTheMonotonicClock) {
  Fixture f;
  auto o = f.options();
  o.roll_interval = 5s;
  auto recorder = Recorder::create(o);
  ASSERT_EQ(recorder->emit(create_user_event()), EmitStatus::kOk);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(f.destination->object_count(), 0u);  // not sealed before its interval
  f.clock->advance_seconds(5);
  for (int i = 0; i < 500 && f.destination->object_count() == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(f.destination->object_count(), 1u);
  EXPECT_NE(f.destination->objects().begin()->first.find("_20240501T1000Z_"), std::string::npos);
  ASSERT_EQ(recorder->emit(create_user_event()), EmitStatus::kOk);
  ASSERT_TRUE(recorder->flush(10s));
  EXPECT_EQ(f.destination->object_count(), 2u);
}

TEST(RecorderTest, SizeCapSplitsFilesAndNoFileExceedsIt) {
  Fixture f;
  auto o = f.options();
  o.max_file_bytes = 1'500'000;
  o.compression.codec = Compression::kZstd;
  auto recorder = Recorder::create(o);
  // Incompressible request parameters so files grow quickly.
  detail::FastRandom random(7);
  std::string params;
  std::size_t emitted = 0;
  for (int i = 0; i < 3000; ++i) {
    params = "{\"blob\":\"";
    for (int j = 0; j < 1500; ++j) params.push_back(static_cast<char>('a' + random.next() % 26));
    params += "\"}";
    EventBuilder b("s3.amazonaws.com", "PutObject");
    b.request_parameters(params);
    while (recorder->emit(b.build()) != EmitStatus::kOk) std::this_thread::sleep_for(1ms);
    ++emitted;
  }
  ASSERT_TRUE(recorder->flush(30s));
  auto objects = f.destination->objects();
  EXPECT_GE(objects.size(), 3u);
  std::size_t total = 0;
  for (const auto& [key, bytes] : objects) {
    EXPECT_LE(bytes.size(), o.max_file_bytes) << key;
    total += testing::check_log_file(key, bytes).size();
  }
  EXPECT_EQ(total, emitted);
}

TEST(RecorderTest, RejectsRoutingFieldsThatCouldEscapeTheKeyLayout) {
  Fixture f;
  auto recorder = Recorder::create(f.options());
  EventBuilder bad_region("s3.amazonaws.com", "GetObject");
  bad_region.region("../../etc");
  EXPECT_EQ(recorder->emit(bad_region.build()), EmitStatus::kInvalidRegion);
  EventBuilder bad_account("s3.amazonaws.com", "GetObject");
  bad_account.recipient_account_id("1234/../../x");
  EXPECT_EQ(recorder->emit(bad_account.build()), EmitStatus::kInvalidAccount);
  EXPECT_NE(describe(EmitStatus::kInvalidRegion).find("awsRegion"), std::string_view::npos);
  // emit() accepts the default region ("us-east-1") by a word compare; a name of the same length
  // that differs only in its first or last byte must still go through the full check.
  for (const char* lookalike : {"us-east-/", "us-east-1\n", "Us-east-1", "us-east-.", "us/east-1"}) {
    EventBuilder b("s3.amazonaws.com", "GetObject");
    b.region(lookalike);
    EXPECT_EQ(recorder->emit(b.build()), EmitStatus::kInvalidRegion) << lookalike;
  }
  ASSERT_TRUE(recorder->flush(10s));
  const Stats s = recorder->stats();
  EXPECT_EQ(s.accepted, 7u);
  EXPECT_EQ(s.dropped_invalid, 7u);
  EXPECT_EQ(f.destination->object_count(), 0u);
  expect_identity(s);
}

TEST(RecorderTest, HostileInputAlwaysYieldsValidJson) {
  Fixture f;
  auto recorder = Recorder::create(f.options());
  const std::string invalid_utf8 = "bad \xC3\x28 \xED\xA0\x80 \xF8\x88\x80\x80\x80 \xE2\x82 end";
  static constexpr char kControls[] = "nul\0inside\x01\x1f\x7f\n\"\\ \xE2\x80\xA8";
  const std::string controls(kControls, sizeof kControls - 1);
  const std::string huge_params = "{\"k\":\"" + std::string(1 << 20, 'x') + "\"}";
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  const std::string long_agent(5000, 'A');
  EventBuilder b("iam.amazonaws.com", invalid_utf8);
  b.user_agent(long_agent).source_ip(controls).error("Err", invalid_utf8).request_parameters(huge_params)
      .response_elements(deep).additional_event_data("{not json}").service_event_details(R"({"a":[1,2,{"b":null}]})");
  ASSERT_EQ(recorder->emit(b.build()), EmitStatus::kOk);
  ASSERT_TRUE(recorder->flush(10s));
  auto records = f.records();
  ASSERT_EQ(records.size(), 1u);
  const json& r = records[0];
  EXPECT_EQ(r["requestParameters"], json::parse(R"({"omitted":true})"));
  EXPECT_EQ(r["responseElements"], json::parse(R"({"omitted":true})"));
  EXPECT_EQ(r["additionalEventData"], json::parse(R"({"omitted":true})"));
  EXPECT_EQ(r["serviceEventDetails"], json::parse(R"({"a":[1,2,{"b":null}]})"));
  EXPECT_EQ(r["sourceIPAddress"].get<std::string>(), controls);
  const std::string agent = r["userAgent"];
  EXPECT_EQ(agent, std::string(1024, 'A') + "...");
  EXPECT_NE(r["eventName"].get<std::string>().find("\xEF\xBF\xBD"), std::string::npos);  // U+FFFD
  const Stats s = recorder->stats();
  EXPECT_EQ(s.fields_omitted, 3u);
  EXPECT_GE(s.fields_truncated, 1u);
  EXPECT_GE(s.fields_sanitized, 2u);
}

TEST(RecorderTest, CustomOmissionMarkerIsUsed) {
  Fixture f;
  auto o = f.options();
  o.limits.omitted_marker = R"({"omitted":true,"reason":"too large"})";
  o.limits.large_json_bytes = 100;
  auto recorder = Recorder::create(o);
  EventBuilder b("iam.amazonaws.com", "PutRolePolicy");
  const std::string params = "{\"policyDocument\":\"" + std::string(200, 'p') + "\"}";
  b.request_parameters(params);
  ASSERT_EQ(recorder->emit(b.build()), EmitStatus::kOk);
  ASSERT_TRUE(recorder->flush(10s));
  EXPECT_EQ(f.records()[0]["requestParameters"]["reason"], "too large");
}

TEST(RecorderTest, InvalidOptionsNameTheFieldAndTheRule) {
  Fixture f;
  auto expect_error = [&](auto mutate, const std::string& needle) {
    auto o = f.options();
    mutate(o);
    try {
      Recorder::create(o);
      ADD_FAILURE() << "expected std::invalid_argument mentioning " << needle;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error([](RecorderOptions& o) { o.account_id = ""; }, "account_id");
  expect_error([](RecorderOptions& o) { o.account_id = "12345"; }, "account_id");
  expect_error([](RecorderOptions& o) { o.region = "US_EAST"; }, "region");
  expect_error([](RecorderOptions& o) { o.key_prefix = "../../etc"; }, "key_prefix");
  expect_error([](RecorderOptions& o) { o.roll_interval = 0s; }, "roll_interval");
  expect_error([](RecorderOptions& o) { o.limits.omitted_marker = "{oops"; }, "omitted_marker");
  expect_error([](RecorderOptions& o) { o.compression.level = 42; }, "level");
  expect_error([](RecorderOptions& o) { o.trail_name = "a"; }, "trail_name");
  expect_error([](RecorderOptions& o) { o.worker_idle_wait = 5us; }, "worker_idle_wait");
  expect_error([](RecorderOptions& o) { o.worker_idle_wait = 61s; }, "worker_idle_wait");
}

// A long idle wait keeps a burst in the buffer (no syscall from emit wakes the worker), but
// flush() and shutdown() wake the worker at once.
TEST(RecorderTest, LongWorkerIdleWaitKeepsBurstsBufferedUntilFlushOrShutdown) {
  Fixture f;
  auto o = f.options(false);
  o.worker_idle_wait = 60s;
  auto recorder = Recorder::create(o);
  std::this_thread::sleep_for(300ms);  // the worker has found the buffer empty and sleeps
  for (int i = 0; i < 10; ++i) ASSERT_EQ(recorder->emit(create_user_event()), EmitStatus::kOk);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(recorder->stats().pending, 10u);
  EXPECT_EQ(f.destination->object_count(), 0u);  // still asleep: the burst waits in the buffer

  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(recorder->flush(10s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(f.records().size(), 10u);

  std::this_thread::sleep_for(100ms);  // asleep again
  for (int i = 0; i < 5; ++i) ASSERT_EQ(recorder->emit(create_user_event()), EmitStatus::kOk);
  start = std::chrono::steady_clock::now();
  ASSERT_TRUE(recorder->shutdown(10s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(f.records().size(), 15u);
  expect_identity(recorder->stats());
}

TEST(RecorderTest, DeliveryFailuresAreRetriedWithoutLossOrDuplicates) {
  Fixture f;
  auto recorder = Recorder::create(f.options(false));
  f.destination->fail_commits(3);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(recorder->emit(create_user_event()), EmitStatus::kOk);
  ASSERT_TRUE(recorder->flush(30s));
  EXPECT_EQ(f.records().size(), 100u);
  const Stats s = recorder->stats();
  EXPECT_EQ(s.written, 100u);
  EXPECT_EQ(s.delivery_errors, 3u);
  EXPECT_EQ(s.pending, 0u);
  expect_identity(s);
  std::lock_guard lock(f.errors_mutex);
  ASSERT_FALSE(f.errors.empty());
  EXPECT_EQ(f.errors[0].component, "deliver");
  EXPECT_NE(f.errors[0].message.find("will retry"), std::string::npos);
}

TEST(RecorderTest, FlushHonoursItsTimeoutDuringAnOutage) {
  Fixture f;
  auto recorder = Recorder::create(f.options(false));
  f.destination->set_unavailable(true);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(recorder->emit(create_user_event()), EmitStatus::kOk);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(recorder->flush(300ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_EQ(recorder->stats().pending, 10u);  // kept, not dropped
  f.destination->set_unavailable(false);
  ASSERT_TRUE(recorder->flush(60s));
  EXPECT_EQ(f.records().size(), 10u);
  expect_identity(recorder->stats());
}

TEST(RecorderTest, ShutdownHonoursItsTimeoutAndCountsWhatItGaveUp) {
  Fixture f;
  auto recorder = Recorder::create(f.options());
  f.destination->set_unavailable(true);
  for (int i = 0; i < 25; ++i) ASSERT_EQ(recorder->emit(create_user_event()), EmitStatus::kOk);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(recorder->shutdown(300ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  // A second call waits for the worker to finish giving up; it still reports the failure.
  EXPECT_FALSE(recorder->shutdown(10s));
  const Stats s = recorder->stats();
  EXPECT_EQ(s.dropped_write_failed, 25u);
  EXPECT_EQ(s.written, 0u);
  EXPECT_EQ(s.pending, 0u);
  expect_identity(s);
}

TEST(RecorderTest, CleanShutdownWritesEverythingAndIsIdempotent) {
  Fixture f;
  auto recorder = Recorder::create(f.options());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(recorder->emit(create_user_event()), EmitStatus::kOk);
  EXPECT_TRUE(recorder->shutdown(30s));
  EXPECT_TRUE(recorder->shutdown(30s));
  EXPECT_EQ(recorder->emit(create_user_event()), EmitStatus::kClosed);
  const Stats s = recorder->stats();
  EXPECT_EQ(s.written, 1000u);
  EXPECT_EQ(s.accepted, 1000u);
  EXPECT_EQ(s.refused_closed, 1u);
  expect_identity(s);
  EXPECT_EQ(f.records().size(), 1000u);
}

TEST(RecorderTest, DropPolicyCountsEveryDropWhenTheBufferIsFull) {
  Fixture f;
  auto recorder = Recorder::create(f.small_buffer_options());
  f.destination->set_unavailable(true);  // the worker stalls, so the buffer fills
  std::uint64_t ok = 0, dropped = 0;
  for (int i = 0; i < 20000; ++i) {
    const EmitStatus status = recorder->emit(create_user_event());
    if (status == EmitStatus::kOk) ++ok;
    if (status == EmitStatus::kDroppedFull) ++dropped;
  }
  EXPECT_GT(dropped, 0u);
  Stats s = recorder->stats();
  EXPECT_EQ(s.dropped_full, dropped);
  expect_identity(s);
  f.destination->set_unavailable(false);
  ASSERT_TRUE(recorder->flush(60s));
  s = recorder->stats();
  EXPECT_EQ(s.written, ok);
  EXPECT_EQ(s.pending, 0u);
  expect_identity(s);
  EXPECT_EQ(f.records().size(), ok);
}

// Drops are silent at the call site under the default policy, so the error handler is where an
// operator learns of them: once, promptly, with the count, and not once per dropped event.
TEST(RecorderTest, DropsAreReportedToTheErrorHandlerAtMostOnceAMinute) {
  Fixture f;
  auto recorder = Recorder::create(f.small_buffer_options());
  f.destination->set_unavailable(true);  // the worker stalls, so the buffer fills
  std::uint64_t dropped = 0;
  for (int i = 0; i < 20000; ++i) dropped += recorder->emit(create_user_event()) == EmitStatus::kDroppedFull;
  ASSERT_GT(dropped, 0u);

  const auto buffer_reports = [&f] {
    std::vector<ErrorReport> out;
    std::lock_guard lock(f.errors_mutex);
    for (const ErrorReport& r : f.errors) {
      if (r.component == "buffer") out.push_back(r);
    }
    return out;
  };
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (buffer_reports().empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  auto reports = buffer_reports();
  ASSERT_EQ(reports.size(), 1u) << "expected one drop report within 5 s";
  EXPECT_EQ(reports[0].kind, ErrorKind::kThrottled);
  // "<n> events dropped (full <n>, ...)": the count is the number dropped by the time it looked.
  const std::uint64_t reported = std::stoull(reports[0].message);
  EXPECT_GT(reported, 0u);
  EXPECT_LE(reported, dropped);
  EXPECT_NE(reports[0].message.find(" events dropped (full "), std::string::npos) << reports[0].message;

  // More drops within the minute: counted, not reported again.
  for (int i = 0; i < 2000; ++i) recorder->emit(create_user_event());
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(buffer_reports().size(), 1u);
  EXPECT_GT(recorder->stats().dropped_full, dropped);
  f.destination->set_unavailable(false);
  ASSERT_TRUE(recorder->flush(60s));
  expect_identity(recorder->stats());
}

TEST(RecorderTest, BlockPolicyWaitsAtMostItsTimeout) {
  Fixture f;
  auto o = f.small_buffer_options();
  o.overflow_policy = OverflowPolicy::kBlock;
  o.block_timeout = 20ms;
  auto recorder = Recorder::create(o);
  f.destination->set_unavailable(true);
  EmitStatus status = EmitStatus::kOk;
  int emitted = 0;
  while (status == EmitStatus::kOk && emitted < 100000) {
    status = recorder->emit(create_user_event());
    ++emitted;
  }
  ASSERT_EQ(status, EmitStatus::kDroppedFull);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(recorder->emit(create_user_event()), EmitStatus::kDroppedFull);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 20ms);
  EXPECT_LT(waited, 1s);
  f.destination->set_unavailable(false);
  ASSERT_TRUE(recorder->flush(60s));
  expect_identity(recorder->stats());
}

TEST(RecorderTest, StatsIdentityHoldsWhileProducersRun) {
  Fixture f;
  auto o = f.options();
  o.clock = nullptr;  // real time
  auto recorder = Recorder::create(o);
  std::atomic<bool> stop{false};
  std::vector<std::thread> producers;
  for (int t = 0; t < 2; ++t) {
    producers.emplace_back([&] {
      while (!stop.load()) recorder->emit(create_user_event());
    });
  }
  for (int i = 0; i < 200; ++i) {
    const Stats s = recorder->stats();
    ASSERT_EQ(s.accepted, s.written + s.dropped + s.pending);
    ASSERT_LE(s.written + s.dropped, s.accepted);
  }
  stop = true;
  for (auto& t : producers) t.join();
  ASSERT_TRUE(recorder->shutdown(60s));
  const Stats s = recorder->stats();
  EXPECT_EQ(s.pending, 0u);
  EXPECT_EQ(s.accepted, s.written + s.dropped);
}

}  // namespace
}  // namespace trailkit
