#include "api/sigv4_verifier.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>

#include "common/civil_time.hpp"
#include "digest/crypto.hpp"
#include "s3/sigv4.hpp"

namespace trailkit::api {
namespace {

constexpr char kMissingToken[] = "MissingAuthenticationTokenException";
constexpr char kIncomplete[] = "IncompleteSignatureException";
constexpr char kUnrecognized[] = "UnrecognizedClientException";
constexpr char kInvalid[] = "InvalidSignatureException";
constexpr char kMismatch[] =
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details.";

VerificationResult fail(const char* code, std::string message) {
  VerificationResult result;
  result.code = code;
  result.message = std::move(message);
  return result;
}

bool equals_ignore_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}


// Percent-decoding ('+' stays '+': SigV4 encodes spaces as %20). nullopt for a broken escape.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int high = detail::hex_value(s[i + 1]), low = detail::hex_value(s[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

}  // namespace

std::string format_amz_date(std::int64_t epoch_seconds) {
  const detail::CivilTime t = detail::civil_four_digit_year(epoch_seconds);
  std::string out(16, ' ');
  detail::write_digits(out.data(), t.year, 4);
  detail::write_digits(out.data() + 4, t.month, 2);
  detail::write_digits(out.data() + 6, t.day, 2);
  out[8] = 'T';
  detail::write_digits(out.data() + 9, t.hour, 2);
  detail::write_digits(out.data() + 11, t.minute, 2);
  detail::write_digits(out.data() + 13, t.second, 2);
  out[15] = 'Z';
  return out;
}

bool parse_amz_date(std::string_view text, std::int64_t& epoch_seconds) noexcept {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return false;
  auto number = [&](std::size_t at, std::size_t n, int& value) {
    value = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      value = value * 10 + (text[i] - '0');
    }
    return true;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!number(0, 4, year) || !number(4, 2, month) || !number(6, 2, day) || !number(9, 2, hour) ||
      !number(11, 2, minute) || !number(13, 2, second))
    return false;
  const std::optional<std::int64_t> epoch = detail::epoch_from_civil(year, month, day, hour, minute, second);
  if (!epoch) return false;  // 31 February, hour 24 and the like
  epoch_seconds = *epoch;
  return true;
}

SigV4Verifier::SigV4Verifier(std::map<std::string, std::string> secrets, std::string service)
    : secrets_(std::move(secrets)), service_(std::move(service)) {
  if (secrets_.empty()) throw std::invalid_argument("SigV4Verifier: no credentials configured");
  for (const auto& [id, secret] : secrets_)
    if (id.empty() || secret.empty())
      throw std::invalid_argument("SigV4Verifier: an access key id or secret access key is empty");
  if (service_.empty()) throw std::invalid_argument("SigV4Verifier: service must not be empty");
}

