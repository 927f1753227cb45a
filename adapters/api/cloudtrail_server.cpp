#include "api/cloudtrail_server.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "api/request_members.hpp"
#include "api/sigv4_verifier.hpp"
#include "common/civil_time.hpp"
#include "common/fast_random.hpp"
#include "common/uuid.hpp"
#include "digest/crypto.hpp"
#include "digest/key_registry.hpp"
#include "digest/state_files.hpp"
#include "s3/sigv4.hpp"

namespace trailkit::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Json = nlohmann::json;

constexpr std::string_view kJsonContentType = "application/x-amz-json-1.1";
constexpr std::size_t kHeaderLimit = 16 * 1024;
constexpr std::chrono::seconds kLingerTimeout{2};
constexpr std::size_t kLingerMaxBytes = 8 << 20;

// Request members: api/request_members.hpp.
using detail::clamp_to_int64;
using detail::member;
using detail::string_member;
using detail::time_member;
using detail::wrong_type;

// ---- trail names and ARNs (spec §6.7) ----

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Empty when `name` follows CloudTrail's trail-name rules, else the rule it breaks.
std::string trail_name_problem(std::string_view name) {
  if (name.size() < 3 || name.size() > 128) return "must be 3 to 128 characters long";
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!is_alnum(c) && c != '.' && c != '_' && c != '-')
      return "may contain only ASCII letters, digits, periods, underscores and dashes";
    if (!is_alnum(c) && i > 0 && !is_alnum(name[i - 1])) return "must not have adjacent periods, underscores or dashes";
  }
  if (!is_alnum(name.front()) || !is_alnum(name.back())) return "must start and end with a letter or number";
  // "Not formatted as an IP address": four dot-separated digit groups.
  int groups = 1;
  bool digits_only = true;
  for (const char c : name) {
    if (c == '.') ++groups;
    else if (!is_digit(c)) digits_only = false;
  }
  if (digits_only && groups == 4) return "must not be formatted as an IP address";
  return {};
}

// arn:<partition>:cloudtrail:<region>:<12-digit account>:trail/<valid trail name>
bool is_trail_arn(std::string_view arn) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0, i = 0; parts.size() < 5; ++i) {
    if (i == arn.size()) return false;
    if (arn[i] == ':') {
      parts.push_back(arn.substr(start, i - start));
      start = i + 1;
      if (parts.size() == 5) parts.push_back(arn.substr(start));
    }
  }
  const std::string_view account = parts[4];
  return parts[0] == "arn" && !parts[1].empty() && parts[2] == "cloudtrail" && !parts[3].empty() &&
         account.size() == 12 && std::all_of(account.begin(), account.end(), is_digit) &&
         parts[5].substr(0, 6) == "trail/" && trail_name_problem(parts[5].substr(6)).empty();
}

// Validates a Name / trailNameList entry (ARN or name; throws the CloudTrail exception for a bad
// one) and says whether it designates `trail` as seen from `region`. Names only match a trail of
// the served region; ARNs match exactly (validate-logs compares TrailARN exactly, spec §6.4).
bool designates(std::string_view name_or_arn, const detail::TrailDescription* trail, std::string_view region) {
  if (name_or_arn.substr(0, 4) == "arn:") {
    if (!is_trail_arn(name_or_arn))
      throw ApiError("CloudTrailARNInvalidException",
                     "The ARN " + std::string(name_or_arn) + " is not a valid CloudTrail trail ARN "
                     "(arn:aws:cloudtrail:<region>:<account>:trail/<name>).");
    return trail != nullptr && name_or_arn == trail->arn();
  }
  if (const std::string problem = trail_name_problem(name_or_arn); !problem.empty())
    throw ApiError("InvalidTrailNameException", "Trail name " + std::string(name_or_arn) + " is invalid: it " + problem + ".");
  return trail != nullptr && name_or_arn == trail->name && (region.empty() || region == trail->home_region);
}

