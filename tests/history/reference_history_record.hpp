#pragma once
// reference_history_record_from_json — the nlohmann SAX derivation that src/history/history_record.cpp
// replaced, kept unchanged in behaviour as the oracle of the differential tests (history_record_test)
// and as the baseline of bench/history_extract_bench.cpp. Test-only: it is not part of the library.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/civil_time.hpp"
#include "trailkit/history.hpp"

namespace trailkit::test {
namespace reference_internal {

// Strict `YYYY-MM-DDTHH:MM:SSZ` (spec §1.3 eventTime) to epoch seconds; no locale, no timegm.
inline std::optional<std::int64_t> parse_event_time(std::string_view text) {
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != 'Z') {
    return std::nullopt;
  }
  const auto number = [&](std::size_t at, std::size_t digits) -> int {
    int value = 0;
    for (std::size_t i = at; i < at + digits; ++i) {
      if (text[i] < '0' || text[i] > '9') return -1;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  const int year = number(0, 4), month = number(5, 2), day = number(8, 2);
  const int hour = number(11, 2), minute = number(14, 2), second = number(17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return std::nullopt;
  return trailkit::detail::epoch_from_civil(year, month, day, hour, minute, second);
}

// Where the parser is: only these objects hold fields the history needs.
enum class Where : std::uint8_t {
  kTop,
  kUserIdentity,
  kSessionContext,
  kSessionIssuer,
  kResources,  // the top-level `resources` array
  kResource,   // one element of it
  kInsightDetails,
  kOther,
};

struct Fields {
  std::string event_id, event_name, event_source, event_time, event_category, account_id, region;
  bool read_only = false;
  bool has_category = false;
  std::string identity_type, user_name, arn, access_key_id, invoked_by, issuer_user_name;
  std::string insight_event_name, insight_event_source;
  struct RawResource {
    std::string type, arn;
  };
  std::vector<RawResource> resources;
};

class RecordSax {
 public:
  using json = nlohmann::json;
  explicit RecordSax(Fields& fields) : fields_(fields) {}

  bool null() { return value_done(); }
  bool boolean(bool value) {
    if (where() == Where::kTop && key_ == "readOnly") fields_.read_only = value;
    return value_done();
  }
  bool number_integer(json::number_integer_t) { return value_done(); }
  bool number_unsigned(json::number_unsigned_t) { return value_done(); }
  bool number_float(json::number_float_t, const json::string_t&) { return value_done(); }
  bool binary(json::binary_t&) { return value_done(); }
  bool string(json::string_t& value) {
    if (std::string* target = string_target()) *target = std::move(value);
    return value_done();
  }
  bool key(json::string_t& name) {
    key_ = name;
    return true;
  }
  bool start_object(std::size_t) {
    Where next = Where::kOther;
    if (stack_.empty()) {
      next = Where::kTop;
    } else {
      switch (where()) {
        case Where::kTop:
          next = key_ == "userIdentity" ? Where::kUserIdentity
                                        : (key_ == "insightDetails" ? Where::kInsightDetails : Where::kOther);
          break;
        case Where::kUserIdentity: next = key_ == "sessionContext" ? Where::kSessionContext : Where::kOther; break;
        case Where::kSessionContext: next = key_ == "sessionIssuer" ? Where::kSessionIssuer : Where::kOther; break;
        case Where::kResources:
          next = Where::kResource;
          fields_.resources.emplace_back();
          break;
        default: break;
      }
    }
    stack_.push_back(next);
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return value_done();
  }
  bool start_array(std::size_t) {
    stack_.push_back(where() == Where::kTop && key_ == "resources" ? Where::kResources : Where::kOther);
    return true;
  }
  bool end_array() {
    stack_.pop_back();
    return value_done();
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

 private:
  Where where() const { return stack_.empty() ? Where::kOther : stack_.back(); }
  // A finished value leaves the key of its object behind; clearing it keeps array elements (which
  // have no key) from matching the key that named the array.
  bool value_done() {
    key_.clear();
    return true;
  }
  std::string* string_target() {
    switch (where()) {
      case Where::kTop:
        if (key_ == "eventID") return &fields_.event_id;
        if (key_ == "eventName") return &fields_.event_name;
        if (key_ == "eventSource") return &fields_.event_source;
        if (key_ == "eventTime") return &fields_.event_time;
        if (key_ == "recipientAccountId") return &fields_.account_id;
        if (key_ == "awsRegion") return &fields_.region;
        if (key_ == "eventCategory") {
          fields_.has_category = true;
          return &fields_.event_category;
        }
        return nullptr;
      case Where::kUserIdentity:
        if (key_ == "type") return &fields_.identity_type;
        if (key_ == "userName") return &fields_.user_name;
        if (key_ == "arn") return &fields_.arn;
        if (key_ == "accessKeyId") return &fields_.access_key_id;
        if (key_ == "invokedBy") return &fields_.invoked_by;
        return nullptr;
      case Where::kSessionIssuer: return key_ == "userName" ? &fields_.issuer_user_name : nullptr;
      case Where::kResource:
        if (key_ == "type") return &fields_.resources.back().type;
        if (key_ == "ARN") return &fields_.resources.back().arn;
        return nullptr;
      case Where::kInsightDetails:
        if (key_ == "eventName") return &fields_.insight_event_name;
        if (key_ == "eventSource") return &fields_.insight_event_source;
        return nullptr;
      default: return nullptr;
    }
  }

  Fields& fields_;
  std::vector<Where> stack_;
  std::string key_;
};

inline std::string derive_username(Fields& f) {
  if (!f.user_name.empty()) return std::move(f.user_name);
  if (f.identity_type == "AssumedRole" && !f.arn.empty()) {
    const auto slash = f.arn.rfind('/');
    if (slash != std::string::npos && slash + 1 < f.arn.size()) return f.arn.substr(slash + 1);
  }
  if (!f.issuer_user_name.empty()) return std::move(f.issuer_user_name);
  if (!f.invoked_by.empty()) return std::move(f.invoked_by);
  // The console's event history shows "root" for a root user without an account alias.
  if (f.identity_type == "Root") return "root";
  return {};
}

inline std::string derive_resource_name(const std::string& arn) {
  const auto cut = arn.find_last_of(":/");
  if (cut == std::string::npos || cut + 1 == arn.size()) return arn;
  return arn.substr(cut + 1);
}

}  // namespace reference_internal

/// The SAX derivation as it was before the scanner: the oracle for the differential tests and the
/// baseline of history_extract_bench. Same contract as trailkit::history_record_from_json.
/// Thread contract: pure function.
inline std::optional<HistoryRecord> reference_history_record_from_json(std::string_view compact_record) {
  using namespace reference_internal;
  Fields f;
  RecordSax sax(f);
  if (!nlohmann::json::sax_parse(compact_record.begin(), compact_record.end(), &sax)) return std::nullopt;

  HistoryRecord record;
  if (f.has_category && f.event_category != "Management") {
    if (f.event_category != "Insight") return std::nullopt;  // Data, NetworkActivity, anything new
    record.insight = true;
    // Insights records carry the API they describe under insightDetails (spec §2).
    if (f.event_name.empty()) f.event_name = std::move(f.insight_event_name);
    if (f.event_source.empty()) f.event_source = std::move(f.insight_event_source);
  }
  const auto time = parse_event_time(f.event_time);
  if (!time || f.event_id.empty() || f.event_name.empty() || f.event_source.empty()) return std::nullopt;

  record.event_id = std::move(f.event_id);
  record.event_name = std::move(f.event_name);
  record.event_source = std::move(f.event_source);
  record.event_time = *time;
  record.read_only = f.read_only;
  record.access_key_id = std::move(f.access_key_id);
  record.username = derive_username(f);
  record.resources.reserve(f.resources.size());
  for (auto& r : f.resources) {
    if (r.type.empty() && r.arn.empty()) continue;
    record.resources.push_back(HistoryRecord::Resource{std::move(r.type), derive_resource_name(r.arn)});
  }
  record.account_id = std::move(f.account_id);
  record.region = std::move(f.region);
  record.cloudtrail_event.assign(compact_record);
  return record;
}

}  // namespace trailkit::test
