#pragma once
// Batcher — the `batch` stage: one open log file per (account, region), sealed when its roll
// interval elapses or its compressed size would pass the cap, whichever comes first.
//
// Memory is flat in file size: records are serialized into a 256 KiB chunk, the chunk is
// compressed and the compressed bytes are streamed to the destination's ObjectWriter at once.
// When the destination fails, the batcher keeps the unwritten bytes and reports `stalled()`; the
// worker then stops draining the buffer (back-pressure: producers see a full buffer, and every
// loss is a counted drop) and calls retry_io() with exponential backoff and full jitter.
//
// Thread contract: worker thread only, except the atomic counters read by stats().

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/error_reporter.hpp"
#include "common/fast_random.hpp"
#include "compress/compressor.hpp"
#include "digest/crypto.hpp"
#include "digest/trail_state.hpp"
#include "history/history_feeder.hpp"
#include "emit/event_codec.hpp"
#include "serialize/json_buffer.hpp"
#include "serialize/record_formatter.hpp"
#include "trailkit/recorder.hpp"

namespace trailkit::detail {

/// Counters written by the worker, read by any thread.
struct BatchCounters {
  std::atomic<std::uint64_t> written{0};
  std::atomic<std::uint64_t> abandoned{0};
  std::atomic<std::uint64_t> files{0};
  std::atomic<std::uint64_t> bytes_uncompressed{0};
  std::atomic<std::uint64_t> bytes_compressed{0};
  std::atomic<std::uint64_t> delivery_errors{0};
  std::atomic<std::uint64_t> fields_sanitized{0};
  std::atomic<std::uint64_t> fields_truncated{0};
  std::atomic<std::uint64_t> fields_omitted{0};
};

class Batcher {
 public:
  static constexpr std::size_t kChunkBytes = 256 * 1024;

  /// `trail` (nullable) hears of every delivered file and delivery error; when it has digests
  /// enabled, each file's uncompressed bytes are hashed (SHA-256) as they are compressed.
  Batcher(const RecorderOptions& options, Destination& destination, const Clock& clock, ErrorReporter& errors,
          BatchCounters& counters, TrailState* trail = nullptr, HistoryFeeder* history = nullptr);
  ~Batcher();

  /// Serializes one record into its (account, region) file. Precondition: !stalled().
  void add(const DecodedEvent& record);
  /// Seals files whose roll interval has elapsed.
  void seal_due();
  /// Seals every open file (flush, shutdown).
  void seal_all();
  /// True while some destination call failed and waits for its retry.
  bool stalled() const noexcept { return stalled_files_ != 0; }
  /// Retries failed destination calls whose backoff has elapsed.
  void retry_io();
  /// No open file and nothing waiting to be written.
  bool idle() const noexcept { return files_.empty(); }
  /// Records in files not yet delivered.
  std::uint64_t open_records() const noexcept { return open_records_; }
  /// Gives up every open file (shutdown timeout): writers aborted, records counted as abandoned.
  void abandon_all();
  /// Monotonic time of the next roll or retry deadline (for the worker's sleep).
  std::int64_t next_deadline_ns() const noexcept;

 private:
  struct OpenFile;
  OpenFile& file_for(std::string_view account, std::string_view region);
  void compress_chunk(OpenFile& file);
  void begin_seal(OpenFile& file);
  // Runs the file's pending I/O. Returns true when the file has nothing left to do (and, if it was
  // sealing, has been delivered and can be removed).
  bool pump(OpenFile& file);
  // Gives up one file: aborts its writer and counts its records as abandoned.
  void abandon(OpenFile& file);
  void mark_failed(OpenFile& file, const Status& status, const char* step);
  void remove_delivered();
  void sync_format_counters();

  const RecorderOptions& options_;
  TrailState* trail_ = nullptr;
  HistoryFeeder* history_ = nullptr;
  bool hash_files_ = false;
  Destination& destination_;
  const Clock& clock_;
  ErrorReporter& errors_;
  BatchCounters& counters_;
  RecordFormatter formatter_;
  FastRandom random_;
  std::unordered_map<std::string, std::unique_ptr<OpenFile>> files_;
  OpenFile* last_file_ = nullptr;  // most records go to the same file: skip the map lookup
  std::string lookup_key_;
  std::size_t stalled_files_ = 0;
  std::uint64_t open_records_ = 0;
  std::int64_t roll_ns_;
};

}  // namespace trailkit::detail
