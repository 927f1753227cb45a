// The simulated service must produce records that look like real CloudTrail (spec §1, §10.2):
// the demo, the benchmarks and the other integration tests rely on its shapes and its size.
// Most tests format events through CloudTrailJsonDouble (a plain, slow formatter written from the
// spec) so they check the service alone; the last one runs it through a real Recorder.

#include "simulated_service/simulated_service.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>

#include "common/civil_time.hpp"
#include "compress/decompress.hpp"
#include "trailkit/recorder.hpp"

namespace {

using nlohmann::json;
using trailkit::Event;
using trailkit::Field;
using trailkit::examples::SimulatedService;
using trailkit::examples::SimulatedServiceOptions;

constexpr std::int64_t kTime = 1714557811;  // 2024-05-01T10:03:31Z

// ---- test double: Event -> CloudTrail JSON, straight from spec §1.2/§1.4 ----

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

class CloudTrailJsonDouble {
 public:
  explicit CloudTrailJsonDouble(const Event& e) : e_(e) {}

  std::string format() {
    out_ = "{";
    str("eventVersion", Field::kEventVersion);
    out_ += "\"userIdentity\":" + identity() + ",";
    char time[20];
    trailkit::detail::format_event_time(e_.event_time, time);
    out_ += "\"eventTime\":" + quote(std::string_view(time, 20)) + ",";
    for (auto [key, field] : {std::pair{"eventSource", Field::kEventSource}, {"eventName", Field::kEventName},
                              {"awsRegion", Field::kAwsRegion}, {"sourceIPAddress", Field::kSourceIpAddress},
                              {"userAgent", Field::kUserAgent}, {"errorCode", Field::kErrorCode},
                              {"errorMessage", Field::kErrorMessage}}) {
      str(key, field);
    }
    raw("requestParameters", Field::kRequestParameters, true);
    raw("responseElements", Field::kResponseElements, true);
    raw("additionalEventData", Field::kAdditionalEventData, false);
    str("requestID", Field::kRequestId);
    out_ += "\"eventID\":\"0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0\",";
    if (e_.read_only != trailkit::Tristate::kAbsent) {
      out_ += std::string("\"readOnly\":") + (e_.read_only == trailkit::Tristate::kTrue ? "true" : "false") + ",";
    }
    if (!e_.resources.empty()) {
      out_ += "\"resources\":[";
      for (const auto& r : e_.resources) {
        out_ += "{\"ARN\":" + quote(r.arn) + ",";
        if (r.account_id.data() != nullptr) out_ += "\"accountId\":" + quote(r.account_id) + ",";
        out_ += "\"type\":" + quote(r.type) + "},";
      }
      out_.back() = ']';
      out_ += ",";
    }
    out_ += "\"eventType\":" + quote(to_string(e_.event_type)) + ",";
    out_ += std::string("\"managementEvent\":") +
            (e_.event_category == trailkit::EventCategory::kManagement ? "true" : "false") + ",";
    str("recipientAccountId", Field::kRecipientAccountId);
    str("vpcEndpointId", Field::kVpcEndpointId);
    out_ += "\"eventCategory\":" + quote(to_string(e_.event_category));
    if (e_.has(Field::kTlsVersion)) {
      out_ += ",\"tlsDetails\":{\"tlsVersion\":" + quote(e_.get(Field::kTlsVersion)) +
              ",\"cipherSuite\":" + quote(e_.get(Field::kTlsCipherSuite)) +
              ",\"clientProvidedHostHeader\":" + quote(e_.get(Field::kTlsClientProvidedHostHeader));
      if (e_.has(Field::kTlsKeyExchange)) out_ += ",\"keyExchange\":" + quote(e_.get(Field::kTlsKeyExchange));
      out_ += "}";
    }
    return out_ + "}";
  }

