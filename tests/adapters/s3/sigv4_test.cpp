// SigV4 signer: known answers (AWS docs, aws4 test suite), byte-identity with botocore on random S3
// requests (committed batch + a fresh batch when botocore is installed), and secrets containment.
// Vector files: tests/adapters/s3/data/, made by tests/adapters/s3/sigv4_vectors.py.

#include "s3/sigv4.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>

namespace {

using trailkit::s3::constant_time_equal;
using trailkit::s3::Credentials;
using trailkit::s3::describe;
using trailkit::s3::parse_authorization;
using trailkit::s3::redact_access_key;
using trailkit::s3::sha256_hex;
using trailkit::s3::sign;
using trailkit::s3::SignedRequest;
using trailkit::s3::SigningParams;
using trailkit::s3::SigningRequest;
using trailkit::s3::uri_encode;
using Json = nlohmann::json;

constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr std::int64_t kSuiteTime = 1440938160;  // 2015-08-30T12:36:00Z

const std::string kDataDir = std::string(TRAILKIT_SOURCE_DIR) + "/tests/adapters/s3/data/";
const std::string kGenerator = std::string(TRAILKIT_SOURCE_DIR) + "/tests/adapters/s3/sigv4_vectors.py";

Json load_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return Json::parse(buffer.str());
}

// The random files store positional rows with the field names listed once.
std::vector<Json> cases_of(const Json& document) {
  std::vector<Json> cases;
  if (!document.contains("fields")) {
    for (const Json& c : document.at("cases")) cases.push_back(c);
    return cases;
  }
  const Json& fields = document.at("fields");
  for (const Json& row : document.at("cases")) {
    Json c = Json::object();
    for (std::size_t i = 0; i < fields.size(); ++i) c[fields[i].get<std::string>()] = row.at(i);
    cases.push_back(std::move(c));
  }
  return cases;
}

struct Inputs {
  SigningRequest request;
  Credentials credentials;
  SigningParams params;
};

Inputs inputs_of(const Json& c) {
  Inputs in;
  in.request.method = c.at("method");
  in.request.path = c.at("path");
  for (const Json& q : c.at("query")) in.request.query.emplace_back(q.at(0), q.at(1));
  for (const Json& h : c.at("headers")) in.request.headers.emplace_back(h.at(0), h.at(1));
  in.request.payload_hash = c.at("payload_hash");
  in.credentials = {c.at("access_key_id"), c.at("secret_access_key"), c.at("session_token")};
  in.params.region = c.at("region");
  in.params.service = c.at("service");
  in.params.time = c.at("time");
  in.params.s3_rules = c.at("s3");
  return in;
}

// Compares one case with botocore's outputs; returns "" or a description of the first mismatch.
std::string compare_with_botocore(const Json& c) {
  const Inputs in = inputs_of(c);
  const SignedRequest signed_request = sign(in.request, in.credentials, in.params);
  std::string error;
  auto check = [&](const char* field, const std::string& ours) {
    if (!c.contains(field) || !error.empty()) return;
    const std::string expected = c.at(field);
    if (ours != expected) error = std::string(field) + " differs\n  ours:     " + Json(ours).dump() +
                                  "\n  botocore: " + Json(expected).dump() + "\n  case: " + c.dump();
  };
  check("canonical_request", signed_request.canonical_request);
  check("string_to_sign", signed_request.string_to_sign);
  // Compact files omit botocore's canonical request (the string to sign hashes it): show ours.
  if (!error.empty() && !c.contains("canonical_request"))
    error += "\n  our canonical request: " + Json(signed_request.canonical_request).dump();
  check("authorization", signed_request.authorization);
  if (error.empty() && c.contains("published_signature") && signed_request.signature != c.at("published_signature"))
    error = "signature differs from the published one: " + c.dump();
  return error;
}

// Runs every case; fails with the first few mismatches and the count.
void expect_all_match(const std::vector<Json>& cases, const std::string& origin) {
  std::size_t failures = 0;
  for (const Json& c : cases) {
    const std::string error = compare_with_botocore(c);
    if (error.empty()) continue;
    if (++failures <= 3) ADD_FAILURE() << origin << ": " << error;
  }
  EXPECT_EQ(failures, 0u) << origin << ": " << failures << " of " << cases.size() << " cases differ";
}

