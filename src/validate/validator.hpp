#pragma once
// The digest-chain validator behind `trailkit validate` (issue #4): a re-implementation of
// `aws cloudtrail validate-logs` (awscli/customizations/cloudtrail/validation.py, cloudtrail-spec
// §4.4) over two small interfaces — where objects come from (S3, a local directory) and where public
// keys come from (CloudTrail ListPublicKeys, the state dir's public-keys.json) — plus checks the
// stock tool does not make.
//
// What is reproduced from the stock tool, byte for byte where it prints:
//  - listing: ListObjects V1 under `[prefix/]AWSLogs/[org/]<acct>/CloudTrail-Digest/<srcRegion>`
//    from Marker = the digest key that would exist at start - 1 min; keys matching the trail's digest
//    name; dates by fixed slicing ([-24:-8], backfill [-33:-17]) compared as text with
//    [start, end + 1 h]; the listing stops at the first later key;
//  - ListPublicKeys(start, end + 2 h) once for the regular chain ("No public keys found between ..."
//    is fatal), and [t - 1 h, t + 1 h] around backfill-generation-timestamp for unknown backfill keys;
//  - the walk from the newest listed digest backwards through previousDigestS3Bucket/Object, the
//    "next older listed key" rule after a missing/invalid digest or a null link (gap notice);
//  - every message, the stderr double-spacing, the summary and the exit code.
//  - the source region is `source_region`, or the ARN's home region when empty (the stock tool uses
//    `--region` or, without it, the ARN's region for the digest folder).
//
// Deliberate differences (documented in the CLI help too):
//  - times are whole seconds (fractional input seconds are dropped);
//  - a digest without a `logFiles` array is "INVALID: invalid format" (the stock tool crashes);
//  - log files may also be zstd (.json.zst, all frames); gzip is inflated first member only, and a
//    truncated gzip log hashes what inflates (both like the stock tool's zlib.decompressobj);
//  - signatures must be RSASSA-PKCS1-v1_5 with SHA-256 (python-rsa also accepts other hashes);
//  - an object store failure other than "not found" is fatal with exit 1 (the stock tool: 255).
//
// Checks beyond the stock tool (reported after its summary, each a failure -> exit 1):
//  - chain links: for a digest D whose previousDigest* points at P and P validated, P's
//    digestEndTime must equal D's digestStartTime, SHA-256(P's uncompressed bytes) must equal D's
//    previousDigestHashValue and P's signature must equal D's previousDigestSignature;
//  - chain gaps: D starts a new chain (previousDigest* null) while an older digest is listed;
//  - tail truncation: the newest listed digest must end no earlier than
//      latest_digest_delivery_time (clamped to end_time) - tail_grace      when the watermark is known
//      (tail_grace = 5 min; interval + 5 min when the bucket holds digests of more than one
//       region, because the trail-level watermark may be another region's delivery),
//      end_time - (2 * interval + 5 min)                                    otherwise,
//    interval = digest_interval_seconds, else the median window of the validated chain, else 1 h.
//    With no digest listed at all, only the watermark rule applies, and only when the region has
//    digests at all (a wrong --region stays "No digests found", exit 0). No tail check when a digest
//    of the trail exists after end + 1 h (the listing saw it): the range does not hold the tail, and
//    logging may legitimately have stopped inside it.
//
// Thread contract: a Validator is used by one thread; the interfaces are called on that thread only.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "digest/key_registry.hpp"
#include "digest/state_files.hpp"
#include "trailkit/status.hpp"

namespace trailkit::detail {

/// An object's bytes and its user metadata (x-amz-meta-<name>, names lower case, without the prefix).
struct StoredObject {
  std::string body;
  std::map<std::string, std::string> metadata;
};

enum class FetchOutcome { kFound, kNotFound, kFailed };

/// Where digest and log objects are read from. Implementations: LocalObjectStore
/// (validate/local_object_store.hpp), S3ObjectStore (adapters/api/s3_object_store.hpp).
/// Thread contract: one thread at a time (the validator's).
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  /// Calls `visit` with every key of `bucket` that starts with `prefix` and sorts after `marker`
  /// (byte order, as ListObjects V1 with Prefix and Marker returns them), in ascending order, until
  /// `visit` returns false. A failure (network, no such bucket) is returned, not thrown.
  virtual Status list(const std::string& bucket, const std::string& prefix, const std::string& marker,
                      const std::function<bool(const std::string& key)>& visit) = 0;
  /// The names of the immediate "folders" under `prefix` (which ends with '/'): ListObjects with
  /// Delimiter "/" -> CommonPrefixes, without `prefix` and the trailing '/'. Used only to tell
  /// whether a trail writes digests for more than one region.
  virtual Status list_folders(const std::string& bucket, const std::string& prefix,
                              std::vector<std::string>& folders) = 0;
  /// Reads an object. kNotFound only for "no such key" (S3 NoSuchKey); everything else that fails is
  /// kFailed with `error` set.
  virtual FetchOutcome get(const std::string& bucket, const std::string& key, StoredObject& out,
                           std::string& error) = 0;
};