Json trail_json(const detail::TrailDescription& trail) {
  Json out = Json::object();
  out["Name"] = trail.name;
  out["S3BucketName"] = trail.bucket;
  if (!trail.key_prefix.empty()) out["S3KeyPrefix"] = trail.key_prefix;
  out["IncludeGlobalServiceEvents"] = true;
  out["IsMultiRegionTrail"] = false;
  out["HomeRegion"] = trail.home_region;
  out["TrailARN"] = trail.arn();
  out["LogFileValidationEnabled"] = trail.log_file_validation;
  out["HasCustomEventSelectors"] = false;
  out["HasInsightSelectors"] = false;
  out["IsOrganizationTrail"] = !trail.organization_id.empty();
  return out;
}

}  // namespace

detail::TrailDescription designated_trail(std::string_view name_or_arn, const OperationContext& context) {
  if (name_or_arn.empty()) throw ApiError("InvalidTrailNameException", "Trail name or ARN can not be empty.");
  std::optional<detail::TrailDescription> trail = detail::read_trail_description(context.state_dir);
  if (!designates(name_or_arn, trail ? &*trail : nullptr, context.region))
    throw ApiError("TrailNotFoundException", "Unknown trail: " + std::string(name_or_arn) + " for the user: " +
                                                 (trail ? trail->account_id : std::string("(no trail recorded)")));
  return std::move(*trail);
}

namespace {

// The trail named by input["Name"] (GetTrail, GetTrailStatus), or TrailNotFoundException.
detail::TrailDescription named_trail(const Json& input, const OperationContext& context) {
  return designated_trail(string_member(input, "Name").value_or(""), context);
}

// ---- built-in operations ----

Json list_public_keys(const Json& input, const OperationContext& context) {
  // AWS: either bound, when absent, is the current time (no bounds = the currently valid key).
  const long double start = time_member(input, "StartTime").value_or(static_cast<long double>(context.now));
  const long double end = time_member(input, "EndTime").value_or(static_cast<long double>(context.now));
  if (string_member(input, "NextToken"))
    throw ApiError("InvalidTokenException", "Invalid NextToken: this endpoint returns every public key in one page.");
  if (start > end) throw ApiError("InvalidTimeRangeException", "StartTime must be before or equal to EndTime.");
  // Whole-second key windows overlap [start, end] exactly when they overlap [ceil(start), floor(end)].
  const std::int64_t from = clamp_to_int64(std::ceil(start));
  const std::int64_t to = clamp_to_int64(std::floor(end));
  const detail::KeyRegistry registry = detail::KeyRegistry::load(detail::public_keys_path(context.state_dir));
  Json keys = Json::array();
  for (const detail::PublicKeyRecord& key : registry.overlapping(from, to)) {
    keys.push_back({{"Value", detail::base64_encode(key.der)},
                    {"ValidityStartTime", key.validity_start},
                    {"ValidityEndTime", detail::KeyRegistry::reported_end(key, context.now)},
                    {"Fingerprint", key.fingerprint}});
  }
  return {{"PublicKeyList", std::move(keys)}};
}

Json describe_trails(const Json& input, const OperationContext& context) {
  const Json* names = member(input, "trailNameList");
  if (names != nullptr && !names->is_array()) wrong_type("trailNameList", "a list of strings");
  if (const Json* shadow = member(input, "includeShadowTrails"); shadow != nullptr && !shadow->is_boolean())
    wrong_type("includeShadowTrails", "a boolean");  // no multi-region trails here, so no shadow trails
  const std::optional<detail::TrailDescription> trail = detail::read_trail_description(context.state_dir);
  bool include = false;
  if (names == nullptr || names->empty()) {
    // All trails of the served region; an unknown state is simply an empty list, as on AWS.
    include = trail && (context.region.empty() || context.region == trail->home_region);
  } else {
    for (const Json& name : *names) {
      if (!name.is_string()) wrong_type("trailNameList", "a list of strings");
      if (designates(name.get<std::string>(), trail ? &*trail : nullptr, context.region)) include = true;
    }
  }
  Json list = Json::array();
  if (include) list.push_back(trail_json(*trail));
  return {{"trailList", std::move(list)}};
}

Json get_trail(const Json& input, const OperationContext& context) {
  return {{"Trail", trail_json(named_trail(input, context))}};
}

Json get_trail_status(const Json& input, const OperationContext& context) {
  named_trail(input, context);
  const detail::TrailStatus status = detail::read_trail_status(context.state_dir).value_or(detail::TrailStatus{});
  Json out = {{"IsLogging", status.is_logging}};
  // Absent, not 0 / "": botocore would show 1970 for a zero time.
  auto time = [&](const char* name, std::int64_t value) {
    if (value != 0) out[name] = value;
  };
  auto error = [&](const char* name, const std::string& value) {
    if (!value.empty()) out[name] = value;
  };
  time("StartLoggingTime", status.start_logging_time);
  time("StopLoggingTime", status.stop_logging_time);
  time("LatestDeliveryTime", status.latest_delivery_time);
  error("LatestDeliveryError", status.latest_delivery_error);
  time("LatestDigestDeliveryTime", status.latest_digest_delivery_time);
  error("LatestDigestDeliveryError", status.latest_digest_delivery_error);
  // trailkit's addition (SDKs ignore members their model lacks): the newest digest delivered per
  // account and region, the exact watermark with which `trailkit validate` detects a deleted tail.
  if (!status.latest_digests.empty()) {
    Json latest = Json::array();
    for (const detail::LatestDigest& d : status.latest_digests) {
      latest.push_back({{"AccountId", d.account_id}, {"Region", d.region}, {"S3Object", d.key}, {"DigestEndTime", d.end_time}});
    }
    out["TrailkitLatestDigests"] = std::move(latest);
  }
  return out;
}

// ---- HTTP helpers ----

bool equals_ignore_case(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto fold = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
           return fold(x) == fold(y);
         });
}

