// history_record_from_json: the lookup attributes LookupEvents answers on, derived from the record
// (cloudtrail-spec §6.2 Username / ResourceName, §1.4 userIdentity, §1.5 eventCategory, §2 Insights).

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/civil_time.hpp"
#include "common/fast_random.hpp"
#include "history/reference_history_record.hpp"
#include "serialize/record_formatter.hpp"
#include "trailkit/event.hpp"
#include "trailkit/history.hpp"

namespace trailkit {
namespace {

std::string record(const std::string& identity, const std::string& extra = "") {
  return R"({"eventVersion":"1.11","userIdentity":)" + identity +
         R"(,"eventTime":"2024-01-02T00:00:00Z","eventSource":"iam.amazonaws.com","eventName":"GetUser",)"
         R"("awsRegion":"us-east-1","sourceIPAddress":"192.0.2.1","requestParameters":{"userName":"not-this",)"
         R"("eventName":"nor-this","resources":[{"ARN":"arn:aws:iam::1:user/nested"}]},"responseElements":null,)"
         R"("eventID":"e-1","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,)"
         R"("recipientAccountId":"111122223333")" +
         extra + "}";
}

constexpr const char* kIamUser =
    R"({"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice",)"
    R"("accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"alice"})";

TEST(HistoryRecord, IamUserFieldsComeFromTheRecord) {
  const std::string json = record(kIamUser, R"(,"eventCategory":"Management")");
  const auto r = history_record_from_json(json);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->event_id, "e-1");
  EXPECT_EQ(r->event_name, "GetUser");  // not requestParameters.eventName
  EXPECT_EQ(r->event_source, "iam.amazonaws.com");
  EXPECT_EQ(r->event_time, 1704153600);
  EXPECT_TRUE(r->read_only);
  EXPECT_EQ(r->access_key_id, "AKIAEXAMPLE");
  EXPECT_EQ(r->username, "alice");  // not requestParameters.userName
  EXPECT_FALSE(r->insight);
  EXPECT_EQ(r->account_id, "111122223333");
  EXPECT_EQ(r->region, "us-east-1");
  EXPECT_TRUE(r->resources.empty());  // requestParameters.resources is not the record's
  EXPECT_EQ(r->cloudtrail_event, json);  // byte-identical
}

