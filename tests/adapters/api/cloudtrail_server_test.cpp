// CloudTrailServer (`trailkit serve`) end to end: the server runs in-process on an ephemeral port
// over a temporary state dir written through state_files / KeyRegistry, and REAL clients talk to it:
// the stock `aws cloudtrail ...` CLI, boto3 (and botocore's own signer for the stale and tampered
// requests), plus our HttpClient + signer where the test needs byte-level control.
// Tests that need `aws` / boto3 skip when they are missing.

#include "api/cloudtrail_server.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>

#include "digest/crypto.hpp"
#include "digest/key_registry.hpp"
#include "digest/state_files.hpp"
#include "s3/http_client.hpp"
#include "s3/sigv4.hpp"
#include "support/files.hpp"
#include "support/manual_clock.hpp"

namespace {

using trailkit::api::CloudTrailServer;
using trailkit::api::CloudTrailServerOptions;
using Json = nlohmann::json;
namespace detail = trailkit::detail;

constexpr char kKeyId[] = "AKIDTRAILKITSERVE001";
constexpr char kSecret[] = "serve/test+secret/0001";
constexpr char kAccount[] = "123456789012";
constexpr char kTrailArn[] = "arn:aws:cloudtrail:us-east-1:123456789012:trail/audit-trail";
constexpr std::string_view kTargetPrefix = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";

// ---- running commands ----

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

CommandResult run(const std::string& command) {
  trailkit::testing::TempDir scratch("trailkit-cmd");
  const std::string out = scratch.str() + "/out", err = scratch.str() + "/err";
  const int status = std::system((command + " >" + out + " 2>" + err).c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = trailkit::testing::read_file(out);
  result.err = trailkit::testing::read_file(err);
  return result;
}

bool have(const std::string& probe) { return run(probe).exit_code == 0; }

// A clean AWS environment: only the given key pair, no profile, config, token or retries.
std::string aws_env(const std::string& key_id = kKeyId, const std::string& secret = kSecret) {
  return "env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_SESSION_TOKEN -u AWS_SECURITY_TOKEN -u AWS_ENDPOINT_URL "
         "-u AWS_ENDPOINT_URL_CLOUDTRAIL AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null "
         "AWS_EC2_METADATA_DISABLED=true AWS_MAX_ATTEMPTS=1 AWS_RETRY_MODE=standard AWS_ACCESS_KEY_ID='" +
         key_id + "' AWS_SECRET_ACCESS_KEY='" + secret + "' ";
}

// The boto3 side of the tests: one mode per check, JSON on stdout.
constexpr char kClientScript[] = R"PY(
import datetime, hashlib, json, sys, urllib.request, urllib.error
from unittest import mock
import boto3, botocore.auth, botocore.session
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

endpoint, mode, args = sys.argv[1], sys.argv[2], sys.argv[3:]
client = boto3.client("cloudtrail", endpoint_url=endpoint, region_name="us-east-1")
PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."

def keys(response):
    return [{"fingerprint": k["Fingerprint"], "md5": hashlib.md5(k["Value"]).hexdigest(),
             "der_hex": k["Value"].hex(), "start": int(k["ValidityStartTime"].timestamp()),
             "end": int(k["ValidityEndTime"].timestamp())} for k in response["PublicKeyList"]]

def error_of(call):
    try:
        call()
        return {"code": None}
    except ClientError as e:
        return {"code": e.response["Error"]["Code"], "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
                "message": e.response["Error"]["Message"], "request_id": e.response["ResponseMetadata"].get("RequestId")}

def send(operation, body, skew_seconds=0, tamper=False, content_type="application/x-amz-json-1.1"):
    # Signed by botocore's own SigV4Auth (optionally at a faked time), sent with urllib.
    request = AWSRequest(method="POST", url=endpoint + "/", data=body.encode(),
                         headers={"X-Amz-Target": PREFIX + operation, "Content-Type": content_type})
    credentials = botocore.session.get_session().get_credentials()
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=skew_seconds)
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        botocore.auth.SigV4Auth(credentials, "cloudtrail", "us-east-1").add_auth(request)
    data = request.body
    if tamper:
        data = data[:-2] + bytes([data[-2] ^ 1]) + data[-1:]
    wire = urllib.request.Request(endpoint + "/", data=data, method="POST", headers=dict(request.headers.items()))
    try:
        with urllib.request.urlopen(wire) as response:
            status, headers, payload = response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        status, headers, payload = e.code, e.headers, e.read()
    return {"status": status, "request_id": headers.get("x-amzn-RequestId"), "body": json.loads(payload)}

if mode == "keys":
    kwargs = {}
    if args:
        kwargs = {"StartTime": datetime.datetime.fromtimestamp(int(args[0]), datetime.timezone.utc),
                  "EndTime": datetime.datetime.fromtimestamp(int(args[1]), datetime.timezone.utc)}
    print(json.dumps(keys(client.list_public_keys(**kwargs))))
elif mode == "trails":
    print(json.dumps({"describe": client.describe_trails()["trailList"],
                      "by_name": client.describe_trails(trailNameList=["audit-trail"])["trailList"],
                      "other": client.describe_trails(trailNameList=["other-trail"])["trailList"],
                      "get": client.get_trail(Name=args[0])["Trail"],
                      "status": client.get_trail_status(Name="audit-trail")}, default=str))
elif mode == "errors":
    print(json.dumps({
        "unknown_trail": error_of(lambda: client.get_trail(Name="no-such-trail")),
        "bad_name": error_of(lambda: client.get_trail(Name="a..b")),
        "bad_arn": error_of(lambda: client.get_trail_status(Name="arn:aws:cloudtrail:us-east-1:12:trail/x")),
        "range": error_of(lambda: client.list_public_keys(StartTime=2000000000, EndTime=1000000000)),
        "token": error_of(lambda: client.list_public_keys(NextToken="abc"))}))
elif mode == "send":
    print(json.dumps(send(args[0], args[1], skew_seconds=int(args[2]), tamper=args[3] == "tamper")))
)PY";

