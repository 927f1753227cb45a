#include "history/sqlite_history.hpp"

#include <openssl/rand.h>
#include <sqlite3.h>
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <thread>
#include <array>
#include <cstring>
#include <limits>
#include <map>
#include <queue>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "history/lookup_query.hpp"

namespace trailkit::detail {
namespace {

constexpr int kSchemaVersion = 2;
constexpr std::size_t kTokenKeyBytes = 32;
constexpr unsigned char kFrameRaw = 0;
constexpr unsigned char kFrameZstd = 1;
constexpr int kFrameShift = 12;    // frames.id = block << 12 | frame
constexpr int kOrdinalShift = 16;  // cursor position = block << 16 | ordinal
constexpr std::uint8_t kFramePending = 0;
constexpr std::uint8_t kFramePacked = 1;
constexpr std::uint8_t kFrameFailed = 2;

// postings.key values (the LookupKey numbering, stored).
constexpr int kKeyEventId = static_cast<int>(LookupKey::kEventId);
constexpr std::array<LookupKey, 7> kValueKeys = {LookupKey::kEventName,    LookupKey::kReadOnly,   LookupKey::kUsername,
                                                 LookupKey::kResourceType, LookupKey::kResourceName, LookupKey::kEventSource,
                                                 LookupKey::kAccessKeyId};

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blocks(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  insight INTEGER NOT NULL,
  min_time INTEGER NOT NULL,
  max_time INTEGER NOT NULL,
  count INTEGER NOT NULL,
  times BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS frames(id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS postings(
  key INTEGER NOT NULL,
  value NOT NULL,
  insight INTEGER NOT NULL,
  max_time INTEGER NOT NULL,
  block INTEGER NOT NULL,
  min_time INTEGER NOT NULL,
  entries BLOB NOT NULL,
  PRIMARY KEY(key, value, insight, max_time, block)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blocks_by_max_time ON blocks(insight, max_time);
CREATE INDEX IF NOT EXISTS blocks_by_min_time ON blocks(insight, min_time);
CREATE INDEX IF NOT EXISTS postings_by_block ON postings(block);
INSERT OR IGNORE INTO meta(key, value) VALUES('event_count', 0);
PRAGMA user_version = 2;
)sql";

// ---- byte encoding ----

void put_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void put_string(std::string& out, std::string_view text) {
  put_varint(out, text.size());
  out.append(text);
}

std::uint64_t zigzag(std::int64_t value) {
  return (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
}
std::int64_t unzigzag(std::uint64_t value) {
  return static_cast<std::int64_t>(value >> 1) ^ -static_cast<std::int64_t>(value & 1);
}

// Reads what put_* wrote; a malformed blob (a corrupt database) sets `bad` instead of reading past
// the end, and the caller reports it.
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : at_(bytes.data()), end_(bytes.data() + bytes.size()) {}
  bool done() const noexcept { return at_ >= end_; }
  bool bad() const noexcept { return bad_; }
  std::uint64_t varint() noexcept {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at_ >= end_) break;
      const auto byte = static_cast<unsigned char>(*at_++);
      value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    bad_ = true;
    at_ = end_;
    return 0;
  }
  std::string_view string() noexcept {
    const std::uint64_t size = varint();
    if (size > static_cast<std::uint64_t>(end_ - at_)) {
      bad_ = true;
      at_ = end_;
      return {};
    }
    const std::string_view out(at_, static_cast<std::size_t>(size));
    at_ += size;
    return out;
  }
  std::uint32_t u32() noexcept {
    if (end_ - at_ < 4) {
      bad_ = true;
      at_ = end_;
      return 0;
    }
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) value |= static_cast<std::uint32_t>(static_cast<unsigned char>(at_[i])) << (8 * i);
    at_ += 4;
    return value;
  }
  std::string_view rest() const noexcept { return std::string_view(at_, static_cast<std::size_t>(end_ - at_)); }
  unsigned char byte() noexcept {
    if (at_ >= end_) {
      bad_ = true;
      return 0;
    }
    return static_cast<unsigned char>(*at_++);
  }

 private:
  const char* at_;
  const char* end_;
  bool bad_ = false;
};

void put_u32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

// FNV-1a 64 with a final mix: eventIDs are short; the bucket is the top 5 bits, the stored check
// the low 32 bits.
std::uint64_t event_id_hash(std::string_view id) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (const char c : id) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  // Final avalanche so the top byte depends on every character.
  hash ^= hash >> 33;
  hash *= 0xff51afd7ed558ccdull;
  hash ^= hash >> 33;
  return hash;
}
int event_id_bucket(std::uint64_t hash) { return static_cast<int>(hash >> 59); }
static_assert(SqliteHistory::kEventIdBuckets == 32, "event_id_bucket takes the top 5 bits");

// One event inside a frame: every HistoryRecord field.
void encode_record(std::string& out, const HistoryRecord& r) {
  put_string(out, r.event_id);
  put_string(out, r.event_name);
  put_string(out, r.event_source);
  put_string(out, r.username);
  put_string(out, r.access_key_id);
  put_string(out, r.account_id);
  put_string(out, r.region);
  out.push_back(static_cast<char>((r.read_only ? 1 : 0) | (r.insight ? 2 : 0)));
  put_varint(out, zigzag(r.event_time));
  put_varint(out, r.resources.size());
  for (const auto& resource : r.resources) {
    put_string(out, resource.type);
    put_string(out, resource.name);
  }
  put_string(out, r.cloudtrail_event);
}

// Decodes the next event; false on a malformed frame.
bool decode_record(ByteReader& in, HistoryRecord& r) {
  r.event_id.assign(in.string());
  r.event_name.assign(in.string());
  r.event_source.assign(in.string());
  r.username.assign(in.string());
  r.access_key_id.assign(in.string());
  r.account_id.assign(in.string());
  r.region.assign(in.string());
  const unsigned char flags = in.byte();
  r.read_only = (flags & 1) != 0;
  r.insight = (flags & 2) != 0;
  r.event_time = unzigzag(in.varint());
  const std::uint64_t resources = in.varint();
  if (resources > 1'000'000) return false;
  r.resources.resize(static_cast<std::size_t>(resources));
  for (auto& resource : r.resources) {
    resource.type.assign(in.string());
    resource.name.assign(in.string());
  }
  r.cloudtrail_event.assign(in.string());
  return !in.bad();
}

// Skips one event (a lookup wants one event out of a frame).
void skip_record(ByteReader& in) {
  for (int i = 0; i < 7; ++i) in.string();
  in.byte();
  in.varint();
  for (std::uint64_t n = in.varint(); n > 0 && !in.bad(); --n) {
    in.string();
    in.string();
  }
  in.string();
}

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

// Resets on scope exit (every use rebinds all parameters), so a statement left mid-step by an
// exception does not pin a read snapshot.
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
void bind_blob(sqlite3_stmt* stmt, int index, std::string_view bytes) {
  sqlite3_bind_blob(stmt, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
}
std::string_view column_blob(sqlite3_stmt* stmt, int column) {
  const auto* bytes = static_cast<const char*>(sqlite3_column_blob(stmt, column));
  return bytes == nullptr ? std::string_view() : std::string_view(bytes, static_cast<std::size_t>(sqlite3_column_bytes(stmt, column)));
}
std::string column_text(sqlite3_stmt* stmt, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  return text == nullptr ? std::string() : std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, column)));
}

