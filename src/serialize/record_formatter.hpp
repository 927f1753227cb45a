#pragma once
// RecordFormatter — writes one CloudTrail record as compact JSON (the `serialize` stage).
//
// Key order follows real trail files (spec §1.1) so diffs against real logs stay readable.
// Presence rules (spec §1.2, pitfall 7): requestParameters/responseElements always present (null
// when absent); errorCode, invokedBy and the other conditional keys only when set;
// managementEvent only for AwsApiCall/AwsConsoleAction/AwsConsoleSignIn/AwsServiceEvent;
// mfaAuthenticated and sessionCredentialFromConsole as strings; readOnly as a boolean.
// Whatever the caller passed, the output is valid UTF-8 JSON (see json_escape.hpp).
//
// Thread contract: worker thread only; one instance per worker.

#include <cstdint>
#include <string>

#include "common/fast_random.hpp"
#include "emit/event_codec.hpp"
#include "serialize/json_buffer.hpp"
#include "trailkit/recorder.hpp"

namespace trailkit::detail {

struct FormatCounters {
  std::uint64_t sanitized = 0;  // strings with invalid UTF-8 replaced
  std::uint64_t truncated = 0;  // 1 KB fields cut
  std::uint64_t omitted = 0;    // JSON values replaced by the marker
};

class RecordFormatter {
 public:
  RecordFormatter(const FieldLimits& limits, std::string default_account_id, std::string default_region);

  /// Appends `record` to `out` (no separator). Never fails: bad JSON values become the marker.
  void format(const DecodedEvent& record, JsonBuffer& out);

  /// The account and region a record belongs to (its own, else the defaults).
  std::string_view account_of(const Event& event) const noexcept {
    return event.has(Field::kRecipientAccountId) ? event.get(Field::kRecipientAccountId) : default_account_id_;
  }
  std::string_view region_of(const Event& event) const noexcept {
    return event.has(Field::kAwsRegion) ? event.get(Field::kAwsRegion) : default_region_;
  }

  const FormatCounters& counters() const noexcept { return counters_; }

 private:
  // The write cursor of one record (defined in the .cpp): room for the whole record is reserved once, so keys,
  // punctuation and short strings are written with no per-append capacity check.
  struct Cursor;
  // The last timestamp text written, per field: records arrive in time order, so at any real rate most records
  // share their eventTime second (and a session's creationDate) with the one before, and the civil-date
  // conversion is skipped.
  struct TimeText {
    bool valid = false;
    std::int64_t epoch_seconds = 0;
    char text[20] = {};
  };

  void format_once(const DecodedEvent& record, std::uint64_t omit_mask, JsonBuffer& out);
  std::size_t record_room(const Event& event) const noexcept;
  void write_user_identity(const Event& event, Cursor& c);
  static void write_time(Cursor& c, TimeText& cache, std::int64_t epoch_seconds) noexcept;
  // write_string/write_truncated are inline (clean short strings, most of a record's ~30, need no call); the
  // _slow forms do everything else out of line.
  void write_string(Cursor& c, std::string_view value);
  void write_string_slow(Cursor& c, std::string_view value);
  void write_chunked(Cursor& c, std::string_view value);  // over kJsonStringChunk: through JsonBuffer
  void write_truncated(Cursor& c, std::string_view value);
  void write_truncated_slow(Cursor& c, std::string_view value);
  void write_json(Cursor& c, const Event& event, Field field, std::uint64_t omit_mask, std::size_t limit);
  void write_json_or_null(Cursor& c, const Event& event, Field field, std::uint64_t omit_mask, std::size_t limit);
  // `key` is the whole `,"name":` literal.
  template <std::size_t N>
  void write_optional_json(Cursor& c, const Event& event, Field field, const char (&key)[N], std::uint64_t omit_mask,
                           std::size_t limit);
  // Writes `,"key":"value"` (no comma when !comma) when `field` is present, then sets `comma`.
  template <std::size_t N>
  void write_member(Cursor& c, const Event& event, Field field, const char (&key)[N], bool& comma,
                    bool truncate = false);
  // One string member of a nested object: the field and its whole `,"name":` key literal.
  template <std::size_t N>
  struct NestedMember {
    Field field;
    const char (&key)[N];
  };
  template <std::size_t N>
  NestedMember(Field, const char (&)[N]) -> NestedMember<N>;
  // Writes `open` (e.g. `,"tlsDetails":{`), the members that are present and `}`; nothing at all when
  // none is present (CloudTrail omits an empty addendum or tlsDetails).
  template <std::size_t N, std::size_t... M>
  void write_nested_object(Cursor& c, const Event& event, const char (&open)[N], NestedMember<M>... members);

  FieldLimits limits_;
  std::string default_account_id_;
  std::string default_region_;
  std::size_t defaults_room_;  // record_room()'s constant part: keys, punctuation, the two defaults
  FastRandom random_;
  FormatCounters counters_;
  TimeText event_time_text_;
  TimeText creation_time_text_;
};

}  // namespace trailkit::detail
