#pragma once
// trailkit::s3::S3Destination — delivers sealed log files to S3-compatible storage (AWS S3, MinIO,
// LocalStack, moto) the way CloudTrail does, losing nothing when the network or the process fails.
//
//   Recorder worker --ObjectWriter--> durable spool (<state_dir>/spool, fsynced before commit returns)
//   uploader threads --PutObject / multipart, SigV4--> bucket; an entry is removed only after the
//   bucket confirmed it. On restart the spool is scanned and everything in it is delivered again;
//   torn or corrupt entries are quarantined and counted, never crash start-up.
//
// Failures are classified (S3Client::classify): transient and throttled ones retry with exponential
// backoff and full jitter; 403 / NoSuchBucket keep the data and retry with a long backoff (equal
// jitter: never sooner than 2.5 s) until the entry is `max_retry_age` old (default 30 days, like
// CloudTrail), when it is moved to quarantine/ (kept on disk, counted) — never deleted. Memory is
// bounded whatever the backlog: entries are streamed from disk and at most `upload_threads`
// uploads run at once.
//
// Thread contract: the Destination methods are called by the recorder's worker; status(),
// wait_until_delivered() and shutdown() are thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "s3/aws_config.hpp"
#include "s3/http_client.hpp"
#include "trailkit/clock.hpp"
#include "trailkit/destination.hpp"
#include "trailkit/recorder.hpp"

namespace trailkit::s3 {

struct S3DestinationOptions {
  std::string bucket;                   ///< required; S3 bucket naming rules (3-63 chars, a-z 0-9 . -)
  std::string state_dir = "./.trailkit";  ///< the spool lives in <state_dir>/spool
  S3SettingsOverrides settings;         ///< explicit settings; the rest comes from env and ~/.aws
  HttpClientOptions http;
  std::string server_side_encryption;   ///< "", "AES256" or "aws:kms"
  std::string kms_key_id;               ///< with "aws:kms": the trail's KmsKeyId
  std::uint64_t multipart_threshold = 64ull << 20;  ///< larger objects go multipart
  std::uint64_t part_size = 8ull << 20;             ///< >= 5 MiB (S3's minimum); 8 MiB default
  std::size_t upload_threads = 2;       ///< uploads in flight at most
  std::chrono::hours max_retry_age{24 * 30};
  bool fsync = true;                    ///< spool durability; off only for benchmarks
  std::function<void(const ErrorReport&)> error_handler;  ///< rate-limited; nullptr = stderr
  std::shared_ptr<Clock> clock;         ///< nullptr = system clock

  /// Throws std::invalid_argument naming the field and the rule.
  void validate() const;
};

/// Delivery state, for GetTrailStatus and monitoring. Plain value.
struct DeliveryStatus {
  std::uint64_t delivered_objects = 0;
  std::uint64_t delivered_bytes = 0;
  std::uint64_t failed_attempts = 0;
  std::uint64_t backlog_objects = 0;   ///< spooled, not yet confirmed by the bucket
  std::uint64_t backlog_bytes = 0;
  std::uint64_t quarantined = 0;       ///< corrupt spool entries and entries past max_retry_age
  std::int64_t latest_delivery_time = 0;  ///< epoch seconds of the last confirmed upload; 0 = none
  std::string latest_delivery_error;      ///< "" when the last attempt succeeded
  std::int64_t latest_delivery_error_time = 0;
};

class S3Destination final : public Destination {
 public:
  /// Resolves settings (explicit > environment > ~/.aws files > preset), opens and recovers the
  /// spool, starts the uploaders. Throws std::invalid_argument / std::runtime_error on bad setup
  /// (message names the field or path, never a secret).
  static std::shared_ptr<S3Destination> create(S3DestinationOptions options);
  ~S3Destination() override;

  std::unique_ptr<ObjectWriter> begin_object(Status& status) noexcept override;
  std::string describe() const override;
  std::string bucket_name() const override;

  DeliveryStatus status() const;
  /// Waits until every spooled object was confirmed by the bucket; false on timeout.
  bool wait_until_delivered(std::chrono::milliseconds timeout);
  /// Stops the uploaders (what is left stays in the spool for the next start). Idempotent.
  void shutdown(std::chrono::milliseconds timeout);

  class Impl;

 private:
  explicit S3Destination(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Splits "s3://bucket/prefix/part" into bucket and key prefix ("" when none). Throws
/// std::invalid_argument for anything else.
std::pair<std::string, std::string> parse_s3_url(const std::string& url);

}  // namespace trailkit::s3