SigningRequest suite_get(std::string path = "/") {
  SigningRequest request;
  request.method = "GET";
  request.path = std::move(path);
  request.headers = {{"Host", "example.amazonaws.com"}};
  request.payload_hash = kEmptySha256;
  return request;
}

SigningParams suite_params() {
  SigningParams params;
  params.region = "us-east-1";
  params.service = "service";
  params.time = kSuiteTime;
  params.s3_rules = false;
  return params;
}

const Credentials kSuiteCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};

std::string header_value(const SignedRequest& s, const std::string& name) {
  for (const auto& [n, v] : s.added_headers)
    if (n == name) return v;
  return "<absent>";
}

// ---- known answers, independent of the generator ---------------------------------------------

// AWS S3 docs, "Signature Calculations for the Authorization Header", example "GET Object".
TEST(SigV4KnownAnswer, S3GetObjectDocumentationExample) {
  SigningRequest request;
  request.method = "GET";
  request.path = "/test.txt";
  request.headers = {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"}};
  request.payload_hash = sha256_hex("");
  SigningParams params{"us-east-1", "s3", 1369353600 /* 2013-05-24T00:00:00Z */, true};
  const Credentials credentials{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};

  const SignedRequest s = sign(request, credentials, params);
  EXPECT_EQ(s.canonical_request,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(s.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

// aws4 test suite get-vanilla: the published signature.
TEST(SigV4KnownAnswer, GetVanillaPublishedSignature) {
  const SignedRequest s = sign(suite_get(), kSuiteCredentials, suite_params());
  EXPECT_EQ(s.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(s.string_to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(s.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  EXPECT_EQ(s.added_headers.size(), 1u) << "generic services get no x-amz-content-sha256";
}

// ---- generated vectors -----------------------------------------------------------------------

TEST(SigV4Vectors, Aws4TestSuiteCasesMatchBotocoreAndPublishedSignatures) {
  const Json document = load_json(kDataDir + "sigv4_testsuite.json");
  const std::vector<Json> cases = cases_of(document);
  std::set<std::string> names;
  std::size_t published = 0;
  for (const Json& c : cases) {
    names.insert(c.at("name").get<std::string>());
    published += c.contains("published_signature") ? 1 : 0;
  }
  for (const char* required :
       {"get-vanilla", "get-vanilla-query-order-key-case", "get-unreserved", "get-utf8", "get-space",
        "get-slash-dot-slash", "get-relative-relative", "get-header-key-duplicate", "get-header-value-trim",
        "post-x-www-form-urlencoded", "get-vanilla-with-session-token", "s3-get-object"})
    EXPECT_TRUE(names.count(required)) << required;
  EXPECT_GE(published, 15u);
  expect_all_match(cases, "sigv4_testsuite.json");
}

TEST(SigV4Vectors, CommittedRandomS3RequestsMatchBotocore) {
  const std::vector<Json> cases = cases_of(load_json(kDataDir + "sigv4_botocore_random.json"));
  ASSERT_GE(cases.size(), 3000u);
  expect_all_match(cases, "sigv4_botocore_random.json");
}

// A fresh random batch per run (new seed each time; TRAILKIT_SIGV4_SEED replays one), with full
// canonical requests, straight from botocore.
TEST(SigV4Vectors, FreshRandomS3RequestsMatchBotocore) {
  if (std::system("python3 -c 'import botocore' >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3 with botocore not found";
  std::uint64_t seed = std::random_device{}();
  if (const char* forced = std::getenv("TRAILKIT_SIGV4_SEED")) seed = std::strtoull(forced, nullptr, 10);
  SCOPED_TRACE("replay with TRAILKIT_SIGV4_SEED=" + std::to_string(seed));

  const std::string command = "python3 '" + kGenerator + "' random --count 2000 --seed " + std::to_string(seed);
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[65536];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  ASSERT_EQ(pclose(pipe), 0) << command;

  const std::vector<Json> cases = cases_of(Json::parse(output));
  ASSERT_EQ(cases.size(), 2000u);
  ASSERT_TRUE(cases.front().contains("canonical_request"));
  expect_all_match(cases, "botocore seed " + std::to_string(seed));
}

// ---- canonicalisation behaviour users rely on ------------------------------------------------

TEST(SigV4Encoding, UriEncodeKeepsOnlyUnreservedAndOptionallySlash) {
  EXPECT_EQ(uri_encode("AZaz09-._~", false), "AZaz09-._~");
  EXPECT_EQ(uri_encode(":+=@[] /!*'()%", false), "%3A%2B%3D%40%5B%5D%20%2F%21%2A%27%28%29%25");
  EXPECT_EQ(uri_encode("a/b c", true), "a/b%20c");
  EXPECT_EQ(uri_encode("\xE1\x88\xB4", false), "%E1%88%B4");
  EXPECT_EQ(uri_encode(std::string_view("\0\xFF", 2), false), "%00%FF");
}

TEST(SigV4Encoding, Sha256Hex) {
  EXPECT_EQ(sha256_hex(""), kEmptySha256);
  EXPECT_EQ(sha256_hex("Param1=value1"), "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
}

TEST(SigV4S3Rules, KeyIsEncodedOnceAndNeverNormalised) {
  SigningRequest request;
  request.method = "PUT";
  request.path = "/bucket/AWSLogs/a b+c=d:e@[f]~/./x/../y//z";
  request.headers = {{"host", "s3.us-east-1.amazonaws.com"}};
  request.payload_hash = kEmptySha256;
  const SignedRequest s = sign(request, kSuiteCredentials, SigningParams{"us-east-1", "s3", kSuiteTime, true});
  const std::string expected = "/bucket/AWSLogs/a%20b%2Bc%3Dd%3Ae%40%5Bf%5D~/./x/../y//z";
  EXPECT_EQ(s.encoded_path, expected);
  EXPECT_EQ(s.canonical_request.substr(0, s.canonical_request.find('\n', 4) + 1), "PUT\n" + expected + "\n");
  EXPECT_EQ(header_value(s, "x-amz-content-sha256"), kEmptySha256);
  EXPECT_NE(s.authorization.find("SignedHeaders=host;x-amz-content-sha256;x-amz-date,"), std::string::npos);
}

TEST(SigV4GenericRules, PathIsNormalisedThenEncodedTwice) {
  const SignedRequest s = sign(suite_get("/a b/./c/../d//"), kSuiteCredentials, suite_params());
  EXPECT_EQ(s.encoded_path, "/a%20b/./c/../d//") << "the wire path is the caller's, encoded once";
  EXPECT_EQ(s.canonical_request.substr(0, 16), "GET\n/a%2520b/d/\n");
  EXPECT_EQ(sign(suite_get(""), kSuiteCredentials, suite_params()).signature,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
      << "an empty path signs as /";
}

TEST(SigV4Query, SortedByEncodedNameThenValueAndUsableOnTheWire) {
  SigningRequest request = suite_get();
  request.query = {{"partNumber", "2"}, {"uploadId", "a/b+c"}, {"b", ""}, {"a-b", "1"}, {"a", "z"}, {"a", "y"}};
  const SignedRequest s = sign(request, kSuiteCredentials, suite_params());
  // Sorting pairs, not "name=value" strings: "a" sorts before "a-b" although '-' < '='.
  EXPECT_EQ(s.encoded_query, "a=y&a=z&a-b=1&b=&partNumber=2&uploadId=a%2Fb%2Bc");
}

TEST(SigV4Headers, TrimmedCollapsedJoinedAndUnsignedOnesSkipped) {
  SigningRequest request = suite_get();
  request.headers = {{"HOST", "example.amazonaws.com"},
                     {"X-Meta", "  a \t b\r\n   c  "},
                     {"x-meta", "d"},
                     {"X-Nbsp", "\xC2\xA0x\xE3\x80\x80y\xC2\xA0"},  // U+00A0, U+3000 count as whitespace
                     {"User-Agent", "trailkit"},
                     {"Expect", "100-continue"},
                     {"Authorization", "stale"},
                     {"X-Amz-Date", "20000101T000000Z"}};
  const SignedRequest s = sign(request, kSuiteCredentials, suite_params());
  EXPECT_NE(s.canonical_request.find("\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
                                     "x-meta:a b c,d\nx-nbsp:x y\n\nhost;x-amz-date;x-meta;x-nbsp\n"),
            std::string::npos)
      << s.canonical_request;
  EXPECT_EQ(header_value(s, "x-amz-date"), "20150830T123600Z") << "a stale caller x-amz-date is replaced";
}

TEST(SigV4Headers, AddedHeadersInDocumentedOrder) {
  Credentials with_token = kSuiteCredentials;
  with_token.session_token = "token";
  SigningRequest request = suite_get();
  request.payload_hash = "UNSIGNED-PAYLOAD";
  const SignedRequest s = sign(request, with_token, SigningParams{"eu-west-1", "s3", kSuiteTime, true});
  ASSERT_EQ(s.added_headers.size(), 3u);
  EXPECT_EQ(s.added_headers[0], (std::pair<std::string, std::string>{"x-amz-date", "20150830T123600Z"}));
  EXPECT_EQ(s.added_headers[1], (std::pair<std::string, std::string>{"x-amz-security-token", "token"}));
  EXPECT_EQ(s.added_headers[2], (std::pair<std::string, std::string>{"x-amz-content-sha256", "UNSIGNED-PAYLOAD"}));
  EXPECT_EQ(s.canonical_request.substr(s.canonical_request.rfind('\n') + 1), "UNSIGNED-PAYLOAD");
}

TEST(SigV4Headers, DateHeaderIsSignedAsGivenBesideXAmzDate) {
  SigningRequest request = suite_get();
  request.headers.emplace_back("Date", "Sun, 30 Aug 2015 12:36:00 GMT");
  const SignedRequest s = sign(request, kSuiteCredentials, suite_params());
  EXPECT_NE(s.authorization.find("SignedHeaders=date;host;x-amz-date,"), std::string::npos);
}

// ---- server side -----------------------------------------------------------------------------

TEST(SigV4Parse, RoundTripsWhatSignProduces) {
  SigningRequest request = suite_get();
  request.headers.emplace_back("X-Amz-Meta-A", "1");
  const SignedRequest s = sign(request, kSuiteCredentials, suite_params());
  const auto parsed = parse_authorization(s.authorization);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(parsed->date, "20150830");
  EXPECT_EQ(parsed->region, "us-east-1");
  EXPECT_EQ(parsed->service, "service");
  EXPECT_EQ(parsed->signature, s.signature);
  EXPECT_EQ(parsed->signed_headers, (std::vector<std::string>{"host", "x-amz-date", "x-amz-meta-a"}));
  // Components in another order and without spaces after the commas are accepted too.
  const auto reordered = parse_authorization("AWS4-HMAC-SHA256 Signature=" + s.signature +
                                             ",SignedHeaders=host,Credential=AK/20150830/r/s/aws4_request");
  ASSERT_TRUE(reordered.has_value());
  EXPECT_EQ(reordered->access_key_id, "AK");
}

TEST(SigV4Parse, RejectsMalformedHeaders) {
  const std::string sig(64, 'a');
  const std::string good_credential = "Credential=AK/20150830/us-east-1/s3/aws4_request";
  for (const std::string& bad : {
           std::string(""),
           "AWS4-HMAC-SHA1 " + good_credential + ", SignedHeaders=host, Signature=" + sig,
           "AWS4-HMAC-SHA256 " + good_credential + ", SignedHeaders=host",                     // no signature
           "AWS4-HMAC-SHA256 " + good_credential + ", SignedHeaders=host, Signature=" + sig.substr(1),
           "AWS4-HMAC-SHA256 " + good_credential + ", SignedHeaders=host, Signature=" + std::string(64, 'A'),
           "AWS4-HMAC-SHA256 " + good_credential + ", SignedHeaders=host;, Signature=" + sig,  // empty name
           "AWS4-HMAC-SHA256 Credential=AK/2015083/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + sig,
           "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/s3/aws5_request, SignedHeaders=host, Signature=" + sig,
           "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/s3, SignedHeaders=host, Signature=" + sig,
           "AWS4-HMAC-SHA256 Credential=AK/20150830//s3/aws4_request, SignedHeaders=host, Signature=" + sig,
           "AWS4-HMAC-SHA256 Credential=A/K/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + sig,
           "AWS4-HMAC-SHA256 " + good_credential + ", " + good_credential + ", SignedHeaders=host, Signature=" + sig,
           "AWS4-HMAC-SHA256 " + good_credential + ", SignedHeaders=host, Signature=" + sig + ", Extra=1",
       })
    EXPECT_FALSE(parse_authorization(bad).has_value()) << bad;
}

TEST(SigV4Parse, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

// ---- secrets ---------------------------------------------------------------------------------

TEST(SigV4Secrets, CanarySecretAndTokenStayWhereTheyMust) {
  const Credentials canary{"AKIACANARYKEYID12345", "CANARY-SECRET-3f9a1c7e5b", "CANARY-TOKEN-8d2e4b6a0c"};
  SigningRequest request;
  request.method = "PUT";
  request.path = "/bucket/key";
  request.headers = {{"Host", "s3.amazonaws.com"}};
  request.payload_hash = "UNSIGNED-PAYLOAD";
  SignedRequest s;
  ASSERT_NO_THROW(s = sign(request, canary, SigningParams{"us-east-1", "s3", kSuiteTime, true}));

  const std::string secret = "CANARY-SECRET";
  const std::string token = "CANARY-TOKEN";
  auto contains = [](const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
  };
  // The secret key only ever enters HMAC.
  for (const std::string* field : {&s.canonical_request, &s.string_to_sign, &s.signature, &s.authorization,
                                   &s.encoded_path, &s.encoded_query})
    EXPECT_FALSE(contains(*field, secret));
  for (const auto& [name, value] : s.added_headers) EXPECT_FALSE(contains(name + value, secret));
  // The token is a signed header: it is sent and canonicalised, nowhere else.
  EXPECT_EQ(header_value(s, "x-amz-security-token"), canary.session_token);
  EXPECT_TRUE(contains(s.canonical_request, "\nx-amz-security-token:" + canary.session_token + "\n"));
  for (const std::string* field : {&s.string_to_sign, &s.signature, &s.authorization, &s.encoded_path,
                                   &s.encoded_query})
    EXPECT_FALSE(contains(*field, token));

  // What may be logged.
  const std::string description = describe(canary);
  EXPECT_EQ(description, "access_key_id=AKIA\xE2\x80\xA6" "2345 secret_access_key=<redacted> session_token=<redacted>");
  EXPECT_FALSE(contains(description, secret));
  EXPECT_FALSE(contains(description, token));
  EXPECT_FALSE(contains(description, canary.access_key_id));
  // A header carrying the canary is rejected as a value, with no message to leak it through.
  EXPECT_FALSE(parse_authorization("AWS4-HMAC-SHA256 Credential=" + canary.secret_access_key).has_value());
}

TEST(SigV4Secrets, RedactedAccessKeyNeverShowsShortIdsWhole) {
  EXPECT_EQ(redact_access_key("AKIAIOSFODNN7EXAMPLE"), "AKIA\xE2\x80\xA6" "MPLE");
  EXPECT_EQ(redact_access_key("test"), "\xE2\x80\xA6" "st");
  EXPECT_EQ(redact_access_key("minioadmin"), "\xE2\x80\xA6" "in");
  EXPECT_EQ(redact_access_key("ab"), "\xE2\x80\xA6");
  EXPECT_EQ(describe(Credentials{}), "access_key_id=<none> secret_access_key=<none> session_token=<none>");
}

TEST(SigV4Credentials, EmptyWhenEitherHalfOfTheKeyIsMissing) {
  EXPECT_TRUE((Credentials{}).empty());
  EXPECT_TRUE((Credentials{"AKID", "", ""}).empty());
  EXPECT_TRUE((Credentials{"", "secret", "token"}).empty());
  EXPECT_FALSE((Credentials{"AKID", "secret", ""}).empty());
}

}  // namespace
