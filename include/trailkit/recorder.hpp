#pragma once
// trailkit::Recorder — the SDK's entry point: emit events from any thread; a background worker
// batches them into CloudTrail log files.
//
// Pipeline (each stage has its own folder under src/):
//   emit (caller thread: encode into the buffer, ~100 ns, no lock/alloc/syscall)
//   -> buffer (bounded lock-free MPSC rings, default 64 MiB in all)
//   -> batch (worker: one open file per (account, region), sealed on roll interval or size cap)
//   -> serialize (worker: CloudTrail JSON, sanitised) -> compress (gzip one member / zstd)
//   -> deliver (Destination: local directory by default, atomically).
//
// Counters obey `accepted == written + dropped + pending` at every instant a Stats is taken.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "trailkit/clock.hpp"
#include "trailkit/compression.hpp"
#include "trailkit/destination.hpp"
#include "trailkit/event.hpp"
#include "trailkit/history.hpp"
#include "trailkit/local_directory_destination.hpp"
#include "trailkit/status.hpp"

namespace trailkit {

/// What emit() did with an event. Only kOk means the event will be written.
enum class EmitStatus : std::uint8_t {
  kOk,              ///< accepted into the buffer
  kDroppedFull,     ///< buffer full (drop policy, or block policy after its timeout); counted in `dropped`
  kInvalidAccount,  ///< recipientAccountId (or the default) is not 12 digits; counted in `dropped`
  kInvalidRegion,   ///< awsRegion (or the default) is not a region name; counted in `dropped`
  kTooLarge,        ///< encoded event exceeds the buffer's record limit; counted in `dropped`
  kClosed,          ///< the recorder is shut down; not counted as accepted
};
/// A sentence naming the field and the rule, e.g. for kInvalidRegion.
std::string_view describe(EmitStatus status) noexcept;

/// What emit() does when the buffer is full.
enum class OverflowPolicy : std::uint8_t {
  kDrop,   ///< return kDroppedFull at once and count it (default; the caller never waits)
  kBlock,  ///< wait (spin, then sleep) up to `block_timeout` for room, then drop and count
};

/// Per-field limits of CloudTrail (spec §9.1), all configurable.
struct FieldLimits {
  /// userAgent, errorCode, errorMessage, requestID: truncated past this many bytes (+ "...").
  std::size_t truncate_bytes = 1024;
  /// requestParameters, responseElements, serviceEventDetails: omitted past this size.
  std::size_t large_json_bytes = 100 * 1024;
  /// additionalEventData, edgeDeviceDetails: omitted past this size.
  std::size_t small_json_bytes = 28 * 1024;
  /// Whole event: past this, JSON fields are omitted (largest first) until it fits.
  std::size_t event_bytes = 256 * 1024;
  /// JSON nesting deeper than this is treated as invalid and omitted (no recursion anywhere).
  int max_json_depth = 64;
  /// What replaces an omitted JSON value. The exact CloudTrail shape is UNCERTAIN (spec §9.1);
  /// `{"omitted":true}` is our reading of "omitted is present with a value of true".
  std::string omitted_marker = R"({"omitted":true})";
  /// Must be one valid compact JSON value; sizes must be non-zero. Throws std::invalid_argument.
  void validate() const;
};

/// A background failure, given to the error handler (rate-limited) on the worker thread.
struct ErrorReport {
  ErrorKind kind = ErrorKind::kTransient;
  std::string component;  ///< "deliver", "compress", "serialize", "buffer", ...
  std::string message;    ///< names what failed and why; never contains secrets
  std::uint64_t suppressed = 0;  ///< reports of this component dropped by the rate limit since the last one
};

/// Summary of a sealed and delivered log file (for summaries, digests, history).
struct SealedFile {
  std::string key;                ///< full object key
  std::string account_id;
  std::string region;
  std::uint64_t records = 0;
  std::uint64_t uncompressed_bytes = 0;
  std::uint64_t compressed_bytes = 0;
  std::int64_t oldest_event_time = 0;  ///< epoch seconds
  std::int64_t newest_event_time = 0;
  std::int64_t delivery_time = 0;      ///< epoch seconds (the minute in the name)
  /// Lower-case hex SHA-256 of the uncompressed file (its digest `hashValue`); "" when digests are off.
  std::string sha256_hex;
};

/// Log-file integrity validation: CloudTrail's digest chain (cloudtrail-spec §4). Every `interval`
/// the recorder writes, for each account and region it has written to, a digest listing the log
/// files delivered in that window with their SHA-256, signed with RSA (SHA256withRSA) and chained to
/// the previous digest, through the same destination as the log files. The chain state lives in
/// `RecorderOptions::state_dir`, so a restart continues the chain; a lost state dir starts a new one.
/// Thread contract: plain value type, read once when the recorder is created.
struct DigestOptions {
  /// CloudTrail's LogFileValidationEnabled. Needs `RecorderOptions::state_dir`.
  bool enabled = false;
  /// Digest window (CloudTrail: one hour). 1 s .. 24 h; short intervals are for tests and demos.
  std::chrono::seconds interval = std::chrono::hours(1);
  /// PEM RSA private key (>= 2048 bits) that signs digests. "" = `<state_dir>/keys/digest-key.pem`,
  /// generated on first use. A key different from the last run's is a rotation: the old public key
  /// stays listed (with its validity window) and the chain continues.
  std::string private_key_file;
  /// Accept a key file readable by group or others (refused by default, like ssh).
  bool allow_insecure_key_permissions = false;
  /// Bucket name written into digests; "" = the destination's (S3 bucket, local root's base name).
  std::string bucket_name;

