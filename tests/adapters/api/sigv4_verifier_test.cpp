// SigV4Verifier: accepts what botocore and our signer produce (the aws4 test suite's published
// signatures, replayed as received requests), and refuses each way a request can be forged, stale or
// tampered with, with the code the AWS CLI shows. End-to-end checks with the stock CLI and boto3 are
// in cloudtrail_server_test.cpp.

#include "api/sigv4_verifier.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "s3/sigv4.hpp"

namespace {

using trailkit::api::ReceivedRequest;
using trailkit::api::SigV4Verifier;
using trailkit::api::VerificationResult;
using Json = nlohmann::json;

constexpr char kKeyId[] = "AKIDTRAILKITTEST0001";
constexpr char kSecret[] = "trailkit/verifier+secret/0001";
constexpr std::int64_t kNow = 1714557600;  // 2024-05-01T10:00:00Z
constexpr char kTarget[] = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.ListPublicKeys";

// A request as it arrives on the wire (owning strings), signed by our client-side signer.
struct WireRequest {
  std::string method = "POST";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  ReceivedRequest view() const {
    ReceivedRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    for (const auto& [n, v] : headers) r.headers.emplace_back(n, v);
    return r;
  }
  void set(const std::string& name, const std::string& value) {
    for (auto& [n, v] : headers)
      if (n == name) {
        v = value;
        return;
      }
    headers.emplace_back(name, value);
  }
  void erase(const std::string& name) {
    std::erase_if(headers, [&](const auto& h) { return h.first == name; });
  }
};

WireRequest signed_request(std::int64_t signed_at, const std::string& body = R"({"StartTime":1714550000})",
                           const std::string& key_id = kKeyId, const std::string& secret = kSecret,
                           const std::string& region = "us-east-1", const std::string& service = "cloudtrail") {
  WireRequest wire;
  wire.body = body;
  wire.headers = {{"Host", "127.0.0.1:8787"},
                  {"Content-Type", "application/x-amz-json-1.1"},
                  {"X-Amz-Target", kTarget},
                  {"User-Agent", "aws-cli/1.45"},
                  {"Content-Length", std::to_string(body.size())}};
  trailkit::s3::SigningRequest request{wire.method, "/", {}, wire.headers, trailkit::s3::sha256_hex(body)};
  trailkit::s3::SigningParams params{region, service, signed_at, false};
  const auto signed_request = trailkit::s3::sign(request, {key_id, secret, ""}, params);
  for (const auto& h : signed_request.added_headers) wire.headers.push_back(h);
  wire.headers.emplace_back("Authorization", signed_request.authorization);
  return wire;
}

SigV4Verifier verifier() { return SigV4Verifier({{kKeyId, kSecret}, {"AKIDOTHERKEY00000002", "other"}}, "cloudtrail"); }

void expect_refused(const VerificationResult& result, const std::string& code, const std::string& message_part = "") {
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.http_status, 403);
  EXPECT_EQ(result.code, code) << result.message;
  if (!message_part.empty()) {
    EXPECT_NE(result.message.find(message_part), std::string::npos) << result.message;
  }
  // Nothing secret ever reaches the client or the log through the verdict.
  EXPECT_EQ(result.message.find(kSecret), std::string::npos);
  EXPECT_EQ(result.message.find("Signature="), std::string::npos);
}

TEST(SigV4Verifier, AcceptsARequestSignedWithAConfiguredKey) {
  const VerificationResult result = verifier().verify(signed_request(kNow).view(), "us-east-1", kNow);
  EXPECT_TRUE(result.ok) << result.code << ": " << result.message;
  EXPECT_EQ(result.access_key_id, kKeyId);
  EXPECT_TRUE(result.code.empty());
}

