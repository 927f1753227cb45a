// history_record_from_json: the lookup attributes LookupEvents answers on, derived from the record
// (cloudtrail-spec §6.2 Username / ResourceName, §1.4 userIdentity, §1.5 eventCategory, §2 Insights).

#include <gtest/gtest.h>

#include <string>

#include "common/civil_time.hpp"
#include "common/fast_random.hpp"
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

}  // namespace
}  // namespace trailkit