// ---- state ----

struct Key {
  std::string der;
  std::string fingerprint;
};

Key make_key() {
  const detail::SigningKey key = detail::SigningKey::generate(2048);
  return {key.public_key_der(), key.fingerprint()};
}

detail::TrailDescription sample_trail() {
  detail::TrailDescription trail;
  trail.name = "audit-trail";
  trail.account_id = kAccount;
  trail.home_region = "us-east-1";
  trail.bucket = "audit-bucket";
  trail.key_prefix = "prod";
  trail.log_file_validation = true;
  trail.destination = "s3://audit-bucket/prod";
  return trail;
}

// ---- our own client, for byte-level checks ----

struct Reply {
  int status = 0;
  Json body;
  std::string request_id;
  trailkit::s3::HttpResponse raw;
};

Reply call(std::uint16_t port, const std::string& target_header, const std::string& body, std::int64_t signed_at,
           const std::string& content_type = "application/x-amz-json-1.1", const std::string& method = "POST",
           const std::string& path = "/", trailkit::s3::HttpClient* reuse = nullptr) {
  const trailkit::s3::HttpEndpoint endpoint{"http", "127.0.0.1", std::to_string(port)};
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Host", trailkit::s3::host_header_value(endpoint)}, {"Content-Type", content_type}};
  if (!target_header.empty()) headers.emplace_back("X-Amz-Target", target_header);
  const trailkit::s3::SignedRequest signed_request = trailkit::s3::sign(
      {method, path, {}, headers, trailkit::s3::sha256_hex(body)}, {kKeyId, kSecret, ""},
      {"us-east-1", "cloudtrail", signed_at, false});
  for (const auto& h : signed_request.added_headers) headers.push_back(h);
  headers.emplace_back("Authorization", signed_request.authorization);
  std::unique_ptr<trailkit::s3::HttpClient> own;
  if (reuse == nullptr) own = std::make_unique<trailkit::s3::HttpClient>(endpoint, trailkit::s3::HttpClientOptions{});
  trailkit::s3::HttpClient& client = reuse != nullptr ? *reuse : *own;
  Reply reply;
  const trailkit::Status status = client.send({method, path, headers, body, std::nullopt}, reply.raw);
  EXPECT_TRUE(status.is_ok()) << status.message();
  reply.status = reply.raw.status;
  reply.body = Json::parse(reply.raw.body, nullptr, false);
  reply.request_id = reply.raw.header("x-amzn-RequestId").value_or("");
  return reply;
}

Reply call_op(std::uint16_t port, const std::string& operation, const std::string& body = "{}") {
  return call(port, std::string(kTargetPrefix) + operation, body, std::time(nullptr));
}

// ---- the shared fixture: one trail, a key rotation five days ago ----

class CloudTrailServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    state_ = new trailkit::testing::TempDir("trailkit-serve");
    now_ = std::time(nullptr);
    rotated_at_ = now_ - 5 * 86400;
    first_at_ = now_ - 20 * 86400;
    old_key_ = make_key();
    new_key_ = make_key();
    detail::write_trail_description(state_->str(), sample_trail());
    detail::TrailStatus status;
    status.is_logging = true;
    status.start_logging_time = first_at_;
    status.latest_delivery_time = now_ - 60;
    status.latest_digest_delivery_error = "AccessDenied";
    detail::write_trail_status(state_->str(), status);
    detail::KeyRegistry registry;
    registry.activate(old_key_.fingerprint, old_key_.der, first_at_);
    registry.activate(new_key_.fingerprint, new_key_.der, rotated_at_);
    registry.save(detail::public_keys_path(state_->str()));

    CloudTrailServerOptions options;
    options.port = 0;
    options.state_dir = state_->str();
    options.credentials = {{kKeyId, kSecret}};
    server_ = new CloudTrailServer(options);
    server_->start();
    endpoint_ = "http://127.0.0.1:" + std::to_string(server_->port());
    script_ = state_->str() + "/client.py";
    trailkit::testing::write_file(script_, kClientScript);
    have_aws_ = have("command -v aws");
    have_boto3_ = have("python3 -c 'import boto3'");
  }
  static void TearDownTestSuite() {
    delete server_;
    delete state_;
  }

  static CommandResult aws(const std::string& arguments, const std::string& key_id = kKeyId,
                           const std::string& secret = kSecret) {
    return run(aws_env(key_id, secret) + "aws cloudtrail " + arguments + " --endpoint-url " + endpoint_ +
               " --region us-east-1 --output json");
  }
  static CommandResult python(const std::string& arguments) {
    return run(aws_env() + "python3 " + script_ + " " + endpoint_ + " " + arguments);
  }
  static Json parsed(const CommandResult& result) {
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return Json::parse(result.out, nullptr, false);
  }

  static inline trailkit::testing::TempDir* state_ = nullptr;
  static inline CloudTrailServer* server_ = nullptr;
  static inline std::string endpoint_, script_;
  static inline std::int64_t now_ = 0, rotated_at_ = 0, first_at_ = 0;
  static inline Key old_key_, new_key_;
  static inline bool have_aws_ = false, have_boto3_ = false;
};

#define REQUIRE_AWS_CLI() \
  if (!have_aws_) GTEST_SKIP() << "aws CLI not installed"
#define REQUIRE_BOTO3() \
  if (!have_boto3_) GTEST_SKIP() << "boto3 not installed"

TEST_F(CloudTrailServerTest, AwsCliDescribeTrailsAndGetTrailShowTheRecordedTrail) {
  REQUIRE_AWS_CLI();
  const Json described = parsed(aws("describe-trails"));
  ASSERT_EQ(described.at("trailList").size(), 1u) << described;
  const Json& trail = described.at("trailList")[0];
  EXPECT_EQ(trail.at("TrailARN"), kTrailArn);  // validate-logs matches it exactly (spec §6.4)
  EXPECT_EQ(trail.at("Name"), "audit-trail");
  EXPECT_EQ(trail.at("S3BucketName"), "audit-bucket");
  EXPECT_EQ(trail.at("S3KeyPrefix"), "prod");
  EXPECT_EQ(trail.at("HomeRegion"), "us-east-1");
  EXPECT_EQ(trail.at("LogFileValidationEnabled"), true);
  EXPECT_EQ(trail.at("IsOrganizationTrail"), false);
  EXPECT_EQ(trail.at("IsMultiRegionTrail"), false);

  const Json by_arn = parsed(aws(std::string("get-trail --name ") + kTrailArn));
  EXPECT_EQ(by_arn.at("Trail"), trail);
  const Json by_name = parsed(aws("get-trail --name audit-trail"));
  EXPECT_EQ(by_name.at("Trail"), trail);
}

