#pragma once
// TrailState — the recorder's persistent side: the state directory (trail.json, trail-status.json,
// the public-key registry) and CloudTrail's digest chain (cloudtrail-spec §4), driven by the worker.
//
// One chain per (account, region) the trail has written to. Each chain's window is contiguous:
// a digest covers [start, end) by *delivery* time and the next one starts at its end. On time,
// end = start + interval exactly (CloudTrail's hour windows are not clock-aligned); after downtime
// longer than an interval, one catch-up digest ends at `now`. A digest is written even when no log
// file was delivered in its window (`logFiles: []`), so a missing newest digest is detectable.
//
// Crash safety (reliability-security-ecosystem F1: "restart resumes the chain from persisted
// state"). Per chain, `<state_dir>/digest/<acct>/<region>.json` holds the window start, the link to
// the last digest (bucket, key, SHA-256, signature), the log files delivered in the open window,
// and digests made but not yet delivered. The order of writes makes every crash point recoverable:
//   1. a delivered log file is appended to `pending` and the file is rewritten (fsync) before the
//      worker moves on, so no delivered file can miss its digest;
//   2. a digest is built and signed, then the state is written with the chain advanced, `pending`
//      emptied and the digest (uncompressed JSON + signature) queued in `unsent`;
//   3. the digest is delivered (gzip, metadata `signature`/`signature-algorithm`) and removed from
//      `unsent`. After a crash, `unsent` digests are delivered again; a local destination that
//      already holds the object counts it as delivered (objects are never overwritten).
// If the state file is lost, the next digest of that region starts a new chain (five nulls), which
// validate-logs accepts and `trailkit validate` reports as a chain gap.
//
// The state directory is locked (flock on `<state_dir>/lock`) for the recorder's lifetime: two
// recorders on one chain would fork it.
//
// Thread contract: constructed by Recorder::create's thread, then used by the worker thread only,
// except the atomic counters.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error_reporter.hpp"
#include "deliver/posix_file.hpp"
#include "digest/digest_file.hpp"
#include "digest/state_files.hpp"
#include "trailkit/clock.hpp"
#include "trailkit/destination.hpp"
#include "trailkit/recorder.hpp"

namespace trailkit::detail {

class SigningKey;

struct DigestCounters {
  std::atomic<std::uint64_t> written{0};
  std::atomic<std::uint64_t> errors{0};
};

class TrailState {
 public:
  /// Opens and locks the state dir, writes trail.json and the "logging" status, loads or generates
  /// the signing key and registers it (rotation), loads every chain and delivers its unsent
  /// digests. Throws std::runtime_error / std::invalid_argument naming the path or field.
  TrailState(const RecorderOptions& options, Destination& destination, const Clock& clock, ErrorReporter& errors,
             DigestCounters& counters);
  ~TrailState();
  TrailState(const TrailState&) = delete;
  TrailState& operator=(const TrailState&) = delete;

  /// True when digests are enabled (then the batcher hashes log files).
  bool digests_enabled() const noexcept { return digests_; }
  /// A log file was delivered (committed to the destination): record it for the open window and
  /// the status. Persists before returning.
  void on_log_file(const SealedFile& file);
  /// A destination call failed (for GetTrailStatus' LatestDeliveryError).
  void on_delivery_error(const std::string& message);
  /// Writes the digests that are due and retries undelivered ones. Cheap when nothing is due.
  void tick();
  /// Shutdown: a final digest for every chain, ending now (CloudTrail writes one when logging
  /// stops), delivery of everything unsent (bounded attempts), status "not logging".
  void finish();

  /// Public key fingerprint in use ("" when digests are off).
  const std::string& fingerprint() const noexcept { return fingerprint_; }

 private:
  struct Unsent {
    std::string key;
    std::string json;
    std::string signature;
    std::int64_t end_time = 0;
    bool recovered = false;  // loaded from the state file: the object may already exist
  };
  struct Chain {
    std::string account;
    std::string region;
    std::string path;  // its state file
    std::int64_t window_start = 0;
    std::optional<DigestLink> previous;
    std::vector<DigestLogFile> pending;
    std::vector<Unsent> unsent;
    std::int64_t retry_at = 0;  // wall seconds; backoff for unsent deliveries
    int failures = 0;
  };

  Chain& chain_for(const std::string& account, const std::string& region);
  void load_chains();
  bool persist(Chain& chain);
  void make_digest(Chain& chain, std::int64_t end_time);
  void deliver_unsent(Chain& chain);
  Status deliver(const Unsent& digest);
  void write_status();

  const RecorderOptions& options_;
  Destination& destination_;
  const Clock& clock_;
  ErrorReporter& errors_;
  DigestCounters& counters_;
  UniqueFd lock_;  // flock of <state_dir>/lock; released if the constructor throws
  bool digests_ = false;
  std::string bucket_;
  std::string fingerprint_;
  std::unique_ptr<SigningKey> key_;
  std::map<std::string, Chain> chains_;  // "<acct>/<region>"
  std::int64_t interval_ = 3600;
  std::int64_t next_due_ = 0;  // earliest window end over all chains (wall seconds)
  // Status (trail-status.json).
  std::int64_t start_logging_time_ = 0;
  std::int64_t latest_delivery_time_ = 0;
  std::string latest_delivery_error_;
  std::int64_t latest_digest_delivery_time_ = 0;
  std::string latest_digest_delivery_error_;
  std::map<std::string, LatestDigest> latest_digests_;  // "<acct>/<region>": the exact tail watermark
  bool logging_ = true;
};

}  // namespace trailkit::detail
