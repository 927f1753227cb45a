// The serializer alone: exact bytes for full records (key order, presence, types), limits.
#include "serialize/record_formatter.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "serialize/json_escape.hpp"

namespace trailkit::detail {
namespace {

std::string format(const Event& event, const FieldLimits& limits = FieldLimits{}) {
  RecordFormatter formatter(limits, "111122223333", "us-east-1");
  DecodedEvent decoded;
  decoded.event = event;
  JsonBuffer out;
  formatter.format(decoded, out);
  return std::string(out.view());
}

TEST(RecordFormatterTest, IdentityCenterCallerWithEveryOptionalBlockInSpecOrder) {
  EventBuilder b("sso.amazonaws.com", "ListAccounts");
  b.identity_type(IdentityType::kIdentityCenterUser)
      .principal({}, {}, "111122223333")
      .on_behalf_of("8c5e0f43-0000-4000-8000-000000000000", "arn:aws:identitystore::111122223333:identitystore/d-1234567890")
      .set(Field::kCredentialId, "cred-1")
      .set(Field::kInvokedByDelegateAccountId, "444455556666")
      .set(Field::kInScopeOfSourceArn, "arn:aws:lambda:us-east-1:111122223333:function:f")
      .set(Field::kInScopeOfIssuerType, "AWS::Lambda::Function")
      .event_time(1714557811)
      .source_ip("203.0.113.10")
      .event_id("0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0")
      .request_id("r-1")
      .read_only(true)
      .api_version("2019-06-10")
      .shared_event_id("9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a")
      .vpc_endpoint("vpce-1", "444455556666")
      .service_event_details(R"({ "x" : [1, 2] })")
      .addendum("UPDATED_DATA", "requestParameters", "r-0", "e-0")
      .tls("TLSv1.3", "TLS_AES_128_GCM_SHA256", "portal.sso.us-east-1.amazonaws.com", "X25519MLKEM768")
      .session_credential_from_console(true)
      .edge_device_details(R"({"type":"outposts"})");
  EXPECT_EQ(format(b.build()),
            R"({"eventVersion":"1.11","userIdentity":{"type":"IdentityCenterUser","accountId":"111122223333",)"
            R"("invokedByDelegate":{"accountId":"444455556666"},"onBehalfOf":{"userId":"8c5e0f43-0000-4000-8000-000000000000",)"
            R"("identityStoreArn":"arn:aws:identitystore::111122223333:identitystore/d-1234567890"},)"
            R"("inScopeOf":{"sourceArn":"arn:aws:lambda:us-east-1:111122223333:function:f","issuerType":"AWS::Lambda::Function"},)"
            R"("credentialId":"cred-1"},"eventTime":"2024-05-01T10:03:31Z","eventSource":"sso.amazonaws.com",)"
            R"("eventName":"ListAccounts","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.10",)"
            R"("requestParameters":null,"responseElements":null,"requestID":"r-1",)"
            R"("eventID":"0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0","readOnly":true,"eventType":"AwsApiCall",)"
            R"("apiVersion":"2019-06-10","managementEvent":true,"recipientAccountId":"111122223333",)"
            R"("sharedEventID":"9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a","vpcEndpointId":"vpce-1",)"
            R"("vpcEndpointAccountId":"444455556666","serviceEventDetails":{"x":[1,2]},"eventCategory":"Management",)"
            R"("addendum":{"reason":"UPDATED_DATA","updatedFields":"requestParameters","originalRequestID":"r-0",)"
            R"("originalEventID":"e-0"},"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256",)"
            R"("clientProvidedHostHeader":"portal.sso.us-east-1.amazonaws.com","keyExchange":"X25519MLKEM768"},)"
            R"("sessionCredentialFromConsole":"true","edgeDeviceDetails":{"type":"outposts"}})");
}

TEST(RecordFormatterTest, WebIdentitySessionContextShape) {
  EventBuilder b("sts.amazonaws.com", "GetCallerIdentity");
  b.identity_type(IdentityType::kAssumedRole)
      .web_identity("accounts.google.com", R"({"aud":"x"})")
      .session_attributes(1714557600, false)
      .source_identity("alice")
      .set(Field::kEc2RoleDelivery, "2.0")
      .set(Field::kSignInSessionArn, "arn:aws:signin:us-east-1:111122223333:session/abc")
      .event_time(1714557600);
  b.event().assumed_root = Tristate::kTrue;
  const auto record = nlohmann::json::parse(format(b.build()));
  EXPECT_EQ(record["userIdentity"]["sessionContext"],
            nlohmann::json::parse(R"({"webIdFederationData":{"federatedProvider":"accounts.google.com","attributes":{"aud":"x"}},
              "attributes":{"creationDate":"2024-05-01T10:00:00Z","mfaAuthenticated":"false"},"sourceIdentity":"alice",
              "ec2RoleDelivery":"2.0","assumedRoot":"true","signInSessionArn":"arn:aws:signin:us-east-1:111122223333:session/abc"})"));
}

TEST(RecordFormatterTest, ResourcesKeepUpperCaseArnAndOmitMissingAccount) {
  const Resource resources[] = {{"arn:aws:s3:::b/k", {}, "AWS::S3::Object"}, {"arn:aws:s3:::b", "111122223333", "AWS::S3::Bucket"}};
  EventBuilder b("s3.amazonaws.com", "GetObject");
  b.resources(resources).event_time(0);
  const auto record = nlohmann::json::parse(format(b.build()));
  EXPECT_EQ(record["resources"], nlohmann::json::parse(R"([{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::b/k"},
    {"accountId":"111122223333","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::b"}])"));
}

TEST(RecordFormatterTest, WholeEventOverTheLimitShedsJsonValuesInCloudTrailOrder) {
  FieldLimits limits;
  limits.event_bytes = 8192;
  const std::string big = "{\"v\":\"" + std::string(5000, 'x') + "\"}";
  EventBuilder b("ec2.amazonaws.com", "RunInstances");
  b.request_parameters(big).response_elements(big).additional_event_data(big).event_time(0);
  const std::string out = format(b.build(), limits);
  EXPECT_LE(out.size(), limits.event_bytes);
  const auto record = nlohmann::json::parse(out);
  // additionalEventData goes first, then responseElements; requestParameters is kept.
  EXPECT_EQ(record["additionalEventData"], nlohmann::json::parse(R"({"omitted":true})"));
  EXPECT_EQ(record["responseElements"], nlohmann::json::parse(R"({"omitted":true})"));
  EXPECT_EQ(record["requestParameters"]["v"].get<std::string>().size(), 5000u);
}

TEST(RecordFormatterTest, DepthCapIsExactAndDeeperValuesAreOmitted) {
  FieldLimits limits;
  limits.max_json_depth = 3;
  EventBuilder ok("a.amazonaws.com", "A");
  ok.request_parameters("[[[1]]]").event_time(0);
  EXPECT_EQ(nlohmann::json::parse(format(ok.build(), limits))["requestParameters"], nlohmann::json::parse("[[[1]]]"));
  EventBuilder deep("a.amazonaws.com", "A");
  deep.request_parameters("[[[[1]]]]").event_time(0);
  EXPECT_EQ(nlohmann::json::parse(format(deep.build(), limits))["requestParameters"],
            nlohmann::json::parse(R"({"omitted":true})"));
}

// Most string fields are written inline when they are short and clean, the rest by the string encoder; either
// way each value must be exactly append_json_string's (append_json_string_truncated's for the 1 KB-limited
// fields), and the sanitized/truncated counters must count the strings that had replacements or were cut.
TEST(RecordFormatterTest, StringFieldsMatchTheStringEncoderAtEveryLength) {
  RecordFormatter formatter(FieldLimits{}, "111122223333", "us-east-1");
  const std::size_t truncate_bytes = FieldLimits{}.truncate_bytes;
  std::vector<std::size_t> sizes;
  for (std::size_t n = 0; n <= 40; ++n) sizes.push_back(n);
  for (std::size_t n : {63u, 64u, 65u, 1022u, 1023u, 1024u, 1025u, 1026u, 16383u, 16384u, 16385u}) sizes.push_back(n);
  const std::string_view specials[] = {"", "\"", "\\", "\x01", "\x7F", "\xC3", "\xC3\xA9", "\xE2\x80\xA8"};
  for (const std::size_t size : sizes) {
    for (const std::string_view special : specials) {
      for (int where = 0; where < 3; ++where) {
        std::string value(size, 'v');
        if (!special.empty() && size >= special.size()) {
          const std::size_t at = where == 0 ? 0 : where == 1 ? size / 2 : size - special.size();
          value.replace(at, special.size(), special);
        }
        SCOPED_TRACE(::testing::Message() << size << " / " << where << " / " << value.substr(0, 48));
        JsonBuffer plain;
        const std::size_t plain_replacements = append_json_string(plain, value);
        JsonBuffer cut;
        bool truncated = false;
        const std::size_t cut_replacements = append_json_string_truncated(cut, value, truncate_bytes, &truncated);

        EventBuilder b("s3.amazonaws.com", "GetObject");
        b.event_time(0).event_name(value).user_agent(value);
        DecodedEvent decoded;
        decoded.event = b.build();
        const FormatCounters before = formatter.counters();
        JsonBuffer out;
        formatter.format(decoded, out);
        const std::string record(out.view());
        EXPECT_NE(record.find(",\"eventName\":" + std::string(plain.view()) + ",\"awsRegion\":"), std::string::npos);
        EXPECT_NE(record.find(",\"userAgent\":" + std::string(cut.view()) + ",\"requestParameters\":"),
                  std::string::npos);
        EXPECT_EQ(formatter.counters().sanitized - before.sanitized,
                  std::uint64_t{plain_replacements != 0} + std::uint64_t{cut_replacements != 0});
        EXPECT_EQ(formatter.counters().truncated - before.truncated, std::uint64_t{truncated});
        EXPECT_EQ(truncated, size > truncate_bytes);
        EXPECT_TRUE(nlohmann::json::accept(record));
        if (HasFailure()) return;
      }
    }
  }
}

}  // namespace
}  // namespace trailkit::detail