TEST_F(CloudTrailServerTest, AwsCliGetTrailStatusShowsTheStatusFile) {
  REQUIRE_AWS_CLI();
  const Json status = parsed(aws("get-trail-status --name audit-trail"));
  EXPECT_EQ(status.at("IsLogging"), true);
  EXPECT_EQ(status.at("StartLoggingTime"), first_at_);
  EXPECT_EQ(status.at("LatestDeliveryTime"), now_ - 60);
  EXPECT_EQ(status.at("LatestDigestDeliveryError"), "AccessDenied");
  // Zero times and empty errors are absent, not 1970 / "".
  EXPECT_FALSE(status.contains("StopLoggingTime")) << status;
  EXPECT_FALSE(status.contains("LatestDeliveryError")) << status;
  EXPECT_FALSE(status.contains("LatestDigestDeliveryTime")) << status;
}

TEST_F(CloudTrailServerTest, AwsCliListPublicKeysReturnsTheCurrentKeyOrEveryKeyOfAWindow) {
  REQUIRE_AWS_CLI();
  // No times: the currently valid key only. The CLI shows Value as the base64 text (spec §4.5).
  const Json current = parsed(aws("list-public-keys")).at("PublicKeyList");
  ASSERT_EQ(current.size(), 1u) << current;
  EXPECT_EQ(current[0].at("Value"), detail::base64_encode(new_key_.der));
  EXPECT_EQ(current[0].at("Fingerprint"), new_key_.fingerprint);
  EXPECT_EQ(current[0].at("ValidityStartTime"), rotated_at_);

  // An hour either side of the rotation: both keys, in activation order.
  const Json window = parsed(aws("list-public-keys --start-time " + std::to_string(rotated_at_ - 3600) +
                                 " --end-time " + std::to_string(rotated_at_ + 3600)))
                          .at("PublicKeyList");
  ASSERT_EQ(window.size(), 2u) << window;
  EXPECT_EQ(window[0].at("Fingerprint"), old_key_.fingerprint);
  EXPECT_EQ(window[0].at("ValidityEndTime"), rotated_at_);
  EXPECT_EQ(window[1].at("Fingerprint"), new_key_.fingerprint);
}

TEST_F(CloudTrailServerTest, Boto3GetsRawDerWhoseMd5IsTheFingerprint) {
  REQUIRE_BOTO3();
  const Json keys = parsed(python("keys " + std::to_string(first_at_ + 3600) + " " + std::to_string(first_at_ + 7200)));
  ASSERT_EQ(keys.size(), 1u) << keys;  // before the rotation: only the old key
  EXPECT_EQ(keys[0].at("md5"), old_key_.fingerprint);
  EXPECT_EQ(keys[0].at("fingerprint"), old_key_.fingerprint);
  EXPECT_EQ(keys[0].at("der_hex"), detail::to_hex(old_key_.der));
  EXPECT_EQ(keys[0].at("start"), first_at_);
  EXPECT_EQ(keys[0].at("end"), rotated_at_);

  const Json after = parsed(python("keys " + std::to_string(now_ - 7200) + " " + std::to_string(now_ - 3600)));
  ASSERT_EQ(after.size(), 1u) << after;
  EXPECT_EQ(after[0].at("md5"), new_key_.fingerprint);
  // The active key is reported with AWS's 30-day window (spec §4.5).
  EXPECT_EQ(after[0].at("end"), rotated_at_ + detail::KeyRegistry::kReportedValiditySeconds);
}

TEST_F(CloudTrailServerTest, Boto3DescribeTrailsFiltersByNameAndGetTrailStatusParses) {
  REQUIRE_BOTO3();
  const Json result = parsed(python(std::string("trails ") + kTrailArn));
  ASSERT_EQ(result.at("describe").size(), 1u);
  EXPECT_EQ(result.at("describe")[0].at("TrailARN"), kTrailArn);
  EXPECT_EQ(result.at("by_name").size(), 1u);
  EXPECT_EQ(result.at("other").size(), 0u) << "an unknown name is simply not listed";
  EXPECT_EQ(result.at("get").at("Name"), "audit-trail");
  EXPECT_EQ(result.at("status").at("IsLogging"), true);
}

