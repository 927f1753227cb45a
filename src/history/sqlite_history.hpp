#pragma once
// SqliteHistory — the default EventHistory: one SQLite database in WAL mode, in a block layout.
//
// Why blocks: a row per event with an index entry per lookup attribute costs ~9 B-tree inserts per
// event (and the eventID index one random page per event): ~30 k events/s here. Issue #5 asks for
// >= 200 k/s. So each add() batch becomes one *block* (split by Insights flag, at most
// kMaxBlockEvents), written as a handful of rows:
//
// Schema (user_version 2):
//   blocks(id INTEGER PRIMARY KEY AUTOINCREMENT, insight, min_time, max_time, count, times BLOB)
//       `times`: the events' times, ascending (the block's events are sorted by time, stably, so
//       ordinal order is (time, arrival) order), as varint deltas from min_time.
//   frames(id = block << 12 | frame, data BLOB): kFrameEvents consecutive events per frame, each
//       with every HistoryRecord field, compressed with zstd (level SqliteHistoryOptions::
//       compression_level; 0 = stored raw). A lookup decompresses only the frames of its page.
//   postings(key, value, insight, max_time, block, min_time, entries BLOB) WITHOUT ROWID, primary
//       key (key, value, insight, max_time, block): one row per distinct attribute value per block
//       (EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource, AccessKeyId);
//       `entries` lists the events having it as (ordinal, time) varint deltas. EventId uses 32
//       hash buckets as values, entries (32-bit hash, ordinal, time): a lookup reads one bucket and
//       verifies the eventID in the record.
//   meta(key, value): the NextToken HMAC key and the event count.
//   Indexes: blocks(insight, max_time), blocks(insight, min_time), postings(block).
//
// Lookup = a newest-first merge: rows (blocks for a time window, postings for an attribute) are
// read in max_time DESC order through their index; their entries in range go into a heap keyed
// (time, block, ordinal); an entry is final once the next row's max_time is older. The merge stops
// after MaxResults + 1 events, then only their frames are read. Order among equal times is
// insertion order (block id, then arrival within the batch); NextToken's cursor is
// (time, block << 16 | ordinal).
//
// Semantics that follow from the layout (also in trailkit/history.hpp): duplicate eventIDs are
// dropped within one add() batch, not across batches (that would cost a lookup per insert);
// prune() deletes whole blocks older than the cutoff and rewrites the few blocks that straddle it;
// small blocks (a trickle of events) are merged after kCompactAfter of them. A NextToken issued
// before a prune or merge of the blocks it points into may repeat or skip events that share the
// cursor's second.
//
// Threads and connections: add() and prune() share one writer connection under a mutex; each
// prune step is its own transaction, so add() interleaves. lookup() and size() take a reader
// connection from a pool; WAL lets them run beside the writer, each lookup in one read snapshot.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "trailkit/history.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace trailkit::detail {

/// Thread contract: EventHistory's — add() from one writer thread (serialized with prune() by a
/// mutex anyway); lookup(), size() and prune() from any thread, concurrently with add().
class SqliteHistory final : public EventHistory {
 public:
  static constexpr std::size_t kFrameEvents = 64;
  static constexpr std::size_t kMaxBlockEvents = 16384;  // ordinals fit 14 bits; frames 12 bits
  static constexpr int kEventIdBuckets = 32;
  static constexpr int kPruneBlocksPerStep = 32;
  /// Blocks with fewer events are merged with their neighbours once kCompactAfter of them have
  /// been written: a trickle of events (a block per feeder hold) would otherwise leave millions of
  /// tiny blocks over 90 days, and an EventId lookup reads one index row per block of its bucket.
  static constexpr std::int64_t kSmallBlock = 2048;
  static constexpr int kCompactAfter = 16;

  /// Opens or creates the database; throws std::runtime_error naming the path and the cause.
  explicit SqliteHistory(const SqliteHistoryOptions& options);
  ~SqliteHistory() override;
  SqliteHistory(const SqliteHistory&) = delete;
  SqliteHistory& operator=(const SqliteHistory&) = delete;

  void add(const std::vector<HistoryRecord>& records) override;
  LookupResult lookup(const LookupRequest& request, std::int64_t now) const override;
  std::uint64_t prune(std::int64_t older_than) override;
  std::uint64_t size() const override;

 private:
  struct Connection;  // a sqlite3* with its prepared statements
  struct Writer;      // writer-side scratch (compression context, buffers)
  class ReaderLease;

  std::unique_ptr<Connection> open_connection(bool writer) const;
  std::unique_ptr<Connection> acquire_reader() const;
  void release_reader(std::unique_ptr<Connection> reader) const;
  // Writes one block of records (same insight flag, at most kMaxBlockEvents) inside the writer's
  // open transaction; `block_id` 0 = a new block, else rewrites that block's frames and postings.
  void write_block(std::vector<const HistoryRecord*>& records, bool insight, std::int64_t block_id);
  // Appends the records of block `id` (in ordinal order) whose time is >= `from_time`.
  void read_block(std::int64_t id, std::int64_t from_time, std::vector<HistoryRecord>& out);
  // Deletes block `id`'s index rows and frames, and its row unless `keep_row`.
  void delete_block_rows(std::int64_t id, bool keep_row);
  // Merges runs of consecutive small blocks (same insight flag, nothing between them in id order)
  // into the run's last id, inside the writer's open transaction. The merged block orders equal
  // times by (old block, old ordinal), so newest-first listings keep insertion order.
  void compact();

  const std::string path_;
  const std::int64_t retention_seconds_;
  const int compression_level_;
  std::string token_key_;

  std::mutex writer_mutex_;  // guards writer_ and writer_scratch_ (add, prune)
  std::unique_ptr<Connection> writer_;
  std::unique_ptr<Writer> writer_scratch_;
  int small_blocks_written_ = 0;   // since the last compact()
  std::int64_t compacted_below_ = 0;  // blocks with lower ids are settled (not worth merging)

  mutable std::mutex readers_mutex_;  // guards idle_readers_
  mutable std::vector<std::unique_ptr<Connection>> idle_readers_;
};

}  // namespace trailkit::detail
