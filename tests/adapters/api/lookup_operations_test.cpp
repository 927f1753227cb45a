// The history operations of `trailkit serve` (lookup_operations.hpp) in-process: a CloudTrailServer
// on an ephemeral port over a temporary state dir, its history written through the EventHistory
// API (the SQLite store the recorder uses, at <state_dir>/history.sqlite3), and requests sent by
// CloudTrailClient (the JSON 1.1 client `trailkit validate` uses). The stock aws CLI and boto3 are
// exercised by tests/integration/lookup_events_test.py.

#include "api/lookup_operations.hpp"

#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "api/cloudtrail_client.hpp"
#include "api/cloudtrail_server.hpp"
#include "common/civil_time.hpp"
#include "digest/state_files.hpp"
#include "support/files.hpp"
#include "support/manual_clock.hpp"

namespace {

using trailkit::api::CloudTrailClient;
using trailkit::api::CloudTrailError;
using trailkit::api::CloudTrailServer;
using Json = nlohmann::json;
namespace detail = trailkit::detail;

constexpr char kKeyId[] = "AKIDLOOKUPOPS0000001";
constexpr char kSecret[] = "lookup/ops+secret/01";
constexpr char kTrailArn[] = "arn:aws:cloudtrail:us-east-1:123456789012:trail/audit-trail";

// A compact record as the recorder writes it; `access_key` / `user` "" leave the member out.
std::string record(const std::string& id, std::int64_t time, const std::string& name, const std::string& access_key,
                   const std::string& user) {
  char stamp[21];
  detail::format_event_time(time, stamp);
  stamp[20] = '\0';
  Json identity = {{"type", "IAMUser"}, {"accountId", "123456789012"}};
  if (!access_key.empty()) identity["accessKeyId"] = access_key;
  if (!user.empty()) identity["userName"] = user;
  const Json r = {{"eventVersion", "1.11"},
                  {"userIdentity", identity},
                  {"eventTime", stamp},
                  {"eventSource", "iam.amazonaws.com"},
                  {"eventName", name},
                  {"awsRegion", "us-east-1"},
                  {"eventID", id},
                  {"readOnly", name.rfind("Get", 0) == 0},
                  {"resources", Json::array({{{"type", "AWS::IAM::User"},
                                              {"ARN", "arn:aws:iam::123456789012:user/" + user + "x"}}})},
                  {"eventType", "AwsApiCall"},
                  {"managementEvent", true},
                  {"recipientAccountId", "123456789012"},
                  {"eventCategory", "Management"}};
  return r.dump();
}

class LookupOperationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    now_ = std::time(nullptr);
    clock_ = std::make_shared<trailkit::testing::ManualClock>(now_);
    detail::TrailDescription trail;
    trail.name = "audit-trail";
    trail.account_id = "123456789012";
    trail.home_region = "us-east-1";
    trail.bucket = "audit-bucket";
    detail::write_trail_description(state_.str(), trail);
  }

  void start(double rate = 0) {
    trailkit::api::CloudTrailServerOptions options;
    options.port = 0;
    options.state_dir = state_.str();
    options.credentials = {{kKeyId, kSecret}};
    server_ = std::make_unique<CloudTrailServer>(options);
    trailkit::api::LookupOperationsOptions lookup;
    lookup.lookup_requests_per_second = rate;
    lookup.clock = clock_;
    trailkit::api::add_lookup_operations(*server_, lookup);
    server_->start();
    trailkit::api::CloudTrailClientOptions client;
    client.endpoint_url = "http://127.0.0.1:" + std::to_string(server_->port());
    client.credentials = trailkit::s3::Credentials{kKeyId, kSecret, ""};
    client_ = std::make_unique<CloudTrailClient>(client);
  }

  // The writer side, as the recorder opens it.
  trailkit::EventHistory& history() {
    if (!writer_) {
      trailkit::SqliteHistoryOptions options;
      options.path = history_path();
      writer_ = trailkit::open_sqlite_history(options);
    }
    return *writer_;
  }
  std::string history_path() const { return state_.str() + "/history.sqlite3"; }

  void add(const std::vector<std::string>& records) {
    std::vector<trailkit::HistoryRecord> batch;
    for (const std::string& r : records) batch.push_back(trailkit::history_record_from_json(r).value());
    history().add(batch);
  }

  Json call(const std::string& operation, const Json& body) {
    return Json::parse(client_->call(operation, body.dump()));
  }
  // The AWS error code of a call that must fail ("" if it succeeded).
  std::string error_of(const std::string& operation, const std::string& raw_body) {
    try {
      client_->call(operation, raw_body);
    } catch (const CloudTrailError& error) {
      return error.code();
    }
    return "";
  }

  trailkit::testing::TempDir state_{"trailkit-lookup-ops"};
  std::int64_t now_ = 0;
  std::shared_ptr<trailkit::testing::ManualClock> clock_;
  std::unique_ptr<trailkit::EventHistory> writer_;
  std::unique_ptr<CloudTrailServer> server_;
  std::unique_ptr<CloudTrailClient> client_;
};

