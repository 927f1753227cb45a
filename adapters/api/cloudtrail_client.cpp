#include "api/cloudtrail_client.hpp"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "digest/crypto.hpp"

namespace trailkit::api {
namespace {

using Json = nlohmann::json;
constexpr const char* kTargetPrefix = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";

std::optional<std::int64_t> epoch_of(const Json& value) {
  if (value.is_number()) return static_cast<std::int64_t>(std::floor(value.get<double>()));
  return std::nullopt;
}

std::string string_of(const Json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string resolve_cloudtrail_endpoint(const std::string& flag, const s3::Environment& env) {
  if (!flag.empty()) return flag;
  for (const char* name : {"AWS_ENDPOINT_URL_CLOUDTRAIL", "AWS_ENDPOINT_URL"}) {
    if (auto value = env.get(name); value && !value->empty()) return *value;
  }
  return "";
}

CloudTrailClient::CloudTrailClient(CloudTrailClientOptions options) : options_(std::move(options)) {
  endpoint_url_ = options_.endpoint_url.empty() ? "https://cloudtrail." + options_.region + ".amazonaws.com"
                                                : options_.endpoint_url;
  endpoint_ = s3::parse_endpoint(endpoint_url_);
  http_ = std::make_unique<s3::HttpClient>(s3::HttpEndpoint{endpoint_.scheme, endpoint_.host, endpoint_.port},
                                           options_.http);
}

CloudTrailClient::~CloudTrailClient() = default;

std::string CloudTrailClient::call(const std::string& operation, const std::string& request_json) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"content-type", "application/x-amz-json-1.1"}, {"x-amz-target", kTargetPrefix + operation}};
  s3::HttpRequest http;
  http.method = "POST";
  http.target = endpoint_.base_path + "/";
  http.body = request_json;
  http.headers = headers;
  if (options_.credentials && !options_.credentials->empty()) {
    s3::SigningRequest request;
    request.method = "POST";
    request.path = http.target;
    request.headers = headers;
    request.headers.emplace_back("host", s3::host_header_value({endpoint_.scheme, endpoint_.host, endpoint_.port}));
    request.payload_hash = s3::sha256_hex(request_json);
    s3::SigningParams params;
    params.region = options_.region;
    params.service = "cloudtrail";
    params.time = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    params.s3_rules = false;
    const s3::SignedRequest signed_request = s3::sign(request, *options_.credentials, params);
    for (const auto& h : signed_request.added_headers) http.headers.push_back(h);
    http.headers.emplace_back("Authorization", signed_request.authorization);
  }
  s3::HttpResponse response;
  const Status s = http_->send(http, response);
  if (!s) throw CloudTrailError("", "CloudTrail " + operation + " at " + endpoint_url_ + " failed: " + s.message());
  if (response.status >= 200 && response.status < 300) return std::move(response.body);
  // botocore: __type with any "namespace#" prefix stripped; message or Message.
  const Json error = Json::parse(response.body, nullptr, false);
  std::string code, message;
  if (error.is_object()) {
    code = string_of(error, "__type");
    if (const auto hash = code.rfind('#'); hash != std::string::npos) code = code.substr(hash + 1);
    message = string_of(error, "message");
    if (message.empty()) message = string_of(error, "Message");
  }
  throw CloudTrailError(code, "An error occurred (" + (code.empty() ? "HTTP " + std::to_string(response.status) : code) +
                                  ") when calling the " + operation + " operation" +
                                  (message.empty() ? "" : ": " + message));
}

std::vector<detail::PublicKeyRecord> CloudTrailClient::list_public_keys(std::int64_t from, std::int64_t to) {
  std::vector<detail::PublicKeyRecord> keys;
  std::string token;
  for (int page = 0; page < 1000; ++page) {
    Json request = {{"StartTime", from}, {"EndTime", to}};
    if (!token.empty()) request["NextToken"] = token;
    const Json reply = Json::parse(call("ListPublicKeys", request.dump()), nullptr, false);
    if (!reply.is_object()) throw CloudTrailError("", "ListPublicKeys: the reply is not a JSON object");
    if (const auto list = reply.find("PublicKeyList"); list != reply.end() && list->is_array()) {
      for (const Json& entry : *list) {
        if (!entry.is_object()) continue;
        detail::PublicKeyRecord key;
        key.fingerprint = string_of(entry, "Fingerprint");
        // An undecodable Value stays empty: the digest then fails "Unable to load PKCS #1 key".
        key.der = detail::base64_decode(string_of(entry, "Value")).value_or("");
        key.validity_start = epoch_of(entry.value("ValidityStartTime", Json())).value_or(0);
        key.validity_end = epoch_of(entry.value("ValidityEndTime", Json()));
        keys.push_back(std::move(key));
      }
    }
    token = string_of(reply, "NextToken");
    if (token.empty()) break;
  }
  return keys;
}

std::optional<TrailLocation> CloudTrailClient::describe_trail(const std::string& arn) {
  const Json reply = Json::parse(call("DescribeTrails", "{}"), nullptr, false);
  if (!reply.is_object()) throw CloudTrailError("", "DescribeTrails: the reply is not a JSON object");
  const auto list = reply.find("trailList");
  if (list == reply.end() || !list->is_array()) return std::nullopt;
  for (const Json& trail : *list) {
    if (!trail.is_object() || string_of(trail, "TrailARN") != arn) continue;
    TrailLocation location;
    location.bucket = string_of(trail, "S3BucketName");
    location.key_prefix = string_of(trail, "S3KeyPrefix");
    location.home_region = string_of(trail, "HomeRegion");
    const auto org = trail.find("IsOrganizationTrail");
    location.is_organization_trail = org != trail.end() && org->is_boolean() && org->get<bool>();
    return location;
  }
  return std::nullopt;
}

std::optional<std::int64_t> CloudTrailClient::latest_digest_delivery_time(const std::string& arn) {
  const Json reply = Json::parse(call("GetTrailStatus", Json{{"Name", arn}}.dump()), nullptr, false);
  if (!reply.is_object()) return std::nullopt;
  return epoch_of(reply.value("LatestDigestDeliveryTime", Json()));
}

std::vector<detail::LatestDigest> CloudTrailClient::latest_digests(const std::string& arn) {
  const Json reply = Json::parse(call("GetTrailStatus", Json{{"Name", arn}}.dump()), nullptr, false);
  std::vector<detail::LatestDigest> out;
  if (!reply.is_object()) return out;
  const auto it = reply.find("TrailkitLatestDigests");
  if (it == reply.end() || !it->is_array()) return out;
  for (const Json& entry : *it) {
    if (!entry.is_object()) continue;
    detail::LatestDigest d;
    d.account_id = entry.value("AccountId", "");
    d.region = entry.value("Region", "");
    d.key = entry.value("S3Object", "");
    d.end_time = epoch_of(entry.value("DigestEndTime", Json())).value_or(0);
    if (!d.key.empty()) out.push_back(std::move(d));
  }
  return out;
}

}  // namespace trailkit::api
