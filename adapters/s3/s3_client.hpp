#pragma once
// S3Client — the few S3 calls trailkit needs: PutObject and multipart upload (create, upload part,
// complete, abort), and for `trailkit validate` GetObject and ListObjects (V1), signed with our SigV4 signer, over one keep-alive HttpClient.
//
// Failures are classified before anyone retries (aws-c-s3's habit):
//   kTransient  network errors, 5xx, 400 BadDigest/RequestTimeout, RequestTimeTooSkewed (after
//               adopting the server's clock from its Date header)
//   kThrottled  503 SlowDown, 429, Throttling/RequestLimitExceeded codes
//   kPermanent  403 (AccessDenied, SignatureDoesNotMatch, InvalidAccessKeyId), 404 NoSuchBucket,
//               TLS verification failures — the data is kept and retried with a long backoff.
// Error messages carry the HTTP status, the S3 error code and message, never a header value.
//
// Thread contract: not thread-safe; one S3Client per uploader thread.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "s3/aws_config.hpp"
#include "s3/http_client.hpp"
#include "s3/sigv4.hpp"
#include "trailkit/clock.hpp"
#include "trailkit/status.hpp"

namespace trailkit::s3 {

struct S3ClientOptions {
  S3Settings settings;          ///< resolved credentials, region, endpoint, addressing
  HttpClientOptions http;
  /// "" (bucket default), "AES256" (SSE-S3) or "aws:kms" (SSE-KMS with kms_key_id, like a trail's KmsKeyId).
  std::string server_side_encryption;
  std::string kms_key_id;
  std::shared_ptr<Clock> clock;  ///< signing time; nullptr = system clock
};

/// What one call returned, for diagnostics and tests.
struct S3Reply {
  int http_status = 0;
  std::string error_code;  ///< S3's <Code>, e.g. "SlowDown"; "" on success or network failure
  std::string etag;
};

/// An object body: a byte range of an open file plus its digests (computed when it was spooled).
struct ObjectBody {
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::string sha256_hex;  ///< of the whole body: signed as x-amz-content-sha256
  std::string md5_base64;  ///< Content-MD5: S3 rejects a body that arrives altered (BadDigest)
};

using Metadata = std::vector<std::pair<std::string, std::string>>;  ///< x-amz-meta-<name>: value

/// SHA-256 (lower-case hex) and MD5 (base64, the Content-MD5 form) of `length` bytes of `fd` from
/// `offset`, read in 1 MiB pieces. False on a read error. Thread-safe.
bool digest_file_range(int fd, std::uint64_t offset, std::uint64_t length, std::string& sha256_hex,
                       std::string& md5_base64);

class S3Client {
 public:
  /// Throws std::invalid_argument naming the field (bad endpoint, SSE value, empty credentials).
  explicit S3Client(S3ClientOptions options);
  ~S3Client();

  /// PUT of the whole body in one request, Content-Type application/json.
  Status put_object(const std::string& bucket, const std::string& key, const ObjectBody& body,
                    const Metadata& metadata, S3Reply* reply = nullptr) noexcept;

  /// Multipart upload in parts of `part_size` bytes (>= 5 MiB; the last may be smaller). On any
  /// failure the upload is aborted (no orphaned parts) and the error returned.
  Status put_object_multipart(const std::string& bucket, const std::string& key, const ObjectBody& body,
                              const Metadata& metadata, std::uint64_t part_size, S3Reply* reply = nullptr) noexcept;

  /// GET of a whole object (for `trailkit validate`): `body` gets the bytes (at most
  /// options.http.max_response_body), `metadata` the x-amz-meta-* headers (names lower case, without
  /// the prefix). A missing key fails with reply->error_code "NoSuchKey" (HTTP 404).
  Status get_object(const std::string& bucket, const std::string& key, std::string& body, Metadata& metadata,
                    S3Reply* reply = nullptr) noexcept;

  /// One page of ListObjects (V1) with Prefix, Marker and, when not empty, Delimiter (then
  /// `common_prefixes` holds the CommonPrefixes). Keys come in S3's byte order; when `is_truncated`,
  /// ask again with `next_marker` (S3's NextMarker, or the last key/prefix when S3 omits it).
  struct ListObjectsPage {
    std::vector<std::string> keys;
    std::vector<std::string> common_prefixes;
    bool is_truncated = false;
    std::string next_marker;
  };
  Status list_objects(const std::string& bucket, const std::string& prefix, const std::string& marker,
                      const std::string& delimiter, ListObjectsPage& page, S3Reply* reply = nullptr) noexcept;

  /// Seconds added to the local clock when signing (learned from RequestTimeTooSkewed replies).
  std::int64_t clock_offset_seconds() const noexcept { return clock_offset_; }
  const S3Settings& settings() const noexcept { return options_.settings; }

  /// Classification of an S3 reply (exposed for tests).
  static ErrorKind classify(int http_status, const std::string& error_code) noexcept;

 private:
  struct Call;
  Status execute(Call& call, S3Reply* reply) noexcept;
  HttpClient& client_for(const std::string& bucket);
  Status abort_multipart(const std::string& bucket, const std::string& key, const std::string& upload_id) noexcept;

  S3ClientOptions options_;
  ParsedEndpoint endpoint_;
  std::string bucket_of_client_;
  std::unique_ptr<HttpClient> client_;
  std::int64_t clock_offset_ = 0;
};

}  // namespace trailkit::s3