TEST_F(LookupOperationsTest, LookupEventsAnswersWithTheApiMembersNewestFirst) {
  const std::string with_key = record("e-1", now_ - 300, "CreateUser", "AKIAEXAMPLE", "alice");
  add({with_key, record("e-2", now_ - 200, "GetUser", "", ""), record("e-3", now_ - 100, "CreateUser", "AKIA2", "bob")});
  start();

  const Json all = call("LookupEvents", Json::object());
  ASSERT_EQ(all.at("Events").size(), 3u) << all;
  EXPECT_EQ(all.at("Events")[0].at("EventId"), "e-3");
  EXPECT_EQ(all.at("Events")[2].at("EventId"), "e-1");
  EXPECT_FALSE(all.contains("NextToken")) << all;

  const Json& first = all.at("Events")[2];
  EXPECT_EQ(first.at("EventName"), "CreateUser");
  EXPECT_EQ(first.at("ReadOnly"), "false");  // a string, as the API model says
  EXPECT_EQ(first.at("AccessKeyId"), "AKIAEXAMPLE");
  EXPECT_EQ(first.at("Username"), "alice");
  EXPECT_EQ(first.at("EventSource"), "iam.amazonaws.com");
  // An epoch number sent as a float (the aws CLI v1 prints it as it comes off the wire).
  EXPECT_TRUE(first.at("EventTime").is_number_float()) << first;
  EXPECT_EQ(first.at("EventTime").get<double>(), static_cast<double>(now_ - 300));
  EXPECT_EQ(first.at("Resources"), Json::parse(R"([{"ResourceType":"AWS::IAM::User","ResourceName":"alicex"}])"));
  EXPECT_EQ(first.at("CloudTrailEvent"), with_key);  // the compact record, byte for byte

  // No access key and no user name: the members are absent, not "" (CloudTrail omits them).
  const Json& anonymous = all.at("Events")[1];
  EXPECT_EQ(anonymous.at("ReadOnly"), "true");
  EXPECT_FALSE(anonymous.contains("AccessKeyId")) << anonymous;
  EXPECT_FALSE(anonymous.contains("Username")) << anonymous;

  const Json by_user =
      call("LookupEvents", {{"LookupAttributes", {{{"AttributeKey", "Username"}, {"AttributeValue", "bob"}}}}});
  ASSERT_EQ(by_user.at("Events").size(), 1u) << by_user;
  EXPECT_EQ(by_user.at("Events")[0].at("EventId"), "e-3");
}

// An Insights record (spec §2): no top-level eventName / eventSource / userIdentity; the API it is
// about is under insightDetails.
std::string insight_record(const std::string& id, std::int64_t time, const std::string& name, const std::string& state) {
  char stamp[21];
  detail::format_event_time(time, stamp);
  stamp[20] = '\0';
  const Json r = {{"eventVersion", "1.11"},
                  {"eventTime", stamp},
                  {"awsRegion", "us-east-1"},
                  {"eventID", id},
                  {"eventType", "AwsCloudTrailInsight"},
                  {"recipientAccountId", "123456789012"},
                  {"sharedEventID", "5d3f8c1e-0000-4000-8000-000000000001"},
                  {"insightDetails",
                   {{"state", state},
                    {"eventSource", "iam.amazonaws.com"},
                    {"eventName", name},
                    {"insightType", "ApiCallRateInsight"},
                    {"insightContext", {{"statistics", {{"baseline", {{"average", 0.5}}}, {"insight", {{"average", 9.0}}}}}}}}},
                  {"eventCategory", "Insight"}};
  return r.dump();
}