TEST_F(CloudTrailServerTest, Boto3SeesCloudTrailErrorCodes) {
  REQUIRE_BOTO3();
  const Json errors = parsed(python("errors"));
  EXPECT_EQ(errors.at("unknown_trail").at("code"), "TrailNotFoundException");
  EXPECT_EQ(errors.at("unknown_trail").at("status"), 400);
  EXPECT_TRUE(std::regex_match(errors.at("unknown_trail").at("request_id").get<std::string>(),
                               std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << errors;
  EXPECT_EQ(errors.at("bad_name").at("code"), "InvalidTrailNameException");
  EXPECT_EQ(errors.at("bad_arn").at("code"), "CloudTrailARNInvalidException");
  EXPECT_EQ(errors.at("range").at("code"), "InvalidTimeRangeException");
  EXPECT_EQ(errors.at("token").at("code"), "InvalidTokenException");
}

TEST_F(CloudTrailServerTest, AwsCliWithTheWrongSecretGetsInvalidSignatureException) {
  REQUIRE_AWS_CLI();
  const CommandResult result = aws("describe-trails", kKeyId, "not-the-secret");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("InvalidSignatureException"), std::string::npos) << result.err;
  EXPECT_EQ(result.out.find("audit-trail"), std::string::npos);
}

TEST_F(CloudTrailServerTest, AwsCliWithAnUnknownAccessKeyGetsUnrecognizedClientException) {
  REQUIRE_AWS_CLI();
  const CommandResult result = aws("list-public-keys", "AKIDNOBODYKNOWS00009", kSecret);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("UnrecognizedClientException"), std::string::npos) << result.err;
}

TEST_F(CloudTrailServerTest, AwsCliGetTrailOfAnUnknownNameGetsTrailNotFoundException) {
  REQUIRE_AWS_CLI();
  const CommandResult result = aws("get-trail --name no-such-trail");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("TrailNotFoundException"), std::string::npos) << result.err;
}

TEST_F(CloudTrailServerTest, BotocoreRequestSignedTwentyMinutesAgoIsRefused) {
  REQUIRE_BOTO3();
  const Json fresh = parsed(python("send ListPublicKeys '{}' 0 intact"));
  EXPECT_EQ(fresh.at("status"), 200) << fresh;
  const Json stale = parsed(python("send ListPublicKeys '{}' -1200 intact"));
  EXPECT_EQ(stale.at("status"), 403) << stale;
  EXPECT_EQ(stale.at("body").at("__type"), "InvalidSignatureException");
  EXPECT_NE(stale.at("body").at("message").get<std::string>().find("Signature expired"), std::string::npos);
  const Json future = parsed(python("send ListPublicKeys '{}' 1200 intact"));
  EXPECT_EQ(future.at("status"), 403) << future;
}

TEST_F(CloudTrailServerTest, BodyTamperedAfterBotocoreSignedItIsRefused) {
  REQUIRE_BOTO3();
  const std::string body = "'{\"StartTime\": " + std::to_string(now_ - 3600) + "}'";
  const Json intact = parsed(python("send ListPublicKeys " + body + " 0 intact"));
  EXPECT_EQ(intact.at("status"), 200) << intact;
  const Json tampered = parsed(python("send ListPublicKeys " + body + " 0 tamper"));
  EXPECT_EQ(tampered.at("status"), 403) << tampered;
  EXPECT_EQ(tampered.at("body").at("__type"), "InvalidSignatureException");
}

TEST_F(CloudTrailServerTest, UnknownTargetIsUnknownOperationException) {
  REQUIRE_BOTO3();
  const Json reply = parsed(python("send DeleteTrail '{\"Name\":\"audit-trail\"}' 0 intact"));
  EXPECT_EQ(reply.at("status"), 400) << reply;
  EXPECT_EQ(reply.at("body").at("__type"), "UnknownOperationException");
  // A bare target without the model's prefix is not what SDKs send either (spec §6.1).
  const Reply bare = call(server_->port(), "CloudTrail_20131101.ListPublicKeys", "{}", std::time(nullptr));
  EXPECT_EQ(bare.status, 400);
  EXPECT_EQ(bare.body.at("__type"), "UnknownOperationException");
}

TEST_F(CloudTrailServerTest, FractionalEpochTimesAreAccepted) {
  // Other SDKs send fractions (spec §6.1): [rotation - 0.5, rotation + 0.5] touches both windows.
  Reply reply = call_op(server_->port(), "ListPublicKeys",
                        R"({"StartTime":)" + std::to_string(rotated_at_ - 1) + R"(.5,"EndTime":)" +
                            std::to_string(rotated_at_) + ".5}");
  ASSERT_EQ(reply.status, 200) << reply.raw.body;
  EXPECT_EQ(reply.body.at("PublicKeyList").size(), 2u) << reply.raw.body;
  // (rotation + 0.2, rotation + 0.7) holds no whole second the old key covers.
  reply = call_op(server_->port(), "ListPublicKeys",
                  R"({"StartTime":)" + std::to_string(rotated_at_) + R"(.2,"EndTime":)" + std::to_string(rotated_at_) +
                      ".7}");
  ASSERT_EQ(reply.status, 200) << reply.raw.body;
  ASSERT_EQ(reply.body.at("PublicKeyList").size(), 1u) << reply.raw.body;
  EXPECT_EQ(reply.body.at("PublicKeyList")[0].at("Fingerprint"), new_key_.fingerprint);
  // A time that is not a number is a serialization error, not a silent default.
  reply = call_op(server_->port(), "ListPublicKeys", R"({"StartTime":"yesterday"})");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body.at("__type"), "SerializationException");
}