// The media type of a Content-Type value (parameters such as "; charset=utf-8" dropped).
std::string_view media_type(std::string_view value) {
  value = value.substr(0, value.find(';'));
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return value;
}

// RFC 9110 IMF-fixdate, e.g. "Tue, 02 Jan 2024 03:04:05 GMT". botocore estimates clock skew from it.
std::string http_date(std::int64_t epoch_seconds) {
  static constexpr const char* kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const detail::CivilTime t = detail::civil_four_digit_year(epoch_seconds);
  std::int64_t days = epoch_seconds / 86400 - (epoch_seconds % 86400 < 0 ? 1 : 0);
  const auto weekday = static_cast<std::size_t>(((days % 7) + 7) % 7);
  char buffer[32];
  char* p = buffer;
  auto put = [&](std::string_view s) {
    for (const char c : s) *p++ = c;
  };
  put(kDays[weekday]);
  put(", ");
  detail::write_digits(p, t.day, 2);
  p += 2;
  put(" ");
  put(kMonths[t.month - 1]);
  put(" ");
  detail::write_digits(p, t.year, 4);
  p += 4;
  put(" ");
  detail::write_digits(p, t.hour, 2);
  p[2] = ':';
  detail::write_digits(p + 3, t.minute, 2);
  p[5] = ':';
  detail::write_digits(p + 6, t.second, 2);
  p += 8;
  put(" GMT");
  return std::string(buffer, p);
}

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

}  // namespace

