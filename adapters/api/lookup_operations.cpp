#include "api/lookup_operations.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "api/request_members.hpp"
#include "digest/state_files.hpp"
#include "history/lookup_query.hpp"

namespace trailkit::api {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

using detail::clamp_to_int64;
using detail::member;
using detail::string_member;
using detail::time_member;
using detail::wrong_type;

struct ParsedLookup {
  LookupRequest request;
  // StartTime <= EndTime, but no whole second lies between them (10.2 .. 10.7): a valid request
  // whose answer is necessarily empty.
  bool empty_window = false;
};

ParsedLookup parse_lookup(const Json& input) {
  ParsedLookup parsed;
  LookupRequest& request = parsed.request;
  if (const Json* attributes = member(input, "LookupAttributes")) {
    if (!attributes->is_array()) wrong_type("LookupAttributes", "a list of LookupAttribute structures");
    for (const Json& attribute : *attributes) {
      if (!attribute.is_object()) wrong_type("LookupAttributes", "a list of LookupAttribute structures");
      // A missing key or value stays "": the history rejects it as InvalidLookupAttributesException.
      request.attributes.push_back({string_member(attribute, "AttributeKey").value_or(""),
                                    string_member(attribute, "AttributeValue").value_or("")});
    }
  }
  const std::optional<long double> start = time_member(input, "StartTime");
  const std::optional<long double> end = time_member(input, "EndTime");
  // Both bounds are inclusive and events carry whole seconds, so rounding inwards keeps exactly
  // the events inside a fractional window.
  if (start) request.start_time = clamp_to_int64(std::ceil(*start));
  if (end) request.end_time = clamp_to_int64(std::floor(*end));
  if (start && end && *start <= *end && *request.start_time > *request.end_time) {
    parsed.empty_window = true;
    request.end_time = request.start_time;  // still validated below, with a well-formed range
  }
  request.event_category = string_member(input, "EventCategory");
  if (const Json* max_results = member(input, "MaxResults")) {
    if (!max_results->is_number_integer()) wrong_type("MaxResults", "an integer");
    // Out-of-range values stay out of range (the history answers InvalidMaxResultsException).
    if (max_results->is_number_unsigned()) {
      request.max_results = static_cast<int>(std::min<std::uint64_t>(max_results->get<std::uint64_t>(),
                                                                     std::numeric_limits<int>::max()));
    } else {
      request.max_results = static_cast<int>(std::clamp<std::int64_t>(
          max_results->get<std::int64_t>(), std::numeric_limits<int>::min(), std::numeric_limits<int>::max()));
    }
  }
  request.next_token = string_member(input, "NextToken").value_or("");
  return parsed;
}

template <class JsonType>
JsonType response_json(const LookupResult& result) {
  JsonType events = JsonType::array();
  for (const LookupEvent& event : result.events) {
    JsonType out = JsonType::object();
    out["EventId"] = event.event_id;
    out["EventName"] = event.event_name;
    out["ReadOnly"] = event.read_only;
    if (!event.access_key_id.empty()) out["AccessKeyId"] = event.access_key_id;
    // A float, as CloudTrail sends it: the aws CLI v1 prints timestamps as they come off the wire.
    out["EventTime"] = static_cast<double>(event.event_time);
    out["EventSource"] = event.event_source;
    if (!event.username.empty()) out["Username"] = event.username;
    JsonType resources = JsonType::array();
    for (const HistoryRecord::Resource& resource : event.resources) {
      JsonType r = JsonType::object();
      r["ResourceType"] = resource.type;
      r["ResourceName"] = resource.name;
      resources.push_back(std::move(r));
    }
    out["Resources"] = std::move(resources);
    out["CloudTrailEvent"] = event.cloudtrail_event;
    events.push_back(std::move(out));
  }
  JsonType body = JsonType::object();
  body["Events"] = std::move(events);
  if (!result.next_token.empty()) body["NextToken"] = result.next_token;
  return body;
}

bool file_exists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

// Shared by the handlers. They run one at a time on the server's I/O thread, so no lock.
class LookupService {
 public:
  explicit LookupService(LookupOperationsOptions options) : options_(std::move(options)) {
    if (!std::isfinite(options_.lookup_requests_per_second) || options_.lookup_requests_per_second < 0)
      throw std::invalid_argument("lookup_requests_per_second must be a finite number >= 0 (0 = unlimited)");
    if (!options_.clock) options_.clock = system_clock();
    capacity_ = std::max(1.0, options_.lookup_requests_per_second);
    tokens_ = capacity_;
    refilled_at_ns_ = options_.clock->monotonic_now_ns();
  }