TEST(SigV4Verifier, AcceptsEveryAwsTestSuiteRequestReplayedAsReceived) {
  // The aws4 test suite's published signatures (made by botocore; tests/adapters/s3): the verifier
  // must accept each request exactly as a server receives it (encoded target, all headers sent).
  std::ifstream in(std::string(TRAILKIT_SOURCE_DIR) + "/tests/adapters/s3/data/sigv4_testsuite.json");
  ASSERT_TRUE(in);
  std::stringstream text;
  text << in.rdbuf();
  const Json suite = Json::parse(text.str());
  const std::string form_body = "Param1=value1";
  int checked = 0;
  for (const Json& c : suite.at("cases")) {
    if (c.at("s3").get<bool>() || !c.at("session_token").get<std::string>().empty()) continue;
    SCOPED_TRACE(c.at("name").get<std::string>());
    WireRequest wire;
    wire.method = c.at("method");
    wire.target = trailkit::s3::uri_encode(c.at("path").get<std::string>(), true);
    bool first = true;
    std::vector<std::pair<std::string, std::string>> query;
    for (const Json& q : c.at("query")) query.emplace_back(q.at(0), q.at(1));
    for (const auto& [name, value] : query) {
      wire.target += first ? "?" : "&";
      first = false;
      wire.target += trailkit::s3::uri_encode(name, false) + "=" + trailkit::s3::uri_encode(value, false);
    }
    for (const Json& h : c.at("headers")) wire.headers.emplace_back(h.at(0), h.at(1));
    wire.headers.emplace_back("X-Amz-Date", trailkit::api::format_amz_date(c.at("time")));
    wire.headers.emplace_back("Authorization", c.at("authorization"));
    const bool form = c.at("payload_hash") == trailkit::s3::sha256_hex(form_body) ||
                      c.at("name") == "post-caller-content-sha256";
    if (form) wire.body = form_body;
    const SigV4Verifier suite_verifier({{c.at("access_key_id"), c.at("secret_access_key")}}, "service");
    const VerificationResult result = suite_verifier.verify(wire.view(), "us-east-1", c.at("time"));
    EXPECT_TRUE(result.ok) << result.code << ": " << result.message;
    ++checked;
  }
  EXPECT_GE(checked, 25);
}

TEST(SigV4Verifier, AcceptsABotocoreSignatureOfACloudTrailRequest) {
  // Made once with botocore 1.43 SigV4Auth (service cloudtrail, us-east-1, 2024-05-01T10:00:00Z):
  // the exact headers the AWS CLI sends for `list-public-keys --start-time 1714550000`.
  WireRequest wire;
  wire.body = R"({"StartTime": 1714550000})";
  wire.headers = {{"Host", "127.0.0.1:8787"},
                  {"X-Amz-Target", kTarget},
                  {"Content-Type", "application/x-amz-json-1.1"},
                  {"User-Agent", "aws-cli/1.45.11 md/Botocore#1.43.11"},
                  {"X-Amz-Date", "20240501T100000Z"},
                  {"Content-Length", "25"}};
  wire.headers.emplace_back(
      "Authorization",
      "AWS4-HMAC-SHA256 Credential=AKIDTRAILKITTEST0001/20240501/us-east-1/cloudtrail/aws4_request, "
      "SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-target, "
      "Signature=891d888455a1fca587dd2321e2dd0b1836935badb040fa62222361ced4ecd45c");
  const VerificationResult result = verifier().verify(wire.view(), "us-east-1", kNow);
  EXPECT_TRUE(result.ok) << result.code << ": " << result.message;
}

TEST(SigV4Verifier, RefusesAWrongSecret) {
  expect_refused(verifier().verify(signed_request(kNow, "{}", kKeyId, "not-the-secret").view(), "us-east-1", kNow),
                 "InvalidSignatureException", "does not match");
}

TEST(SigV4Verifier, RefusesAnUnknownAccessKey) {
  expect_refused(verifier().verify(signed_request(kNow, "{}", "AKIDUNKNOWN000000009").view(), "us-east-1", kNow),
                 "UnrecognizedClientException");
}

TEST(SigV4Verifier, RefusesAMissingOrMalformedAuthorizationHeader) {
  WireRequest wire = signed_request(kNow);
  wire.erase("Authorization");
  expect_refused(verifier().verify(wire.view(), "us-east-1", kNow), "MissingAuthenticationTokenException");
  wire.set("Authorization", "AWS4-HMAC-SHA256 Credential=" + std::string(kKeyId) + "/20240501/us-east-1/cloudtrail");
  expect_refused(verifier().verify(wire.view(), "us-east-1", kNow), "IncompleteSignatureException");
  wire.set("Authorization", "AWS AKIDEXAMPLE:signature");  // SigV2
  expect_refused(verifier().verify(wire.view(), "us-east-1", kNow), "IncompleteSignatureException");
}

