#include "history/sqlite_history.hpp"

#include <openssl/rand.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <limits>
#include <stdexcept>

#include "history/lookup_query.hpp"

namespace trailkit::detail {
namespace {

constexpr int kSchemaVersion = 1;
constexpr std::size_t kTokenKeyBytes = 32;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events(
  id INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL,
  event_time INTEGER NOT NULL,
  event_name TEXT NOT NULL,
  event_source TEXT NOT NULL,
  read_only INTEGER NOT NULL,
  username TEXT NOT NULL,
  access_key_id TEXT NOT NULL,
  insight INTEGER NOT NULL,
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS resources(
  event_rowid INTEGER NOT NULL,
  ordinal INTEGER NOT NULL,
  event_time INTEGER NOT NULL,
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY(event_rowid, ordinal)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS events_by_event_id ON events(event_id);
CREATE INDEX IF NOT EXISTS events_by_time ON events(insight, event_time);
CREATE INDEX IF NOT EXISTS events_by_name ON events(event_name, insight, event_time);
CREATE INDEX IF NOT EXISTS events_by_source ON events(event_source, insight, event_time);
CREATE INDEX IF NOT EXISTS events_by_read_only ON events(read_only, insight, event_time);
CREATE INDEX IF NOT EXISTS events_by_username ON events(username, insight, event_time);
CREATE INDEX IF NOT EXISTS events_by_access_key ON events(access_key_id, insight, event_time);
CREATE INDEX IF NOT EXISTS resources_by_type ON resources(type, event_time);
CREATE INDEX IF NOT EXISTS resources_by_name ON resources(name, event_time);
INSERT OR IGNORE INTO meta(key, value) VALUES('event_count', 0);
PRAGMA user_version = 1;
)sql";

#define TRAILKIT_EVENT_COLUMNS "id, event_id, event_time, event_name, event_source, read_only, username, access_key_id, record"

// ?1 attribute value, ?2 insight, ?3 start, ?4 min(end, cursor time), ?5 cursor id, ?6 cursor time.
// `(event_time, id) < (?6, ?5)` is written as an OR beside the range bound ?4 so the range alone
// positions the index cursor and the OR only skips the already-returned ties at the cursor time.
#define TRAILKIT_EVENTS_LOOKUP(index, column)                                                     \
  "SELECT " TRAILKIT_EVENT_COLUMNS " FROM events INDEXED BY " index " WHERE " column " = ?1 AND " \
  "insight = ?2 AND event_time >= ?3 AND event_time <= ?4 AND (event_time < ?6 OR id < ?5) "      \
  "ORDER BY event_time DESC, id DESC"
#define TRAILKIT_RESOURCES_LOOKUP(index, column)                                                               \
  "SELECT e.id, e.event_id, e.event_time, e.event_name, e.event_source, e.read_only, e.username, "             \
  "e.access_key_id, e.record FROM resources AS r INDEXED BY " index " CROSS JOIN events AS e WHERE r." column \
  " = ?1 AND e.id = r.event_rowid AND e.insight = ?2 AND r.event_time >= ?3 AND r.event_time <= ?4 AND "      \
  "(r.event_time < ?6 OR r.event_rowid < ?5) ORDER BY r.event_time DESC, r.event_rowid DESC"

// Indexed by LookupKey.
constexpr std::array<const char*, kLookupKeyCount> kLookupSql = {
    "SELECT " TRAILKIT_EVENT_COLUMNS
    " FROM events INDEXED BY events_by_time WHERE ?1 IS NULL AND insight = ?2 AND event_time >= ?3 AND "
    "event_time <= ?4 AND (event_time < ?6 OR id < ?5) ORDER BY event_time DESC, id DESC",
    TRAILKIT_EVENTS_LOOKUP("events_by_event_id", "event_id"),
    TRAILKIT_EVENTS_LOOKUP("events_by_name", "event_name"),
    TRAILKIT_EVENTS_LOOKUP("events_by_read_only", "read_only"),
    TRAILKIT_EVENTS_LOOKUP("events_by_username", "username"),
    TRAILKIT_RESOURCES_LOOKUP("resources_by_type", "type"),
    TRAILKIT_RESOURCES_LOOKUP("resources_by_name", "name"),
    TRAILKIT_EVENTS_LOOKUP("events_by_source", "event_source"),
    TRAILKIT_EVENTS_LOOKUP("events_by_access_key", "access_key_id"),
};

// Chunked prune: the same subquery selects the same rows for both deletes inside one transaction.
#define TRAILKIT_PRUNE_SELECT \
  "SELECT id FROM events INDEXED BY events_by_time WHERE insight = ?1 AND event_time < ?2 ORDER BY event_time LIMIT ?3"

class Statement {
 public:
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }
  sqlite3_stmt* get() const noexcept { return stmt_; }
  sqlite3_stmt** out() noexcept { return &stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets (and unbinds nothing: every use rebinds all parameters) on scope exit, so a statement
// left mid-step by an exception does not pin a read snapshot.
class ResetGuard {
 public:
  explicit ResetGuard(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~ResetGuard() { sqlite3_reset(stmt_); }
  ResetGuard(const ResetGuard&) = delete;
  ResetGuard& operator=(const ResetGuard&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

void bind_text(sqlite3_stmt* stmt, int index, std::string_view text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

std::string column_text(sqlite3_stmt* stmt, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  return text == nullptr ? std::string() : std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, column)));
}

}  // namespace

struct SqliteHistory::Connection {
  sqlite3* db = nullptr;
  const std::string& path;

  // writer
  Statement begin_immediate, commit, rollback, insert_event, insert_resource, add_count, prune_resources, prune_events;
  // reader
  Statement begin_read, end_read, resources_of, count;
  std::array<Statement, kLookupKeyCount> lookups;

  explicit Connection(const std::string& p) : path(p) {}
  ~Connection() {
    // close_v2 defers the close until the members' statements are finalized just after.
    if (db != nullptr) sqlite3_close_v2(db);
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("trailkit history " + path + ": " + what + ": " +
                             (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
  }
  void exec(const char* sql, const char* what) const {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(what);
  }
  void prepare(Statement& statement, const char* sql) const {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, statement.out(), nullptr) != SQLITE_OK) {
      fail("cannot prepare a statement");
    }
  }
  // Steps a statement that returns no rows.
  void run(sqlite3_stmt* stmt, const char* what) const {
    const int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) fail(what);
  }
  std::int64_t query_int(const char* sql, const char* what) const {
    Statement statement;
    prepare(statement, sql);
    if (sqlite3_step(statement.get()) != SQLITE_ROW) fail(what);
    return sqlite3_column_int64(statement.get(), 0);
  }
};

// Returns its reader connection to the pool on scope exit.
class SqliteHistory::ReaderLease {
 public:
  explicit ReaderLease(const SqliteHistory& owner) : owner_(owner), connection_(owner.acquire_reader()) {}
  ~ReaderLease() { owner_.release_reader(std::move(connection_)); }
  ReaderLease(const ReaderLease&) = delete;
  ReaderLease& operator=(const ReaderLease&) = delete;
  Connection& operator*() const noexcept { return *connection_; }

 private:
  const SqliteHistory& owner_;
  std::unique_ptr<Connection> connection_;
};

SqliteHistory::SqliteHistory(const SqliteHistoryOptions& options)
    : path_(options.path), retention_seconds_(options.retention_days * 86400), token_key_(options.token_key) {
  if (path_.empty()) throw std::runtime_error("trailkit history: SqliteHistoryOptions::path is empty");
  if (options.retention_days < 1) {
    throw std::runtime_error("trailkit history " + path_ + ": retention_days must be at least 1");
  }
  writer_ = open_connection(true);
  Connection& w = *writer_;
  if (token_key_.empty()) {
    // One random key per database, so tokens survive restarts and any process serving this file
    // accepts them. INSERT OR IGNORE + read back settles a race between two first openers.
    std::array<unsigned char, kTokenKeyBytes> key{};
    if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
      throw std::runtime_error("trailkit history " + path_ + ": no random bytes for the NextToken key");
    }
    Statement insert, select;
    w.prepare(insert, "INSERT OR IGNORE INTO meta(key, value) VALUES('token_key', ?1)");
    sqlite3_bind_blob(insert.get(), 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    w.run(insert.get(), "cannot store the NextToken key");
    w.prepare(select, "SELECT value FROM meta WHERE key = 'token_key'");
    if (sqlite3_step(select.get()) != SQLITE_ROW) w.fail("cannot read the NextToken key");
    const auto* bytes = static_cast<const char*>(sqlite3_column_blob(select.get(), 0));
    token_key_.assign(bytes, static_cast<std::size_t>(sqlite3_column_bytes(select.get(), 0)));
  }
}

SqliteHistory::~SqliteHistory() = default;

std::unique_ptr<SqliteHistory::Connection> SqliteHistory::open_connection(bool writer) const {
  auto c = std::make_unique<Connection>(path_);
  // NOMUTEX: each connection is used by one thread at a time (writer_mutex_ / the reader pool).
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path_.c_str(), &c->db, flags, nullptr) != SQLITE_OK) c->fail("cannot open");
  sqlite3_extended_result_codes(c->db, 1);
  sqlite3_busy_timeout(c->db, 10000);
  if (writer) {
    // The first statement reads the header: a file that is not SQLite fails here, not later.
    const std::int64_t version = c->query_int("PRAGMA user_version", "not a trailkit history database");
    if (version > kSchemaVersion) c->fail("schema version " + std::to_string(version) + " is newer than this build's");
    {
      Statement mode;
      c->prepare(mode, "PRAGMA journal_mode=WAL");
      if (sqlite3_step(mode.get()) != SQLITE_ROW || column_text(mode.get(), 0) != "wal") c->fail("cannot enable WAL mode");
    }
    // NORMAL in WAL: a commit survives a process crash; only a power loss may lose the last ones,
    // which the log files (the record of truth) still hold.
    c->exec("PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; PRAGMA journal_size_limit=67108864;"
            "PRAGMA wal_autocheckpoint=4096",
            "cannot configure the writer");
    if (version < kSchemaVersion) {
      c->exec("BEGIN IMMEDIATE", "cannot start the schema transaction");
      if (sqlite3_exec(c->db, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) {
        const std::string message = sqlite3_errmsg(c->db);
        sqlite3_exec(c->db, "ROLLBACK", nullptr, nullptr, nullptr);
        throw std::runtime_error("trailkit history " + path_ + ": cannot create the schema: " + message);
      }
      c->exec("COMMIT", "cannot commit the schema");
    }
    c->prepare(c->begin_immediate, "BEGIN IMMEDIATE");
    c->prepare(c->commit, "COMMIT");
    c->prepare(c->rollback, "ROLLBACK");
    c->prepare(c->insert_event,
               "INSERT OR IGNORE INTO events(event_id, event_time, event_name, event_source, read_only, username, "
               "access_key_id, insight, account_id, region, record) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    c->prepare(c->insert_resource,
               "INSERT INTO resources(event_rowid, ordinal, event_time, type, name) VALUES(?1, ?2, ?3, ?4, ?5)");
    c->prepare(c->add_count, "UPDATE meta SET value = value + ?1 WHERE key = 'event_count'");
    c->prepare(c->prune_resources, "DELETE FROM resources WHERE event_rowid IN (" TRAILKIT_PRUNE_SELECT ")");
    c->prepare(c->prune_events, "DELETE FROM events WHERE id IN (" TRAILKIT_PRUNE_SELECT ")");
  } else {
    c->exec("PRAGMA query_only=1; PRAGMA cache_size=-16384; PRAGMA mmap_size=268435456", "cannot configure a reader");
    c->prepare(c->begin_read, "BEGIN");
    c->prepare(c->end_read, "COMMIT");
    c->prepare(c->resources_of, "SELECT type, name FROM resources WHERE event_rowid = ?1 ORDER BY ordinal");
    c->prepare(c->count, "SELECT value FROM meta WHERE key = 'event_count'");
    for (int i = 0; i < kLookupKeyCount; ++i) c->prepare(c->lookups[static_cast<std::size_t>(i)], kLookupSql[static_cast<std::size_t>(i)]);
  }
  return c;
}

std::unique_ptr<SqliteHistory::Connection> SqliteHistory::acquire_reader() const {
  {
    std::lock_guard<std::mutex> lock(readers_mutex_);
    if (!idle_readers_.empty()) {
      auto reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return reader;
    }
  }
  return open_connection(false);  // outside the lock: opening reads the file
}

void SqliteHistory::release_reader(std::unique_ptr<Connection> reader) const {
  if (!reader) return;
  std::lock_guard<std::mutex> lock(readers_mutex_);
  idle_readers_.push_back(std::move(reader));
}

void SqliteHistory::add(const std::vector<HistoryRecord>& records) {
  if (records.empty()) return;
  std::lock_guard<std::mutex> lock(writer_mutex_);
  Connection& w = *writer_;
  w.run(w.begin_immediate.get(), "cannot begin a transaction");
  try {
    std::int64_t inserted = 0;
    sqlite3_stmt* insert = w.insert_event.get();
    sqlite3_stmt* resource = w.insert_resource.get();
    for (const HistoryRecord& r : records) {
      bind_text(insert, 1, r.event_id);
      sqlite3_bind_int64(insert, 2, r.event_time);
      bind_text(insert, 3, r.event_name);
      bind_text(insert, 4, r.event_source);
      sqlite3_bind_int(insert, 5, r.read_only ? 1 : 0);
      bind_text(insert, 6, r.username);
      bind_text(insert, 7, r.access_key_id);
      sqlite3_bind_int(insert, 8, r.insight ? 1 : 0);
      bind_text(insert, 9, r.account_id);
      bind_text(insert, 10, r.region);
      bind_text(insert, 11, r.cloudtrail_event);
      w.run(insert, "cannot insert an event");
      if (sqlite3_changes(w.db) == 0) continue;  // a duplicate eventID, ignored
      ++inserted;
      const std::int64_t id = sqlite3_last_insert_rowid(w.db);
      for (std::size_t i = 0; i < r.resources.size(); ++i) {
        sqlite3_bind_int64(resource, 1, id);
        sqlite3_bind_int64(resource, 2, static_cast<std::int64_t>(i));
        sqlite3_bind_int64(resource, 3, r.event_time);
        bind_text(resource, 4, r.resources[i].type);
        bind_text(resource, 5, r.resources[i].name);
        w.run(resource, "cannot insert a resource");
      }
    }
    sqlite3_bind_int64(w.add_count.get(), 1, inserted);
    w.run(w.add_count.get(), "cannot update the event count");
    w.run(w.commit.get(), "cannot commit");
  } catch (...) {
    sqlite3_step(w.rollback.get());
    sqlite3_reset(w.rollback.get());
    throw;
  }
}

std::uint64_t SqliteHistory::prune(std::int64_t older_than) {
  std::uint64_t total = 0;
  for (int insight = 0; insight <= 1; ++insight) {
    for (;;) {
      std::lock_guard<std::mutex> lock(writer_mutex_);  // per chunk: add() interleaves
      Connection& w = *writer_;
      w.run(w.begin_immediate.get(), "cannot begin a transaction");
      int deleted = 0;
      try {
        for (sqlite3_stmt* stmt : {w.prune_resources.get(), w.prune_events.get()}) {
          sqlite3_bind_int(stmt, 1, insight);
          sqlite3_bind_int64(stmt, 2, older_than);
          sqlite3_bind_int(stmt, 3, kPruneChunk);
          w.run(stmt, "cannot prune");
        }
        deleted = sqlite3_changes(w.db);  // of the events delete, the last statement run
        sqlite3_bind_int64(w.add_count.get(), 1, -deleted);
        w.run(w.add_count.get(), "cannot update the event count");
        w.run(w.commit.get(), "cannot commit");
      } catch (...) {
        sqlite3_step(w.rollback.get());
        sqlite3_reset(w.rollback.get());
        throw;
      }
      total += static_cast<std::uint64_t>(deleted);
      if (deleted < kPruneChunk) break;
    }
  }
  return total;
}

std::uint64_t SqliteHistory::size() const {
  ReaderLease lease(*this);
  Connection& r = *lease;
  ResetGuard reset(r.count.get());
  if (sqlite3_step(r.count.get()) != SQLITE_ROW) r.fail("cannot read the event count");
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, sqlite3_column_int64(r.count.get(), 0)));
}