  Json lookup_events(const Json& input, const OperationContext& context) {
    take_token();
    ParsedLookup parsed = parse_lookup(input);
    LookupResult result;
    try {
      if (const EventHistory* history = history_for(context)) {
        result = history->lookup(parsed.request, context.now);
      } else {
        // No database yet, so nothing recorded: the request is still checked as a store would
        // (a NextToken cannot be valid: no store has issued one).
        detail::make_lookup_query(parsed.request, context.now, SqliteHistoryOptions{}.retention_days * 86400, "");
      }
    } catch (const LookupError& error) {
      throw ApiError(error.code(), error.what(), 400);
    }
    if (parsed.empty_window) result = LookupResult{};
    return Json(response_json<Json>(result));
  }

 private:
  void take_token() {
    const double rate = options_.lookup_requests_per_second;
    if (rate == 0) return;
    const std::int64_t now = options_.clock->monotonic_now_ns();
    tokens_ = std::min(capacity_, tokens_ + static_cast<double>(now - refilled_at_ns_) * rate / 1e9);
    refilled_at_ns_ = now;
    if (tokens_ < 1.0) throw ApiError("ThrottlingException", "Rate exceeded", 400);
    tokens_ -= 1.0;
  }

  const EventHistory* history_for(const OperationContext& context) {
    if (options_.history) return options_.history.get();
    if (!opened_) {
      // The recorder creates the database; a reader must not create an empty one in its place
      // (say, under a mistyped --state-dir).
      const std::string path = detail::history_database_path(context.state_dir);
      if (!file_exists(path)) return nullptr;
      SqliteHistoryOptions sqlite;
      sqlite.path = path;
      opened_ = open_sqlite_history(sqlite);
    }
    return opened_.get();
  }

  LookupOperationsOptions options_;
  std::unique_ptr<EventHistory> opened_;
  double capacity_ = 1;
  double tokens_ = 1;
  std::int64_t refilled_at_ns_ = 0;
};

// ---- the served trail ----

Json list_trails(const Json& input, const OperationContext& context) {
  string_member(input, "NextToken");  // type-checked; there is only one page
  const std::optional<detail::TrailDescription> trail = detail::read_trail_description(context.state_dir);
  Json trails = Json::array();
  // As DescribeTrails: the trails of the served region.
  if (trail && (context.region.empty() || context.region == trail->home_region))
    trails.push_back({{"TrailARN", trail->arn()}, {"Name", trail->name}, {"HomeRegion", trail->home_region}});
  return {{"Trails", std::move(trails)}};
}

Json get_event_selectors(const Json& input, const OperationContext& context) {
  const std::optional<std::string> name = string_member(input, "TrailName");
  const detail::TrailDescription trail = designated_trail(name.value_or(""), context);
  // The default selector of a trail created without selectors (spec §5.1), which is what the
  // recorder records: every management event, read and write, no data events.
  Json selector = {{"ReadWriteType", "All"},
                   {"IncludeManagementEvents", true},
                   {"DataResources", Json::array()},
                   {"ExcludeManagementEventSources", Json::array()}};
  return {{"TrailARN", trail.arn()}, {"EventSelectors", Json::array({std::move(selector)})}};
}

Json get_insight_selectors(const Json& input, const OperationContext& context) {
  const std::optional<std::string> name = string_member(input, "TrailName");
  const std::optional<std::string> event_data_store = string_member(input, "EventDataStore");
  if (name && event_data_store)
    throw ApiError("InvalidParameterCombinationException", "Specify either TrailName or EventDataStore, not both.");
  if (event_data_store)
    throw ApiError("UnsupportedOperationException", "This endpoint serves a trail; it has no event data stores.");
  if (!name) throw ApiError("InvalidParameterCombinationException", "Specify either TrailName or EventDataStore.");
  const detail::TrailDescription trail = designated_trail(*name, context);
  throw ApiError("InsightNotEnabledException", "Trail " + trail.arn() + " does not have Insights enabled.");
}

}  // namespace

OrderedJson lookup_response_json(const LookupResult& result) { return response_json<OrderedJson>(result); }

void add_lookup_operations(CloudTrailServer& server, LookupOperationsOptions options) {
  auto service = std::make_shared<LookupService>(std::move(options));
  server.add_operation("LookupEvents", [service](const Json& input, const OperationContext& context) {
    return service->lookup_events(input, context);
  });
  server.add_operation("ListTrails", list_trails);
  server.add_operation("GetEventSelectors", get_event_selectors);
  server.add_operation("GetInsightSelectors", get_insight_selectors);
}

}  // namespace trailkit::api
