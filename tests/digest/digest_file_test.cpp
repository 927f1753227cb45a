// The digest JSON (cloudtrail-spec §4.2) and its string to sign (§4.3), checked byte for byte and then
// by the stock validator code of `aws cloudtrail validate-logs` (awscli's validation.py).
#include "digest/digest_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/civil_time.hpp"
#include "digest/crypto.hpp"
#include "digest/test_helpers.hpp"
#include "support/files.hpp"

namespace trailkit::detail {
namespace {

using testing::read_file;
using testing::run_shell;
using testing::TempDir;
using testing::write_file;

constexpr std::int64_t kStart = 1714557691;  // 2024-05-01T10:01:31Z
constexpr std::int64_t kEnd = 1714561291;    // 2024-05-01T11:01:31Z
constexpr const char* kDigestKey =
    "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/05/01/"
    "123456789012_CloudTrail-Digest_us-east-1_my-trail_us-east-1_20240501T110131Z.json.gz";

DigestContent starting_digest() {
  DigestContent digest;
  digest.account_id = "123456789012";
  digest.start_time = kStart;
  digest.end_time = kEnd;
  digest.bucket = "ct-bucket";
  digest.key = kDigestKey;
  digest.fingerprint = "7f3f401420072e50a65a141430817ab3";
  return digest;
}

DigestContent chained_digest() {
  DigestContent digest = starting_digest();
  digest.previous = DigestLink{"ct-bucket", "AWSLogs/prev.json.gz", std::string(64, 'a'), std::string(512, 'b')};
  // newest is in the first file, oldest in the second: the digest's extremes are across files.
  digest.log_files.push_back(
      DigestLogFile{"log-bucket", "AWSLogs/one.json.gz", std::string(64, 'c'), kStart + 3000, kStart - 100});
  digest.log_files.push_back(
      DigestLogFile{"log-bucket", "AWSLogs/two.json.gz", std::string(64, 'd'), kStart + 2000, kStart - 7200});
  return digest;
}

TEST(DigestFileJson, StartingDigestWithNoLogFilesHasEveryKeyWithNulls) {
  EXPECT_EQ(serialize_digest(starting_digest()),
            "{\"awsAccountId\":\"123456789012\",\"digestStartTime\":\"2024-05-01T10:01:31Z\","
            "\"digestEndTime\":\"2024-05-01T11:01:31Z\",\"digestS3Bucket\":\"ct-bucket\","
            "\"digestS3Object\":\"" +
                std::string(kDigestKey) +
                "\",\"digestPublicKeyFingerprint\":\"7f3f401420072e50a65a141430817ab3\","
                "\"digestSignatureAlgorithm\":\"SHA256withRSA\",\"newestEventTime\":null,\"oldestEventTime\":null,"
                "\"previousDigestS3Bucket\":null,\"previousDigestS3Object\":null,\"previousDigestHashValue\":null,"
                "\"previousDigestHashAlgorithm\":null,\"previousDigestSignature\":null,\"logFiles\":[]}");
}

TEST(DigestFileJson, ChainedDigestWithTwoLogFiles) {
  const std::string a64(64, 'a');
  const std::string b512(512, 'b');
  EXPECT_EQ(serialize_digest(chained_digest()),
            "{\"awsAccountId\":\"123456789012\",\"digestStartTime\":\"2024-05-01T10:01:31Z\","
            "\"digestEndTime\":\"2024-05-01T11:01:31Z\",\"digestS3Bucket\":\"ct-bucket\","
            "\"digestS3Object\":\"" +
                std::string(kDigestKey) +
                "\",\"digestPublicKeyFingerprint\":\"7f3f401420072e50a65a141430817ab3\","
                "\"digestSignatureAlgorithm\":\"SHA256withRSA\",\"newestEventTime\":\"2024-05-01T10:51:31Z\","
                "\"oldestEventTime\":\"2024-05-01T08:01:31Z\",\"previousDigestS3Bucket\":\"ct-bucket\","
                "\"previousDigestS3Object\":\"AWSLogs/prev.json.gz\",\"previousDigestHashValue\":\"" +
                a64 + "\",\"previousDigestHashAlgorithm\":\"SHA-256\",\"previousDigestSignature\":\"" + b512 +
                "\",\"logFiles\":[{\"s3Bucket\":\"log-bucket\",\"s3Object\":\"AWSLogs/one.json.gz\",\"hashValue\":\"" +
                std::string(64, 'c') +
                "\",\"hashAlgorithm\":\"SHA-256\",\"newestEventTime\":\"2024-05-01T10:51:31Z\","
                "\"oldestEventTime\":\"2024-05-01T09:59:51Z\"},{\"s3Bucket\":\"log-bucket\",\"s3Object\":"
                "\"AWSLogs/two.json.gz\",\"hashValue\":\"" +
                std::string(64, 'd') +
                "\",\"hashAlgorithm\":\"SHA-256\",\"newestEventTime\":\"2024-05-01T10:34:51Z\","
                "\"oldestEventTime\":\"2024-05-01T08:01:31Z\"}]}");
}

TEST(DigestFileJson, EscapesStringsThatNeedIt) {
  DigestContent digest = starting_digest();
  digest.key = "odd\"key\\with\ncontrol\x01 and caf\xc3\xa9";
  const nlohmann::json parsed = nlohmann::json::parse(serialize_digest(digest));
  EXPECT_EQ(parsed.at("digestS3Object"), digest.key);
}

TEST(DigestFileStringToSign, ReproducesTheSpecExampleByteForByte) {
  const std::string expected =
      "2024-05-01T11:01:31Z\n"
      "ct-bucket/AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/05/01/"
      "123456789012_CloudTrail-Digest_us-east-1_my-trail_us-east-1_20240501T110131Z.json.gz\n"
      "a22a1c11a1dc237da318921cda315f3480bc9c8a9e4366dfcce22d1651ae9915\n"
      "null";
  EXPECT_EQ(digest_string_to_sign("2024-05-01T11:01:31Z", "ct-bucket", kDigestKey,
                                  "a22a1c11a1dc237da318921cda315f3480bc9c8a9e4366dfcce22d1651ae9915", std::nullopt),
            expected);
  EXPECT_EQ(digest_string_to_sign("T", "b", "k", "h", std::string_view("abcd")), "T\nb/k\nh\nabcd");
}

TEST(DigestFileJson, MetadataNames) {
  EXPECT_EQ(kSignatureMetadata, "signature");
  EXPECT_EQ(kSignatureAlgorithmMetadata, "signature-algorithm");
  EXPECT_EQ(kSignatureAlgorithm, "SHA256withRSA");
}

// The stock validator: awscli's DigestTraverser.required_digest_keys, parse_date, and
// Sha256RSADigestValidator.validate (python-rsa load_pkcs1 DER + verify) on our bytes.
constexpr const char* kStockValidatorScript = R"PY(
import base64, json, sys
from awscli.customizations.cloudtrail import validation as v
d = sys.argv[1]
inflated = open(d + '/digest.json', 'rb').read()
data = json.loads(inflated.decode())
for key in v.DigestTraverser.required_digest_keys + ['logFiles']:
    assert key in data, key
v.parse_date(data['digestStartTime'])
v.parse_date(data['digestEndTime'])
for log in data['logFiles']:
    v.parse_date(log['newestEventTime'])
data['_signature'] = open(d + '/signature.hex').read()
data['_signature_algorithm'] = 'SHA256withRSA'
try:
    v.Sha256RSADigestValidator().validate(data['digestS3Bucket'], data['digestS3Object'],
                                          open(d + '/key.b64').read(), data, inflated)
except v.DigestError as e:
    print('INVALID', type(e).__name__, e)
    sys.exit(3)
print('VALID')
)PY";

class DigestFileStockValidator : public ::testing::Test {
 protected:
  void SetUp() override {
    if (run_shell("python3 -c 'import awscli.customizations.cloudtrail.validation'") != 0) {
      GTEST_SKIP() << "awscli not installed";
    }
    write_file(dir_.path() / "validate.py", kStockValidatorScript);
  }

