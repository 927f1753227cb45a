#pragma once
// The CloudTrail digest file (cloudtrail-spec §4.2) and its string to sign (§4.3).
//
// serialize_digest writes every §4.2 key, in the order of AWS's samples, compact, with `null` for
// what does not apply (never a dropped key): a starting digest has the five previousDigest* fields
// null; an empty window has `"logFiles":[]` and null newest/oldestEventTime. Times use the eventTime
// format `YYYY-MM-DDTHH:MM:SSZ`. The hashes are lower-case hex SHA-256 of *uncompressed* bytes.
//
// Thread contract: pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trailkit::detail {

struct DigestLogFile {
  std::string bucket;       ///< s3Bucket
  std::string key;          ///< s3Object
  std::string sha256_hex;   ///< hashValue (of the uncompressed file)
  std::int64_t newest_event_time = 0;  ///< epoch seconds
  std::int64_t oldest_event_time = 0;
};

struct DigestLink {
  std::string bucket;          ///< previousDigestS3Bucket
  std::string key;             ///< previousDigestS3Object
  std::string sha256_hex;      ///< previousDigestHashValue: SHA-256 of the previous digest's JSON
  std::string signature_hex;   ///< previousDigestSignature
};

struct DigestContent {
  std::string account_id;
  std::int64_t start_time = 0;  ///< digestStartTime, epoch seconds
  std::int64_t end_time = 0;    ///< digestEndTime
  std::string bucket;           ///< digestS3Bucket: where this digest itself is stored
  std::string key;              ///< digestS3Object
  std::string fingerprint;      ///< digestPublicKeyFingerprint
  std::optional<DigestLink> previous;  ///< nullopt = starting digest (five nulls)
  std::vector<DigestLogFile> log_files;
};

/// Compact JSON of the digest, field order: awsAccountId, digestStartTime, digestEndTime,
/// digestS3Bucket, digestS3Object, digestPublicKeyFingerprint, digestSignatureAlgorithm
/// ("SHA256withRSA"), newestEventTime, oldestEventTime (extremes over log_files, or null),
/// previousDigestS3Bucket, previousDigestS3Object, previousDigestHashValue,
/// previousDigestHashAlgorithm ("SHA-256" or null), previousDigestSignature, logFiles[{s3Bucket,
/// s3Object, hashValue, hashAlgorithm:"SHA-256", newestEventTime, oldestEventTime}].
std::string serialize_digest(const DigestContent& digest);

/// §4.3: "<digestEndTime text>\n<bucket>/<key>\n<sha256 hex of the uncompressed digest>\n
/// <previousDigestSignature or null>" — no trailing newline.
std::string digest_string_to_sign(std::string_view end_time_text, std::string_view bucket, std::string_view key,
                                  std::string_view digest_sha256_hex,
                                  std::optional<std::string_view> previous_signature_hex);

/// S3 metadata names of a digest object (x-amz-meta-<name>) and the one algorithm value.
inline constexpr std::string_view kSignatureMetadata = "signature";
inline constexpr std::string_view kSignatureAlgorithmMetadata = "signature-algorithm";
inline constexpr std::string_view kSignatureAlgorithm = "SHA256withRSA";

}  // namespace trailkit::detail