LookupResult SqliteHistory::lookup(const LookupRequest& request, std::int64_t now) const {
  const LookupQuery query = make_lookup_query(request, now, retention_seconds_, token_key_);
  LookupResult result;
  if (query.empty_range) return result;

  ReaderLease lease(*this);
  Connection& r = *lease;
  r.run(r.begin_read.get(), "cannot begin a read");
  struct EndRead {
    Connection& c;
    ~EndRead() {
      sqlite3_step(c.end_read.get());
      sqlite3_reset(c.end_read.get());
    }
  } end_read{r};

  sqlite3_stmt* stmt = r.lookups[static_cast<std::size_t>(query.key)].get();
  ResetGuard reset(stmt);
  if (query.key == LookupKey::kNone) {
    sqlite3_bind_null(stmt, 1);
  } else if (query.key == LookupKey::kReadOnly) {
    sqlite3_bind_int(stmt, 1, query.value == "true" ? 1 : 0);
  } else {
    bind_text(stmt, 1, query.value);
  }
  sqlite3_bind_int(stmt, 2, query.insight ? 1 : 0);
  sqlite3_bind_int64(stmt, 3, query.start_time);
  sqlite3_bind_int64(stmt, 4, std::min(query.end_time, query.cursor.event_time));
  sqlite3_bind_int64(stmt, 5, query.cursor.rowid);
  sqlite3_bind_int64(stmt, 6, query.cursor.event_time);

  std::vector<std::int64_t> ids;
  ids.reserve(static_cast<std::size_t>(query.max_results));
  bool more = false;
  for (;;) {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) r.fail("lookup failed");
    const std::int64_t id = sqlite3_column_int64(stmt, 0);
    // A resource lookup yields an event once per matching resource, adjacently (same time, id).
    if (!ids.empty() && ids.back() == id) continue;
    if (static_cast<int>(ids.size()) == query.max_results) {
      more = true;
      break;
    }
    ids.push_back(id);
    LookupEvent& event = result.events.emplace_back();
    event.event_id = column_text(stmt, 1);
    event.event_time = sqlite3_column_int64(stmt, 2);
    event.event_name = column_text(stmt, 3);
    event.event_source = column_text(stmt, 4);
    event.read_only = sqlite3_column_int(stmt, 5) != 0 ? "true" : "false";
    event.username = column_text(stmt, 6);
    event.access_key_id = column_text(stmt, 7);
    event.cloudtrail_event = column_text(stmt, 8);
  }
  sqlite3_stmt* resources = r.resources_of.get();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ResetGuard reset_resources(resources);
    sqlite3_bind_int64(resources, 1, ids[i]);
    int rc;
    while ((rc = sqlite3_step(resources)) == SQLITE_ROW) {
      result.events[i].resources.push_back(HistoryRecord::Resource{column_text(resources, 0), column_text(resources, 1)});
    }
    if (rc != SQLITE_DONE) r.fail("cannot read resources");
  }
  if (more) {
    result.next_token = make_next_token(request, LookupCursor{result.events.back().event_time, ids.back()}, token_key_);
  }
  return result;
}

}  // namespace trailkit::detail

namespace trailkit {

std::unique_ptr<EventHistory> open_sqlite_history(const SqliteHistoryOptions& options) {
  return std::make_unique<detail::SqliteHistory>(options);
}

}  // namespace trailkit