  // Serializes, signs the way the Recorder will, and runs the stock validator; returns its output.
  std::string sign_and_validate(const DigestContent& digest, const std::string& tamper = "", int* rc = nullptr) {
    const std::string json = serialize_digest(digest);
    char end_text[20];
    format_event_time(digest.end_time, end_text);
    std::optional<std::string_view> previous;
    if (digest.previous) previous = digest.previous->signature_hex;
    const std::string to_sign =
        digest_string_to_sign(std::string_view(end_text, 20), digest.bucket, digest.key, sha256_hex(json), previous);
    write_file(dir_.path() / "digest.json", json + tamper);
    write_file(dir_.path() / "signature.hex", key().sign_hex(to_sign));
    write_file(dir_.path() / "key.b64", base64_encode(key().public_key_der()));
    std::string out;
    const int status = run_shell("python3 " + (dir_.path() / "validate.py").string() + " " + dir_.str(), &out);
    if (rc != nullptr) *rc = status;
    return out;
  }

  static const SigningKey& key() {
    static const SigningKey k = SigningKey::generate();
    return k;
  }
  TempDir dir_;
};

TEST_F(DigestFileStockValidator, AcceptsAStartingDigest) {
  int rc = -1;
  const std::string out = sign_and_validate(starting_digest(), "", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "VALID\n");
}

TEST_F(DigestFileStockValidator, AcceptsAChainedDigestWithEscapedKeys) {
  DigestContent digest = chained_digest();
  digest.key = "AWSLogs/odd\"key\\caf\xc3\xa9.json.gz";  // the string to sign uses the raw key, JSON escapes it
  digest.log_files[0].key = "x\ty";
  int rc = -1;
  const std::string out = sign_and_validate(digest, "", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "VALID\n");
}

TEST_F(DigestFileStockValidator, RejectsADigestChangedAfterSigning) {
  int rc = -1;
  const std::string out = sign_and_validate(chained_digest(), " ", &rc);  // whitespace: same JSON, other hash
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("INVALID DigestSignatureError"), std::string::npos) << out;
}

}  // namespace
}  // namespace trailkit::detail