/// Where public keys come from. Thread contract: one thread at a time.
class PublicKeySource {
 public:
  virtual ~PublicKeySource() = default;
  /// The keys whose validity overlaps [from, to] (epoch seconds), `der` = DER PKCS#1 as published
  /// (ListPublicKeys Value, base64-decoded). Throws std::runtime_error when the source fails.
  virtual std::vector<PublicKeyRecord> public_keys(std::int64_t from, std::int64_t to) = 0;
};

/// Public keys from `<state_dir>/public-keys.json` (KeyRegistry::overlapping). The file is read on
/// every call; a missing file has no keys.
class RegistryKeySource final : public PublicKeySource {
 public:
  explicit RegistryKeySource(std::string path) : path_(std::move(path)) {}
  std::vector<PublicKeyRecord> public_keys(std::int64_t from, std::int64_t to) override;

 private:
  std::string path_;
};

/// What to validate. Thread contract: plain value type.
struct ValidateOptions {
  std::string trail_arn;        ///< must match arn:.+:cloudtrail:.+:\d{12}:trail/.+
  std::int64_t start_time = 0;  ///< epoch seconds, inclusive
  std::int64_t end_time = 0;    ///< epoch seconds (--end-time, or now)
  std::string bucket;           ///< the digests' bucket (resolved by the caller)
  std::string prefix;           ///< S3KeyPrefix; "" = none
  std::string account_id;       ///< "" = the ARN's account
  std::string organization_id;  ///< "" = not an organization trail
  std::string source_region;    ///< "" = the ARN's home region
  bool verbose = false;
  // --- checks beyond the stock tool ---
  bool extra_checks = true;
  std::optional<std::int64_t> latest_digest_delivery_time;  ///< the trail's watermark, if known
  /// The exact watermark, if known (trail-status.json `latestDigests`, or GetTrailStatus'
  /// `TrailkitLatestDigests` from `trailkit serve`): the newest digest delivered per account and
  /// region. When the validated account/region has one inside the listed range and the newest
  /// listed digest is older, the tail was truncated; no grace period is needed.
  std::vector<LatestDigest> latest_digests;
  std::optional<std::int64_t> digest_interval_seconds;      ///< trail.json, if known
  std::int64_t tail_grace_seconds = 300;
  /// Draw a one-line progress bar on `err` (the caller decides: a terminal, and the run is long).
  bool progress = false;
};

/// Counts of one run. Thread contract: plain value type.
struct ValidateResult {
  int valid_digests = 0;
  int invalid_digests = 0;
  int valid_backfill_digests = 0;
  int invalid_backfill_digests = 0;
  int valid_logs = 0;
  int invalid_logs = 0;
  int extra_failures = 0;  ///< chain links, gaps, tail truncation
  bool fatal = false;      ///< stopped early (store or key source failure); message already printed
  /// 0 when nothing is invalid (including "No digests found"), else 1.
  int exit_code() const noexcept {
    return (fatal || invalid_digests || invalid_backfill_digests || invalid_logs || extra_failures) ? 1 : 0;
  }
};

/// Runs one validation, printing like the stock tool: progress and verbose lines to `out`, INVALID
/// lines and notices to `err`. Never throws for data problems; a failing store or key source ends the
/// run with its message on `err` (result.fatal). Thread contract: reentrant (no shared state).
ValidateResult validate_digests(const ValidateOptions& options, ObjectStore& store, PublicKeySource& keys,
                                std::ostream& out, std::ostream& err);

/// True when `arn` matches the stock tool's pattern arn:.+:cloudtrail:.+:\d{12}:trail/.+ . Pure.
bool is_valid_trail_arn(std::string_view arn);

/// Parses a time the way the stock tool's dateutil-based parse_date + normalize_date does for the
/// forms people use: YYYY-MM-DD, YYYY-MM-DD[T ]HH:MM[:SS[.frac]][Z|z|±HH[:]MM|UTC], YYYYMMDD,
/// YYYYMMDDTHHMM[SS][Z]. As in the stock tool an offset is *ignored* (normalize_date replaces the
/// zone with UTC, it does not convert). Also accepts epoch seconds (9 or more digits; the stock tool
/// does not). Fractions are dropped. nullopt when not understood. Pure function.
std::optional<std::int64_t> parse_time_text(std::string_view text);

/// "YYYY-MM-DDTHH:MM:SSZ" (the stock tool's display format). Pure function.
std::string format_display_time(std::int64_t epoch_seconds);

}  // namespace trailkit::detail