TEST(SigV4Verifier, AcceptsDatesWithinFifteenMinutesAndRefusesOlderOrNewer) {
  const SigV4Verifier v = verifier();
  EXPECT_TRUE(v.verify(signed_request(kNow - 900).view(), "us-east-1", kNow).ok);
  EXPECT_TRUE(v.verify(signed_request(kNow + 900).view(), "us-east-1", kNow).ok);
  // AWS's wording, which botocore users know from clock-skew errors.
  expect_refused(v.verify(signed_request(kNow - 901).view(), "us-east-1", kNow), "InvalidSignatureException",
                 "Signature expired: 20240501T094459Z is now earlier than 20240501T094500Z (20240501T100000Z - 15 min.)");
  expect_refused(v.verify(signed_request(kNow - 20 * 60).view(), "us-east-1", kNow), "InvalidSignatureException",
                 "Signature expired");
  expect_refused(v.verify(signed_request(kNow + 901).view(), "us-east-1", kNow), "InvalidSignatureException",
                 "Signature not yet current");
}

TEST(SigV4Verifier, RefusesABodyChangedAfterSigning) {
  WireRequest wire = signed_request(kNow, R"({"StartTime":1714550000})");
  wire.body = R"({"StartTime":1714550001})";
  expect_refused(verifier().verify(wire.view(), "us-east-1", kNow), "InvalidSignatureException", "does not match");
}

TEST(SigV4Verifier, RefusesAContentSha256HeaderThatIsNotTheBodysHash) {
  // A client may sign x-amz-content-sha256 instead of hashing; the server still hashes the body.
  WireRequest wire;
  wire.body = "{}";
  wire.headers = {{"Host", "h"}, {"X-Amz-Target", kTarget},
                  {"x-amz-content-sha256", trailkit::s3::sha256_hex("{\"other\":1}")}};
  trailkit::s3::SigningRequest request{"POST", "/", {}, wire.headers, trailkit::s3::sha256_hex(wire.body)};
  const auto s = trailkit::s3::sign(request, {kKeyId, kSecret, ""}, {"us-east-1", "cloudtrail", kNow, false});
  for (const auto& h : s.added_headers) wire.headers.push_back(h);
  wire.headers.emplace_back("Authorization", s.authorization);
  expect_refused(verifier().verify(wire.view(), "us-east-1", kNow), "InvalidSignatureException", "x-amz-content-sha256");
  wire.body = "{\"other\":1}";  // now header and body agree: the signature covers them
  EXPECT_TRUE(verifier().verify(wire.view(), "us-east-1", kNow).ok);
}

