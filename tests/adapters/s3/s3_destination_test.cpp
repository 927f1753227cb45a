// S3Destination behaviour beyond faults: SSE headers on the wire, and entries past max_retry_age.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "adapters/s3/support/fake_s3.hpp"
#include "s3/s3_destination.hpp"
#include "support/files.hpp"
#include "trailkit/recorder.hpp"

namespace trailkit::s3 {
namespace {

using namespace std::chrono_literals;
using trailkit::testing::TempDir;

// The system clock with its wall time moved by a fixed offset (an entry's age is wall time).
class ShiftedClock final : public Clock {
 public:
  explicit ShiftedClock(std::int64_t wall_offset_seconds) : offset_ns_(wall_offset_seconds * 1'000'000'000) {}
  int64_t wall_now_ns() const noexcept override { return system_clock()->wall_now_ns() + offset_ns_; }
  int64_t monotonic_now_ns() const noexcept override { return system_clock()->monotonic_now_ns(); }

 private:
  std::int64_t offset_ns_;
};

S3DestinationOptions options_for(const trailkit::s3::testing::FakeS3& fake, const std::string& state_dir) {
  S3DestinationOptions o;
  o.bucket = "audit-logs";
  o.state_dir = state_dir;
  o.settings.endpoint_url = fake.endpoint_url();
  o.settings.credentials = Credentials{"AKIDDESTTEST", "DEST-TEST-SECRET", ""};
  o.settings.region = "us-east-1";
  o.settings.path_style = true;
  o.http.connect_timeout = 500ms;
  o.http.io_timeout = 1s;
  o.error_handler = [](const ErrorReport&) {};
  return o;
}

std::size_t emit_and_flush(const std::shared_ptr<S3Destination>& destination, int events) {
  RecorderOptions options;
  options.account_id = "111122223333";
  options.destination = destination;
  options.error_handler = [](const ErrorReport&) {};
  std::size_t files = 0;
  options.on_file_sealed = [&](const SealedFile&) { ++files; };
  auto recorder = Recorder::create(options);
  for (int i = 0; i < events; ++i) {
    EXPECT_EQ(recorder->emit(EventBuilder("kms.amazonaws.com", "Decrypt").build()), EmitStatus::kOk);
  }
  EXPECT_TRUE(recorder->shutdown(30s));
  return files;
}

TEST(S3DestinationTest, KmsServerSideEncryptionHeadersAreSentAndSigned) {
  trailkit::s3::testing::FakeS3 fake;
  TempDir state;
  auto o = options_for(fake, state.str());
  o.server_side_encryption = "aws:kms";
  o.kms_key_id = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  auto destination = S3Destination::create(o);
  ASSERT_EQ(emit_and_flush(destination, 10), 1u);
  ASSERT_TRUE(destination->wait_until_delivered(30s)) << destination->status().latest_delivery_error;
  bool saw_put = false;
  for (const auto& request : fake.server().requests()) {
    if (request.method != "PUT") continue;
    saw_put = true;
    EXPECT_EQ(request.header("x-amz-server-side-encryption").value_or(""), "aws:kms");
    EXPECT_EQ(request.header("x-amz-server-side-encryption-aws-kms-key-id").value_or(""), o.kms_key_id);
    const std::string authorization = request.header("authorization").value_or("");
    EXPECT_NE(authorization.find("x-amz-server-side-encryption"), std::string::npos) << "SSE headers must be signed";
  }
  EXPECT_TRUE(saw_put);
}

TEST(S3DestinationTest, InvalidEncryptionSettingsAreSetupErrors) {
  trailkit::s3::testing::FakeS3 fake;
  TempDir state;
  auto o = options_for(fake, state.str());
  o.server_side_encryption = "aws:kms:dsse";
  EXPECT_THROW(S3Destination::create(o), std::invalid_argument);
  o.server_side_encryption = "";
  o.kms_key_id = "some-key";
  EXPECT_THROW(S3Destination::create(o), std::invalid_argument);
}

TEST(S3DestinationTest, EntriesPastMaxRetryAgeAreQuarantinedNeverDeleted) {
  trailkit::s3::testing::FakeS3 fake;
  fake.fail_every_request(trailkit::s3::testing::FakeS3Fault::kAccessDenied);  // the bucket policy is broken
  TempDir state;
  std::size_t files = 0;
  {
    auto destination = S3Destination::create(options_for(fake, state.str()));
    files = emit_and_flush(destination, 20);
    EXPECT_FALSE(destination->wait_until_delivered(500ms));
    EXPECT_EQ(destination->status().backlog_objects, files);
    destination->shutdown(5s);
  }
  ASSERT_GE(files, 1u);
  // 31 days later (max_retry_age is 30 days, like CloudTrail) the entries are given up: kept in
  // quarantine/, counted, and never uploaded.
  auto o = options_for(fake, state.str());
  o.clock = std::make_shared<ShiftedClock>(31 * 24 * 3600);
  auto destination = S3Destination::create(o);
  ASSERT_TRUE(destination->wait_until_delivered(30s));
  const DeliveryStatus status = destination->status();
  EXPECT_EQ(status.quarantined, files);
  EXPECT_EQ(status.delivered_objects, 0u);
  EXPECT_EQ(status.backlog_objects, 0u);
  EXPECT_TRUE(fake.objects().empty());
  std::size_t kept = 0;
  for (const auto& entry : std::filesystem::directory_iterator(state.path() / "spool" / "quarantine")) {
    if (entry.path().extension() != ".reason") ++kept;
  }
  EXPECT_EQ(kept, files);
}

}  // namespace
}  // namespace trailkit::s3

namespace trailkit::s3 {
namespace {

TEST(S3DestinationTest, VirtualHostedAddressingPutsTheBucketInTheHostName) {
  trailkit::s3::testing::FakeS3 fake;
  TempDir state;
  auto o = options_for(fake, state.str());
  o.settings.endpoint_url = "http://localhost:" + std::to_string(fake.port());
  o.settings.path_style = false;                 // AWS's default addressing
  o.http.connect_address = "127.0.0.1";          // audit-logs.localhost has no DNS entry here
  auto destination = S3Destination::create(o);
  ASSERT_EQ(emit_and_flush(destination, 10), 1u);
  ASSERT_TRUE(destination->wait_until_delivered(30s)) << destination->status().latest_delivery_error;
  bool saw_put = false;
  for (const auto& request : fake.server().requests()) {
    if (request.method != "PUT") continue;
    saw_put = true;
    EXPECT_EQ(request.header("host").value_or(""), "audit-logs.localhost:" + std::to_string(fake.port()));
    EXPECT_TRUE(request.target.starts_with("/AWSLogs/111122223333/CloudTrail/us-east-1/")) << request.target;
    EXPECT_NE(request.header("authorization").value_or("").find("SignedHeaders=content-md5;content-type;host;"),
              std::string::npos);
  }
  EXPECT_TRUE(saw_put);
}

}  // namespace
}  // namespace trailkit::s3

namespace trailkit::s3 {
namespace {

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t total = 0, resident = 0;
  statm >> total >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

TEST(S3DestinationTest, ALargeBacklogStaysOnDiskNotInMemory) {
  // The bucket is unreachable (nothing listens on the port): 300 MB of sealed files pile up.
  TempDir state;
  S3DestinationOptions o;
  o.bucket = "audit-logs";
  o.state_dir = state.str();
  o.settings.endpoint_url = "http://127.0.0.1:9";  // discard port: connection refused
  o.settings.credentials = Credentials{"AKIDBACKLOG", "BACKLOG-TEST-SECRET", ""};
  o.settings.region = "us-east-1";
  o.fsync = false;  // durability is not what this test measures
  o.error_handler = [](const ErrorReport&) {};
  constexpr int kFiles = 1500;
  const std::string chunk(200 * 1024, 'z');
  std::size_t baseline = 0;
  {
    auto destination = S3Destination::create(o);
    baseline = resident_bytes();
    for (int i = 0; i < kFiles; ++i) {
      Status status;
      auto writer = destination->begin_object(status);
      ASSERT_TRUE(writer) << status.message();
      ASSERT_TRUE(writer->write(chunk).is_ok());
      ASSERT_TRUE(writer->commit("AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/21/f" + std::to_string(i) +
                                 ".json.gz").is_ok());
    }
    EXPECT_EQ(destination->status().backlog_objects, static_cast<std::uint64_t>(kFiles));
    EXPECT_LT(resident_bytes() - std::min(baseline, resident_bytes()), std::size_t{32} << 20);
    destination->shutdown(5s);
  }
  // A restart lists the backlog from the entry headers; payloads stay on disk.
  auto destination = S3Destination::create(o);
  const DeliveryStatus status = destination->status();
  EXPECT_EQ(status.backlog_objects, static_cast<std::uint64_t>(kFiles));
  EXPECT_EQ(status.backlog_bytes, static_cast<std::uint64_t>(kFiles) * chunk.size());
  EXPECT_LT(resident_bytes() - std::min(baseline, resident_bytes()), std::size_t{32} << 20)
      << "resident memory grew with a " << status.backlog_bytes / (1 << 20) << " MiB backlog";
  destination->shutdown(5s);
}

}  // namespace
}  // namespace trailkit::s3
