#pragma once
// CloudTrailServer — `trailkit serve`: a CloudTrail-compatible JSON 1.1 endpoint over HTTP/1.1
// (Boost.Beast), so the stock `aws cloudtrail ...` commands, boto3 and `aws cloudtrail validate-logs`
// work against a trail recorded by trailkit (cloudtrail-spec §6).
//
// Protocol (spec §6.1): `POST /`, `Content-Type: application/x-amz-json-1.1`,
// `X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Op>`, SigV4 header auth
// with signing name `cloudtrail` (sigv4_verifier.hpp). Every response carries `x-amzn-RequestId`
// (a UUID, which botocore reads) and a `Date`; errors are `{"__type":"<Code>","message":"..."}`
// (botocore's BaseJSONParser) with HTTP 400, 403 for authentication, 404/405 for a wrong path or
// method, 413 for a body over `max_body_bytes`, 415 for another content type, 500 when a state
// file is unreadable (details go to the log, not to the client).
//
// Order of checks: path/method, authentication, content type, X-Amz-Target, JSON body, operation —
// so an unauthenticated caller learns nothing about operations or state.
//
// Operations (built in; more are added with add_operation(), e.g. LookupEvents):
//   ListPublicKeys  {StartTime?, EndTime?, NextToken?} -> {"PublicKeyList":[{Value, ValidityStartTime,
//                   ValidityEndTime, Fingerprint}]} from <state_dir>/public-keys.json (§4.5, §6.3)
//   DescribeTrails  {"trailNameList"?, "includeShadowTrails"?} -> {"trailList":[Trail]} (§6.4)
//   GetTrail        {"Name"} -> {"Trail":{...}}
//   GetTrailStatus  {"Name"} -> §6.5 members from <state_dir>/trail-status.json
// The state files are read on every request (they are small and the recorder rewrites them
// atomically, state_files.hpp), so a running server always answers the current state.
//
// Thread contract: construct, add_operation(), then start() once; port() after start(); stop() (also
// run by the destructor) is idempotent and may be called from any thread except a handler's.
// Requests are served on one internal I/O thread; handlers run there one at a time.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "trailkit/clock.hpp"

namespace trailkit::detail {
struct TrailDescription;  // digest/state_files.hpp
}  // namespace trailkit::detail

namespace trailkit::api {

/// The port `trailkit serve` listens on when --listen gives none.
inline constexpr std::uint16_t kDefaultServePort = 8787;
/// The SigV4 signing name and X-Amz-Target prefix of CloudTrail (spec §6.1).
inline constexpr std::string_view kCloudTrailSigningName = "cloudtrail";
inline constexpr std::string_view kCloudTrailTargetPrefix = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";

/// Settings of one server. Defaults stated inline; checked by CloudTrailServer's constructor.
/// Thread contract: plain value type.
struct CloudTrailServerOptions {
  std::string listen_address = "127.0.0.1";  ///< an IP literal; loopback by default (a local endpoint)
  std::uint16_t port = kDefaultServePort;     ///< 0 = an ephemeral port (see CloudTrailServer::port())
  std::string state_dir = ".trailkit";        ///< trail.json, trail-status.json, public-keys.json
  /// Access key id -> secret access key accepted for SigV4. Empty: credentials_from_environment()
  /// is used by the constructor; still empty then, the constructor refuses to build the server.
  std::map<std::string, std::string> credentials;
  /// The region this endpoint serves: the credential scope must name it, and trail names only
  /// match a trail of this region (spec §6.4). "" = the trail's home region from trail.json, read
  /// per request (no trail yet: any region is accepted).
  std::string region;
  std::shared_ptr<Clock> clock;               ///< null = trailkit::system_clock(); tests script it
  std::size_t max_body_bytes = 1 << 20;       ///< larger request bodies get 413 and the connection closes
  std::chrono::milliseconds idle_timeout{60000};  ///< a connection without a complete request for this long is closed
  /// Receives one line per request ("<request id> <operation> <status> [<code>] key=<redacted id>")
  /// and state-file problems; never the Authorization header or a secret. Null = silent.
  /// Called on the I/O thread.
  std::function<void(std::string_view line)> log;
};

/// TRAILKIT_API_ACCESS_KEY_ID / TRAILKIT_API_SECRET_ACCESS_KEY as a one-entry map, or an empty map
/// when neither is set. Throws std::invalid_argument when only one of the two is set.
/// Thread contract: safe unless another thread calls setenv/putenv concurrently.
std::map<std::string, std::string> credentials_from_environment();

/// An error answered to the client as {"__type": code, "message": message} with `http_status`.
/// Operation handlers throw it; any other exception becomes 500 InternalFailure.
/// Thread contract: plain value type.
class ApiError : public std::runtime_error {
 public:
  ApiError(std::string code, const std::string& message, int http_status = 400)
      : std::runtime_error(message), code_(std::move(code)), http_status_(http_status) {}
  const std::string& code() const noexcept { return code_; }
  int http_status() const noexcept { return http_status_; }

 private:
  std::string code_;
  int http_status_;
};

/// What an operation handler may know about the request it serves. Valid during the call only.
struct OperationContext {
  std::string_view state_dir;
  std::string_view region;         ///< the served region ("" = not known: no trail yet, no --region)
  std::int64_t now = 0;            ///< server clock, epoch seconds
  std::string_view request_id;
  std::string_view access_key_id;  ///< the verified caller
};

/// One operation: the parsed JSON object of the request (`{}` for an empty body) -> the JSON
/// response. Throws ApiError for client errors. Called on the I/O thread, one call at a time.
using OperationHandler = std::function<nlohmann::json(const nlohmann::json& input, const OperationContext& context)>;

/// For operations added with add_operation() that name a trail (GetEventSelectors,
/// GetInsightSelectors): the trail of <state_dir>/trail.json that `name_or_arn` designates, by the
/// rules GetTrail uses (spec §6.4, §6.7): a name matches only a trail of the served region, an ARN
/// matches exactly. Throws ApiError InvalidTrailNameException (empty or malformed name),
/// CloudTrailARNInvalidException (malformed ARN) or TrailNotFoundException; std::runtime_error when
/// trail.json is unreadable (the server answers 500). Thread contract: thread-safe (reads the file).
detail::TrailDescription designated_trail(std::string_view name_or_arn, const OperationContext& context);

class CloudTrailServer {
 public:
  /// Validates `options` and registers the built-in operations; binds nothing yet. Throws
  /// std::invalid_argument naming the field: no credentials (message names the two environment
  /// variables), an empty id or secret, listen_address not an IP literal, max_body_bytes 0,
  /// idle_timeout <= 0.
  explicit CloudTrailServer(CloudTrailServerOptions options);
  ~CloudTrailServer();
  CloudTrailServer(const CloudTrailServer&) = delete;
  CloudTrailServer& operator=(const CloudTrailServer&) = delete;

  /// Adds (or replaces) operation `name` ("LookupEvents": the part after the X-Amz-Target prefix).
  /// Call before start().
  void add_operation(std::string name, OperationHandler handler);

  /// Binds and starts serving on the I/O thread. Throws std::runtime_error naming the address and
  /// the system error when the bind fails (port in use). Call once.
  void start();
  /// The bound port (the ephemeral one when options.port was 0). Valid after start().
  std::uint16_t port() const noexcept;
  /// Stops accepting, closes every connection (an in-flight request is abandoned), joins the I/O
  /// thread. Returns within milliseconds. Idempotent.
  void stop() noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trailkit::api
