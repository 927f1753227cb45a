#pragma once
// trailkit::Destination — where sealed log files go (the `deliver` stage).
//
// The worker streams a file's compressed bytes into an ObjectWriter as they are produced, so memory
// stays flat however large a file grows, then commits it under its final CloudTrail key. A
// destination must make a committed object appear atomically: readers never see a partial file.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "trailkit/status.hpp"

namespace trailkit {

/// User metadata of an object, name -> value (S3: `x-amz-meta-<name>`). Digest files carry
/// `signature` and `signature-algorithm` (cloudtrail-spec §4.3). Plain value type.
using ObjectMetadata = std::vector<std::pair<std::string, std::string>>;

/// One object being written. Thread contract: used by the worker thread only, never concurrently.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  /// Appends compressed bytes. On failure the writer stays usable: the caller may retry the same
  /// bytes (nothing of a failed call is kept) or abort.
  virtual Status write(std::string_view bytes) noexcept = 0;
  /// Makes everything written durable and visible under `key` (a CloudTrail object key such as
  /// `AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/..._Ab12Cd34Ef56Gh78.json.gz`).
  /// After success the writer is finished. On failure the caller may retry commit or abort.
  virtual Status commit(std::string_view key) noexcept = 0;
  /// commit() plus user metadata stored with the object (atomically: the object never appears
  /// without it). The default refuses non-empty metadata with kInvalidArgument, so a destination
  /// that cannot keep metadata fails loudly instead of dropping digest signatures.
  virtual Status commit_with_metadata(std::string_view key, const ObjectMetadata& metadata) noexcept {
    if (!metadata.empty()) {
      return Status::error(ErrorKind::kInvalidArgument, "this destination cannot store object metadata");
    }
    return commit(key);
  }
  /// Discards the object. Idempotent; also what the destructor does for an uncommitted writer.
  virtual void abort() noexcept = 0;
};

/// A place that stores objects. Thread contract: `begin_object` is called by the worker thread
/// only; implementations need not be thread-safe.
class Destination {
 public:
  virtual ~Destination() = default;
  /// Starts a new object. Returns nullptr and sets `status` on failure.
  virtual std::unique_ptr<ObjectWriter> begin_object(Status& status) noexcept = 0;
  /// A short description for logs and the demo summary (e.g. `file:///abs/path`). No secrets.
  virtual std::string describe() const = 0;
  /// The bucket name objects land in (written into digests as s3Bucket / digestS3Bucket); "" when
  /// the destination has none (the recorder then uses DigestOptions::bucket_name).
  virtual std::string bucket_name() const { return {}; }
};

}  // namespace trailkit