std::map<std::string, std::string> credentials_from_environment() {
  const char* id = std::getenv("TRAILKIT_API_ACCESS_KEY_ID");
  const char* secret = std::getenv("TRAILKIT_API_SECRET_ACCESS_KEY");
  const bool have_id = id != nullptr && *id != '\0';
  const bool have_secret = secret != nullptr && *secret != '\0';
  if (have_id != have_secret)
    throw std::invalid_argument(
        "TRAILKIT_API_ACCESS_KEY_ID and TRAILKIT_API_SECRET_ACCESS_KEY must be set together (only one is set)");
  std::map<std::string, std::string> credentials;
  if (have_id) credentials.emplace(id, secret);
  return credentials;
}

class CloudTrailServer::Impl {
 public:
  explicit Impl(CloudTrailServerOptions options)
      : options_(validated(std::move(options))),
        verifier_(options_.credentials, std::string(kCloudTrailSigningName)) {}

  ~Impl() { stop(); }

  void add_operation(std::string name, OperationHandler handler) {
    operations_[std::move(name)] = std::move(handler);
  }

  void start() {
    if (context_) throw std::logic_error("CloudTrailServer::start called twice");
    beast::error_code ec;
    const auto address = asio::ip::make_address(options_.listen_address, ec);
    context_ = std::make_unique<asio::io_context>(1);
    acceptor_.emplace(*context_);
    const tcp::endpoint endpoint(address, options_.port);
    auto check = [&](const char* step) {
      if (ec)
        throw std::runtime_error("trailkit serve: cannot " + std::string(step) + " " + options_.listen_address + ":" +
                                 std::to_string(options_.port) + ": " + ec.message());
    };
    acceptor_->open(endpoint.protocol(), ec);
    check("open");
    acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    check("configure");
    acceptor_->bind(endpoint, ec);
    check("bind");
    acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    check("listen on");
    port_ = acceptor_->local_endpoint().port();
    accept();
    thread_ = std::thread([this] {
      for (;;) {
        try {
          context_->run();
          return;
        } catch (const std::exception& error) {  // bad_alloc in a handler: keep serving
          log(std::string("internal error: ") + error.what());
        }
      }
    });
  }

  std::uint16_t port() const noexcept { return port_; }

  void stop() noexcept {
    if (!context_) return;
    context_->stop();
    if (thread_.joinable()) thread_.join();
    // Destroying the acceptor and then the io_context destroys every pending handler, and with
    // them the sessions they own: their sockets close now.
    acceptor_.reset();
    context_.reset();
  }

  const CloudTrailServerOptions& options() const noexcept { return options_; }

  Response handle(const Request& request);

 private:
  static CloudTrailServerOptions validated(CloudTrailServerOptions options) {
    if (options.credentials.empty()) options.credentials = credentials_from_environment();
    if (options.credentials.empty())
      throw std::invalid_argument(
          "trailkit serve: no API credentials: set TRAILKIT_API_ACCESS_KEY_ID and TRAILKIT_API_SECRET_ACCESS_KEY "
          "(the key pair clients sign requests with)");
    for (const auto& [id, secret] : options.credentials)
      if (id.empty() || secret.empty())
        throw std::invalid_argument("credentials: an access key id or secret access key is empty");
    beast::error_code ec;
    asio::ip::make_address(options.listen_address, ec);
    if (ec) throw std::invalid_argument("listen_address must be an IP address, not '" + options.listen_address + "'");
    if (options.max_body_bytes == 0) throw std::invalid_argument("max_body_bytes must be greater than 0");
    if (options.idle_timeout.count() <= 0) throw std::invalid_argument("idle_timeout must be positive");
    if (!options.clock) options.clock = system_clock();
    return options;
  }

  void accept();

  void log(const std::string& line) const {
    if (options_.log) options_.log(line);
  }

  Response reply(const Request& request, int status, const std::string& request_id, std::string body,
                 std::int64_t now) const {
    Response response(static_cast<http::status>(status), request.version());
    response.set(http::field::content_type, kJsonContentType);
    response.set("x-amzn-RequestId", request_id);
    response.set(http::field::date, http_date(now));
    response.body() = std::move(body);
    response.prepare_payload();
    response.keep_alive(request.keep_alive());
    return response;
  }

