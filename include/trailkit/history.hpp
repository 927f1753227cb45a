#pragma once
// trailkit::EventHistory — the event history behind LookupEvents (cloudtrail-spec §6.2): every
// recorded management event (and Insights event) of the last 90 days, queryable by one lookup
// attribute and a time range, newest first, in pages with an opaque NextToken.
//
// The default store is SQLite in WAL mode (`<state_dir>/history.sqlite3`), fed by the recorder off
// the emit path; the interface lets a larger deployment put the history elsewhere.

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trailkit {

/// One event as the history stores it: the lookup attributes derived from the record, and the
/// compact record itself (`CloudTrailEvent`). Thread contract: plain value type.
struct HistoryRecord {
  std::string event_id;
  std::string event_name;
  std::string event_source;
  std::int64_t event_time = 0;  ///< epoch seconds
  bool read_only = false;       ///< `readOnly`; absent in the record = false
  std::string access_key_id;    ///< userIdentity.accessKeyId, "" if none
  std::string username;         ///< derived; see history_record_from_json
  bool insight = false;         ///< an Insights event (eventCategory "Insight")
  struct Resource {
    std::string type;  ///< e.g. AWS::IAM::User
    std::string name;  ///< derived; see history_record_from_json
  };
  std::vector<Resource> resources;
  std::string account_id;  ///< recipientAccountId
  std::string region;      ///< awsRegion
  std::string cloudtrail_event;  ///< the compact JSON record
};

/// Derives a HistoryRecord from one compact CloudTrail record. Returns nullopt for records that
/// LookupEvents does not cover (data events, network activity events: eventCategory "Data" /
/// "NetworkActivity") or that lack eventID/eventName/eventSource/eventTime.
/// Username: userIdentity.userName (IAM users, root's alias), else for AssumedRole the session name
/// (the part of the ARN after the last '/'), else sessionContext.sessionIssuer.userName, else
/// userIdentity.invokedBy, else "root" for a Root identity (as the console's event history shows it),
/// else "". ResourceName: the last segment of the resource ARN after ':' or '/' (an instance ID, a
/// user name, a bucket), else the ARN ("" for a resource without ARN). Insights records (no top-level
/// eventName/eventSource) take both from insightDetails. eventTime must be exactly
/// `YYYY-MM-DDTHH:MM:SSZ`. Thread contract: pure function.
std::optional<HistoryRecord> history_record_from_json(std::string_view compact_record);
/// As above, into `out` (reusing its strings' capacity: the feeder calls it for every record with
/// one long-lived HistoryRecord per slot, so steady state does not allocate). Returns false where
/// the other returns nullopt; `out` is then unspecified. Thread contract: pure function.
bool history_record_from_json(std::string_view compact_record, HistoryRecord& out);

/// A LookupEvents request, as the API carries it. Thread contract: plain value type.
struct LookupRequest {
  struct Attribute {
    std::string key;    ///< EventId | EventName | ReadOnly | Username | ResourceType | ResourceName | EventSource | AccessKeyId
    std::string value;  ///< 1..2000 characters
  };
  std::vector<Attribute> attributes;    ///< at most one
  std::optional<std::int64_t> start_time;  ///< inclusive, epoch seconds
  std::optional<std::int64_t> end_time;    ///< inclusive
  std::optional<std::string> event_category;  ///< only "insight"
  std::optional<int> max_results;          ///< 1..50, default 50
  std::string next_token;                  ///< "" = first page
};

/// One event of a LookupEvents response (the API's `Events[]` member).
struct LookupEvent {
  std::string event_id;
  std::string event_name;
  std::string read_only;  ///< "true" / "false"
  std::string access_key_id;
  std::int64_t event_time = 0;
  std::string event_source;
  std::string username;
  std::vector<HistoryRecord::Resource> resources;
  std::string cloudtrail_event;
};

struct LookupResult {
  std::vector<LookupEvent> events;  ///< newest first (event time, then insertion order)
  std::string next_token;           ///< "" = no more pages
};

/// A request CloudTrail would refuse; `code()` is the AWS error code (InvalidLookupAttributesException,
/// InvalidTimeRangeException, InvalidMaxResultsException, InvalidNextTokenException,
/// InvalidEventCategoryException) and what() names the field and the rule.
class LookupError : public std::runtime_error {
 public:
  LookupError(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const noexcept { return code_; }

 private:
  std::string code_;
};

/// Where the history lives. Thread contract: add() from one writer thread; lookup() and prune()
/// from any thread, concurrently with add().
class EventHistory {
 public:
  virtual ~EventHistory() = default;
  /// Stores a batch (one transaction: a lookup sees all of it or none). A duplicate eventID within
  /// the batch is dropped (the first copy stays); across batches eventIDs are taken as unique, as
  /// CloudTrail's are (the recorder generates UUIDv4s): checking every insert against 90 days of
  /// IDs would cost more than the insert. Throws std::runtime_error on a storage failure (message
  /// names the file and the cause).
  virtual void add(const std::vector<HistoryRecord>& records) = 0;
  /// Answers LookupEvents with CloudTrail's semantics; `now` bounds the 90-day window. Throws
  /// LookupError for invalid requests, std::runtime_error on storage failures.
  /// Where CloudTrail's behaviour is unpublished, trailkit decides (src/history/lookup_query.hpp):
  /// a range ending before the window (EndTime < now - retention) is InvalidTimeRangeException, a
  /// range starting before it is clamped; there is no upper bound without EndTime (events stamped
  /// slightly ahead of `now` are shown); a ReadOnly value other than "true"/"false" is
  /// InvalidLookupAttributesException; NextToken is bound to LookupAttributes, StartTime, EndTime
  /// and EventCategory but not MaxResults (a resume may change the page size); a page continues
  /// strictly after the previous page's last event, so events added meanwhile with a newer
  /// (time, insertion) position are not shown in that listing.
  virtual LookupResult lookup(const LookupRequest& request, std::int64_t now) const = 0;
  /// Deletes events with event_time < `older_than`; returns how many. Lookups never show events
  /// older than the retention window anyway; prune() frees their space.
  virtual std::uint64_t prune(std::int64_t older_than) = 0;
  /// Number of stored events.
  virtual std::uint64_t size() const = 0;
};

struct SqliteHistoryOptions {
  std::string path;               ///< the database file; created if missing (parent must exist)
  std::int64_t retention_days = 90;
  /// Key for NextToken integrity (HMAC); "" = random per database (stored in it).
  std::string token_key;
  /// zstd level for the stored records (frames of 64 events), up to 19; 0 = uncompressed (about 5x
  /// larger, and slower to ingest here: more to write). The default -1 stores ~5x smaller than
  /// the JSON; levels -7..1 ingest at about the same rate (bench/RESULTS.md).
  int compression_level = -1;
};

/// Opens (creating if needed) the SQLite history: WAL mode, indexes for every lookup attribute with
/// time. Throws std::runtime_error naming the path and the SQLite error.
std::unique_ptr<EventHistory> open_sqlite_history(const SqliteHistoryOptions& options);

}  // namespace trailkit
