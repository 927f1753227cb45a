#pragma once
// LookupQuery — a LookupEvents request checked against CloudTrail's rules (cloudtrail-spec §6.2)
// and reduced to what a store executes: one attribute (or none), an inclusive time range already
// clamped to the retention window, the Insights flag, the page size and the resume cursor.
//
// Decisions where CloudTrail's behaviour is not published (also in trailkit/history.hpp):
//  - A range that ends before the retention window (EndTime < now - retention) is refused with
//    InvalidTimeRangeException ("outside the allowed window", spec §6.2 table); a range that only
//    starts before it is clamped to the window.
//  - A ReadOnly value other than "true"/"false" is refused with InvalidLookupAttributesException
//    rather than silently matching nothing.
//  - NextToken binds the attribute, StartTime, EndTime and EventCategory as sent, but not
//    MaxResults: botocore's paginator keeps the page size, yet `--starting-token` with another
//    `--page-size` is a legitimate resume and must not fail.
//
// NextToken = base64url(version | cursor event_time | cursor rowid | HMAC-SHA256(key, those bytes |
// request parameters)[0..16]). The store's key makes tokens unforgeable; binding the parameters is
// how a token replayed with other parameters is detected (InvalidNextTokenException).

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "trailkit/history.hpp"

namespace trailkit::detail {

/// The lookup attribute, as an index into the store's statements.
enum class LookupKey : int {
  kNone = 0,  // pure time-window lookup
  kEventId,
  kEventName,
  kReadOnly,
  kUsername,
  kResourceType,
  kResourceName,
  kEventSource,
  kAccessKeyId,
};
inline constexpr int kLookupKeyCount = 9;

/// Where a page resumes: strictly after (event_time, rowid) in newest-first order.
struct LookupCursor {
  std::int64_t event_time = std::numeric_limits<std::int64_t>::max();
  std::int64_t rowid = std::numeric_limits<std::int64_t>::max();
};

/// Thread contract: plain value type.
struct LookupQuery {
  LookupKey key = LookupKey::kNone;
  std::string value;      // ReadOnly: "true" -> "1", "false" -> "0" is left to the store
  bool insight = false;
  std::int64_t start_time = 0;  // inclusive, already >= now - retention
  std::int64_t end_time = 0;    // inclusive
  bool empty_range = false;     // start > end after clamping: nothing can match
  int max_results = 50;
  LookupCursor cursor;          // first page: the maximum
};

/// Validates `request` (throws LookupError with the AWS code; messages name the field and the
/// rule) and decodes its NextToken under `token_key`. `now` and `retention_seconds` define the
/// window. Thread contract: pure function.
LookupQuery make_lookup_query(const LookupRequest& request, std::int64_t now, std::int64_t retention_seconds,
                              std::string_view token_key);

/// The NextToken that resumes `request` after `cursor`. Thread contract: pure function.
std::string make_next_token(const LookupRequest& request, const LookupCursor& cursor, std::string_view token_key);

}  // namespace trailkit::detail
