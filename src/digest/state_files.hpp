#pragma once
// The state directory's small JSON files: the contract between the process that records (the
// Recorder, which writes them) and the tools that read them (`trailkit serve`, `trailkit validate`).
//
//   <state_dir>/trail.json          TrailDescription (written by the Recorder at start)
//   <state_dir>/trail-status.json   TrailStatus (rewritten by the Recorder after each delivery/digest)
//   <state_dir>/public-keys.json    KeyRegistry (key_registry.hpp)
//   <state_dir>/keys/digest-key.pem the default signing key (generated once, mode 0600)
//   <state_dir>/digest/<acct>/<region>.json   digest chain state (digest_chain.hpp)
//   <state_dir>/spool/              the S3 spool (deliver/spool.hpp)
//   <state_dir>/history.sqlite3     the event history behind LookupEvents (SQLite, WAL)
//
// Every file is written atomically (tmp in the same directory, fsync, rename, fsync the directory),
// so a reader never sees a partial file. Times are epoch seconds; 0 = never / not applicable.
//
// Thread contract: free functions, thread-safe (no shared state); the files have one writer process.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trailkit::detail {

/// trail.json: {"version":1,"name":..,"accountId":..,"homeRegion":..,"s3BucketName":..,
/// "s3KeyPrefix":..,"organizationId":..,"logFileValidationEnabled":bool,"digestIntervalSeconds":n,
/// "destination":"file:///... | s3://bucket/prefix"}
struct TrailDescription {
  std::string name;
  std::string account_id;
  std::string home_region;
  std::string bucket;           ///< S3BucketName; for a local directory, its base name
  std::string key_prefix;       ///< "" = none
  std::string organization_id;  ///< "" = not an organization trail
  bool log_file_validation = false;
  std::int64_t digest_interval_seconds = 3600;
  std::string destination;      ///< Destination::describe(): no secrets

  /// `arn:aws:cloudtrail:<home_region>:<account_id>:trail/<name>`.
  std::string arn() const;
};

/// trail-status.json: {"version":1,"isLogging":bool,"startLoggingTime":n,"stopLoggingTime":n,
/// "latestDeliveryTime":n,"latestDeliveryError":"..","latestDigestDeliveryTime":n,
/// "latestDigestDeliveryError":"..","latestDigests":[{"accountId":..,"region":..,"key":..,"endTime":n}]}
/// ("" = no error). `latestDigests` is the exact tail watermark: the newest digest delivered per
/// account and region, so a validator can tell a deleted newest digest from a quiet trail.
struct LatestDigest {
  std::string account_id;
  std::string region;
  std::string key;            ///< the digest's object key
  std::int64_t end_time = 0;  ///< its digestEndTime
};

struct TrailStatus {
  bool is_logging = false;
  std::int64_t start_logging_time = 0;
  std::int64_t stop_logging_time = 0;
  std::int64_t latest_delivery_time = 0;
  std::string latest_delivery_error;
  std::int64_t latest_digest_delivery_time = 0;
  std::string latest_digest_delivery_error;
  std::vector<LatestDigest> latest_digests;
};

/// Paths inside a state dir.
std::string trail_description_path(std::string_view state_dir);
std::string trail_status_path(std::string_view state_dir);
std::string public_keys_path(std::string_view state_dir);
std::string default_signing_key_path(std::string_view state_dir);
/// `<state_dir>/history.sqlite3`: the event history (LookupEvents), written by the Recorder.
std::string history_database_path(std::string_view state_dir);

/// Writes `content` to `path` atomically (see above), creating missing parent directories with
/// mode 0700 (the state dir holds keys). Throws std::runtime_error naming the path and errno text.
void write_file_atomically(const std::string& path, std::string_view content, unsigned mode = 0644);

/// Creates `dir` and any missing parents with mode 0700 (existing directories are left as they
/// are). Throws std::runtime_error naming the directory and errno text. Thread-safe.
void create_private_directories(const std::string& dir);

/// The whole content of `path`; nullopt when it does not exist. Throws std::runtime_error naming the
/// path and errno text for any other failure (permission, a directory). Thread-safe.
std::optional<std::string> read_file_if_exists(const std::string& path);

/// Reads/writes the two files. read_* return nullopt when the file does not exist and throw
/// std::runtime_error naming the path and the problem when it is unreadable or malformed.
void write_trail_description(std::string_view state_dir, const TrailDescription& trail);
std::optional<TrailDescription> read_trail_description(std::string_view state_dir);
void write_trail_status(std::string_view state_dir, const TrailStatus& status);
std::optional<TrailStatus> read_trail_status(std::string_view state_dir);

}  // namespace trailkit::detail