std::string_view read_only_value(bool read_only) { return read_only ? "true" : "false"; }

}  // namespace

struct SqliteHistory::Connection {
  sqlite3* db = nullptr;
  const std::string& path;
  ZSTD_DCtx* dctx = nullptr;

  // writer
  Statement begin_immediate, commit, rollback, insert_block, update_block, insert_frame, insert_posting, add_count;
  Statement expired_blocks, straddling_blocks, block_frames, delete_postings, delete_frames, delete_block, blocks_from;
  // reader
  Statement begin_read, end_read, scan_blocks, scan_postings, frame, count;

  explicit Connection(const std::string& p) : path(p) {}
  ~Connection() {
    ZSTD_freeDCtx(dctx);
    // close_v2 defers the close until the members' statements are finalized just after.
    if (db != nullptr) sqlite3_close_v2(db);
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("trailkit history " + path + ": " + what + ": " +
                             (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
  }
  [[noreturn]] void corrupt(const std::string& what) const {
    throw std::runtime_error("trailkit history " + path + ": corrupt " + what);
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

  // Decompresses a frame blob (codec byte, varint raw size, payload) into `out`.
  void unpack_frame(std::string_view blob, std::string& out) {
    ByteReader in(blob);
    const unsigned char codec = in.byte();
    const std::uint64_t size = in.varint();
    if (in.bad() || size > (256u << 20)) corrupt("frame header");
    const std::string_view body = in.rest();
    out.resize(static_cast<std::size_t>(size));
    if (codec == kFrameRaw) {
      if (body.size() != size) corrupt("frame (raw size)");
      std::memcpy(out.data(), body.data(), body.size());
      return;
    }
    if (codec != kFrameZstd) corrupt("frame (unknown codec)");
    if (dctx == nullptr && (dctx = ZSTD_createDCtx()) == nullptr) throw std::bad_alloc();
    const std::size_t got = ZSTD_decompressDCtx(dctx, out.data(), out.size(), body.data(), body.size());
    if (ZSTD_isError(got) || got != size) corrupt("frame (zstd)");
  }
};

// Writer scratch, reused across blocks so steady-state adds do not allocate.
struct SqliteHistory::Writer {
  // Encodes and compresses frames; one per thread that packs.
  struct Packer {
    ZSTD_CCtx* cctx = nullptr;
    std::string raw;
    ~Packer() { ZSTD_freeCCtx(cctx); }
    // Frame `index` of `records` into `out`; "" on success, else the error.
    std::string pack(const std::vector<const HistoryRecord*>& records, std::size_t index, int level, std::string& out) {
      raw.clear();
      const std::size_t first = index * kFrameEvents;
      const std::size_t last = std::min(records.size(), first + kFrameEvents);
      for (std::size_t i = first; i < last; ++i) encode_record(raw, *records[i]);
      out.clear();
      if (level == 0) {
        out.push_back(static_cast<char>(kFrameRaw));
        put_varint(out, raw.size());
        out.append(raw);
        return {};
      }
      if (cctx == nullptr && (cctx = ZSTD_createCCtx()) == nullptr) return "cannot allocate a zstd context";
      out.push_back(static_cast<char>(kFrameZstd));
      put_varint(out, raw.size());
      const std::size_t header = out.size();
      out.resize(header + ZSTD_compressBound(raw.size()));
      const std::size_t size = ZSTD_compressCCtx(cctx, out.data() + header, out.size() - header, raw.data(), raw.size(), level);
      if (ZSTD_isError(size)) return std::string("cannot compress a frame: ") + ZSTD_getErrorName(size);
      out.resize(header + size);
      return {};
    }
  };

  // The frames of one block are packed by the writer and, when there are several, by one helper
  // thread at once (compression is most of an add's CPU time). Started on the first add, so a
  // read-only user (lookup, serve) never starts it.
  class Helper {
   public:
    ~Helper() {
      {
        std::lock_guard lock(mutex_);
        stop_ = true;
      }
      wake_.notify_all();
      if (thread_.joinable()) thread_.join();
    }
    // Runs `job` on the helper thread; finish() waits for it.
    void start(std::function<void(Packer&)> job) {
      if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
      {
        std::lock_guard lock(mutex_);
        job_ = std::move(job);
        busy_ = true;
      }
      wake_.notify_all();
    }
    void finish() {
      std::unique_lock lock(mutex_);
      done_.wait(lock, [&] { return !busy_; });
    }

   private:
    void run() {
      std::unique_lock lock(mutex_);
      for (;;) {
        wake_.wait(lock, [&] { return stop_ || job_; });
        if (!job_) return;
        auto job = std::move(job_);
        job_ = nullptr;
        lock.unlock();
        job(packer_);
        lock.lock();
        busy_ = false;
        done_.notify_all();
      }
    }
    Packer packer_;
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    std::function<void(Packer&)> job_;
    bool busy_ = false;
    bool stop_ = false;
    std::thread thread_;
  };

  Packer packer;
  Helper helper;
  std::vector<std::string> frames;
  std::unique_ptr<std::atomic<std::uint8_t>[]> frame_state{
      new std::atomic<std::uint8_t>[(kMaxBlockEvents + kFrameEvents - 1) / kFrameEvents]};
  std::string times, entries;
  struct Posting {
    int key = 0;
    std::string_view value;  // into the records (or an int bucket for EventId)
    int bucket = -1;
    std::int64_t min_time = 0, max_time = 0;
    std::uint32_t first = 0, last = 0;  // chain through `links`
    std::uint32_t last_ordinal = std::numeric_limits<std::uint32_t>::max();
  };
  struct Link {
    std::uint32_t ordinal;
    std::uint32_t hash;
    std::uint32_t next;
  };
  std::vector<Posting> postings;
  std::vector<Link> links;
  std::array<std::unordered_map<std::string_view, std::uint32_t>, kLookupKeyCount> by_value;
  std::array<std::int32_t, kEventIdBuckets> by_bucket{};

  void reset() {
    postings.clear();
    links.clear();
    for (auto& map : by_value) map.clear();
    by_bucket.fill(-1);
  }
  void post(std::uint32_t posting, std::uint32_t ordinal, std::int64_t time, std::uint32_t hash) {
    Posting& p = postings[posting];
    if (p.last_ordinal == ordinal) return;  // two resources of one type on one event: listed once
    const auto link = static_cast<std::uint32_t>(links.size());
    links.push_back(Link{ordinal, hash, std::numeric_limits<std::uint32_t>::max()});
    if (p.last_ordinal == std::numeric_limits<std::uint32_t>::max()) {
      p.first = link;
      p.min_time = time;
    } else {
      links[p.last].next = link;
    }
    p.last = link;
    p.last_ordinal = ordinal;
    p.max_time = time;
  }
  void post_value(LookupKey key, std::string_view value, std::uint32_t ordinal, std::int64_t time) {
    if (value.empty()) return;  // LookupEvents refuses empty values; nothing to find
    auto& map = by_value[static_cast<std::size_t>(key)];
    auto [it, inserted] = map.try_emplace(value, static_cast<std::uint32_t>(postings.size()));
    if (inserted) postings.push_back(Posting{static_cast<int>(key), value});
    post(it->second, ordinal, time, 0);
  }
  void post_event_id(std::string_view event_id, std::uint32_t ordinal, std::int64_t time) {
    const std::uint64_t hash = event_id_hash(event_id);
    const int bucket = event_id_bucket(hash);
    if (by_bucket[static_cast<std::size_t>(bucket)] < 0) {
      by_bucket[static_cast<std::size_t>(bucket)] = static_cast<std::int32_t>(postings.size());
      Posting p;
      p.key = kKeyEventId;
      p.bucket = bucket;
      postings.push_back(p);
    }
    post(static_cast<std::uint32_t>(by_bucket[static_cast<std::size_t>(bucket)]), ordinal, time,
         static_cast<std::uint32_t>(hash));
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
    : path_(options.path),
      retention_seconds_(options.retention_days * 86400),
      compression_level_(options.compression_level),
      token_key_(options.token_key) {
  if (path_.empty()) throw std::runtime_error("trailkit history: SqliteHistoryOptions::path is empty");
  if (options.retention_days < 1) {
    throw std::runtime_error("trailkit history " + path_ + ": retention_days must be at least 1");
  }
  if (options.compression_level != 0 &&
      (options.compression_level < ZSTD_minCLevel() || options.compression_level > ZSTD_maxCLevel())) {
    throw std::runtime_error("trailkit history " + path_ + ": compression_level must be 0 (none) or a zstd level between " +
                             std::to_string(ZSTD_minCLevel()) + " and " + std::to_string(ZSTD_maxCLevel()));
  }
  writer_ = open_connection(true);
  writer_scratch_ = std::make_unique<Writer>();
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
    if (version != 0 && version < kSchemaVersion) {
      // Version 1 (a row per event) only existed in development builds before the block layout.
      throw std::runtime_error("trailkit history " + path_ + ": schema version " + std::to_string(version) +
                               " was written by an earlier development build of trailkit; move the file aside "
                               "(the log files still hold every event) and a new history starts");
    }
    // 16 KiB pages for a new database (ignored for an existing one): frames are ~20 KB blobs, and
    // fewer, larger pages cost SQLite less per byte written and read.
    if (version == 0) c->exec("PRAGMA page_size=16384", "cannot set the page size");
    {
      Statement mode;
      c->prepare(mode, "PRAGMA journal_mode=WAL");
      if (sqlite3_step(mode.get()) != SQLITE_ROW || column_text(mode.get(), 0) != "wal") c->fail("cannot enable WAL mode");
    }
    // NORMAL in WAL: a commit survives a process crash; only a power loss may lose the last ones,
    // which the log files (the record of truth) still hold.
    c->exec("PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; PRAGMA journal_size_limit=67108864;"
            "PRAGMA wal_autocheckpoint=2048",
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
    c->prepare(c->insert_block, "INSERT INTO blocks(insight, min_time, max_time, count, times) VALUES(?1, ?2, ?3, ?4, ?5)");
    c->prepare(c->update_block, "UPDATE blocks SET min_time = ?2, max_time = ?3, count = ?4, times = ?5 WHERE id = ?1");
    c->prepare(c->insert_frame, "INSERT INTO frames(id, data) VALUES(?1, ?2)");
    c->prepare(c->insert_posting,
               "INSERT INTO postings(key, value, insight, max_time, block, min_time, entries) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    c->prepare(c->add_count, "UPDATE meta SET value = value + ?1 WHERE key = 'event_count'");
    c->prepare(c->expired_blocks,
               "SELECT id, count FROM blocks INDEXED BY blocks_by_max_time WHERE insight = ?1 AND max_time < ?2 LIMIT ?3");
    c->prepare(c->straddling_blocks,
               "SELECT id, count FROM blocks INDEXED BY blocks_by_min_time WHERE insight = ?1 AND min_time < ?2 LIMIT 1");
    c->prepare(c->block_frames, "SELECT data FROM frames WHERE id >= ?1 AND id < ?2 ORDER BY id");
    c->prepare(c->delete_postings, "DELETE FROM postings WHERE block = ?1");
    c->prepare(c->delete_frames, "DELETE FROM frames WHERE id >= ?1 AND id < ?2");
    c->prepare(c->delete_block, "DELETE FROM blocks WHERE id = ?1");
    c->prepare(c->blocks_from, "SELECT id, insight, count FROM blocks WHERE id >= ?1 ORDER BY id");
  } else {
    c->exec("PRAGMA query_only=1; PRAGMA cache_size=-16384; PRAGMA mmap_size=268435456", "cannot configure a reader");
    c->prepare(c->begin_read, "BEGIN");
    c->prepare(c->end_read, "COMMIT");
    // Both scans run in their index's order (max_time DESC, then id/block DESC): the merge needs
    // rows newest-first by their newest event.
    c->prepare(c->scan_blocks,
               "SELECT id, min_time, max_time, times FROM blocks INDEXED BY blocks_by_max_time WHERE insight = ?1 AND "
               "max_time >= ?2 AND min_time <= ?3 ORDER BY max_time DESC, id DESC");
    c->prepare(c->scan_postings,
               "SELECT block, min_time, max_time, entries FROM postings WHERE key = ?1 AND value = ?2 AND insight = ?3 AND "
               "max_time >= ?4 AND min_time <= ?5 ORDER BY max_time DESC, block DESC");
    c->prepare(c->frame, "SELECT data FROM frames WHERE id = ?1");
    c->prepare(c->count, "SELECT value FROM meta WHERE key = 'event_count'");
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

void SqliteHistory::write_block(std::vector<const HistoryRecord*>& records, bool insight, std::int64_t block_id) {
  Connection& w = *writer_;
  Writer& s = *writer_scratch_;
  // Time order inside the block (stable: equal times keep arrival order), so ordinals are the
  // newest-first order reversed and every entry list is ascending in both ordinal and time.
  std::stable_sort(records.begin(), records.end(),
                   [](const HistoryRecord* a, const HistoryRecord* b) { return a->event_time < b->event_time; });
  const std::int64_t min_time = records.front()->event_time;
  const std::int64_t max_time = records.back()->event_time;
  s.times.clear();
  std::int64_t previous = min_time;
  for (const HistoryRecord* r : records) {
    put_varint(s.times, static_cast<std::uint64_t>(r->event_time - previous));
    previous = r->event_time;
  }

  sqlite3_stmt* block = block_id == 0 ? w.insert_block.get() : w.update_block.get();
  if (block_id == 0) {
    sqlite3_bind_int(block, 1, insight ? 1 : 0);
  } else {
    sqlite3_bind_int64(block, 1, block_id);
  }
  sqlite3_bind_int64(block, 2, min_time);
  sqlite3_bind_int64(block, 3, max_time);
  sqlite3_bind_int64(block, 4, static_cast<std::int64_t>(records.size()));
  bind_blob(block, 5, s.times);
  w.run(block, "cannot write a block");
  if (block_id == 0) block_id = sqlite3_last_insert_rowid(w.db);

  // Frames: packed by the helper and this thread, drawing frame indexes from one counter. This
  // thread first builds and inserts the postings (the helper packs meanwhile), then inserts the
  // frames in order as they are ready (one SQLite connection, so inserts stay on this thread).
  const std::size_t frame_count = (records.size() + kFrameEvents - 1) / kFrameEvents;
  if (s.frames.size() < frame_count) s.frames.resize(frame_count);
  std::atomic<std::size_t> next_frame{0};
  std::vector<std::string> errors(2);
  for (std::size_t f = 0; f < frame_count; ++f) s.frame_state[f].store(kFramePending, std::memory_order_relaxed);
  // Packs one claimed frame; its state is published with release, so the inserting thread sees
  // the bytes once it reads kFramePacked with acquire.
  const auto pack_one = [&](Writer::Packer& packer, std::size_t f, std::string& error) {
    std::string failed = packer.pack(records, f, compression_level_, s.frames[f]);
    if (!failed.empty() && error.empty()) error = std::move(failed);
    s.frame_state[f].store(failed.empty() ? kFramePacked : kFrameFailed, std::memory_order_release);
  };
  const auto pack_frames = [&](Writer::Packer& packer, std::string& error) {
    for (std::size_t f; (f = next_frame.fetch_add(1, std::memory_order_relaxed)) < frame_count;) pack_one(packer, f, error);
  };
  const bool parallel = frame_count > 1;
  if (parallel) s.helper.start([&](Writer::Packer& packer) { pack_frames(packer, errors[1]); });
  struct JoinHelper {
    Writer& s;
    bool active;
    ~JoinHelper() {
      if (active) s.helper.finish();  // never leave the helper reading `records` past this frame
    }
  } join{s, parallel};

  // Postings: one row per distinct (attribute, value) in the block.
  s.reset();
  for (std::size_t i = 0; i < records.size(); ++i) {
    const HistoryRecord& r = *records[i];
    const auto ordinal = static_cast<std::uint32_t>(i);
    s.post_event_id(r.event_id, ordinal, r.event_time);
    s.post_value(LookupKey::kEventName, r.event_name, ordinal, r.event_time);
    s.post_value(LookupKey::kEventSource, r.event_source, ordinal, r.event_time);
    s.post_value(LookupKey::kReadOnly, read_only_value(r.read_only), ordinal, r.event_time);
    s.post_value(LookupKey::kUsername, r.username, ordinal, r.event_time);
    s.post_value(LookupKey::kAccessKeyId, r.access_key_id, ordinal, r.event_time);
    for (const auto& resource : r.resources) {
      s.post_value(LookupKey::kResourceType, resource.type, ordinal, r.event_time);
      s.post_value(LookupKey::kResourceName, resource.name, ordinal, r.event_time);
    }
  }
  sqlite3_stmt* posting = w.insert_posting.get();
  for (const auto& p : s.postings) {
    s.entries.clear();
    std::uint32_t previous_ordinal = 0;
    std::int64_t previous_time = p.min_time;
    for (std::uint32_t link = p.first; link != std::numeric_limits<std::uint32_t>::max(); link = s.links[link].next) {
      const auto& l = s.links[link];
      if (p.key == kKeyEventId) put_u32(s.entries, l.hash);
      put_varint(s.entries, l.ordinal - previous_ordinal);
      const std::int64_t time = records[l.ordinal]->event_time;
      put_varint(s.entries, static_cast<std::uint64_t>(time - previous_time));
      previous_ordinal = l.ordinal;
      previous_time = time;
    }
    sqlite3_bind_int(posting, 1, p.key);
    if (p.key == kKeyEventId) {
      sqlite3_bind_int(posting, 2, p.bucket);
    } else {
      bind_text(posting, 2, p.value);
    }
    sqlite3_bind_int(posting, 3, insight ? 1 : 0);
    sqlite3_bind_int64(posting, 4, p.max_time);
    sqlite3_bind_int64(posting, 5, block_id);
    sqlite3_bind_int64(posting, 6, p.min_time);
    bind_blob(posting, 7, s.entries);
    w.run(posting, "cannot write an index entry");
  }

  // Frames, in order, each as soon as it is packed: SQLite writes while the helper still packs
  // later frames. A frame not packed yet and not claimed by anyone is packed here.
  sqlite3_stmt* frame = w.insert_frame.get();
  for (std::size_t index = 0; index < frame_count; ++index) {
    std::uint8_t state;
    while ((state = s.frame_state[index].load(std::memory_order_acquire)) == kFramePending) {
      const std::size_t f = next_frame.fetch_add(1, std::memory_order_relaxed);
      if (f < frame_count) {
        pack_one(s.packer, f, errors[0]);
      } else {
        std::this_thread::yield();  // the helper is packing this one (tens of microseconds)
      }
    }
    if (state == kFrameFailed) break;  // reported below, after the helper has stopped
    sqlite3_bind_int64(frame, 1, (block_id << kFrameShift) | static_cast<std::int64_t>(index));
    bind_blob(frame, 2, s.frames[index]);
    w.run(frame, "cannot write a frame");
  }
  if (parallel) {
    s.helper.finish();
    join.active = false;
  }
  for (const std::string& error : errors) {
    if (!error.empty()) throw std::runtime_error("trailkit history " + path_ + ": " + error);
  }
}

void SqliteHistory::add(const std::vector<HistoryRecord>& records) {
  if (records.empty()) return;
  // Duplicate eventIDs within the batch: the first copy stays. Sorting (hash, index) pairs finds
  // them without a node allocation per record.
  std::vector<std::pair<std::uint64_t, std::uint32_t>> by_hash(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) by_hash[i] = {event_id_hash(records[i].event_id), static_cast<std::uint32_t>(i)};
  std::sort(by_hash.begin(), by_hash.end());
  std::vector<bool> duplicate(records.size(), false);
  for (std::size_t i = 1; i < by_hash.size(); ++i) {
    for (std::size_t j = i; j > 0 && by_hash[j - 1].first == by_hash[i].first; --j) {
      if (records[by_hash[j - 1].second].event_id == records[by_hash[i].second].event_id) {
        duplicate[by_hash[i].second] = true;  // the sort keeps equal hashes in index order: j-1 came first
        break;
      }
    }
  }
  std::vector<const HistoryRecord*> management, insight;
  management.reserve(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (!duplicate[i]) (records[i].insight ? insight : management).push_back(&records[i]);
  }
  std::lock_guard<std::mutex> lock(writer_mutex_);
  Connection& w = *writer_;
  w.run(w.begin_immediate.get(), "cannot begin a transaction");
  try {
    std::vector<const HistoryRecord*> chunk;
    for (auto* group : {&management, &insight}) {
      for (std::size_t at = 0; at < group->size(); at += kMaxBlockEvents) {
        chunk.assign(group->begin() + static_cast<std::ptrdiff_t>(at),
                     group->begin() + static_cast<std::ptrdiff_t>(std::min(group->size(), at + kMaxBlockEvents)));
        write_block(chunk, group == &insight, 0);
        if (chunk.size() < static_cast<std::size_t>(kSmallBlock)) ++small_blocks_written_;
      }
    }
    if (small_blocks_written_ >= kCompactAfter) {
      compact();
      small_blocks_written_ = 0;
    }
    sqlite3_bind_int64(w.add_count.get(), 1, static_cast<std::int64_t>(management.size() + insight.size()));
    w.run(w.add_count.get(), "cannot update the event count");
    w.run(w.commit.get(), "cannot commit");
  } catch (...) {
    sqlite3_step(w.rollback.get());
    sqlite3_reset(w.rollback.get());
    throw;
  }
}

void SqliteHistory::read_block(std::int64_t id, std::int64_t from_time, std::vector<HistoryRecord>& out) {
  Connection& w = *writer_;
  sqlite3_stmt* stmt = w.block_frames.get();
  ResetGuard reset(stmt);
  sqlite3_bind_int64(stmt, 1, id << kFrameShift);
  sqlite3_bind_int64(stmt, 2, (id + 1) << kFrameShift);
  std::string raw;
  HistoryRecord r;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    w.unpack_frame(column_blob(stmt, 0), raw);
    ByteReader in(raw);
    while (!in.done()) {
      if (!decode_record(in, r)) w.corrupt("frame of block " + std::to_string(id));
      if (r.event_time >= from_time) out.push_back(r);
    }
  }
  if (rc != SQLITE_DONE) w.fail("cannot read block " + std::to_string(id));
}

void SqliteHistory::delete_block_rows(std::int64_t id, bool keep_row) {
  Connection& w = *writer_;
  sqlite3_bind_int64(w.delete_postings.get(), 1, id);
  w.run(w.delete_postings.get(), "cannot delete index entries");
  sqlite3_bind_int64(w.delete_frames.get(), 1, id << kFrameShift);
  sqlite3_bind_int64(w.delete_frames.get(), 2, (id + 1) << kFrameShift);
  w.run(w.delete_frames.get(), "cannot delete frames");
  if (!keep_row) {
    sqlite3_bind_int64(w.delete_block.get(), 1, id);
    w.run(w.delete_block.get(), "cannot delete a block");
  }
}

void SqliteHistory::compact() {
  Connection& w = *writer_;
  struct Row {
    std::int64_t id, count;
    bool insight;
  };
  std::vector<Row> rows;
  {
    sqlite3_stmt* stmt = w.blocks_from.get();
    ResetGuard reset(stmt);
    sqlite3_bind_int64(stmt, 1, compacted_below_);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      rows.push_back(Row{sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 2), sqlite3_column_int(stmt, 1) != 0});
    }
    if (rc != SQLITE_DONE) w.fail("cannot list blocks to merge");
  }
  std::vector<HistoryRecord> records;
  std::vector<const HistoryRecord*> pointers;
  // Merges rows[of[first]] .. rows[of[last - 1]] (at least two) into the last one's id.
  const auto merge_rows = [&](const std::vector<std::size_t>& of, std::size_t first, std::size_t last) {
    records.clear();
    for (std::size_t k = first; k < last; ++k) read_block(rows[of[k]].id, std::numeric_limits<std::int64_t>::min(), records);
    for (std::size_t k = first; k + 1 < last; ++k) delete_block_rows(rows[of[k]].id, false);
    const Row& target = rows[of[last - 1]];
    delete_block_rows(target.id, true);
    pointers.clear();
    for (const auto& r : records) pointers.push_back(&r);
    write_block(pointers, target.insight, target.id);
  };
  // Each flag on its own: listings never mix management and Insights blocks, so only blocks of
  // the same flag must not lie between the merged ones.
  std::int64_t settled = std::numeric_limits<std::int64_t>::max();
  for (const bool flag : {false, true}) {
    std::vector<std::size_t> of_flag;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (rows[i].insight == flag) of_flag.push_back(i);
    }
    std::size_t run = 0;  // index into of_flag: first row of the current run of small blocks
    std::int64_t run_events = 0;
    for (std::size_t k = 0; k <= of_flag.size(); ++k) {
      const Row* row = k < of_flag.size() ? &rows[of_flag[k]] : nullptr;
      const bool small = row != nullptr && row->count < kSmallBlock;
      if (small && run_events + row->count <= static_cast<std::int64_t>(kMaxBlockEvents)) {
        run_events += row->count;
        continue;
      }
      if (k - run >= 2) merge_rows(of_flag, run, k);
      if (row == nullptr) {
        // The newest run may still grow with the next small blocks unless it is large already:
        // it stays unsettled (after a merge it lives on under its last block's id).
        if (k > run && run_events < kSmallBlock) settled = std::min(settled, rows[of_flag[k - 1]].id);
        break;
      }
      run = small ? k : k + 1;  // a large block never joins a run
      run_events = small ? row->count : 0;
    }
  }
  if (settled == std::numeric_limits<std::int64_t>::max()) settled = rows.empty() ? compacted_below_ : rows.back().id + 1;
  compacted_below_ = std::max(compacted_below_, settled);
}

std::uint64_t SqliteHistory::prune(std::int64_t older_than) {
  std::uint64_t total = 0;
  const auto in_transaction = [&](const auto& body) {
    std::lock_guard<std::mutex> lock(writer_mutex_);  // per step: add() interleaves
    Connection& w = *writer_;
    w.run(w.begin_immediate.get(), "cannot begin a transaction");
    try {
      const bool more = body(w);
      w.run(w.commit.get(), "cannot commit");
      return more;
    } catch (...) {
      sqlite3_step(w.rollback.get());
      sqlite3_reset(w.rollback.get());
      throw;
    }
  };
  for (int insight = 0; insight <= 1; ++insight) {
    // Whole blocks whose newest event is older than the cutoff.
    while (in_transaction([&](Connection& w) {
      std::vector<std::pair<std::int64_t, std::int64_t>> expired;
      {
        sqlite3_stmt* stmt = w.expired_blocks.get();
        ResetGuard reset(stmt);
        sqlite3_bind_int(stmt, 1, insight);
        sqlite3_bind_int64(stmt, 2, older_than);
        sqlite3_bind_int(stmt, 3, kPruneBlocksPerStep);
        int rc;
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) expired.emplace_back(sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1));
        if (rc != SQLITE_DONE) w.fail("cannot list expired blocks");
      }
      std::int64_t deleted = 0;
      for (const auto& [id, count] : expired) {
        delete_block_rows(id, false);
        deleted += count;
      }
      sqlite3_bind_int64(w.add_count.get(), 1, -deleted);
      w.run(w.add_count.get(), "cannot update the event count");
      total += static_cast<std::uint64_t>(deleted);
      return expired.size() == static_cast<std::size_t>(kPruneBlocksPerStep);
    })) {
    }
    // Blocks that straddle the cutoff (older and newer events): rewritten with the newer ones,
    // under the same id, so the kept events keep their place in the newest-first order.
    while (in_transaction([&](Connection& w) {
      std::int64_t id = 0, count = 0;
      {
        sqlite3_stmt* stmt = w.straddling_blocks.get();
        ResetGuard reset(stmt);
        sqlite3_bind_int(stmt, 1, insight);
        sqlite3_bind_int64(stmt, 2, older_than);
        const int rc = sqlite3_step(stmt);
        if (rc == SQLITE_DONE) return false;
        if (rc != SQLITE_ROW) w.fail("cannot list blocks to prune");
        id = sqlite3_column_int64(stmt, 0);
        count = sqlite3_column_int64(stmt, 1);
      }
      std::vector<HistoryRecord> kept;
      kept.reserve(static_cast<std::size_t>(count));
      read_block(id, older_than, kept);
      delete_block_rows(id, !kept.empty());
      if (!kept.empty()) {
        std::vector<const HistoryRecord*> pointers;
        for (const auto& r : kept) pointers.push_back(&r);
        write_block(pointers, insight == 1, id);
      }
      const std::int64_t deleted = count - static_cast<std::int64_t>(kept.size());
      sqlite3_bind_int64(w.add_count.get(), 1, -deleted);
      w.run(w.add_count.get(), "cannot update the event count");
      total += static_cast<std::uint64_t>(deleted);
      return true;
    })) {
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

  const std::int64_t high = std::min(query.end_time, query.cursor.event_time);
  std::uint64_t wanted_hash = 0;
  sqlite3_stmt* stmt = nullptr;
  if (query.key == LookupKey::kNone) {
    stmt = r.scan_blocks.get();
    sqlite3_bind_int(stmt, 1, query.insight ? 1 : 0);
    sqlite3_bind_int64(stmt, 2, query.start_time);
    sqlite3_bind_int64(stmt, 3, high);
  } else {
    stmt = r.scan_postings.get();
    sqlite3_bind_int(stmt, 1, static_cast<int>(query.key));
    if (query.key == LookupKey::kEventId) {
      wanted_hash = event_id_hash(query.value);
      sqlite3_bind_int(stmt, 2, event_id_bucket(wanted_hash));
    } else {
      bind_text(stmt, 2, query.value);
    }
    sqlite3_bind_int(stmt, 3, query.insight ? 1 : 0);
    sqlite3_bind_int64(stmt, 4, query.start_time);
    sqlite3_bind_int64(stmt, 5, high);
  }
  ResetGuard reset(stmt);

  // Frames decompressed during this lookup (an EventId check, then the page).
  std::map<std::int64_t, std::string> frames;
  const auto record_at = [&](std::int64_t position, HistoryRecord& out) {
    const std::int64_t block = position >> kOrdinalShift;
    const auto ordinal = static_cast<std::size_t>(position & ((std::int64_t{1} << kOrdinalShift) - 1));
    const std::int64_t frame_id = (block << kFrameShift) | static_cast<std::int64_t>(ordinal / kFrameEvents);
    auto it = frames.find(frame_id);
    if (it == frames.end()) {
      sqlite3_stmt* f = r.frame.get();
      ResetGuard reset_frame(f);
      sqlite3_bind_int64(f, 1, frame_id);
      if (sqlite3_step(f) != SQLITE_ROW) r.corrupt("history: frame " + std::to_string(frame_id) + " is missing");
      it = frames.emplace(frame_id, std::string()).first;
      r.unpack_frame(column_blob(f, 0), it->second);
    }
    ByteReader in(it->second);
    for (std::size_t skip = ordinal % kFrameEvents; skip > 0; --skip) skip_record(in);
    if (!decode_record(in, out)) r.corrupt("frame " + std::to_string(frame_id));
  };

  struct Candidate {
    std::int64_t time;
    std::int64_t position;  // block << 16 | ordinal
    bool operator<(const Candidate& other) const noexcept {
      return time != other.time ? time < other.time : position < other.position;
    }
  };
  std::priority_queue<Candidate> heap;  // max-heap: the newest candidate on top
  std::vector<Candidate> page;
  const auto limit = static_cast<std::size_t>(query.max_results) + 1;  // one more tells "there is a next page"
  HistoryRecord scratch;
  // Moves candidates newer than `bound` (no later row can hold anything newer) onto the page.
  const auto settle = [&](std::int64_t bound) {
    while (!heap.empty() && page.size() < limit && heap.top().time > bound) {
      const Candidate c = heap.top();
      heap.pop();
      if (query.key == LookupKey::kEventId) {
        record_at(c.position, scratch);  // the bucket hash matched; the ID must too
        if (scratch.event_id != query.value) continue;
      }
      page.push_back(c);
    }
  };
  const auto in_range = [&](std::int64_t time, std::int64_t position) {
    if (time < query.start_time || time > high) return false;
    return time < query.cursor.event_time || position < query.cursor.rowid;  // strictly after the cursor
  };

  for (;;) {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) r.fail("lookup failed");
    const std::int64_t block = sqlite3_column_int64(stmt, 0);
    const std::int64_t min_time = sqlite3_column_int64(stmt, 1);
    const std::int64_t max_time = sqlite3_column_int64(stmt, 2);
    settle(max_time);
    if (page.size() >= limit) break;
    ByteReader in(column_blob(stmt, 3));
    std::int64_t time = min_time;
    std::uint64_t ordinal = 0;
    if (query.key == LookupKey::kNone) {
      for (; !in.done(); ++ordinal) {
        time += static_cast<std::int64_t>(in.varint());
        const std::int64_t position = (block << kOrdinalShift) | static_cast<std::int64_t>(ordinal);
        if (in_range(time, position)) heap.push(Candidate{time, position});
      }
    } else {
      while (!in.done()) {
        const std::uint32_t hash = query.key == LookupKey::kEventId ? in.u32() : 0;
        ordinal += in.varint();
        time += static_cast<std::int64_t>(in.varint());
        const std::int64_t position = (block << kOrdinalShift) | static_cast<std::int64_t>(ordinal);
        if (query.key == LookupKey::kEventId && hash != static_cast<std::uint32_t>(wanted_hash)) continue;
        if (in_range(time, position)) heap.push(Candidate{time, position});
      }
    }
    if (in.bad()) r.corrupt("index entries of block " + std::to_string(block));
  }
  settle(std::numeric_limits<std::int64_t>::min());

  const bool more = page.size() == limit;
  if (more) page.pop_back();
  result.events.reserve(page.size());
  for (const Candidate& c : page) {
    record_at(c.position, scratch);
    LookupEvent& event = result.events.emplace_back();
    event.event_id = std::move(scratch.event_id);
    event.event_name = std::move(scratch.event_name);
    event.read_only = scratch.read_only ? "true" : "false";
    event.access_key_id = std::move(scratch.access_key_id);
    event.event_time = scratch.event_time;
    event.event_source = std::move(scratch.event_source);
    event.username = std::move(scratch.username);
    event.resources = std::move(scratch.resources);
    event.cloudtrail_event = std::move(scratch.cloudtrail_event);
    scratch = HistoryRecord{};
  }
  if (more) {
    result.next_token = make_next_token(request, LookupCursor{page.back().time, page.back().position}, token_key_);
  }
  return result;
}

}  // namespace trailkit::detail

namespace trailkit {

std::unique_ptr<EventHistory> open_sqlite_history(const SqliteHistoryOptions& options) {
  return std::make_unique<detail::SqliteHistory>(options);
}

}  // namespace trailkit