TEST_F(LookupOperationsTest, InsightCategoryReturnsTheInsightsEventsOnly) {
  add({record("m-1", now_ - 400, "CreateUser", "AKIA1", "alice"), insight_record("i-1", now_ - 300, "CreateUser", "Start"),
       record("m-2", now_ - 200, "DeleteUser", "AKIA1", "alice"), insight_record("i-2", now_ - 100, "CreateUser", "End"),
       insight_record("i-3", now_ - 50, "AttachUserPolicy", "Start")});
  start();
  const Json insights = call("LookupEvents", {{"EventCategory", "insight"}});
  ASSERT_EQ(insights.at("Events").size(), 3u) << insights;
  EXPECT_EQ(insights.at("Events")[0].at("EventId"), "i-3");
  EXPECT_EQ(insights.at("Events")[0].at("EventName"), "AttachUserPolicy");  // from insightDetails
  EXPECT_EQ(insights.at("Events")[0].at("EventSource"), "iam.amazonaws.com");
  EXPECT_EQ(insights.at("Events")[2].at("EventId"), "i-1");
  EXPECT_EQ(Json::parse(insights.at("Events")[1].at("CloudTrailEvent").get<std::string>()).at("insightDetails").at("state"), "End");
  const Json by_name = call("LookupEvents", {{"EventCategory", "insight"},
                                             {"LookupAttributes", Json::array({{{"AttributeKey", "EventName"}, {"AttributeValue", "CreateUser"}}})}});
  ASSERT_EQ(by_name.at("Events").size(), 2u) << by_name;
  EXPECT_EQ(by_name.at("Events")[0].at("EventId"), "i-2");
  const Json by_id = call("LookupEvents", {{"EventCategory", "insight"},
                                           {"LookupAttributes", Json::array({{{"AttributeKey", "EventId"}, {"AttributeValue", "i-1"}}})}});
  ASSERT_EQ(by_id.at("Events").size(), 1u) << by_id;
  // Management listings never show them, nor an insight lookup a management event.
  const Json management = call("LookupEvents", Json::object());
  ASSERT_EQ(management.at("Events").size(), 2u) << management;
  EXPECT_EQ(management.at("Events")[0].at("EventId"), "m-2");
  const Json management_by_name = call("LookupEvents", {{"LookupAttributes", Json::array({{{"AttributeKey", "EventName"}, {"AttributeValue", "CreateUser"}}})}});
  ASSERT_EQ(management_by_name.at("Events").size(), 1u) << management_by_name;
  EXPECT_EQ(management_by_name.at("Events")[0].at("EventId"), "m-1");
}

TEST_F(LookupOperationsTest, NextTokenPagesThroughEveryEventOnce) {
  std::vector<std::string> records;
  for (int i = 0; i < 23; ++i) records.push_back(record("p-" + std::to_string(i), now_ - 1000 + i / 3, "CreateUser", "AKIA1", "u"));
  add(records);
  start();
  std::vector<std::string> seen;
  Json request = {{"MaxResults", 5}};
  int pages = 0;
  for (;;) {
    const Json page = call("LookupEvents", request);
    ++pages;
    for (const Json& event : page.at("Events")) seen.push_back(event.at("EventId"));
    if (!page.contains("NextToken")) break;
    request["NextToken"] = page.at("NextToken");
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(pages, 5);
  EXPECT_EQ(seen.size(), 23u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 23u);
  // The token is bound to the request's parameters (spec §6.2).
  request["LookupAttributes"] = Json::array({{{"AttributeKey", "EventName"}, {"AttributeValue", "CreateUser"}}});
  const Json first = call("LookupEvents", {{"MaxResults", 5}});
  EXPECT_EQ(error_of("LookupEvents", Json({{"NextToken", first.at("NextToken")},
                                           {"LookupAttributes", request["LookupAttributes"]}})
                                         .dump()),
            "InvalidNextTokenException");
}

TEST_F(LookupOperationsTest, InvalidRequestsGetTheAwsCodes) {
  add({record("e-1", now_ - 10, "CreateUser", "AKIA1", "alice")});
  start();
  // Wrong JSON types: SerializationException, as a JSON 1.1 service answers them.
  EXPECT_EQ(error_of("LookupEvents", R"({"LookupAttributes":{"AttributeKey":"EventName"}})"), "SerializationException");
  EXPECT_EQ(error_of("LookupEvents", R"({"LookupAttributes":[{"AttributeKey":7,"AttributeValue":"x"}]})"),
            "SerializationException");
  EXPECT_EQ(error_of("LookupEvents", R"({"StartTime":"2026-11-21T00:00:00Z"})"), "SerializationException");
  EXPECT_EQ(error_of("LookupEvents", R"({"MaxResults":5.5})"), "SerializationException");
  EXPECT_EQ(error_of("LookupEvents", R"({"MaxResults":"5"})"), "SerializationException");
  EXPECT_EQ(error_of("LookupEvents", R"({"NextToken":5})"), "SerializationException");
  EXPECT_EQ(error_of("LookupEvents", R"({"EventCategory":true})"), "SerializationException");
  // Semantic errors: the history's codes (spec §6.2 table).
  EXPECT_EQ(error_of("LookupEvents", R"({"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"a"},
                                                             {"AttributeKey":"Username","AttributeValue":"b"}]})"),
            "InvalidLookupAttributesException");
  EXPECT_EQ(error_of("LookupEvents", R"({"LookupAttributes":[{"AttributeKey":"EventName"}]})"),
            "InvalidLookupAttributesException");
  EXPECT_EQ(error_of("LookupEvents", R"({"MaxResults":51})"), "InvalidMaxResultsException");
  EXPECT_EQ(error_of("LookupEvents", R"({"MaxResults":99999999999})"), "InvalidMaxResultsException");
  EXPECT_EQ(error_of("LookupEvents", R"({"EventCategory":"Insight"})"), "InvalidEventCategoryException");
  EXPECT_EQ(error_of("LookupEvents", R"({"StartTime":2000000000,"EndTime":1000000000})"), "InvalidTimeRangeException");
  EXPECT_EQ(error_of("LookupEvents", R"({"NextToken":"not-a-token"})"), "InvalidNextTokenException");
}

