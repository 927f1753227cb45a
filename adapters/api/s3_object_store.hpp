#pragma once
// S3ObjectStore — `trailkit validate`'s object source when the digests are in S3 (or an
// S3-compatible server such as moto): ListObjects V1 pages for the digest listing and GetObject for
// digests (with their x-amz-meta-signature metadata) and log files, through the S3 adapter's
// S3Client (SigV4, the AWS settings chain of s3/aws_config.hpp, so AWS_ENDPOINT_URL_S3 points it
// at an emulator exactly as it points the stock CLI).
//
// Transient and throttled failures are retried twice (after 200 ms and 1 s), as botocore retries
// the stock tool's calls; then the failure is returned (the validator stops with it).
//
// Thread contract: not thread-safe; one validator thread.

#include "s3/s3_client.hpp"
#include "validate/validator.hpp"

namespace trailkit::api {

class S3ObjectStore final : public detail::ObjectStore {
 public:
  /// Raises options.http.max_response_body to at least 256 MiB (a CloudTrail log file is at most
  /// 50 MB compressed). Throws std::invalid_argument like S3Client.
  explicit S3ObjectStore(s3::S3ClientOptions options);

  Status list(const std::string& bucket, const std::string& prefix, const std::string& marker,
              const std::function<bool(const std::string& key)>& visit) override;
  Status list_folders(const std::string& bucket, const std::string& prefix, std::vector<std::string>& folders) override;
  detail::FetchOutcome get(const std::string& bucket, const std::string& key, detail::StoredObject& out,
                           std::string& error) override;

 private:
  Status list_page(const std::string& bucket, const std::string& prefix, const std::string& marker,
                   const std::string& delimiter, s3::S3Client::ListObjectsPage& page);
  s3::S3Client client_;
};

}  // namespace trailkit::api