  Response error(const Request& request, int status, const std::string& request_id, const std::string& code,
                 const std::string& message, std::int64_t now) const {
    const Json body = {{"__type", code}, {"message", message}};
    return reply(request, status, request_id, body.dump(-1, ' ', false, Json::error_handler_t::replace), now);
  }

  class Session;

  CloudTrailServerOptions options_;
  SigV4Verifier verifier_;
  std::map<std::string, OperationHandler, std::less<>> operations_;
  detail::FastRandom random_;  // I/O thread only
  std::unique_ptr<asio::io_context> context_;
  std::optional<tcp::acceptor> acceptor_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

// One connection: read a request, answer it, repeat while keep-alive.
class CloudTrailServer::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Impl& server) : stream_(std::move(socket)), server_(server) {}

  void read_request() {
    parser_.emplace();
    parser_->body_limit(server_.options().max_body_bytes);
    parser_->header_limit(kHeaderLimit);
    stream_.expires_after(server_.options().idle_timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

 private:
  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      // A malformed or oversized request gets an answer before the connection closes; a peer
      // that went away or idled out just loses the connection.
      const auto& http_category = http::make_error_code(http::error::bad_method).category();
      if (ec.category() != http_category || ec == http::error::end_of_stream ||
          ec == http::error::partial_message) {
        close();
        return;
      }
      const bool too_large = ec == http::error::body_limit;
      const bool header_too_large = ec == http::error::header_limit;
      Request empty;
      empty.version(11);
      char id[36];
      detail::format_uuid_v4(server_.random_, id);
      const std::int64_t now = server_.options().clock->wall_now_seconds();
      response_ = server_.error(empty, too_large ? 413 : header_too_large ? 431 : 400, std::string(id, 36),
                                too_large ? "RequestEntityTooLargeException" : "SerializationException",
                                too_large ? "The request body exceeds " +
                                                std::to_string(server_.options().max_body_bytes) + " bytes."
                                          : "Malformed HTTP request.",
                                now);
      response_.keep_alive(false);
      server_.log(std::string(id, 36) + " - " + std::to_string(response_.result_int()) + " " + ec.message());
    } else {
      response_ = server_.handle(parser_->get());
    }
    stream_.expires_after(server_.options().idle_timeout);
    http::async_write(stream_, response_, beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) {
      close();
    } else if (!response_.keep_alive()) {
      linger();
    } else {
      read_request();
    }
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  // Lingering close (as Apache and nginx do): closing a socket with unread request bytes (the rest
  // of a 413 body) makes the kernel send RST, which can destroy our error response before the
  // client reads it. So: FIN first, then discard what the client still sends, for a bounded time.
  void linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTimeout);
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(drain_buffer_), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kLingerMaxBytes) {
        self->stream_.close();
        return;
      }
      self->drain();
    });
  }

  beast::tcp_stream stream_;
  Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Response response_;
  std::array<char, 16 * 1024> drain_buffer_;
  std::size_t drained_ = 0;
};

void CloudTrailServer::Impl::accept() {
  acceptor_->async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_->is_open()) return;
    if (!ec) std::make_shared<Session>(std::move(socket), *this)->read_request();
    accept();  // an accept error (EMFILE) must not stop the server
  });
}

