// The state-dir files are the contract between the Recorder and `trailkit serve` / `trailkit validate`.
#include "digest/state_files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "digest/test_helpers.hpp"
#include "support/files.hpp"

namespace trailkit::detail {
namespace {

using testing::error_message_of;
using testing::read_file;
using testing::TempDir;
using testing::write_file;

unsigned mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TrailDescription sample_trail() {
  TrailDescription trail;
  trail.name = "my-trail";
  trail.account_id = "123456789012";
  trail.home_region = "us-east-1";
  trail.bucket = "ct-bucket";
  trail.key_prefix = "my/prefix";
  trail.organization_id = "o-abcdefghij";
  trail.log_file_validation = true;
  trail.digest_interval_seconds = 600;
  trail.destination = "s3://ct-bucket/my/prefix";
  return trail;
}

TEST(StateFilesPaths, AreInsideTheStateDir) {
  EXPECT_EQ(trail_description_path("/var/lib/tk"), "/var/lib/tk/trail.json");
  EXPECT_EQ(trail_status_path("/var/lib/tk/"), "/var/lib/tk/trail-status.json");
  EXPECT_EQ(public_keys_path(".trailkit"), ".trailkit/public-keys.json");
  EXPECT_EQ(default_signing_key_path("./.trailkit"), "./.trailkit/keys/digest-key.pem");
}

TEST(StateFilesTrail, ArnHasCloudTrailsFormat) {
  // validate-logs requires arn:.+:cloudtrail:.+:\d{12}:trail/.+ and takes the region from field 4.
  EXPECT_EQ(sample_trail().arn(), "arn:aws:cloudtrail:us-east-1:123456789012:trail/my-trail");
}

TEST(StateFilesTrail, RoundTripsEveryField) {
  TempDir dir;
  const TrailDescription trail = sample_trail();
  write_trail_description(dir.str(), trail);
  const std::optional<TrailDescription> back = read_trail_description(dir.str());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->name, trail.name);
  EXPECT_EQ(back->account_id, trail.account_id);
  EXPECT_EQ(back->home_region, trail.home_region);
  EXPECT_EQ(back->bucket, trail.bucket);
  EXPECT_EQ(back->key_prefix, trail.key_prefix);
  EXPECT_EQ(back->organization_id, trail.organization_id);
  EXPECT_EQ(back->log_file_validation, true);
  EXPECT_EQ(back->digest_interval_seconds, 600);
  EXPECT_EQ(back->destination, trail.destination);
}

TEST(StateFilesTrail, WritesTheDocumentedJson) {
  TempDir dir;
  TrailDescription trail = sample_trail();
  trail.name = "quote\"and\\slash";
  write_trail_description(dir.str(), trail);
  const std::string text = read_file(dir.path() / "trail.json");
  EXPECT_EQ(text,
            "{\"version\":1,\"name\":\"quote\\\"and\\\\slash\",\"accountId\":\"123456789012\",\"homeRegion\":"
            "\"us-east-1\",\"s3BucketName\":\"ct-bucket\",\"s3KeyPrefix\":\"my/prefix\",\"organizationId\":"
            "\"o-abcdefghij\",\"logFileValidationEnabled\":true,\"digestIntervalSeconds\":600,\"destination\":"
            "\"s3://ct-bucket/my/prefix\"}\n");
  EXPECT_EQ(read_trail_description(dir.str())->name, trail.name);
}

TEST(StateFilesTrail, InvalidUtf8IsReplacedNotFatal) {
  TempDir dir;
  TrailDescription trail = sample_trail();
  trail.name = "bad\xff";
  write_trail_description(dir.str(), trail);
  EXPECT_EQ(read_trail_description(dir.str())->name, "bad\xef\xbf\xbd");
}

TEST(StateFilesStatus, RoundTripsEveryField) {
  TempDir dir;
  TrailStatus status;
  status.is_logging = true;
  status.start_logging_time = 1714557600;
  status.stop_logging_time = 0;
  status.latest_delivery_time = 1714557900;
  status.latest_delivery_error = "AccessDenied: \"nope\"\n";
  status.latest_digest_delivery_time = 1714561200;
  status.latest_digest_delivery_error = "";
  write_trail_status(dir.str(), status);
  const std::optional<TrailStatus> back = read_trail_status(dir.str());
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(back->is_logging);
  EXPECT_EQ(back->start_logging_time, 1714557600);
  EXPECT_EQ(back->stop_logging_time, 0);
  EXPECT_EQ(back->latest_delivery_time, 1714557900);
  EXPECT_EQ(back->latest_delivery_error, status.latest_delivery_error);
  EXPECT_EQ(back->latest_digest_delivery_time, 1714561200);
  EXPECT_EQ(back->latest_digest_delivery_error, "");
  const auto json = nlohmann::json::parse(read_file(dir.path() / "trail-status.json"));
  EXPECT_EQ(json.at("version"), 1);
  EXPECT_EQ(json.at("isLogging"), true);
  EXPECT_EQ(json.at("latestDigestDeliveryTime"), 1714561200);
}

TEST(StateFilesRead, MissingFileIsNullopt) {
  TempDir dir;
  EXPECT_EQ(read_trail_description(dir.str()), std::nullopt);
  EXPECT_EQ(read_trail_status(dir.str()), std::nullopt);
  EXPECT_EQ(read_trail_status(dir.str() + "/no/such/dir"), std::nullopt);
  EXPECT_EQ(read_file_if_exists(dir.str() + "/absent"), std::nullopt);
}

TEST(StateFilesRead, MalformedFilesAreErrorsNamingThePath) {
  TempDir dir;
  const std::string path = trail_status_path(dir.str());
  const std::pair<const char*, const char*> cases[] = {
      {"", "not JSON"},
      {"{\"version\":1,", "not JSON"},
      {"[1,2]", "not a JSON object"},
      {"{\"isLogging\":true}", "\"version\" must be 1"},
      {"{\"version\":2}", "\"version\" must be 1"},
      {"{\"version\":1,\"isLogging\":\"yes\"}", "\"isLogging\" must be true or false"},
      {"{\"version\":1,\"latestDeliveryTime\":1.5}", "\"latestDeliveryTime\" must be an integer"},
      {"{\"version\":1,\"latestDeliveryError\":7}", "\"latestDeliveryError\" must be a string"},
  };
  for (const auto& [content, problem] : cases) {
    write_file(path, content);
    const std::string message = error_message_of([&] { read_trail_status(dir.str()); });
    EXPECT_NE(message.find(path), std::string::npos) << content << " -> " << message;
    EXPECT_NE(message.find(problem), std::string::npos) << content << " -> " << message;
  }
  write_file(trail_description_path(dir.str()), "{\"version\":1,\"name\":[]}");
  const std::string message = error_message_of([&] { read_trail_description(dir.str()); });
  EXPECT_NE(message.find("\"name\" must be a string"), std::string::npos) << message;
}

TEST(StateFilesRead, UnreadableFileIsAnErrorNotMissing) {
  TempDir dir;
  std::filesystem::create_directory(trail_status_path(dir.str()));  // a directory where the file should be
  const std::string message = error_message_of([&] { read_trail_status(dir.str()); });
  EXPECT_NE(message.find(trail_status_path(dir.str())), std::string::npos) << message;
}

TEST(StateFilesAtomicWrite, CreatesMissingParentsWith0700AndReplacesContent) {
  TempDir dir;
  const std::string path = dir.str() + "/a/b/file.json";
  write_file_atomically(path, "first");
  EXPECT_EQ(read_file(path), "first");
  EXPECT_EQ(mode_of(dir.str() + "/a"), 0700u);
  EXPECT_EQ(mode_of(dir.str() + "/a/b"), 0700u);
  write_file_atomically(path, "second", 0600);
  EXPECT_EQ(read_file(path), "second");
  EXPECT_EQ(mode_of(path), 0600u);
  // No tmp file is left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path() / "a" / "b")) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(StateFilesAtomicWrite, LeavesExistingDirectoriesModesAlone) {
  TempDir dir;
  ASSERT_EQ(::chmod(dir.str().c_str(), 0755), 0);
  write_file_atomically(dir.str() + "/x.json", "{}");
  EXPECT_EQ(mode_of(dir.str()), 0755u);
}

TEST(StateFilesAtomicWrite, FailuresNameThePathAndLeaveNoTmp) {
  TempDir dir;
  write_file(dir.path() / "file", "x");
  // A parent that is a regular file.
  std::string message = error_message_of([&] { write_file_atomically(dir.str() + "/file/sub/x.json", "{}"); });
  EXPECT_NE(message.find(dir.str() + "/file"), std::string::npos) << message;
  // A target that is a directory: rename fails; the tmp file must be cleaned up.
  std::filesystem::create_directory(dir.path() / "target");
  std::filesystem::create_directory(dir.path() / "target" / "inner");
  message = error_message_of([&] { write_file_atomically(dir.str() + "/target", "{}"); });
  EXPECT_NE(message.find(dir.str() + "/target"), std::string::npos) << message;
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 2);  // "file" and "target" only
}

TEST(StateFilesAtomicWrite, ConcurrentWritersNeverLeaveATornFile) {
  TempDir dir;
  const std::string path = dir.str() + "/status.json";
  const std::string a(100000, 'a');
  const std::string b(100000, 'b');
  std::thread writer_a([&] {
    for (int i = 0; i < 20; ++i) write_file_atomically(path, a);
  });
  std::thread writer_b([&] {
    for (int i = 0; i < 20; ++i) write_file_atomically(path, b);
  });
  for (int i = 0; i < 50; ++i) {
    const std::string seen = read_file(path);
    if (!seen.empty()) {
      EXPECT_TRUE(seen == a || seen == b) << "torn read of " << seen.size() << " bytes";
    }
  }
  writer_a.join();
  writer_b.join();
  const std::string last = read_file(path);
  EXPECT_TRUE(last == a || last == b);
}

}  // namespace
}  // namespace trailkit::detail
