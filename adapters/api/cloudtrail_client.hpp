#pragma once
// CloudTrailClient — the three CloudTrail calls `trailkit validate` makes, over the JSON 1.1
// protocol (cloudtrail-spec §6.1): POST / with Content-Type application/x-amz-json-1.1 and
// X-Amz-Target com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Op>, SigV4 service
// "cloudtrail". Errors ({"__type":"<ns#>Code","message":".."}, HTTP 4xx/5xx) become
// CloudTrailError with the code (namespace stripped, as botocore does).
//
//   ListPublicKeys {StartTime, EndTime} (integer epoch seconds, as botocore sends them; NextToken
//                  pages followed); Value is base64 of DER PKCS#1.
//   DescribeTrails {} -> the entry whose TrailARN equals the ARN (what validate-logs does).
//   GetTrailStatus {Name: ARN} -> LatestDigestDeliveryTime (the tail-truncation watermark).
//
// Endpoint: resolve_cloudtrail_endpoint (the --endpoint-url flag, AWS_ENDPOINT_URL_CLOUDTRAIL,
// AWS_ENDPOINT_URL, else https://cloudtrail.<region>.amazonaws.com). Requests are signed when
// credentials are given; without credentials they are sent unsigned (a local `trailkit serve`
// may accept that; AWS answers 403).
//
// Thread contract: not thread-safe; one thread (one keep-alive connection).

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "s3/aws_config.hpp"
#include "s3/http_client.hpp"
#include "s3/sigv4.hpp"
#include "digest/state_files.hpp"
#include "validate/validator.hpp"

namespace trailkit::api {

/// A CloudTrail error reply or a failed request. `code()` is the __type without namespace
/// ("TrailNotFoundException"), or "" for a network failure / unreadable reply.
class CloudTrailError : public std::runtime_error {
 public:
  CloudTrailError(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const noexcept { return code_; }

 private:
  std::string code_;
};

struct CloudTrailClientOptions {
  std::string endpoint_url;                  ///< "" = https://cloudtrail.<region>.amazonaws.com
  std::string region = "us-east-1";          ///< signing region
  std::optional<s3::Credentials> credentials;  ///< nullopt = unsigned requests
  s3::HttpClientOptions http;
};

/// What validate needs from DescribeTrails' Trail.
struct TrailLocation {
  std::string bucket;      ///< S3BucketName
  std::string key_prefix;  ///< S3KeyPrefix ("" when absent)
  bool is_organization_trail = false;
  std::string home_region;
};

/// The endpoint for CloudTrail calls: `flag` > AWS_ENDPOINT_URL_CLOUDTRAIL > AWS_ENDPOINT_URL (as
/// botocore resolves service endpoints) > "" (the AWS regional endpoint). Thread-safe.
std::string resolve_cloudtrail_endpoint(const std::string& flag, const s3::Environment& env);

class CloudTrailClient {
 public:
  /// Throws std::invalid_argument for a malformed endpoint.
  explicit CloudTrailClient(CloudTrailClientOptions options);
  ~CloudTrailClient();

  /// One JSON 1.1 call: returns the response body. Throws CloudTrailError.
  std::string call(const std::string& operation, const std::string& request_json);

  /// ListPublicKeys(StartTime=from, EndTime=to): every page. Throws CloudTrailError.
  std::vector<detail::PublicKeyRecord> list_public_keys(std::int64_t from, std::int64_t to);
  /// DescribeTrails {} and the entry whose TrailARN == arn; nullopt when none. Throws CloudTrailError.
  std::optional<TrailLocation> describe_trail(const std::string& arn);
  /// GetTrailStatus {Name: arn}: LatestDigestDeliveryTime, nullopt when absent. Throws CloudTrailError.
  std::optional<std::int64_t> latest_digest_delivery_time(const std::string& arn);
  /// GetTrailStatus {Name: arn}: trailkit's exact tail watermark, the member `TrailkitLatestDigests`
  /// ([{AccountId, Region, S3Object, DigestEndTime}], an addition of `trailkit serve`; AWS has no
  /// such member and SDKs ignore it). Empty when absent. Throws CloudTrailError.
  std::vector<detail::LatestDigest> latest_digests(const std::string& arn);

  const std::string& endpoint_url() const noexcept { return endpoint_url_; }

 private:
  CloudTrailClientOptions options_;
  std::string endpoint_url_;
  s3::ParsedEndpoint endpoint_;
  std::unique_ptr<s3::HttpClient> http_;
};

/// The validator's key source over ListPublicKeys. Thread contract: as CloudTrailClient.
class CloudTrailKeySource final : public detail::PublicKeySource {
 public:
  explicit CloudTrailKeySource(CloudTrailClient& client) : client_(client) {}
  std::vector<detail::PublicKeyRecord> public_keys(std::int64_t from, std::int64_t to) override {
    return client_.list_public_keys(from, to);
  }

 private:
  CloudTrailClient& client_;
};

}  // namespace trailkit::api
