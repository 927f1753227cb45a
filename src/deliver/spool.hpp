#pragma once
// The durable spool: sealed log files wait here, fsynced, until the bucket has confirmed them.
//
// A remote destination (S3) streams a sealed file into a spool entry (Writer::write), seals it under
// its object key (Writer::commit: fsync, rename into ready/, fsync the directory), and an uploader
// thread later streams the entry's payload to the bucket and removes the entry only after the bucket
// confirmed it. A crash at any moment leaves every committed entry in ready/ and nothing partial
// there; on restart open() re-lists the ready entries for re-delivery (at-least-once, §0 item 1 of
// reliability-security-ecosystem.md) and moves anything it cannot trust to quarantine/, counted and
// reported, never deleted (§0 items 2-3: the give-up path and corrupt spools are where data is lost).
//
// Layout of SpoolOptions::directory (typically `<state_dir>/spool`):
//   lock               flock()ed by the open Spool: one process (and one Spool object) per directory,
//                      because open() treats every file in tmp/ as a crash leftover
//   sequence           the id reservation (below); replaced atomically (write, fsync, rename)
//   tmp/<n>.tmp        entries being written; never listed
//   ready/<id>.entry   committed entries, id = decimal without leading zeros
//   quarantine/        entries that failed verification, with a `<name>.reason` text beside each
//
// Entry file format, version 1 (integers little-endian):
//   offset  size  field
//        0     8  magic "TKSPOOL1"
//        8     4  format version = 1
//       12     4  header region length = 16384 (kSpoolHeaderRegion): the payload starts here
//       16     4  header length H: bytes [0, H) are covered by the CRC, which sits at [H, H+4)
//       20     4  flags: bit 0 = the MD5 field is valid (MD5 may be unavailable under FIPS)
//       24     8  entry id (must equal the id in the file name)
//       32     8  created, seconds since the Unix epoch (signed)
//       40     8  payload length P
//       48    32  SHA-256 of the payload
//       80    16  MD5 of the payload
//       96     4  key length K (1..1024), then K bytes of key
//              4  metadata count M, then M times: 4 name length, name, 4 value length, value
//                 (8 bytes of lengths + name + value per pair, at most 8 KiB in total)
//        H     4  CRC-32 (zlib polynomial) of bytes [0, H)
//      H+4        zero padding up to the header region length (not checked: a flip there harms nothing)
//    16384     P  payload
// A file is valid when the magic, version, region length and CRC match, every length fits inside H,
// and the file size is exactly 16384 + P. The payload hashes are only known at commit, so the writer
// reserves the header region at begin, streams the payload after it, and fills the header with one
// pwrite at commit: no payload byte is ever copied. open() reads only headers (memory O(entries) and
// start-up time O(entries), not O(bytes): F13); payload bit flips are caught by verify_payload() and
// by the bucket itself when the uploader sends the recorded SHA-256 as x-amz-checksum-sha256.
//
// Entry ids are allocated at commit, so they increase in commit order (across concurrent writers:
// in id-allocation order). They are unique and increasing across restarts, not dense: an aborted
// commit may skip one. To stay increasing even after the spool was drained, the next id is reserved
// in `sequence` in blocks of 1024 (one extra fsync per 1024 commits).
//
// Leftover tmp/ files at open() (the process died before commit returned):
//   * a file whose header is valid, whose size matches and whose payload SHA-256 verifies died between
//     the fsync and the rename of commit: it is a complete sealed file and is promoted to ready/;
//   * a file with payload bytes but no valid header was being written when the process died: it is
//     moved to quarantine/ (its bytes are a prefix of a gzip stream from which records can be
//     salvaged by hand), never deleted;
//   * an empty file (no payload byte yet) is deleted.
// Why this is safe: commit() had not returned for any of these, so no caller counted them as spooled;
// the records they hold were only in the dead process's memory. Promoting a complete file can only
// duplicate records if something re-sends the same records after a crash (there is no event WAL
// today); quarantining the partial one keeps the loss visible and recoverable rather than silent.
//
// Thread contract (per method below): the writer side (begin, Writer) is used by the worker thread;
// the reader side (ready_entries ... wake) by the uploader thread; both may run at the same time.
// Shared state (the index of ready entries, counters, the id sequence) is guarded by one mutex that is
// never held across payload I/O. The spool is not on the emit hot path; it allocates and takes locks.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "trailkit/clock.hpp"
#include "trailkit/status.hpp"

namespace trailkit::detail {

/// Size of the header region that precedes every payload (also the payload offset).
inline constexpr std::uint32_t kSpoolHeaderRegion = 16384;
/// Longest object key an entry can carry (S3 allows 1024 bytes).
inline constexpr std::size_t kSpoolMaxKeyBytes = 1024;
/// Most metadata an entry can carry: the sum over pairs of 8 + name + value bytes.
inline constexpr std::size_t kSpoolMaxMetadataBytes = 8 * 1024;

/// Settings of one spool. Thread contract: plain value type.
struct SpoolOptions {
  /// The spool directory; created (with parents) if missing. Required.
  std::string directory;
  /// fsync entries, directories and the id sequence (default). Off only for tests and benches that do
  /// not measure durability: a crash may then lose or tear committed entries (which open() quarantines).
  bool fsync = true;
  /// Source of the `created` time of entries; nullptr means trailkit::system_clock().
  std::shared_ptr<Clock> clock;