TEST_F(CloudTrailServerTest, ResponsesCarryJsonContentTypeRequestIdAndDate) {
  const Reply reply = call_op(server_->port(), "DescribeTrails");
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.raw.header("content-type").value_or(""), "application/x-amz-json-1.1");
  EXPECT_EQ(reply.request_id.size(), 36u);
  EXPECT_NE(reply.request_id, call_op(server_->port(), "DescribeTrails").request_id);
  EXPECT_TRUE(std::regex_match(reply.raw.header("date").value_or(""),
                               std::regex("[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT")))
      << reply.raw.header("date").value_or("");
}

TEST_F(CloudTrailServerTest, RefusesWrongMethodPathContentTypeAndBodies) {
  const std::int64_t now = std::time(nullptr);
  const std::string list = std::string(kTargetPrefix) + "ListPublicKeys";
  EXPECT_EQ(call(server_->port(), list, "", now, "application/x-amz-json-1.1", "GET").status, 405);
  EXPECT_EQ(call(server_->port(), list, "{}", now, "application/x-amz-json-1.1", "POST", "/other").status, 404);
  Reply reply = call(server_->port(), list, "{}", now, "application/json");
  EXPECT_EQ(reply.status, 415);
  reply = call(server_->port(), list, "[1,2]", now);
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body.at("__type"), "SerializationException");
  reply = call(server_->port(), list, "{not json", now);
  EXPECT_EQ(reply.body.at("__type"), "SerializationException");
  // An empty body is an empty request, as botocore would never send but curl might.
  EXPECT_EQ(call(server_->port(), list, "", now).status, 200);
  // No Authorization at all.
  trailkit::s3::HttpClient client({"http", "127.0.0.1", std::to_string(server_->port())}, {});
  trailkit::s3::HttpResponse response;
  ASSERT_TRUE(client.send({"POST", "/", {{"X-Amz-Target", list}, {"Content-Type", "application/x-amz-json-1.1"}}, "{}",
                           std::nullopt},
                          response)
                  .is_ok());
  EXPECT_EQ(response.status, 403);
  EXPECT_NE(response.body.find("MissingAuthenticationTokenException"), std::string::npos) << response.body;
}

TEST_F(CloudTrailServerTest, BodyOverTheLimitGets413AndTheServerKeepsServing) {
  const std::string big(2 << 20, ' ');
  const Reply reply = call(server_->port(), std::string(kTargetPrefix) + "ListPublicKeys", big, std::time(nullptr));
  EXPECT_EQ(reply.status, 413) << reply.raw.body;
  EXPECT_EQ(call_op(server_->port(), "ListPublicKeys").status, 200);
}

TEST_F(CloudTrailServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  trailkit::s3::HttpClient client({"http", "127.0.0.1", std::to_string(server_->port())}, {});
  for (const char* operation : {"DescribeTrails", "ListPublicKeys", "DescribeTrails"}) {
    const Reply reply = call(server_->port(), std::string(kTargetPrefix) + operation, "{}", std::time(nullptr),
                             "application/x-amz-json-1.1", "POST", "/", &client);
    EXPECT_EQ(reply.status, 200) << operation;
  }
  EXPECT_EQ(client.connections_opened(), 1u);
}

// ---- servers of their own ----

CloudTrailServerOptions options_for(const std::string& state_dir) {
  CloudTrailServerOptions options;
  options.port = 0;
  options.state_dir = state_dir;
  options.credentials = {{kKeyId, kSecret}};
  return options;
}