TEST_F(LookupOperationsTest, FractionalTimesKeepExactlyTheEventsInsideTheWindow) {
  const std::int64_t t = now_ - 1000;
  add({record("at-t", t, "CreateUser", "AKIA1", "a"), record("at-t+1", t + 1, "CreateUser", "AKIA1", "a"),
       record("at-t+2", t + 2, "CreateUser", "AKIA1", "a")});
  start();
  auto ids = [&](double from, double to) {
    std::vector<std::string> out;
    const Json page = call("LookupEvents", {{"StartTime", from}, {"EndTime", to}});
    for (const Json& e : page.at("Events")) out.push_back(e.at("EventId"));
    return out;
  };
  const double base = static_cast<double>(t);
  EXPECT_EQ(ids(base + 0.5, base + 2.5), (std::vector<std::string>{"at-t+2", "at-t+1"}));
  EXPECT_EQ(ids(base, base + 1), (std::vector<std::string>{"at-t+1", "at-t"}));  // inclusive bounds
  // start <= end but no whole second between them: a valid request with no events.
  EXPECT_TRUE(ids(base + 1.2, base + 1.7).empty());
  const Json integer = call("LookupEvents", {{"StartTime", t + 2}, {"EndTime", t + 2}});
  ASSERT_EQ(integer.at("Events").size(), 1u);
}

TEST_F(LookupOperationsTest, WithoutAHistoryFileNothingIsFoundAndNoFileIsCreated) {
  start();
  EXPECT_EQ(call("LookupEvents", Json::object()), Json::parse(R"({"Events":[]})"));
  EXPECT_FALSE(std::filesystem::exists(history_path()));
  // The request is still checked.
  EXPECT_EQ(error_of("LookupEvents", R"({"MaxResults":0})"), "InvalidMaxResultsException");
  EXPECT_EQ(error_of("LookupEvents", R"({"NextToken":"AQAAAAA"})"), "InvalidNextTokenException");

  // The recorder creates the history later: the running server finds it, and sees later commits.
  add({record("late-1", now_ - 5, "CreateUser", "AKIA1", "a")});
  EXPECT_EQ(call("LookupEvents", Json::object()).at("Events").size(), 1u);
  add({record("late-2", now_ - 4, "CreateUser", "AKIA1", "a")});
  const Json both = call("LookupEvents", Json::object());
  ASSERT_EQ(both.at("Events").size(), 2u);
  EXPECT_EQ(both.at("Events")[0].at("EventId"), "late-2");
}

