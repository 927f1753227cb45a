#pragma once
// The event-history operations of `trailkit serve` (cloudtrail-spec §6.2): LookupEvents over an
// EventHistory, plus ListTrails, GetEventSelectors and GetInsightSelectors for the served trail, so
// `aws cloudtrail lookup-events`, boto3's `lookup_events` paginator and the console-style "which
// trails, which selectors" calls work against a trail recorded by trailkit.
//
//   LookupEvents        request members as in the API (LookupAttributes, StartTime, EndTime,
//                       EventCategory, MaxResults, NextToken); a member of the wrong JSON type is a
//                       SerializationException, semantic errors are the history's LookupError codes
//                       (InvalidLookupAttributesException, ...) with HTTP 400. Fractional times (other
//                       SDKs) are rounded inwards: StartTime up, EndTime down (events have whole seconds).
//                       Response: {"Events":[{EventId, EventName, ReadOnly, AccessKeyId?, EventTime,
//                       EventSource, Username?, Resources, CloudTrailEvent}], "NextToken"?}; EventTime is
//                       an epoch number sent as a float (1700000000.0) as CloudTrail does, so the
//                       aws CLI v1 prints the same value it prints for CloudTrail; AccessKeyId and
//                       Username are absent when empty (as CloudTrail omits them).
//   ListTrails          {} -> {"Trails":[{TrailARN, Name, HomeRegion}]}: the served trail, or [] when
//                       trail.json is missing or names another region. One page; NextToken ignored.
//   GetEventSelectors   {"TrailName"} -> {"TrailARN", "EventSelectors":[...]}: the default selector of
//                       a trail without custom selectors (spec §5.1: all management events, read and
//                       write, no data events) — what the recorder records.
//   GetInsightSelectors {"TrailName"} -> InsightNotEnabledException: trailkit trails have no Insights
//                       selectors (the model: "If you run GetInsightSelectors on a trail ... that does
//                       not have Insights events enabled, the operation throws InsightNotEnabledException").
//
// Throttling: CloudTrail accepts 2 LookupEvents requests per second per account and region. With
// `lookup_requests_per_second` > 0 a token bucket (burst: one second's worth, at least 1) answers
// the excess with HTTP 400 ThrottlingException "Rate exceeded", which SDKs retry with backoff.
// Only authenticated LookupEvents calls draw from the bucket (the server authenticates first).

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>

#include "api/cloudtrail_server.hpp"
#include "trailkit/clock.hpp"
#include "trailkit/history.hpp"

namespace trailkit::api {

/// CloudTrail's LookupEvents rate: requests per second per account and region (spec §6.2).
inline constexpr double kCloudTrailLookupRequestsPerSecond = 2.0;

/// Settings of the history operations. Thread contract: plain value type.
struct LookupOperationsOptions {
  /// The history LookupEvents answers from. Null (default): `<state_dir>/history.sqlite3` of the
  /// server, opened with open_sqlite_history() by the first LookupEvents that finds the file and
  /// kept open (SQLite WAL: each query sees the recorder's committed events). Until the file exists
  /// LookupEvents answers no events rather than creating a database the recorder has not made.
  std::shared_ptr<const EventHistory> history;
  /// LookupEvents requests accepted per second; 0 (default) = unlimited, the natural setting for a
  /// local endpoint. kCloudTrailLookupRequestsPerSecond reproduces CloudTrail's throttling, e.g. to
  /// test a client's retry handling. Must be finite and >= 0.
  double lookup_requests_per_second = 0;
  /// Monotonic time of the token bucket; null = trailkit::system_clock(). Tests script it.
  std::shared_ptr<Clock> clock;
};

/// Registers LookupEvents, ListTrails, GetEventSelectors and GetInsightSelectors on `server`
/// (replacing operations of those names). Throws std::invalid_argument naming
/// lookup_requests_per_second when it is negative or not finite. Thread contract: as
/// CloudTrailServer::add_operation (before start()); the handlers then run on the server's I/O thread.
void add_lookup_operations(CloudTrailServer& server, LookupOperationsOptions options = {});

/// The LookupEvents response body for `result`, members in the API model's order (which is the
/// order botocore, and so the aws CLI, prints them in). Thread contract: pure function.
nlohmann::ordered_json lookup_response_json(const LookupResult& result);

}  // namespace trailkit::api