TEST(HistoryRecord, AssumedRoleUsesTheSessionName) {
  const auto r = history_record_from_json(record(
      R"({"type":"AssumedRole","principalId":"AROAEXAMPLE:my-session","arn":"arn:aws:sts::111122223333:assumed-role/Admin/my-session",)"
      R"("accountId":"111122223333","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role",)"
      R"("principalId":"AROAEXAMPLE","arn":"arn:aws:iam::111122223333:role/Admin","accountId":"111122223333","userName":"Admin"},)"
      R"("attributes":{"creationDate":"2024-01-01T00:00:00Z","mfaAuthenticated":"false"}},"invokedBy":"lambda.amazonaws.com"})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->username, "my-session");
  EXPECT_EQ(r->access_key_id, "ASIAEXAMPLE");
}

TEST(HistoryRecord, FederatedUserFallsBackToTheIssuer) {
  const auto r = history_record_from_json(record(
      R"({"type":"FederatedUser","arn":"arn:aws:sts::111122223333:federated-user/bob","sessionContext":{"sessionIssuer":)"
      R"({"type":"IAMUser","userName":"carol"}}})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->username, "carol");
}

TEST(HistoryRecord, RootUsesItsAliasElseRoot) {
  auto r = history_record_from_json(
      record(R"({"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","userName":"my-alias"})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->username, "my-alias");
  r = history_record_from_json(
      record(R"({"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accessKeyId":""})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->username, "root");
  EXPECT_EQ(r->access_key_id, "");
}

TEST(HistoryRecord, AwsServiceUsesInvokedBy) {
  const auto r = history_record_from_json(record(R"({"type":"AWSService","invokedBy":"ec2.amazonaws.com"})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->username, "ec2.amazonaws.com");
  EXPECT_FALSE(history_record_from_json(record(R"({"type":"AWSAccount","accountId":"444455556666"})"))->username.size());
}

TEST(HistoryRecord, ResourceNamesAreTheLastArnSegment) {
  const auto r = history_record_from_json(record(
      kIamUser,
      R"(,"resources":[{"accountId":"1","type":"AWS::IAM::User","ARN":"arn:aws:iam::111122223333:user/path/alice"},)"
      R"({"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::my-bucket"},)"
      R"({"type":"AWS::EC2::Instance","ARN":"arn:aws:ec2:us-east-1:111122223333:instance/i-0abc"},)"
      R"({"type":"AWS::KMS::Key","ARN":"arn:aws:kms:us-east-1:111122223333:key/"},)"
      R"({"type":"AWS::Custom::Thing","ARN":"plain-name"},)"
      R"({"type":"AWS::IAM::Role"}])"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->resources.size(), 6u);
  EXPECT_EQ(r->resources[0].type, "AWS::IAM::User");
  EXPECT_EQ(r->resources[0].name, "alice");
  EXPECT_EQ(r->resources[1].name, "my-bucket");
  EXPECT_EQ(r->resources[2].type, "AWS::EC2::Instance");
  EXPECT_EQ(r->resources[2].name, "i-0abc");
  EXPECT_EQ(r->resources[3].name, "arn:aws:kms:us-east-1:111122223333:key/");  // nothing after the '/'
  EXPECT_EQ(r->resources[4].name, "plain-name");
  EXPECT_EQ(r->resources[5].name, "");
}

TEST(HistoryRecord, OnlyManagementAndInsightEventsAreKept) {
  EXPECT_TRUE(history_record_from_json(record(kIamUser)));  // no eventCategory = Management
  EXPECT_TRUE(history_record_from_json(record(kIamUser, R"(,"eventCategory":"Management")")));
  EXPECT_FALSE(history_record_from_json(record(kIamUser, R"(,"eventCategory":"Data")")));
  EXPECT_FALSE(history_record_from_json(record(kIamUser, R"(,"eventCategory":"NetworkActivity")")));
}

TEST(HistoryRecord, InsightTakesTheApiFromInsightDetails) {
  const std::string json =
      R"({"eventVersion":"1.08","eventTime":"2024-03-04T05:06:07Z","awsRegion":"us-east-1","eventID":"i-1",)"
      R"("eventType":"AwsCloudTrailInsight","recipientAccountId":"111122223333","sharedEventID":"s",)"
      R"("insightDetails":{"state":"Start","eventSource":"ec2.amazonaws.com","eventName":"RunInstances",)"
      R"("insightType":"ApiCallRateInsight","insightContext":{"statistics":{"baseline":{"average":0.1}}}},)"
      R"("eventCategory":"Insight"})";
  const auto r = history_record_from_json(json);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->insight);
  EXPECT_EQ(r->event_name, "RunInstances");
  EXPECT_EQ(r->event_source, "ec2.amazonaws.com");
  EXPECT_EQ(r->event_time, 1709528767);
  EXPECT_FALSE(r->read_only);
  EXPECT_EQ(r->username, "");
}

TEST(HistoryRecord, RefusesRecordsWithoutTheKeyFields) {
  std::string json = record(kIamUser);
  EXPECT_FALSE(history_record_from_json(json.substr(0, json.size() - 1)));  // not JSON
  EXPECT_FALSE(history_record_from_json("[]"));
  EXPECT_FALSE(history_record_from_json(R"({"eventID":"x","eventName":"A","eventSource":"s"})"));  // no eventTime
  for (const char* time : {"2024-01-02T00:00:00.5Z", "2024-01-02 00:00:00Z", "2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z",
                           "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z", "2024-01-0aT00:00:00Z"}) {
    const std::string bad = R"({"eventID":"x","eventName":"A","eventSource":"s","eventTime":")" + std::string(time) + "\"}";
    EXPECT_FALSE(history_record_from_json(bad)) << time;
  }
  const auto leap = history_record_from_json(R"({"eventID":"x","eventName":"A","eventSource":"s","eventTime":"2024-02-29T23:59:59Z"})");
  ASSERT_TRUE(leap);
  EXPECT_EQ(leap->event_time, 1709251199);
}

TEST(HistoryRecord, EventTimeIsTheInverseOfTheFormatter) {
  detail::FastRandom random(7);
  for (int i = 0; i < 10000; ++i) {
    const auto epoch = static_cast<std::int64_t>(random.next() % 253402300800ull) - (i % 2 == 0 ? 0 : 62167219200);
    char text[20];
    detail::format_event_time(epoch, text);
    const std::string json = R"({"eventID":"x","eventName":"A","eventSource":"s","eventTime":")" + std::string(text, 20) + "\"}";
    const auto r = history_record_from_json(json);
    ASSERT_TRUE(r) << std::string(text, 20);
    ASSERT_EQ(r->event_time, epoch) << std::string(text, 20);
  }
}

// ---------------------------------------------------------------------------------------------
// The scanner against the SAX derivation it replaced (reference_history_record.hpp): the same
// success or failure and the same fields, for records as RecordFormatter writes them and for any
// JSON a record could be.

std::string printable(std::string_view json) {
  std::string out;
  for (const char c : json.substr(0, 600)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7F) {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  if (json.size() > 600) out += "...";
  return out;
}

testing::AssertionResult same_fields(const HistoryRecord& expected, const HistoryRecord& actual) {
  const auto differ = [](const char* field, const auto& want, const auto& got) {
    return testing::AssertionFailure() << field << ": reference '" << want << "', scanner '" << got << "'";
  };
  if (expected.event_id != actual.event_id) return differ("event_id", expected.event_id, actual.event_id);
  if (expected.event_name != actual.event_name) return differ("event_name", expected.event_name, actual.event_name);
  if (expected.event_source != actual.event_source) return differ("event_source", expected.event_source, actual.event_source);
  if (expected.event_time != actual.event_time) return differ("event_time", expected.event_time, actual.event_time);
  if (expected.read_only != actual.read_only) return differ("read_only", expected.read_only, actual.read_only);
  if (expected.access_key_id != actual.access_key_id) return differ("access_key_id", expected.access_key_id, actual.access_key_id);
  if (expected.username != actual.username) return differ("username", expected.username, actual.username);
  if (expected.insight != actual.insight) return differ("insight", expected.insight, actual.insight);
  if (expected.account_id != actual.account_id) return differ("account_id", expected.account_id, actual.account_id);
  if (expected.region != actual.region) return differ("region", expected.region, actual.region);
  if (expected.cloudtrail_event != actual.cloudtrail_event) return testing::AssertionFailure() << "cloudtrail_event differs";
  if (expected.resources.size() != actual.resources.size()) {
    return differ("resources.size()", expected.resources.size(), actual.resources.size());
  }
  for (std::size_t i = 0; i < expected.resources.size(); ++i) {
    if (expected.resources[i].type != actual.resources[i].type) return differ("resource type", expected.resources[i].type, actual.resources[i].type);
    if (expected.resources[i].name != actual.resources[i].name) return differ("resource name", expected.resources[i].name, actual.resources[i].name);
  }
  return testing::AssertionSuccess();
}

// Both derivations of `json`. `slot` is a long-lived record reused from call to call, as the
// feeder reuses one per slot: what an earlier record left in it must not leak into this one.
testing::AssertionResult agrees_with_reference(std::string_view json, HistoryRecord& slot) {
  const auto expected = test::reference_history_record_from_json(json);
  const bool accepted = history_record_from_json(json, slot);
  if (accepted != expected.has_value()) {
    return testing::AssertionFailure() << "reference " << (expected ? "accepts" : "refuses") << ", scanner "
                                       << (accepted ? "accepts" : "refuses") << ": " << printable(json);
  }
  if (!accepted) return testing::AssertionSuccess();
  if (auto same = same_fields(*expected, slot); !same) return same << " (reused slot) in " << printable(json);
  const auto fresh = history_record_from_json(json);
  if (!fresh) return testing::AssertionFailure() << "the optional overload refuses " << printable(json);
  if (auto same = same_fields(*expected, *fresh); !same) return same << " in " << printable(json);
  return testing::AssertionSuccess();
}

// Records as RecordFormatter writes them: every identity shape, resources, text that needs
// escaping (quotes, backslashes, controls, non-ASCII) and decoy keys in requestParameters.
std::vector<std::string> formatted_records(std::size_t count) {
  static constexpr std::string_view kNames[] = {"alice", "bob \"the\" builder", "caf\xC3\xA9", "\xF0\x9F\x98\x80",
                                                "back\\slash", "tab\there", "", "a/b:c", "x\x01y"};
  static constexpr std::string_view kArns[] = {
      "arn:aws:iam::111122223333:user/alice", "arn:aws:sts::111122223333:assumed-role/Admin/my-session",
      "arn:aws:sts::111122223333:assumed-role/Admin/", "arn:aws:s3:::my-bucket", "arn:aws:kms:us-east-1:1:key/", "plain",
      ""};
  static constexpr std::string_view kRequests[] = {
      R"({"userName":"decoy","resources":[{"type":"T","ARN":"arn:x:y"}],"eventName":"decoy"})",
      R"({"userIdentity":{"userName":"decoy","type":"Root"},"eventID":"decoy","readOnly":false})",
      R"({"bucketName":"b","key":"k\"q","n":[1,2.5,-3e2,true,null]})", "{}"};
  detail::FastRandom random(11);
  const auto pick = [&random](const auto& pool) { return pool[random.next() % std::size(pool)]; };
  const auto maybe = [&random](Event& e, Field f, std::string_view value) {
    if (random.next() % 4 != 0) e.set(f, value);
  };
  detail::RecordFormatter formatter(FieldLimits{}, "111122223333", "us-east-1");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < count; ++i) {
    Event e;
    e.set(Field::kEventSource, i % 17 == 0 ? std::string_view() : std::string_view("iam.amazonaws.com"));
    e.set(Field::kEventName, pick(kNames).empty() ? "GetUser" : pick(kNames));
    e.set(Field::kSourceIpAddress, "192.0.2.1");
    e.set(Field::kUserAgent, pick(kNames));
    e.set(Field::kRequestParameters, pick(kRequests));
    maybe(e, Field::kResponseElements, pick(kRequests));
    e.event_time = 1700000000 + static_cast<std::int64_t>(random.next() % 100000000);
    e.event_category = random.next() % 5 == 0 ? EventCategory::kData : EventCategory::kManagement;
    e.read_only = static_cast<Tristate>(random.next() % 3);
    e.identity_type = static_cast<IdentityType>(random.next() % 12);
    maybe(e, Field::kArn, pick(kArns));
    maybe(e, Field::kAccessKeyId, "AKIAEXAMPLE");
    maybe(e, Field::kUserName, pick(kNames));
    maybe(e, Field::kInvokedBy, pick(kNames));
    e.session_issuer_type = static_cast<SessionIssuerType>(random.next() % 4);
    maybe(e, Field::kIssuerUserName, pick(kNames));
    std::vector<Resource> resources(random.next() % 4);
    for (Resource& r : resources) r = Resource{pick(kArns), "111122223333", random.next() % 3 ? "AWS::IAM::User" : ""};
    e.resources = resources;
    detail::DecodedEvent decoded;
    decoded.event = e;
    detail::JsonBuffer buffer;
    formatter.format(decoded, buffer);
    out.emplace_back(buffer.view());
  }
  return out;
}

// Any JSON a record could be: random key order and whitespace, keys and values written with
// escapes, unicode, decoys named like the fields at other depths, duplicate keys (the last one
// wins) and non-string values where strings are expected.
class RecordGenerator {
 public:
  explicit RecordGenerator(std::uint64_t seed) : random_(seed) {}

  std::string next() {
    out_.clear();
    top();
    space();
    return out_;
  }

 private:
  using Member = std::pair<std::string_view, int>;  // key, what to write (see member())

  bool chance(unsigned percent) { return random_.next() % 100 < percent; }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(random_.next() % n); }
  template <std::size_t N>
  std::string_view pick(const std::string_view (&pool)[N]) {
    return pool[below(N)];
  }
  void space() {
    while (chance(10)) out_ += " \t\n\r"[below(4)];
  }

  void hex4(unsigned unit) {
    const char* digits = chance(50) ? "0123456789abcdef" : "0123456789ABCDEF";
    out_ += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) out_ += digits[(unit >> shift) & 15];
  }
  // A JSON string for `utf8` (valid UTF-8), each character raw or escaped at random.
  void text(std::string_view utf8) {
    const unsigned rate = chance(60) ? 0 : 25;
    out_ += '"';
    for (std::size_t i = 0; i < utf8.size();) {
      const auto lead = static_cast<unsigned char>(utf8[i]);
      const std::size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
      unsigned code = length == 1 ? lead : lead & (0x7F >> length);
      for (std::size_t k = 1; k < length; ++k) code = (code << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3F);
      const bool must = code == '"' || code == '\\' || code < 0x20;
      if (!must && !chance(rate)) {
        out_.append(utf8.substr(i, length));
      } else if (code == '"' || code == '\\' || (code == '/' && chance(50))) {
        if (chance(50)) {
          out_ += '\\';
          out_ += static_cast<char>(code);
        } else {
          hex4(code);
        }
      } else if (code == '\n' && chance(50)) {
        out_ += "\\n";
      } else if (code == '\t' && chance(50)) {
        out_ += "\\t";
      } else if (code >= 0x10000) {
        hex4(0xD800 + ((code - 0x10000) >> 10));
        hex4(0xDC00 + ((code - 0x10000) & 0x3FF));
      } else {
        hex4(code);
      }
      i += length;
    }
    out_ += '"';
  }

  void number() {
    static constexpr std::string_view kNumbers[] = {"0", "-0", "12", "-3.25", "1e3", "2E-7", "1.5e+10", "-0.0",
                                                    "123456789012345678901234567890", "1e308", "9e-400"};
    out_ += pick(kNumbers);
  }

  // Any value; objects use the names of the fields the history reads, at the wrong depth.
  void decoy(int depth) {
    static constexpr std::string_view kKeys[] = {
        "userName", "resources", "eventName", "eventSource", "eventID", "eventTime", "userIdentity", "type",
        "ARN", "arn", "readOnly", "sessionContext", "sessionIssuer", "insightDetails", "eventCategory",
        "accessKeyId", "invokedBy", "awsRegion", "recipientAccountId", "EventName", "eventName ", ""};
    static constexpr std::string_view kStrings[] = {"decoy", "", "Insight", "Management", "2024-01-02T03:04:05Z",
                                                    "Root", "arn:aws:iam::1:user/decoy", "\xE2\x82\xAC"};
    switch (below(depth > 0 ? 8 : 5)) {
      case 0: return text(pick(kStrings));
      case 1: return number();
      case 2: out_ += chance(50) ? "true" : "false"; return;
      case 3: out_ += "null"; return;
      case 4: return text(pick(kStrings));
      case 5:
      case 6: {
        out_ += '{';
        const std::size_t n = below(4);
        for (std::size_t i = 0; i < n; ++i) {
          if (i != 0) out_ += ',';
          space();
          text(pick(kKeys));
          space();
          out_ += ':';
          space();
          decoy(depth - 1);
          space();
        }
        out_ += '}';
        return;
      }
      default: {
        out_ += '[';
        const std::size_t n = below(4);
        for (std::size_t i = 0; i < n; ++i) {
          if (i != 0) out_ += ',';
          space();
          decoy(depth - 1);
          space();
        }
        out_ += ']';
        return;
      }
    }
  }

  // A string from `pool` mostly; sometimes another kind of value (which the history ignores).
  template <std::size_t N>
  void field(const std::string_view (&pool)[N]) {
    if (chance(92)) return text(pick(pool));
    decoy(2);
  }

  // Writes the members in random order, some twice, with whitespace around every token.
  void object(std::vector<Member> members) {
    const std::size_t count = members.size();
    for (std::size_t i = 0; i < count; ++i) {
      if (chance(6)) members.push_back(members[i]);
    }
    for (std::size_t i = members.size(); i > 1; --i) std::swap(members[i - 1], members[below(i)]);
    out_ += '{';
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i != 0) out_ += ',';
      space();
      text(members[i].first);
      space();
      out_ += ':';
      space();
      member(members[i].second);
      space();
    }
    out_ += '}';
  }

  enum What : int {
    kTopId, kTopName, kTopSource, kTopTime, kTopCategory, kTopAccount, kTopRegion, kTopReadOnly, kTopIdentity,
    kTopResources, kTopInsight, kDecoy, kIdType, kIdArn, kIdUserName, kIdName, kIdSession, kIssuer, kResourceType,
    kResourceArn, kService, kApi,
  };
  void member(int what) {
    static constexpr std::string_view kIds[] = {"e-1", "7f9c5c3e-0000-4000-8000-000000000001", "e-3", "e-4",
                                                "e-5", "", "\xE2\x82\xAC-id"};
    static constexpr std::string_view kApis[] = {"GetUser", "RunInstances", "CreateBucket", "ListUsers",
                                                 "AssumeRole", "", "\xC3\x9Cn\xC3\xAF"};
    static constexpr std::string_view kServices[] = {"iam.amazonaws.com", "ec2.amazonaws.com", "s3.amazonaws.com",
                                                    "sts.amazonaws.com", ""};
    static constexpr std::string_view kTimes[] = {"2024-01-02T03:04:05Z", "2024-02-29T23:59:59Z", "1999-12-31T23:59:59Z",
                                                  "2024-05-01T08:00:00Z", "2023-02-29T00:00:00Z", "2024-01-02T03:04:05.000Z"};
    static constexpr std::string_view kCategories[] = {"Management", "Management", "Management", "Management",
                                                       "Insight", "Insight", "Data", "NetworkActivity", "management"};
    static constexpr std::string_view kTypes[] = {"IAMUser", "AssumedRole", "AssumedRole", "Root", "Root",
                                                  "FederatedUser", "AWSService", "AWSAccount", ""};
    static constexpr std::string_view kArns[] = {
        "arn:aws:sts::1:assumed-role/Admin/sess", "arn:aws:sts::1:assumed-role/Admin/", "arn:aws:iam::1:root",
        "arn:aws:s3:::bucket", "arn:aws:iam::1:user/path/\xF0\x9F\x98\x80", "plain", "ends:", ""};
    static constexpr std::string_view kNames[] = {"alice", "", "caf\xC3\xA9", "q\"uote\\d/", "ec2.amazonaws.com"};
    static constexpr std::string_view kResourceTypes[] = {"AWS::IAM::User", "AWS::S3::Bucket", ""};
    static constexpr std::string_view kOther[] = {"111122223333", "us-east-1", ""};
    switch (what) {
      case kTopId: return field(kIds);
      case kTopName: return field(kApis);
      case kTopSource: return field(kServices);
      case kTopTime: return field(kTimes);
      case kTopCategory: return field(kCategories);
      case kTopAccount:
      case kTopRegion: return field(kOther);
      case kTopReadOnly:
        if (chance(70)) {
          out_ += chance(50) ? "true" : "false";
        } else {
          decoy(1);
        }
        return;
      case kTopIdentity:
        if (chance(8)) return decoy(2);
        return object(some({{"type", kIdType}, {"arn", kIdArn}, {"userName", kIdUserName}, {"accessKeyId", kIdName},
                            {"invokedBy", kIdName}, {"sessionContext", kIdSession}, {"principalId", kDecoy},
                            {"userIdentity", kDecoy}}));
      case kIdSession:
        if (chance(8)) return decoy(2);
        return object(some({{"sessionIssuer", kIssuer}, {"attributes", kDecoy}, {"userName", kIdName}}));
      case kIssuer:
        if (chance(8)) return decoy(2);
        return object(some({{"type", kIdType}, {"userName", kIdName}, {"arn", kIdArn}, {"sessionIssuer", kDecoy}}));
      case kTopResources: {
        if (chance(8)) return decoy(2);
        out_ += '[';
        const std::size_t n = below(5);
        for (std::size_t i = 0; i < n; ++i) {
          if (i != 0) out_ += ',';
          space();
          if (chance(80)) {
            object(some({{"type", kResourceType}, {"ARN", kResourceArn}, {"accountId", kDecoy}, {"arn", kIdArn},
                         {"resources", kDecoy}}));
          } else {
            decoy(2);
          }
          space();
        }
        out_ += ']';
        return;
      }
      case kTopInsight:
        if (chance(8)) return decoy(2);
        return object(some({{"eventName", kApi}, {"eventSource", kService}, {"insightContext", kDecoy}}));
      case kIdType: return field(kTypes);
      case kIdArn:
      case kResourceArn: return field(kArns);
      case kIdUserName:
      case kIdName: return field(kNames);
      case kResourceType: return field(kResourceTypes);
      case kService: return field(kServices);
      case kApi: return field(kApis);
      default: return decoy(3);
    }
  }

  // Each member present with some chance (the four a record needs, nearly always).
  std::vector<Member> some(std::initializer_list<Member> members) {
    std::vector<Member> out;
    for (const Member& m : members) {
      if (chance(75)) out.push_back(m);
    }
    return out;
  }

  void top() {
    std::vector<Member> members = some({{"eventCategory", kTopCategory}, {"recipientAccountId", kTopAccount},
                                        {"awsRegion", kTopRegion}, {"readOnly", kTopReadOnly},
                                        {"userIdentity", kTopIdentity}, {"resources", kTopResources},
                                        {"insightDetails", kTopInsight}, {"requestParameters", kDecoy},
                                        {"responseElements", kDecoy}, {"eventVersion", kDecoy}});
    for (const Member& m : {Member{"eventID", kTopId}, Member{"eventName", kTopName}, Member{"eventSource", kTopSource},
                           Member{"eventTime", kTopTime}}) {
      if (chance(95)) members.push_back(m);
    }
    space();
    object(std::move(members));
  }

  detail::FastRandom random_;
  std::string out_;
};

// A random truncation, byte flip, insertion or deletion: still never a crash, and the same verdict.
std::string mutate(std::string json, detail::FastRandom& random) {
  if (json.empty()) return json;
  const std::size_t at = random.next() % json.size();
  switch (random.next() % 4) {
    case 0: json.resize(at); break;
    case 1: json[at] = static_cast<char>(random.next() % 256); break;
    case 2: json.insert(at, 1, "{}[]\",:\\ 0tfn-.eE\x80\xff\x00u"[random.next() % 21]); break;
    default: json.erase(at, 1); break;
  }
  return json;
}

TEST(HistoryRecordScanner, AgreesWithTheReferenceOnFormattedRecords) {
  HistoryRecord slot;
  detail::FastRandom random(3);
  std::size_t accepted = 0;
  for (const std::string& json : formatted_records(2000)) {
    ASSERT_TRUE(agrees_with_reference(json, slot));
    accepted += history_record_from_json(json).has_value();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(agrees_with_reference(mutate(json, random), slot));
  }
  EXPECT_GT(accepted, 1000u);  // the comparison covered fields, not just refusals
}

TEST(HistoryRecordScanner, AgreesWithTheReferenceOnGeneratedJson) {
  RecordGenerator generator(42);
  detail::FastRandom random(5);
  HistoryRecord slot;
  std::size_t accepted = 0;
  for (int i = 0; i < 25000; ++i) {
    const std::string json = generator.next();
    ASSERT_TRUE(agrees_with_reference(json, slot));
    accepted += history_record_from_json(json).has_value();
    ASSERT_TRUE(agrees_with_reference(mutate(json, random), slot));
  }
  EXPECT_GT(accepted, 5000u);  // the comparison covered fields, not just refusals
}

TEST(HistoryRecordScanner, AgreesWithTheReferenceOnEdgeCases) {
  // Each edge case stands as the value of "x" in an otherwise valid record, or replaces it all.
  const std::string head = R"({"eventID":"e","eventName":"A","eventSource":"s","eventTime":"2024-01-02T00:00:00Z","x":)";
  const std::string_view values[] = {
      "1e400", "-1e400", "1e-400", "1.7976931348623157e308", "1.7976931348623159e308", "0e99999999999999999999",
      "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791",
      "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792",
      "0.000000000000000000000000000000000000001e330", "01", "-", "1.", ".5", "+1", "1e", "1e+", "-0", "tru", "nul", "truex",
      R"("\ud800")", R"("\udc00")", R"("\ud83d\ude00")", R"("\ud83d\u0041")", R"("\u00e9\/\b\f\n\r\t")", R"("\x")",
      R"("\u12")", "\"\x7f\"", "\"\x1f\"", "\"\xC0\x80\"", "\"\xED\xA0\x80\"", "\"\xF4\x90\x80\x80\"", "\"\xE0\x9F\x80\"",
      "\"\xF0\x8F\xBF\xBF\"", "\"\xC3\"", "\"\xEF\xBF\xBF\xF4\x8F\xBF\xBF\"", "[1,]", "{\"a\":1,}", "[}", "{]", "{\"a\"}",
      "{\"a\" 1}", "[[[[]]]]", "{}}", "1 2"};
  HistoryRecord slot;
  for (const std::string_view value : values) {
    EXPECT_TRUE(agrees_with_reference(head + std::string(value) + "}", slot));
  }
  const std::string valid = head + "1}";
  const std::string whole[] = {"\xEF\xBB\xBF" + valid, " \xEF\xBB\xBF" + valid, valid + std::string(1, '\0') + "junk",
                               valid + " \n", valid + ",", "", " ", "{", "\"text\"", "[" + valid + "]", "null"};
  for (const std::string& json : whole) EXPECT_TRUE(agrees_with_reference(json, slot)) << printable(json);
}

TEST(HistoryRecordScanner, KeysMatchAfterUnescapingAndTheLastDuplicateWins) {
  const auto r = history_record_from_json(
      R"({"event\u004eame":"First","eventID":"e","eventSource":"s","eventTime":"2024-01-02T00:00:00Z",)"
      R"("eventName":"Second","\u0065ventName":"Last","eventName":7,"readOnly":true,"readOnly":"false",)"
      R"("user\u0049dentity":{"userName":"caf\u00e9 \ud83d\ude00"}})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->event_name, "Last");  // a later non-string value does not erase a string
  EXPECT_TRUE(r->read_only);         // readOnly counts only as a boolean
  EXPECT_EQ(r->username, "caf\xC3\xA9 \xF0\x9F\x98\x80");
}

TEST(HistoryRecordScanner, ReusedRecordKeepsNothingFromThePreviousOne) {
  HistoryRecord slot;
  ASSERT_TRUE(history_record_from_json(
      record(kIamUser, R"(,"resources":[{"type":"A","ARN":"a:1"},{"type":"B","ARN":"b/2"},{"type":"C"}])"), slot));
  ASSERT_EQ(slot.resources.size(), 3u);
  ASSERT_TRUE(history_record_from_json(record(R"({"type":"Root"})", R"(,"resources":[{"ARN":"x:y"}])"), slot));
  EXPECT_EQ(slot.username, "root");
  EXPECT_EQ(slot.access_key_id, "");
  ASSERT_EQ(slot.resources.size(), 1u);
  EXPECT_EQ(slot.resources[0].type, "");
  EXPECT_EQ(slot.resources[0].name, "y");
}

// Nesting as deep as an attacker likes must neither recurse nor lose track of where the record's
// own fields are (the reference's SAX parser is iterative too).
TEST(HistoryRecordScanner, DeepNestingNeedsNoRecursion) {
  constexpr int kDepth = 100000;
  std::string nested;
  for (int i = 0; i < kDepth; ++i) nested += i % 2 == 0 ? R"({"userName":)" : "[";
  nested += R"("deep")";
  for (int i = kDepth - 1; i >= 0; --i) nested += i % 2 == 0 ? '}' : ']';
  const std::string json = R"({"eventTime":"2024-01-02T00:00:00Z","requestParameters":)" + nested +
                           R"(,"userIdentity":{"type":"IAMUser","userName":"alice"},"eventID":"e","eventName":"A",)"
                           R"("eventSource":"s","resources":[)" + nested + R"(,{"type":"T","ARN":"arn:a:b"}]})";
  const auto r = history_record_from_json(json);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->username, "alice");
  EXPECT_EQ(r->event_id, "e");
  ASSERT_EQ(r->resources.size(), 1u);
  EXPECT_EQ(r->resources[0].name, "b");
  HistoryRecord slot;
  EXPECT_TRUE(agrees_with_reference(json, slot));

  std::string mismatched = json;
  mismatched[mismatched.find("\"deep\"") + 6] = '}';  // the innermost array closed as an object
  EXPECT_FALSE(history_record_from_json(mismatched));
  EXPECT_TRUE(agrees_with_reference(mismatched, slot));
}

}  // namespace
}  // namespace trailkit