 private:
  static std::string_view to_string(trailkit::EventType t) {
    return t == trailkit::EventType::kAwsConsoleSignIn ? "AwsConsoleSignIn" : "AwsApiCall";
  }
  static std::string_view to_string(trailkit::EventCategory c) {
    return c == trailkit::EventCategory::kData ? "Data" : "Management";
  }
  static std::string_view to_string(trailkit::IdentityType t) {
    switch (t) {
      case trailkit::IdentityType::kRoot: return "Root";
      case trailkit::IdentityType::kIAMUser: return "IAMUser";
      case trailkit::IdentityType::kAssumedRole: return "AssumedRole";
      case trailkit::IdentityType::kAWSService: return "AWSService";
      default: return "Other";
    }
  }
  void str(const char* key, Field f) {
    if (e_.has(f)) out_ += quote(key) + ":" + quote(e_.get(f)) + ",";
  }
  void raw(const char* key, Field f, bool null_when_absent) {
    if (e_.has(f)) out_ += quote(key) + ":" + std::string(e_.get(f)) + ",";
    else if (null_when_absent) out_ += quote(key) + ":null,";
  }
  std::string identity() {
    std::string id = "{\"type\":" + quote(to_string(e_.identity_type));
    for (auto [key, field] : {std::pair{"principalId", Field::kPrincipalId}, {"arn", Field::kArn},
                              {"accountId", Field::kAccountId}, {"accessKeyId", Field::kAccessKeyId},
                              {"userName", Field::kUserName}, {"invokedBy", Field::kInvokedBy}}) {
      if (e_.has(field)) id += std::string(",\"") + key + "\":" + quote(e_.get(field));
    }
    if (e_.session_issuer_type == trailkit::SessionIssuerType::kRole) {
      char created[20];
      trailkit::detail::format_event_time(e_.session_creation_time, created);
      id += ",\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\",\"principalId\":" +
            quote(e_.get(Field::kIssuerPrincipalId)) + ",\"arn\":" + quote(e_.get(Field::kIssuerArn)) +
            ",\"accountId\":" + quote(e_.get(Field::kIssuerAccountId)) +
            ",\"userName\":" + quote(e_.get(Field::kIssuerUserName)) + "},\"webIdFederationData\":" +
            std::string(e_.get(Field::kWebIdAttributes)) + ",\"attributes\":{\"creationDate\":" +
            quote(std::string_view(created, 20)) + ",\"mfaAuthenticated\":" +
            (e_.mfa_authenticated == trailkit::Tristate::kTrue ? "\"true\"" : "\"false\"") + "}}";
    }
    return id + "}";
  }