VerificationResult SigV4Verifier::verify(const ReceivedRequest& request, std::string_view region,
                                         std::int64_t now) const {
  auto header = [&](std::string_view name) -> std::optional<std::string_view> {
    for (const auto& [n, v] : request.headers)
      if (equals_ignore_case(n, name)) return v;
    return std::nullopt;
  };

  const auto authorization = header("authorization");
  if (!authorization) return fail(kMissingToken, "Missing Authentication Token");
  const auto parsed = s3::parse_authorization(*authorization);
  // Never echo the header: it carries the signature.
  if (!parsed)
    return fail(kIncomplete,
                "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters "
                "with algorithm AWS4-HMAC-SHA256.");
  if (parsed->service != service_)
    return fail(kInvalid, "Credential should be scoped to correct service: '" + service_ + "'.");
  if (!region.empty() && parsed->region != region)
    return fail(kInvalid, "Credential should be scoped to a valid region, not '" + parsed->region + "'.");
  const auto secret = secrets_.find(parsed->access_key_id);
  if (secret == secrets_.end()) return fail(kUnrecognized, "The security token included in the request is invalid.");
  if (header("x-amz-security-token"))
    return fail(kUnrecognized, "The security token included in the request is invalid.");

  const auto amz_date = header("x-amz-date");
  if (!amz_date) return fail(kIncomplete, "Authorization header requires existence of a 'X-Amz-Date' header.");
  std::int64_t signed_at = 0;
  if (!parse_amz_date(*amz_date, signed_at))
    return fail(kIncomplete, "X-Amz-Date must be in the ISO8601 basic format YYYYMMDD'T'HHMMSS'Z'.");
  if (parsed->date != amz_date->substr(0, 8))
    return fail(kInvalid, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
                              parsed->date + "' != '" + std::string(amz_date->substr(0, 8)) + "'");
  if (signed_at < now - kMaxClockSkewSeconds)
    return fail(kInvalid, "Signature expired: " + std::string(*amz_date) + " is now earlier than " +
                              format_amz_date(now - kMaxClockSkewSeconds) + " (" + format_amz_date(now) +
                              " - 15 min.)");
  if (signed_at > now + kMaxClockSkewSeconds)
    return fail(kInvalid, "Signature not yet current: " + std::string(*amz_date) + " is still later than " +
                              format_amz_date(now + kMaxClockSkewSeconds) + " (" + format_amz_date(now) +
                              " + 15 min.)");

  // Which headers were signed: host and x-amz-date must be; every x-amz-* header sent must be.
  const auto& listed = parsed->signed_headers;
  auto is_listed = [&](std::string_view lower_name) {
    return std::find(listed.begin(), listed.end(), lower_name) != listed.end();
  };
  if (!is_listed("host")) return fail(kIncomplete, "'Host' must be a 'SignedHeader' in the AWS Authorization.");
  if (!is_listed("x-amz-date"))
    return fail(kIncomplete, "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");
  s3::SigningRequest signing;
  signing.headers.reserve(listed.size());
  for (const auto& [name, value] : request.headers) {
    std::string lower_name = lower(name);
    if (is_listed(lower_name)) {
      signing.headers.emplace_back(std::move(lower_name), std::string(value));
    } else if (lower_name.compare(0, 6, "x-amz-") == 0) {
      return fail(kIncomplete, "Header '" + lower_name + "' must be a 'SignedHeader' in the AWS Authorization.");
    }
  }
  for (const std::string& name : listed) {
    const bool present = std::any_of(signing.headers.begin(), signing.headers.end(),
                                     [&](const auto& h) { return h.first == name; });
    if (!present) return fail(kIncomplete, "Signed header '" + name + "' is missing from the request.");
  }

  // The payload hash is always the hash of the body received, never a hash the client claims.
  signing.payload_hash = s3::sha256_hex(request.body);
  if (const auto claimed = header("x-amz-content-sha256"); claimed && *claimed != signing.payload_hash)
    return fail(kInvalid, "The provided 'x-amz-content-sha256' header does not match what was computed.");

  // Path and query from the raw target, decoded (the signer encodes them again).
  const std::size_t question = request.target.find('?');
  const auto path = percent_decode(request.target.substr(0, question));
  if (!path) return fail(kInvalid, kMismatch);
  signing.path = *path;
  if (question != std::string_view::npos) {
    std::string_view query = request.target.substr(question + 1);
    while (!query.empty()) {
      const std::size_t amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      if (!pair.empty()) {
        const std::size_t equals = pair.find('=');
        auto name = percent_decode(pair.substr(0, equals));
        auto value = equals == std::string_view::npos ? std::optional<std::string>("")
                                                      : percent_decode(pair.substr(equals + 1));
        if (!name || !value) return fail(kInvalid, kMismatch);
        signing.query.emplace_back(std::move(*name), std::move(*value));
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  signing.method = std::string(request.method);

  s3::SigningParams params;
  params.region = parsed->region;
  params.service = parsed->service;
  params.time = signed_at;
  params.s3_rules = false;
  params.sign_every_given_header = true;
  const s3::Credentials credentials{secret->first, secret->second, ""};
  const s3::SignedRequest expected = s3::sign(signing, credentials, params);
  if (!s3::constant_time_equal(expected.signature, parsed->signature)) return fail(kInvalid, kMismatch);

  VerificationResult result;
  result.ok = true;
  result.http_status = 200;
  result.access_key_id = parsed->access_key_id;
  return result;
}

}  // namespace trailkit::api
