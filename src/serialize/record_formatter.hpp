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
#include <initializer_list>
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
  void format_once(const DecodedEvent& record, std::uint64_t omit_mask, JsonBuffer& out);
  void write_user_identity(const Event& event, JsonBuffer& out);
  void write_string(JsonBuffer& out, std::string_view value);
  void write_truncated(JsonBuffer& out, std::string_view value);
  void write_json(JsonBuffer& out, const Event& event, Field field, std::uint64_t omit_mask, std::size_t limit);
  void write_json_or_null(JsonBuffer& out, const Event& event, Field field, std::uint64_t omit_mask, std::size_t limit);
  void write_optional_json(JsonBuffer& out, const Event& event, Field field, std::string_view key,
                           std::uint64_t omit_mask, std::size_t limit);

  // A string member: `"key":value`, cut at the 1 KB limit when `truncate`.
  struct Member {
    Field field;
    std::string_view key;
    bool truncate = false;
  };
  // Writes each present member, comma-separated (a comma first when `need_comma`). Returns
  // whether a comma is needed after what was written.
  bool write_members(JsonBuffer& out, const Event& event, std::initializer_list<Member> members, bool need_comma);
  // Writes `"key":{members}` when any member is present.
  bool write_object(JsonBuffer& out, const Event& event, std::string_view key, std::initializer_list<Member> members,
                    bool need_comma);

  FieldLimits limits_;
  std::string default_account_id_;
  std::string default_region_;
  FastRandom random_;
  FormatCounters counters_;
};

}  // namespace trailkit::detail