  const Event& e_;
  std::string out_;
};

struct Sample {
  Event event;
  std::string text;
  json record;
};

std::vector<Sample> serve(SimulatedService& service, int count) {
  std::vector<Sample> samples;
  for (int i = 0; i < count; ++i) {
    Sample s;
    const std::string_view name = service.next_call(s.event, kTime + i);
    EXPECT_EQ(name, s.event.get(Field::kEventName));
    s.text = CloudTrailJsonDouble(s.event).format();
    s.record = json::parse(s.text);  // throws (fails the test) on malformed JSON
    s.event = Event{};               // views die with the next call
    samples.push_back(std::move(s));
  }
  return samples;
}

SimulatedServiceOptions two_regions(std::uint64_t seed) {
  SimulatedServiceOptions options;
  options.regions = {"us-east-1", "eu-west-1"};
  options.seed = seed;
  return options;
}

TEST(SimulatedService, ServesEveryOperationWithWellFormedRecordsOfRealisticSize) {
  SimulatedService service(two_regions(7));
  const auto samples = serve(service, 20000);
  std::set<std::string> names;
  std::set<std::string> regions;
  std::size_t bytes = 0;
  for (const auto& s : samples) {
    names.insert(s.record["eventName"]);
    regions.insert(s.record["awsRegion"]);
    bytes += s.text.size();
    EXPECT_EQ(s.record["recipientAccountId"], "111122223333");
    EXPECT_TRUE(s.record.contains("requestParameters") && s.record.contains("responseElements"));
    EXPECT_TRUE(s.record["readOnly"].is_boolean()) << s.text;
    const std::string source = s.record["eventSource"];
    EXPECT_TRUE(source.ends_with(".amazonaws.com")) << source;
    if (source == "iam.amazonaws.com" || source == "signin.amazonaws.com") {
      EXPECT_EQ(s.record["awsRegion"], "us-east-1");
    }
  }
  EXPECT_EQ(names.size(), SimulatedService::operation_names().size());
  EXPECT_GE(names.size(), 12u);
  EXPECT_EQ(regions, (std::set<std::string>{"us-east-1", "eu-west-1"}));
  const double average = static_cast<double>(bytes) / static_cast<double>(samples.size());
  EXPECT_GT(average, 1100.0);
  EXPECT_LT(average, 1600.0);
}

TEST(SimulatedService, SameSeedGivesSameCallsAndOtherSeedsDiffer) {
  SimulatedService a(two_regions(42)), b(two_regions(42)), c(two_regions(43));
  const auto sa = serve(a, 300), sb = serve(b, 300), sc = serve(c, 300);
  int differing = 0;
  for (std::size_t i = 0; i < sa.size(); ++i) {
    EXPECT_EQ(sa[i].text, sb[i].text);
    differing += sa[i].text != sc[i].text;
  }
  EXPECT_GT(differing, 290);
}

TEST(SimulatedService, IdentitiesComeFromAStablePopulation) {
  SimulatedService service(two_regions(3));
  std::map<std::string, std::string> key_of_principal;
  std::set<std::string> types;
  for (const auto& s : serve(service, 5000)) {
    const json& id = s.record["userIdentity"];
    types.insert(id["type"]);
    if (id["type"] == "IAMUser") {
      EXPECT_TRUE(id["principalId"].get<std::string>().starts_with("AIDA"));
      if (id.contains("accessKeyId")) {
        EXPECT_TRUE(id["accessKeyId"].get<std::string>().starts_with("AKIA"));
      }
    }
    if (id["type"] == "AssumedRole") {
      const std::string principal = id["principalId"];
      EXPECT_TRUE(principal.starts_with("AROA")) << principal;
      EXPECT_TRUE(id["accessKeyId"].get<std::string>().starts_with("ASIA"));
      EXPECT_EQ(principal.substr(0, principal.find(':')), id["sessionContext"]["sessionIssuer"]["principalId"]);
      // One session, one key: a session's ASIA key never changes.
      auto [it, inserted] = key_of_principal.emplace(principal, id["accessKeyId"]);
      EXPECT_EQ(it->second, id["accessKeyId"]) << principal;
    }
    if (id.contains("invokedBy")) {
      EXPECT_FALSE(s.record.contains("tlsDetails")) << "a service call has no tlsDetails";
      EXPECT_EQ(s.record["sourceIPAddress"], id["invokedBy"]);
    } else if (s.record["eventSource"] != "signin.amazonaws.com") {
      EXPECT_TRUE(s.record.contains("tlsDetails")) << s.text;
    }
  }
  EXPECT_EQ(types, (std::set<std::string>{"AssumedRole", "IAMUser", "AWSService", "Root"}));
  EXPECT_LE(key_of_principal.size(), 18u);  // 6 roles x 3 sessions
}

TEST(SimulatedService, DataEventsHaveTheS3AndDynamoDbShapes) {
  SimulatedService service(two_regions(5));
  const std::regex s3_request_id("[A-Z0-9]{16}");
  int objects = 0;
  for (const auto& s : serve(service, 3000)) {
    const std::string source = s.record["eventSource"];
    if (source != "s3.amazonaws.com" && source != "dynamodb.amazonaws.com") {
      EXPECT_EQ(s.record["eventCategory"], "Management");
      continue;
    }
    EXPECT_EQ(s.record["eventCategory"], "Data");
    EXPECT_EQ(s.record["managementEvent"], false);
    if (source == "dynamodb.amazonaws.com") {
      EXPECT_EQ(s.record["resources"][0]["type"], "AWS::DynamoDB::Table");
      continue;
    }
    EXPECT_TRUE(std::regex_match(s.record["requestID"].get<std::string>(), s3_request_id));
    const json& extra = s.record["additionalEventData"];
    EXPECT_TRUE(extra["bytesTransferredIn"].is_number() && extra["bytesTransferredOut"].is_number());
    EXPECT_EQ(extra["x-amz-id-2"].get<std::string>().size(), 76u);
    const json& resources = s.record["resources"];
    const json& bucket = resources.back();
    EXPECT_EQ(bucket["type"], "AWS::S3::Bucket");
    EXPECT_EQ(bucket["accountId"], "111122223333");
    if (s.record["eventName"] != "ListObjectsV2") {
      ++objects;
      ASSERT_EQ(resources.size(), 2u);
      EXPECT_EQ(resources[0]["type"], "AWS::S3::Object");
      EXPECT_FALSE(resources[0].contains("accountId"));
      EXPECT_EQ(resources[0]["ARN"], bucket["ARN"].get<std::string>() + "/" +
                                         s.record["requestParameters"]["key"].get<std::string>());
    }
  }
  EXPECT_GT(objects, 500);
}

TEST(SimulatedService, SignInAndAssumeRoleFollowTheirServiceConventions) {
  SimulatedService service(two_regions(11));
  int logins = 0, assumes = 0;
  for (const auto& s : serve(service, 3000)) {
    if (s.record["eventName"] == "ConsoleLogin") {
      ++logins;
      EXPECT_EQ(s.record["eventType"], "AwsConsoleSignIn");
      EXPECT_TRUE(s.record["requestParameters"].is_null());
      const std::string outcome = s.record.contains("errorMessage") ? "Failure" : "Success";
      EXPECT_EQ(s.record["responseElements"], (json{{"ConsoleLogin", outcome}}));
      for (const char* key : {"LoginTo", "MobileVersion", "MFAUsed"}) {
        EXPECT_TRUE(s.record["additionalEventData"].contains(key)) << key;
      }
    }
    if (s.record["eventName"] == "AssumeRole" && !s.record.contains("errorCode")) {
      ++assumes;
      const json& credentials = s.record["responseElements"]["credentials"];
      EXPECT_TRUE(credentials["accessKeyId"].get<std::string>().starts_with("ASIA"));
      EXPECT_FALSE(credentials.contains("secretAccessKey")) << "CloudTrail never logs the secret key";
      EXPECT_TRUE(std::regex_match(credentials["expiration"].get<std::string>(),
                                   std::regex(R"([A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2} [AP]M)")));
    }
  }
  EXPECT_GT(logins, 50);
  EXPECT_GT(assumes, 100);
}

TEST(SimulatedService, AboutFourPercentOfCallsFailLikeCloudTrailRecordsThem) {
  SimulatedService service(two_regions(13));
  const auto samples = serve(service, 20000);
  std::set<std::string> codes;
  int failures = 0;
  for (const auto& s : samples) {
    if (!s.record.contains("errorMessage")) continue;
    ++failures;
    if (s.record["eventName"] == "ConsoleLogin") continue;
    codes.insert(s.record["errorCode"]);
    EXPECT_TRUE(s.record["responseElements"].is_null());
    if (s.record["errorCode"] == "AccessDenied" && s.record["eventSource"] != "s3.amazonaws.com") {
      EXPECT_TRUE(std::regex_match(s.record["errorMessage"].get<std::string>(),
                                   std::regex("User: arn:aws:.* is not authorized to perform: .* on resource: .*")));
    }
  }
  EXPECT_GT(failures, 600);  // 4% of 20000 = 800
  EXPECT_LT(failures, 1000);
  EXPECT_EQ(codes, (std::set<std::string>{"AccessDenied", "NoSuchKey", "ThrottlingException"}));
}

// End to end through the real Recorder: every call becomes a delivered record.
TEST(SimulatedService, RecordsWrittenByTheRecorderParseBack) {
  const std::filesystem::path root =
      std::filesystem::temp_directory_path() / ("trailkit-simsvc-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::remove_all(root);
  trailkit::RecorderOptions options;
  options.account_id = "111122223333";
  options.local_directory.root = root.string();
  options.local_directory.fsync = false;
  auto recorder = trailkit::Recorder::create(options);
  SimulatedService service(two_regions(17));
  std::map<std::string, int> emitted;
  Event event;
  for (int i = 0; i < 2000; ++i) {
    ++emitted[std::string(service.next_call(event))];
    ASSERT_EQ(recorder->emit(event), trailkit::EmitStatus::kOk);
  }
  ASSERT_TRUE(recorder->shutdown(std::chrono::seconds(30)));
  EXPECT_EQ(recorder->stats().written, 2000u);

  std::map<std::string, int> read_back;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file() || entry.path().string().find("/.trailkit-tmp/") != std::string::npos) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string compressed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string text;
    ASSERT_TRUE(trailkit::detail::decompress(compressed, text).is_ok()) << entry.path();
    const json body = json::parse(text);
    for (const json& record : body["Records"]) ++read_back[record["eventName"].get<std::string>()];
  }
  EXPECT_EQ(read_back, emitted);
  if (!HasFailure()) std::filesystem::remove_all(root);
}

}  // namespace