TEST_F(LookupOperationsTest, RateLimitThrottlesLookupEventsOnly) {
  start(2);
  EXPECT_EQ(error_of("LookupEvents", "{}"), "");
  EXPECT_EQ(error_of("LookupEvents", "{}"), "");
  EXPECT_EQ(error_of("LookupEvents", "{}"), "ThrottlingException");
  EXPECT_EQ(error_of("ListTrails", "{}"), "");  // other operations are not limited
  clock_->advance_seconds(1);                    // two more tokens, not more than the burst
  EXPECT_EQ(error_of("LookupEvents", "{}"), "");
  EXPECT_EQ(error_of("LookupEvents", "{}"), "");
  EXPECT_EQ(error_of("LookupEvents", "{}"), "ThrottlingException");
  clock_->advance_seconds(60);
  EXPECT_EQ(error_of("LookupEvents", "{}"), "");
  EXPECT_EQ(error_of("LookupEvents", "{}"), "");
  EXPECT_EQ(error_of("LookupEvents", "{}"), "ThrottlingException");
}

TEST_F(LookupOperationsTest, RateLimitOptionIsChecked) {
  trailkit::api::CloudTrailServerOptions options;
  options.credentials = {{kKeyId, kSecret}};
  CloudTrailServer server(options);
  trailkit::api::LookupOperationsOptions lookup;
  lookup.lookup_requests_per_second = -1;
  EXPECT_THROW(trailkit::api::add_lookup_operations(server, lookup), std::invalid_argument);
}

TEST_F(LookupOperationsTest, TrailOperationsDescribeTheServedTrail) {
  start();
  EXPECT_EQ(call("ListTrails", Json::object()),
            Json::parse(std::string(R"({"Trails":[{"TrailARN":")") + kTrailArn +
                        R"(","Name":"audit-trail","HomeRegion":"us-east-1"}]})"));
  const Json expected_selectors = Json::parse(std::string(R"({"TrailARN":")") + kTrailArn + R"(","EventSelectors":[
      {"ReadWriteType":"All","IncludeManagementEvents":true,"DataResources":[],"ExcludeManagementEventSources":[]}]})");
  EXPECT_EQ(call("GetEventSelectors", {{"TrailName", "audit-trail"}}), expected_selectors);
  EXPECT_EQ(call("GetEventSelectors", {{"TrailName", kTrailArn}}), expected_selectors);
  EXPECT_EQ(error_of("GetEventSelectors", R"({"TrailName":"other-trail"})"), "TrailNotFoundException");
  EXPECT_EQ(error_of("GetEventSelectors", R"({"TrailName":"a..b"})"), "InvalidTrailNameException");
  EXPECT_EQ(error_of("GetEventSelectors", "{}"), "InvalidTrailNameException");
  EXPECT_EQ(error_of("GetInsightSelectors", R"({"TrailName":"audit-trail"})"), "InsightNotEnabledException");
  EXPECT_EQ(error_of("GetInsightSelectors", R"({"TrailName":"other-trail"})"), "TrailNotFoundException");
  EXPECT_EQ(error_of("GetInsightSelectors", R"({"TrailName":"audit-trail","EventDataStore":"x"})"),
            "InvalidParameterCombinationException");

  std::filesystem::remove(detail::trail_description_path(state_.str()));
  EXPECT_EQ(call("ListTrails", Json::object()), Json::parse(R"({"Trails":[]})"));
}

TEST(LookupResponseJson, MembersInTheModelOrder) {
  trailkit::LookupResult result;
  trailkit::LookupEvent event;
  event.event_id = "id";
  event.event_name = "n";
  event.read_only = "true";
  event.access_key_id = "AKIA";
  event.event_time = 1700000000;
  event.event_source = "s";
  event.username = "u";
  event.resources = {{"T", "N"}};
  event.cloudtrail_event = "{}";
  result.events = {event};
  result.next_token = "tok";
  // botocore (and so the aws CLI) prints the members in this order; `trailkit lookup` matches it.
  EXPECT_EQ(trailkit::api::lookup_response_json(result).dump(),
            R"({"Events":[{"EventId":"id","EventName":"n","ReadOnly":"true","AccessKeyId":"AKIA",)"
            R"("EventTime":1700000000.0,"EventSource":"s","Username":"u",)"
            R"("Resources":[{"ResourceType":"T","ResourceName":"N"}],"CloudTrailEvent":"{}"}],"NextToken":"tok"})");
}

}  // namespace