  /// Throws std::invalid_argument naming the field and the rule (empty directory, NUL byte).
  void validate() const;
};

/// What the uploader needs to know about one ready entry. Thread contract: plain value type.
struct SpoolEntryInfo {
  std::uint64_t id = 0;  ///< unique, increasing across restarts (the file name)
  std::string key;       ///< the object key to upload to
  std::vector<std::pair<std::string, std::string>> metadata;  ///< as given to commit, in order
  std::uint64_t payload_size = 0;
  std::string payload_sha256_hex;  ///< lowercase hex; for x-amz-content-sha256 / x-amz-checksum-sha256 (base64 it)
  std::string payload_md5_base64;  ///< the Content-MD5 value; "" when MD5 was unavailable (FIPS)
  std::int64_t created_epoch_seconds = 0;
};

class Spool {
 public:
  struct State;  // shared by the spool and its writers (defined in spool.cpp)

  /// One entry being written. Thread contract: one thread at a time (the worker); independent of
  /// other writers; stays valid even if the Spool is destroyed first (and keeps the directory locked
  /// until it is destroyed too). Mirrors ObjectWriter's retry
  /// rules so the S3 destination can forward them unchanged.
  class Writer {
   public:
    ~Writer();  // aborts an uncommitted entry
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    /// Appends payload bytes to the tmp file and the hashes. On failure nothing of the call is kept
    /// (the file is cut back), so the caller may retry the same bytes or abort.
    Status write(std::string_view bytes) noexcept;
    /// Seals the entry: writes the header, fsyncs the file, renames it into ready/ and fsyncs ready/.
    /// kInvalidArgument (key empty or over 1024 bytes, metadata over 8 KiB) leaves the writer usable.
    /// A failed fsync of the file is kPermanent (Linux may have dropped the dirty pages, a retry could
    /// seal holes): abort and rewrite. A failed directory fsync after the rename is kTransient: the
    /// entry is already listed; retry commit with the same key (it only repeats the fsync), do not
    /// rewrite it, or it would be delivered twice. Other failures may be retried.
    Status commit(std::string_view key, std::vector<std::pair<std::string, std::string>> metadata) noexcept;
    /// Discards an uncommitted entry (deletes the tmp file). Idempotent. A renamed entry is kept.
    void abort() noexcept;
    /// The entry's id once commit got far enough to allocate one (it is kept across commit retries),
    /// else 0. For logs ("spooled as entry N") and tests.
    std::uint64_t id() const noexcept;

   private:
    friend class Spool;
    struct Impl;
    explicit Writer(std::unique_ptr<Impl> impl) noexcept;
    std::unique_ptr<Impl> impl_;
  };

  /// Opens (creating if needed) the spool directory, takes its lock, recovers tmp/ leftovers (see the
  /// file comment), verifies every ready/ entry's framing without reading payloads, and quarantines
  /// what fails (a garbage name, a non-regular file, bad magic/version/CRC/lengths, a size that does
  /// not match the recorded payload length). Each problem is appended to `problems` (if given) as one
  /// sentence naming the file; quarantined entries also count in quarantined_total().
  /// Throws std::invalid_argument (options.validate()) or std::runtime_error naming the path when a
  /// directory cannot be created or opened or another Spool holds the lock. Never throws for a bad
  /// entry. Thread contract: call once per directory; the result is shared by worker and uploader.
  static std::unique_ptr<Spool> open(const SpoolOptions& options, std::vector<std::string>* problems = nullptr);

  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  /// Starts a new entry (a tmp file). Returns nullptr and sets `status` on failure.
  /// Thread contract: worker thread; concurrent writers are allowed.
  std::unique_ptr<Writer> begin(Status& status) noexcept;

  // ---- Reader side. Thread contract: thread-safe; meant for the uploader thread. ----------------

  /// Up to `max` ready entries, lowest id (oldest commit) first. Copies their keys and metadata.
  std::vector<SpoolEntryInfo> ready_entries(std::size_t max) const;
  /// Opens the entry for streaming: `fd` (the caller closes it; it stays readable after remove()),
  /// the payload's `offset` in it and its `length`. kInvalidArgument for an unknown id; kPermanent
  /// when the file's size no longer matches its header (the caller should quarantine it).
  Status open_payload(std::uint64_t id, int& fd, std::uint64_t& offset, std::uint64_t& length) const;
  /// Re-reads the whole payload (streamed, 1 MiB at a time) and compares its SHA-256 with the
  /// recorded one: kPermanent on mismatch (quarantine it), kTransient on a read error. For use after
  /// a suspected corruption (e.g. the bucket answered BadDigest).
  Status verify_payload(std::uint64_t id) const;
  /// Deletes the entry after the bucket confirmed it, then fsyncs ready/. If that fsync fails the
  /// entry is already gone from the index, and the error only warns that a crash may bring it back
  /// (delivered twice, which at-least-once allows). kInvalidArgument for an unknown id.
  Status remove(std::uint64_t id) noexcept;
  /// Moves the entry to quarantine/ with a `.reason` file holding `reason`; counted. Never deletes.
  Status quarantine(std::uint64_t id, std::string_view reason) noexcept;

  std::size_t ready_count() const;
  /// Sum of the payload sizes of ready entries (headers not included).
  std::uint64_t ready_bytes() const;
  /// Entries moved to quarantine/ by this Spool object, at open() and since. Monotonic.
  std::uint64_t quarantined_total() const;
  /// The `created` time of the lowest-id ready entry, or nullopt when none is ready.
  std::optional<std::int64_t> oldest_ready_time() const;

  /// Blocks up to `timeout` until a ready entry exists or wake() was called since the last return;
  /// returns whether a ready entry exists. It returns at once while entries are listed, so an
  /// uploader holding entries in retry backoff should sleep on its own timer (or wake()) instead.
  bool wait_for_ready(std::chrono::milliseconds timeout);
  /// Ends one wait_for_ready (now or the next one), e.g. for shutdown or a flush.
  void wake();

 private:
  explicit Spool(std::shared_ptr<State> state) noexcept;
  std::shared_ptr<State> state_;
};

}  // namespace trailkit::detail