TEST(CloudTrailServer, WithoutStateAnswersNoKeysNoTrailsAndTrailNotFound) {
  trailkit::testing::TempDir empty("trailkit-serve-empty");
  CloudTrailServer server(options_for(empty.str() + "/does-not-exist"));
  server.start();
  Reply reply = call_op(server.port(), "ListPublicKeys");
  ASSERT_EQ(reply.status, 200) << reply.raw.body;
  EXPECT_EQ(reply.body, Json::parse(R"({"PublicKeyList":[]})"));
  reply = call_op(server.port(), "DescribeTrails");
  EXPECT_EQ(reply.body, Json::parse(R"({"trailList":[]})"));
  reply = call_op(server.port(), "GetTrail", R"({"Name":"audit-trail"})");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body.at("__type"), "TrailNotFoundException");
  reply = call_op(server.port(), "GetTrailStatus", R"({"Name":"audit-trail"})");
  EXPECT_EQ(reply.body.at("__type"), "TrailNotFoundException");
}

TEST(CloudTrailServer, ReadsStateOnEveryRequest) {
  trailkit::testing::TempDir state("trailkit-serve-live");
  CloudTrailServer server(options_for(state.str()));
  server.start();
  EXPECT_EQ(call_op(server.port(), "DescribeTrails").body.at("trailList").size(), 0u);
  detail::write_trail_description(state.str(), sample_trail());  // the recorder starts later
  EXPECT_EQ(call_op(server.port(), "DescribeTrails").body.at("trailList").size(), 1u);
}

TEST(CloudTrailServer, AClockTwentyMinutesAheadRefusesTheAwsCli) {
  if (!have("command -v aws")) GTEST_SKIP() << "aws CLI not installed";
  trailkit::testing::TempDir state("trailkit-serve-skew");
  detail::write_trail_description(state.str(), sample_trail());
  CloudTrailServerOptions options = options_for(state.str());
  options.clock = std::make_shared<trailkit::testing::ManualClock>(std::time(nullptr) + 20 * 60);
  CloudTrailServer server(options);
  server.start();
  const CommandResult result = run(aws_env() + "aws cloudtrail describe-trails --endpoint-url http://127.0.0.1:" +
                                   std::to_string(server.port()) + " --region us-east-1");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("InvalidSignatureException"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("Signature expired"), std::string::npos) << result.err;
}

TEST(CloudTrailServer, ServesOnlyTheTrailsRegion) {
  trailkit::testing::TempDir state("trailkit-serve-region");
  detail::write_trail_description(state.str(), sample_trail());
  CloudTrailServer server(options_for(state.str()));
  server.start();
  // Signed for eu-west-1 while the trail's home region (the served region) is us-east-1.
  const trailkit::s3::HttpEndpoint endpoint{"http", "127.0.0.1", std::to_string(server.port())};
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Host", trailkit::s3::host_header_value(endpoint)},
      {"Content-Type", "application/x-amz-json-1.1"},
      {"X-Amz-Target", std::string(kTargetPrefix) + "DescribeTrails"}};
  const auto signed_request = trailkit::s3::sign({"POST", "/", {}, headers, trailkit::s3::sha256_hex("{}")},
                                                 {kKeyId, kSecret, ""}, {"eu-west-1", "cloudtrail", std::time(nullptr), false});
  for (const auto& h : signed_request.added_headers) headers.push_back(h);
  headers.emplace_back("Authorization", signed_request.authorization);
  trailkit::s3::HttpClient client(endpoint, {});
  trailkit::s3::HttpResponse response;
  ASSERT_TRUE(client.send({"POST", "/", headers, "{}", std::nullopt}, response).is_ok());
  EXPECT_EQ(response.status, 403);
  EXPECT_NE(response.body.find("not 'eu-west-1'"), std::string::npos) << response.body;
}

TEST(CloudTrailServer, AMalformedStateFileIs500WithoutLeakingItsPath) {
  trailkit::testing::TempDir state("trailkit-serve-bad");
  trailkit::testing::write_file(state.path() / "trail.json", "{not json");
  std::string logged;
  CloudTrailServerOptions options = options_for(state.str());
  options.region = "us-east-1";
  options.log = [&](std::string_view line) { logged += std::string(line) + "\n"; };
  CloudTrailServer server(options);
  server.start();
  const Reply reply = call_op(server.port(), "GetTrail", R"({"Name":"audit-trail"})");
  server.stop();  // joins the I/O thread: `logged` is complete
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(reply.body.at("__type"), "InternalFailure");
  EXPECT_EQ(reply.raw.body.find(state.str()), std::string::npos) << reply.raw.body;
  EXPECT_NE(logged.find("trail.json"), std::string::npos) << logged;  // the operator sees which file
  EXPECT_EQ(logged.find(kSecret), std::string::npos);
  EXPECT_EQ(logged.find("Signature="), std::string::npos);
}

