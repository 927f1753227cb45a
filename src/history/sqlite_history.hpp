#pragma once
// SqliteHistory — the default EventHistory: one SQLite database in WAL mode.
//
// Schema (user_version 1):
//   events(id INTEGER PRIMARY KEY, event_id UNIQUE, event_time, event_name, event_source, read_only,
//          username, access_key_id, insight, account_id, region, record)
//   resources(event_rowid, ordinal, event_time, type, name) WITHOUT ROWID, keyed (event_rowid, ordinal)
//   meta(key, value): the NextToken HMAC key and the event count.
// Every lookup is an index range scan already in the answer's order (event_time DESC, id DESC):
// events(insight, event_time) for time windows, events(<attribute>, insight, event_time) for
// EventName / EventSource / ReadOnly / Username / AccessKeyId, the UNIQUE event_id index for
// EventId, and resources(type|name, event_time) (event_time copied into resources for that order).
// The statements name their index (INDEXED BY), so a planner change cannot silently turn a
// lookup into a scan; the query steps lazily and stops after MaxResults + 1 rows.
//
// Threads and connections: add() and prune() share one writer connection under a mutex (SQLite
// has one writer at a time anyway); prune() deletes in chunks of kPruneChunk rows, each its own
// transaction, so add() is never blocked for long. lookup() and size() take a reader connection
// from a pool (a new one when all are busy): WAL lets readers run beside the writer, and each
// lookup reads one snapshot (BEGIN ... COMMIT around the page and its resources).
//
// Retention: lookup() only returns events of the last retention_days before `now`; rows are
// deleted by prune(), which the owner calls (the recorder's history feeder: about hourly, with
// now - retention).

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
  static constexpr int kPruneChunk = 5000;

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
  class ReaderLease;

  std::unique_ptr<Connection> open_connection(bool writer) const;
  std::unique_ptr<Connection> acquire_reader() const;
  void release_reader(std::unique_ptr<Connection> reader) const;

  const std::string path_;
  const std::int64_t retention_seconds_;
  std::string token_key_;

  std::mutex writer_mutex_;  // guards writer_ (add, prune)
  std::unique_ptr<Connection> writer_;

  mutable std::mutex readers_mutex_;  // guards idle_readers_
  mutable std::vector<std::unique_ptr<Connection>> idle_readers_;
};

}  // namespace trailkit::detail
