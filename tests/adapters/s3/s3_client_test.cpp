// S3Client against a scripted server: what multipart does when a part fails, and classification.
#include "s3/s3_client.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "adapters/s3/support/test_http_server.hpp"
#include "support/files.hpp"

namespace trailkit::s3 {
namespace {

using namespace std::chrono_literals;

S3ClientOptions client_options(std::uint16_t port) {
  S3ClientOptions o;
  o.settings.credentials = Credentials{"AKIDCLIENTTEST", "CLIENT-TEST-SECRET", ""};
  o.settings.region = "us-east-1";
  o.settings.endpoint_url = "http://127.0.0.1:" + std::to_string(port);
  o.settings.path_style = true;
  o.http.io_timeout = 2s;
  return o;
}

TEST(S3ClientTest, AFailedPartAbortsTheMultipartUploadSoNoPartsAreLeftBehind) {
  trailkit::s3::testing::TestHttpServer server;
  trailkit::testing::TempDir dir;
  const std::string payload(12u << 20, 'x');  // three 5 MiB parts: 5 + 5 + 2
  trailkit::testing::write_file(dir.path() / "body", payload);
  const int fd = ::open((dir.path() / "body").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);

  trailkit::s3::testing::ScriptedReply create;
  create.body = "<InitiateMultipartUploadResult><UploadId>upload-42</UploadId></InitiateMultipartUploadResult>";
  server.push(create);
  trailkit::s3::testing::ScriptedReply part1;
  part1.headers = {{"ETag", "\"etag-1\""}};
  server.push(part1);
  trailkit::s3::testing::ScriptedReply part2_fails;
  part2_fails.status = 500;
  part2_fails.body = "<Error><Code>InternalError</Code><Message>try again</Message></Error>";
  server.push(part2_fails);
  trailkit::s3::testing::ScriptedReply abort_ok;
  abort_ok.status = 204;
  server.push(abort_ok);

  S3Client client(client_options(server.port()));
  ObjectBody body{fd, 0, payload.size(), sha256_hex(payload), ""};
  S3Reply reply;
  const Status status = client.put_object_multipart("audit-logs", "AWSLogs/big.json.gz", body, {}, 5u << 20, &reply);
  ::close(fd);
  EXPECT_FALSE(status.is_ok());
  EXPECT_EQ(status.kind(), ErrorKind::kTransient);
  EXPECT_EQ(reply.error_code, "InternalError");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_NE(requests[0].target.find("uploads"), std::string::npos);
  EXPECT_EQ(requests[1].method, "PUT");
  EXPECT_NE(requests[1].target.find("partNumber=1"), std::string::npos);
  EXPECT_EQ(requests[1].body.size(), 5u << 20);
  EXPECT_NE(requests[2].target.find("partNumber=2"), std::string::npos);
  EXPECT_EQ(requests[3].method, "DELETE");
  EXPECT_NE(requests[3].target.find("uploadId=upload-42"), std::string::npos);
}

TEST(S3ClientTest, RepliesAreClassifiedBeforeAnyRetry) {
  EXPECT_EQ(S3Client::classify(503, "SlowDown"), ErrorKind::kThrottled);
  EXPECT_EQ(S3Client::classify(429, ""), ErrorKind::kThrottled);
  EXPECT_EQ(S3Client::classify(500, "InternalError"), ErrorKind::kTransient);
  EXPECT_EQ(S3Client::classify(400, "BadDigest"), ErrorKind::kTransient);
  EXPECT_EQ(S3Client::classify(403, "RequestTimeTooSkewed"), ErrorKind::kTransient);
  EXPECT_EQ(S3Client::classify(403, "AccessDenied"), ErrorKind::kPermanent);
  EXPECT_EQ(S3Client::classify(403, "SignatureDoesNotMatch"), ErrorKind::kPermanent);
  EXPECT_EQ(S3Client::classify(404, "NoSuchBucket"), ErrorKind::kPermanent);
}

}  // namespace
}  // namespace trailkit::s3
