#include "digest/digest_file.hpp"

#include <algorithm>

#include "common/civil_time.hpp"
#include "serialize/json_buffer.hpp"
#include "serialize/json_escape.hpp"

namespace trailkit::detail {
namespace {

void append_time(JsonBuffer& out, std::int64_t epoch_seconds) {
  char text[22];
  text[0] = '"';
  format_event_time(epoch_seconds, text + 1);
  text[21] = '"';
  out.append(text, sizeof text);
}

void append_optional_time(JsonBuffer& out, std::optional<std::int64_t> epoch_seconds) {
  if (epoch_seconds) {
    append_time(out, *epoch_seconds);
  } else {
    out.literal("null");
  }
}

}  // namespace

std::string serialize_digest(const DigestContent& digest) {
  // newest/oldestEventTime are the extremes across all listed files (§4.2), null for an empty window.
  std::optional<std::int64_t> newest;
  std::optional<std::int64_t> oldest;
  for (const DigestLogFile& file : digest.log_files) {
    newest = newest ? std::max(*newest, file.newest_event_time) : file.newest_event_time;
    oldest = oldest ? std::min(*oldest, file.oldest_event_time) : file.oldest_event_time;
  }

  JsonBuffer out(1024 + digest.log_files.size() * 320);
  out.literal("{\"awsAccountId\":");
  append_json_string(out, digest.account_id);
  out.literal(",\"digestStartTime\":");
  append_time(out, digest.start_time);
  out.literal(",\"digestEndTime\":");
  append_time(out, digest.end_time);
  out.literal(",\"digestS3Bucket\":");
  append_json_string(out, digest.bucket);
  out.literal(",\"digestS3Object\":");
  append_json_string(out, digest.key);
  out.literal(",\"digestPublicKeyFingerprint\":");
  append_json_string(out, digest.fingerprint);
  out.literal(",\"digestSignatureAlgorithm\":");
  append_json_string(out, kSignatureAlgorithm);
  out.literal(",\"newestEventTime\":");
  append_optional_time(out, newest);
  out.literal(",\"oldestEventTime\":");
  append_optional_time(out, oldest);
  if (digest.previous) {
    const DigestLink& link = *digest.previous;
    out.literal(",\"previousDigestS3Bucket\":");
    append_json_string(out, link.bucket);
    out.literal(",\"previousDigestS3Object\":");
    append_json_string(out, link.key);
    out.literal(",\"previousDigestHashValue\":");
    append_json_string(out, link.sha256_hex);
    out.literal(",\"previousDigestHashAlgorithm\":\"SHA-256\",\"previousDigestSignature\":");
    append_json_string(out, link.signature_hex);
  } else {
    // A starting digest keeps all five keys, as null: validate-logs indexes previousDigestSignature.
    out.literal(
        ",\"previousDigestS3Bucket\":null,\"previousDigestS3Object\":null,\"previousDigestHashValue\":null,"
        "\"previousDigestHashAlgorithm\":null,\"previousDigestSignature\":null");
  }
  out.literal(",\"logFiles\":[");
  bool first = true;
  for (const DigestLogFile& file : digest.log_files) {
    if (!first) out.push_back(',');
    first = false;
    out.literal("{\"s3Bucket\":");
    append_json_string(out, file.bucket);
    out.literal(",\"s3Object\":");
    append_json_string(out, file.key);
    out.literal(",\"hashValue\":");
    append_json_string(out, file.sha256_hex);
    out.literal(",\"hashAlgorithm\":\"SHA-256\",\"newestEventTime\":");
    append_time(out, file.newest_event_time);
    out.literal(",\"oldestEventTime\":");
    append_time(out, file.oldest_event_time);
    out.push_back('}');
  }
  out.literal("]}");
  return std::string(out.view());
}

std::string digest_string_to_sign(std::string_view end_time_text, std::string_view bucket, std::string_view key,
                                  std::string_view digest_sha256_hex,
                                  std::optional<std::string_view> previous_signature_hex) {
  const std::string_view previous = previous_signature_hex ? *previous_signature_hex : std::string_view("null");
  std::string out;
  out.reserve(end_time_text.size() + bucket.size() + key.size() + digest_sha256_hex.size() + previous.size() + 4);
  out.append(end_time_text).append("\n");
  out.append(bucket).append("/").append(key).append("\n");
  out.append(digest_sha256_hex).append("\n");
  out.append(previous);
  return out;
}

}  // namespace trailkit::detail