TEST(CloudTrailServer, TakesCredentialsFromTheEnvironmentOrRefusesToStart) {
  CloudTrailServerOptions options;
  options.port = 0;
  ::unsetenv("TRAILKIT_API_ACCESS_KEY_ID");
  ::unsetenv("TRAILKIT_API_SECRET_ACCESS_KEY");
  try {
    CloudTrailServer server(options);
    ADD_FAILURE() << "started without credentials";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("TRAILKIT_API_ACCESS_KEY_ID"), std::string::npos) << error.what();
  }
  ::setenv("TRAILKIT_API_ACCESS_KEY_ID", kKeyId, 1);
  EXPECT_THROW(CloudTrailServer{options}, std::invalid_argument);  // half a key pair
  ::setenv("TRAILKIT_API_SECRET_ACCESS_KEY", kSecret, 1);
  trailkit::testing::TempDir state("trailkit-serve-env");
  options.state_dir = state.str();
  CloudTrailServer server(options);
  server.start();
  EXPECT_EQ(call_op(server.port(), "DescribeTrails").status, 200);  // signed with the env key pair
  ::unsetenv("TRAILKIT_API_ACCESS_KEY_ID");
  ::unsetenv("TRAILKIT_API_SECRET_ACCESS_KEY");
}

TEST(CloudTrailServer, StopIsPromptWithAnIdleKeepAliveConnectionOpen) {
  trailkit::testing::TempDir state("trailkit-serve-stop");
  auto server = std::make_unique<CloudTrailServer>(options_for(state.str()));
  server->start();
  const std::uint16_t port = server->port();
  trailkit::s3::HttpClient client({"http", "127.0.0.1", std::to_string(port)}, {});
  call(port, std::string(kTargetPrefix) + "DescribeTrails", "{}", std::time(nullptr), "application/x-amz-json-1.1",
       "POST", "/", &client);
  const auto started = std::chrono::steady_clock::now();
  server->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(500));
  server->stop();  // idempotent
  // The port is closed: a new request fails instead of hanging.
  trailkit::s3::HttpClientOptions quick;
  quick.connect_timeout = std::chrono::milliseconds(500);
  quick.request_timeout = std::chrono::milliseconds(2000);
  trailkit::s3::HttpClient after({"http", "127.0.0.1", std::to_string(port)}, quick);
  trailkit::s3::HttpResponse response;
  EXPECT_FALSE(after.send({"POST", "/", {}, "{}", std::nullopt}, response).is_ok());
}

TEST(CloudTrailServer, RefusesBadOptionsAndAPortInUse) {
  CloudTrailServerOptions options = options_for("/tmp");
  options.listen_address = "localhost";  // must be an IP literal
  EXPECT_THROW(CloudTrailServer{options}, std::invalid_argument);
  CloudTrailServer first(options_for("/tmp"));
  first.start();
  CloudTrailServerOptions same = options_for("/tmp");
  same.port = first.port();
  CloudTrailServer second(same);
  try {
    second.start();
    ADD_FAILURE() << "bound a port in use";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find(std::to_string(first.port())), std::string::npos) << error.what();
  }
}

TEST(CloudTrailServer, AddedOperationsAreDispatchedByTarget) {
  // How LookupEvents (issue #5) plugs in.
  trailkit::testing::TempDir state("trailkit-serve-ops");
  CloudTrailServer server(options_for(state.str()));
  server.add_operation("LookupEvents", [](const Json& input, const trailkit::api::OperationContext& context) {
    if (input.contains("MaxResults") && input.at("MaxResults") == 0)
      throw trailkit::api::ApiError("InvalidMaxResultsException", "MaxResults must be 1..50");
    return Json{{"Events", Json::array()}, {"Caller", std::string(context.access_key_id)}};
  });
  server.start();
  Reply reply = call_op(server.port(), "LookupEvents");
  ASSERT_EQ(reply.status, 200) << reply.raw.body;
  EXPECT_EQ(reply.body.at("Caller"), kKeyId);
  reply = call_op(server.port(), "LookupEvents", R"({"MaxResults":0})");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body.at("__type"), "InvalidMaxResultsException");
}

}  // namespace