  /// Throws std::invalid_argument naming the field and the rule.
  void validate() const;
};

/// The event history behind LookupEvents (`trailkit lookup`, `trailkit serve`): every management
/// and Insights event written, kept `retention_days`, fed by its own thread off the emit path.
/// Thread contract: plain value type, read once when the recorder is created.
struct HistoryOptions {
  /// Keep the history. Needs `RecorderOptions::state_dir` unless `store` is given.
  bool enabled = false;
  /// "" = `<state_dir>/history.sqlite3` (SQLite, WAL mode).
  std::string path;
  /// A store of your own (a larger deployment's); overrides `path`.
  std::shared_ptr<EventHistory> store;
  /// Events older than this are pruned (CloudTrail: 90 days). 1 .. 3650.
  std::int64_t retention_days = 90;
  /// Records waiting for the history thread, at most; past it records are not added to the
  /// history (still in the log files) and counted in Stats::history_dropped.
  std::size_t max_queue_bytes = 64u << 20;
  /// zstd level of the records in the SQLite history (SqliteHistoryOptions::compression_level):
  /// 0 = uncompressed, -7 .. 19; the default -1 keeps ingest fast at ~5x smaller than the JSON.
  int compression_level = -1;
  /// Run the history's threads at a lower priority (Linux nice +10), so on a machine without a
  /// spare core the emit threads and the log-file worker come first; the history may then fall
  /// behind and skip batches (Stats::history_dropped). Off by default: the history keeps up and
  /// the log files pay for it in CPU (bench/RESULTS.md: ~0.7x their rate on 2 busy vCPUs).
  bool low_priority = false;

  /// Throws std::invalid_argument naming the field and the rule.
  void validate() const;
};

/// Options of a Recorder. Defaults are stated per field; `validate()` is called by Recorder::create.
/// Environment variables are read only by `from_env()`, never by these initializers.
struct RecorderOptions {
  /// Account of events without recipientAccountId; also the log-file account folder. Required.
  std::string account_id;
  /// Region of events without awsRegion. Default us-east-1.
  std::string region = "us-east-1";
  /// Trail name (used in digest names and the API endpoint). Default "trailkit".
  std::string trail_name = "trailkit";
  /// S3KeyPrefix (<= 200 chars, no ".." segments); "" for none.
  std::string key_prefix;
  /// Organization id (`o-...`) for organization-trail key layout; "" for none.
  std::string organization_id;

  /// Seal each open file after this long (CloudTrail: about 5 minutes). 1 s .. 24 h.
  std::chrono::milliseconds roll_interval = std::chrono::seconds(300);
  /// Seal a file once its compressed size reaches this (CloudTrail's limit is 50 MB compressed).
  std::uint64_t max_file_bytes = 50'000'000;
  /// Files open at once (one per account and region); the oldest is sealed early past this.
  std::size_t max_open_files = 32;
  CompressionOptions compression;
  FieldLimits limits;

  /// Total buffer memory across all shards (hard cap). Default 64 MiB.
  std::size_t buffer_bytes = 64u << 20;
  /// Number of buffer shards (threads are spread over them), rounded down to a power of two;
  /// 0 = min(4, hardware threads).
  std::size_t buffer_shards = 0;
  OverflowPolicy overflow_policy = OverflowPolicy::kDrop;
  /// Longest an emit() waits under kBlock before dropping.
  std::chrono::microseconds block_timeout = std::chrono::milliseconds(100);
  /// How long the worker sleeps once every shard is empty before it looks again (quill's
  /// backend `sleep_duration`). emit() never wakes it (that would be a syscall), so a burst that
  /// starts while it sleeps waits in the buffer up to this long: the buffer must hold that much
  /// of a burst, or kDrop drops the rest. While there is work the worker does not sleep;
  /// flush(), shutdown() and the roll interval still wake it on time, while digest files and the
  /// event history may run up to this late. 10 us .. 60 s; default 2 ms.
  std::chrono::microseconds worker_idle_wait = std::chrono::milliseconds(2);