TEST(SigV4Verifier, RefusesASignedHeaderChangedAfterSigning) {
  WireRequest wire = signed_request(kNow);
  wire.set("X-Amz-Target", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.GetTrail");
  expect_refused(verifier().verify(wire.view(), "us-east-1", kNow), "InvalidSignatureException");
}

TEST(SigV4Verifier, RefusesAnUnsignedAmzHeader) {
  // An x-amz-* header outside SignedHeaders could have been added by anyone on the path.
  WireRequest wire = signed_request(kNow);
  wire.headers.emplace_back("X-Amz-Meta-Injected", "1");
  expect_refused(verifier().verify(wire.view(), "us-east-1", kNow), "IncompleteSignatureException", "x-amz-meta-injected");
}

TEST(SigV4Verifier, IgnoresUnsignedHopByHopHeadersAddedInTransit) {
  WireRequest wire = signed_request(kNow);
  wire.headers.emplace_back("Connection", "close");
  wire.headers.emplace_back("X-Amzn-Trace-Id", "Root=1-proxy");
  EXPECT_TRUE(verifier().verify(wire.view(), "us-east-1", kNow).ok);
}

TEST(SigV4Verifier, RefusesTheWrongServiceOrRegionInTheScope) {
  expect_refused(verifier().verify(signed_request(kNow, "{}", kKeyId, kSecret, "us-east-1", "s3").view(), "us-east-1", kNow),
                 "InvalidSignatureException", "correct service: 'cloudtrail'");
  expect_refused(verifier().verify(signed_request(kNow, "{}", kKeyId, kSecret, "eu-west-1").view(), "us-east-1", kNow),
                 "InvalidSignatureException", "not 'eu-west-1'");
  // No served region known yet (no trail): any region's signature is checked on its own terms.
  EXPECT_TRUE(verifier().verify(signed_request(kNow, "{}", kKeyId, kSecret, "eu-west-1").view(), "", kNow).ok);
}

TEST(SigV4Verifier, RefusesASessionToken) {
  // Only long-term keys are configured: a token cannot be valid (AWS's answer for a bad token).
  WireRequest wire;
  wire.body = "{}";
  wire.headers = {{"Host", "h"}, {"X-Amz-Target", kTarget}};
  trailkit::s3::SigningRequest request{"POST", "/", {}, wire.headers, trailkit::s3::sha256_hex(wire.body)};
  const auto s = trailkit::s3::sign(request, {kKeyId, kSecret, "session-token"}, {"us-east-1", "cloudtrail", kNow, false});
  for (const auto& h : s.added_headers) wire.headers.push_back(h);
  wire.headers.emplace_back("Authorization", s.authorization);
  expect_refused(verifier().verify(wire.view(), "us-east-1", kNow), "UnrecognizedClientException");
}

TEST(SigV4Verifier, RefusesAMissingOrMalformedDateOrAScopeDateThatDiffers) {
  WireRequest wire = signed_request(kNow);
  wire.erase("x-amz-date");
  expect_refused(verifier().verify(wire.view(), "us-east-1", kNow), "IncompleteSignatureException", "X-Amz-Date");
  wire.set("x-amz-date", "2024-05-01T10:00:00Z");
  expect_refused(verifier().verify(wire.view(), "us-east-1", kNow), "IncompleteSignatureException");
  wire.set("x-amz-date", "20240502T100000Z");  // scope says 20240501
  expect_refused(verifier().verify(wire.view(), "us-east-1", kNow + 86400), "InvalidSignatureException",
                 "Date in Credential scope");
}

TEST(SigV4Verifier, RequiresHostToBeSigned) {
  WireRequest wire;
  wire.body = "{}";
  wire.headers = {{"X-Amz-Target", kTarget}, {"Hostx", "h"}};
  trailkit::s3::SigningRequest request{"POST", "/", {}, wire.headers, trailkit::s3::sha256_hex(wire.body)};
  const auto s = trailkit::s3::sign(request, {kKeyId, kSecret, ""}, {"us-east-1", "cloudtrail", kNow, false});
  for (const auto& h : s.added_headers) wire.headers.push_back(h);
  wire.headers.emplace_back("Host", "h");  // sent, but not signed
  wire.headers.emplace_back("Authorization", s.authorization);
  expect_refused(verifier().verify(wire.view(), "us-east-1", kNow), "IncompleteSignatureException", "'Host'");
}

TEST(SigV4Verifier, RefusesConstructionWithoutCredentials) {
  EXPECT_THROW(SigV4Verifier({}, "cloudtrail"), std::invalid_argument);
  EXPECT_THROW(SigV4Verifier({{"AKID", ""}}, "cloudtrail"), std::invalid_argument);
}

TEST(AmzDate, RoundTripsAndRejectsImpossibleDates) {
  std::int64_t t = 0;
  ASSERT_TRUE(trailkit::api::parse_amz_date("20240501T100000Z", t));
  EXPECT_EQ(t, kNow);
  EXPECT_EQ(trailkit::api::format_amz_date(kNow), "20240501T100000Z");
  ASSERT_TRUE(trailkit::api::parse_amz_date("20240229T235959Z", t));
  EXPECT_EQ(trailkit::api::format_amz_date(t), "20240229T235959Z");
  EXPECT_FALSE(trailkit::api::parse_amz_date("20230229T000000Z", t));
  EXPECT_FALSE(trailkit::api::parse_amz_date("20240501T240000Z", t));
  EXPECT_FALSE(trailkit::api::parse_amz_date("20240501T100000", t));
  EXPECT_FALSE(trailkit::api::parse_amz_date("2024050lT100000Z", t));
}

}  // namespace