Response CloudTrailServer::Impl::handle(const Request& request) {
  char id_buffer[36];
  detail::format_uuid_v4(random_, id_buffer);
  const std::string request_id(id_buffer, 36);
  const std::int64_t now = options_.clock->wall_now_seconds();
  std::string operation = "-";
  std::string access_key;

  auto finish = [&](Response response, const std::string& code) {
    log(request_id + " " + operation + " " + std::to_string(response.result_int()) + (code.empty() ? "" : " " + code) +
        (access_key.empty() ? "" : " key=" + s3::redact_access_key(access_key)));
    return response;
  };
  auto fail = [&](int status, const std::string& code, const std::string& message) {
    return finish(error(request, status, request_id, code, message, now), code);
  };

  try {
    const std::string_view target(request.target().data(), request.target().size());
    if (target != "/" && target.substr(0, 2) != "/?")
      return fail(404, "UnknownOperationException", "Only POST / is served (CloudTrail JSON 1.1).");
    if (request.method() != http::verb::post) {
      Response response = fail(405, "UnknownOperationException", "Only POST / is served (CloudTrail JSON 1.1).");
      response.set(http::field::allow, "POST");
      return response;
    }

    // The served region: explicit, else the trail's home region (no trail yet: any region).
    std::optional<detail::TrailDescription> trail;
    std::string region = options_.region;
    if (region.empty()) {
      trail = detail::read_trail_description(options_.state_dir);
      if (trail) region = trail->home_region;
    }

    ReceivedRequest received;
    received.method = std::string_view(request.method_string().data(), request.method_string().size());
    received.target = target;
    received.body = request.body();
    for (const auto& field : request)
      received.headers.emplace_back(std::string_view(field.name_string().data(), field.name_string().size()),
                                    std::string_view(field.value().data(), field.value().size()));
    const VerificationResult verdict = verifier_.verify(received, region, now);
    if (!verdict.ok) return fail(verdict.http_status, verdict.code, verdict.message);
    access_key = verdict.access_key_id;

    const auto content_type = request.find(http::field::content_type);
    if (content_type == request.end() ||
        !equals_ignore_case(media_type({content_type->value().data(), content_type->value().size()}), kJsonContentType))
      return fail(415, "UnsupportedMediaTypeException", "Content-Type must be application/x-amz-json-1.1.");

    const auto target_header = request.find("x-amz-target");
    const std::string_view amz_target =
        target_header == request.end() ? std::string_view{}
                                       : std::string_view(target_header->value().data(), target_header->value().size());
    const auto handler = amz_target.substr(0, kCloudTrailTargetPrefix.size()) == kCloudTrailTargetPrefix
                             ? operations_.find(amz_target.substr(kCloudTrailTargetPrefix.size()))
                             : operations_.end();
    if (handler == operations_.end()) return fail(400, "UnknownOperationException", "Unknown operation.");
    operation = handler->first;

    Json input = request.body().empty() ? Json::object() : Json::parse(request.body(), nullptr, false);
    if (input.is_discarded() || !input.is_object())
      return fail(400, "SerializationException", "The request body is not a JSON object.");

    const OperationContext context{options_.state_dir, region, now, request_id, access_key};
    const Json output = handler->second(input, context);
    return finish(reply(request, 200, request_id, output.dump(-1, ' ', false, Json::error_handler_t::replace), now),
                  "");
  } catch (const ApiError& api_error) {
    return fail(api_error.http_status(), api_error.code(), api_error.what());
  } catch (const std::exception& problem) {
    // Unreadable state files and the like: the details (paths) stay in the server's log.
    log(request_id + " " + operation + " internal error: " + problem.what());
    return fail(500, "InternalFailure", "The server could not process the request; see the server log.");
  }
}

CloudTrailServer::CloudTrailServer(CloudTrailServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
  add_operation("ListPublicKeys", list_public_keys);
  add_operation("DescribeTrails", describe_trails);
  add_operation("GetTrail", get_trail);
  add_operation("GetTrailStatus", get_trail_status);
}

CloudTrailServer::~CloudTrailServer() = default;

void CloudTrailServer::add_operation(std::string name, OperationHandler handler) {
  impl_->add_operation(std::move(name), std::move(handler));
}

void CloudTrailServer::start() { impl_->start(); }

std::uint16_t CloudTrailServer::port() const noexcept { return impl_->port(); }

void CloudTrailServer::stop() noexcept { impl_->stop(); }

}  // namespace trailkit::api