  /// Where sealed files go. nullptr = a local directory per `local_directory`.
  std::shared_ptr<Destination> destination;
  LocalDirectoryOptions local_directory;
  /// Time source; nullptr = system clock.
  std::shared_ptr<Clock> clock;

  /// Background failures (rate-limited to `error_reports_per_minute` per component). Called on
  /// the worker thread; must not call back into the Recorder. nullptr = print to stderr.
  std::function<void(const ErrorReport&)> error_handler;
  std::uint32_t error_reports_per_minute = 10;
  /// Called on the worker thread after each file is delivered.
  std::function<void(const SealedFile&)> on_file_sealed;

  /// Directory for state shared with `trailkit serve` / `trailkit validate`: trail.json,
  /// trail-status.json, public-keys.json, the digest chain and the default signing key. Locked by
  /// one recorder at a time. "" = keep no state (then digests cannot be enabled).
  std::string state_dir;
  DigestOptions digest;
  HistoryOptions history;

  /// How long the destructor waits for a clean shutdown.
  std::chrono::milliseconds shutdown_timeout = std::chrono::seconds(30);

  /// Throws std::invalid_argument with a message naming the field and the rule.
  void validate() const;

  /// Defaults overridden by TRAILKIT_ACCOUNT_ID, TRAILKIT_REGION (else AWS_REGION /
  /// AWS_DEFAULT_REGION), TRAILKIT_TRAIL_NAME, TRAILKIT_KEY_PREFIX, TRAILKIT_DESTINATION (a local
  /// directory), TRAILKIT_ROLL_INTERVAL_SECONDS, TRAILKIT_COMPRESSION (gzip|zstd).
  static RecorderOptions from_env();
};

/// A consistent snapshot of the counters. Thread contract: plain value.
struct Stats {
  std::uint64_t accepted = 0;  ///< emit() calls while open (kOk plus every drop)
  std::uint64_t dropped = 0;   ///< sum of the four below
  std::uint64_t dropped_full = 0;
  std::uint64_t dropped_invalid = 0;
  std::uint64_t dropped_too_large = 0;
  std::uint64_t dropped_write_failed = 0;  ///< records of files abandoned at shutdown timeout
  std::uint64_t written = 0;   ///< records in delivered files
  std::uint64_t pending = 0;   ///< accepted - written - dropped: in the buffer or in an open file
  std::uint64_t refused_closed = 0;  ///< emit() calls after shutdown (not accepted)
  std::uint64_t files_written = 0;
  std::uint64_t bytes_uncompressed = 0;  ///< JSON bytes of delivered files
  std::uint64_t bytes_compressed = 0;
  std::uint64_t fields_sanitized = 0;  ///< strings that had invalid UTF-8 replaced by U+FFFD
  std::uint64_t fields_truncated = 0;  ///< 1 KB fields cut (spec §9.1)
  std::uint64_t fields_omitted = 0;    ///< JSON values replaced by the omission marker
  std::uint64_t delivery_errors = 0;   ///< failed destination calls (each retried)
  std::uint64_t digests_written = 0;   ///< digest files delivered
  std::uint64_t digest_errors = 0;     ///< failed digest deliveries or state writes (each retried)
  std::uint64_t history_written = 0;   ///< events added to the history
  std::uint64_t history_pending = 0;   ///< events written to log files, not yet in the history (the lag)
  std::uint64_t history_dropped = 0;   ///< events not added (queue full or storage failure)
};

class RecorderImpl;

/// Thread contract: emit() and stats() are thread-safe and may be called from any thread at any
/// time; flush() and shutdown() are thread-safe and may be called concurrently with emit().
class Recorder {
 public:
  /// Validates the options and starts the worker. Throws std::invalid_argument (bad option,
  /// message names the field) or std::runtime_error (destination cannot be opened).
  static std::unique_ptr<Recorder> create(RecorderOptions options);
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  /// Records one event. Never throws, never takes a lock, never allocates or makes a syscall in
  /// steady state (the first emit on a thread picks its shard; kBlock may sleep when full).
  EmitStatus emit(const Event& event) noexcept;

  /// Writes every event accepted before the call into sealed, delivered files. Returns true when
  /// done within `timeout`, false on timeout (the work continues in the background).
  bool flush(std::chrono::milliseconds timeout) noexcept;

  /// Stops accepting events, writes everything accepted, stops the worker. Idempotent. Returns
  /// false if that did not finish within `timeout`; unfinished files are then abandoned and their
  /// records counted in `dropped_write_failed` when the worker gives up.
  bool shutdown(std::chrono::milliseconds timeout) noexcept;

  Stats stats() const noexcept;
  const RecorderOptions& options() const noexcept;

 private:
  explicit Recorder(std::unique_ptr<RecorderImpl> impl);
  std::unique_ptr<RecorderImpl> impl_;
};

}  // namespace trailkit
