#include "s3/sigv4.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <new>

#include "common/civil_time.hpp"

namespace trailkit::s3 {
namespace {

constexpr char kAlgorithm[] = "AWS4-HMAC-SHA256";
constexpr char kLowerHex[] = "0123456789abcdef";
constexpr char kUpperHex[] = "0123456789ABCDEF";

// botocore SIGNED_HEADERS_BLACKLIST: hop-by-hop and per-attempt headers.
constexpr std::array<std::string_view, 11> kUnsignedHeaders = {
    "connection", "expect",  "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailer",    "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id"};

using Digest = std::array<unsigned char, 32>;

bool is_unreserved(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

void append_encoded(std::string& out, std::string_view s, bool keep_slash) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kUpperHex[c >> 4]);
      out.push_back(kUpperHex[c & 0xF]);
    }
  }
}

void append_hex(std::string& out, const unsigned char* data, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kLowerHex[data[i] >> 4]);
    out.push_back(kLowerHex[data[i] & 0xF]);
  }
}

// SHA-256 through one reused EVP_MD_CTX and an explicitly fetched EVP_MD: HMAC written out on it is
// ~3x faster than OpenSSL 3's one-shot HMAC(), which fetches and allocates on every call.
const EVP_MD* sha256_md() noexcept {
  static const EVP_MD* const md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);  // kept for the process lifetime
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return md;
}

class Sha256 {
 public:
  Sha256() : context_(EVP_MD_CTX_new()) {
    if (context_ == nullptr) throw std::bad_alloc();
  }
  ~Sha256() { EVP_MD_CTX_free(context_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Digest digest(std::string_view first, std::string_view second = {}) {
    Digest out{};
    unsigned int length = 0;
    EVP_DigestInit_ex2(context_, sha256_md(), nullptr);
    EVP_DigestUpdate(context_, first.data(), first.size());
    EVP_DigestUpdate(context_, second.data(), second.size());
    EVP_DigestFinal_ex(context_, out.data(), &length);
    return out;
  }

  // RFC 2104 HMAC-SHA256.
  Digest hmac(std::string_view key, std::string_view message) {
    constexpr std::size_t kBlock = 64;
    std::array<unsigned char, kBlock> pad{};
    Digest hashed_key;
    if (key.size() > kBlock) {
      hashed_key = digest(key);
      key = {reinterpret_cast<const char*>(hashed_key.data()), hashed_key.size()};
    }
    std::copy(key.begin(), key.end(), pad.begin());
    for (auto& b : pad) b ^= 0x36;
    const Digest inner = digest({reinterpret_cast<const char*>(pad.data()), kBlock}, message);
    for (auto& b : pad) b ^= 0x36 ^ 0x5C;
    const Digest outer = digest({reinterpret_cast<const char*>(pad.data()), kBlock},
                                {reinterpret_cast<const char*>(inner.data()), inner.size()});
    OPENSSL_cleanse(pad.data(), pad.size());
    OPENSSL_cleanse(hashed_key.data(), hashed_key.size());
    return outer;
  }

 private:
  EVP_MD_CTX* context_;
};

std::string_view view(const Digest& d) noexcept { return {reinterpret_cast<const char*>(d.data()), d.size()}; }

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Length of the whitespace character at s[i] (0 if none), by Python's str.isspace(), which is what
// botocore's `' '.join(value.split())` trims and collapses. Multi-byte cases are UTF-8.
std::size_t whitespace_length(std::string_view s, std::size_t i) noexcept {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) return 1;
  if (c < 0xC2) return 0;
  auto at = [&](std::size_t k) -> unsigned { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
  switch (c) {
    case 0xC2: return (at(1) == 0x85 || at(1) == 0xA0) ? 2 : 0;            // U+0085, U+00A0
    case 0xE1: return (at(1) == 0x9A && at(2) == 0x80) ? 3 : 0;            // U+1680
    case 0xE2:
      if (at(1) == 0x80) {
        const unsigned b = at(2);  // U+2000..U+200A, U+2028, U+2029, U+202F
        return ((b >= 0x80 && b <= 0x8A) || b == 0xA8 || b == 0xA9 || b == 0xAF) ? 3 : 0;
      }
      return (at(1) == 0x81 && at(2) == 0x9F) ? 3 : 0;                     // U+205F
    case 0xE3: return (at(1) == 0x80 && at(2) == 0x80) ? 3 : 0;            // U+3000
    default: return 0;
  }
}

// Trimall: drop leading/trailing whitespace, collapse each inner run to one space.
void append_trimmed(std::string& out, std::string_view value) {
  bool wrote = false;
  bool pending_space = false;
  for (std::size_t i = 0; i < value.size();) {
    if (const std::size_t w = whitespace_length(value, i); w != 0) {
      i += w;
      pending_space = wrote;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(value[i++]);
    wrote = true;
  }
}

// RFC 3986 §5.2.4 plus removal of empty segments, exactly as botocore.utils.remove_dot_segments.
std::string remove_dot_segments(std::string_view path) {
  if (path.empty()) return "/";
  std::vector<std::string_view> segments;
  for (std::size_t start = 0; start <= path.size();) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  std::string out;
  out.reserve(path.size());
  if (path.front() == '/') out.push_back('/');
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i != 0) out.push_back('/');
    out.append(segments[i]);
  }
  if (path.back() == '/' && !segments.empty()) out.push_back('/');
  return out;
}

struct CanonicalHeader {
  std::string name;  // lower-case
  std::string_view value;
};

}  // namespace

std::string redact_access_key(std::string_view access_key_id) {
  constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026
  std::string out;
  if (access_key_id.size() >= 12) {
    out.append(access_key_id.substr(0, 4)).append(kEllipsis).append(access_key_id.substr(access_key_id.size() - 4));
  } else {
    out.append(kEllipsis);
    if (access_key_id.size() >= 4) out.append(access_key_id.substr(access_key_id.size() - 2));
  }
  return out;
}

std::string describe(const Credentials& credentials) {
  std::string out = "access_key_id=";
  out += credentials.access_key_id.empty() ? std::string("<none>") : redact_access_key(credentials.access_key_id);
  out += credentials.secret_access_key.empty() ? " secret_access_key=<none>" : " secret_access_key=<redacted>";
  out += credentials.session_token.empty() ? " session_token=<none>" : " session_token=<redacted>";
  return out;
}

std::string uri_encode(std::string_view s, bool keep_slash) {
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  append_encoded(out, s, keep_slash);
  return out;
}

std::string sha256_hex(std::string_view data) {
  const Digest digest = Sha256().digest(data);
  std::string out;
  out.reserve(64);
  append_hex(out, digest.data(), digest.size());
  return out;
}

SignedRequest sign(const SigningRequest& request, const Credentials& credentials, const SigningParams& params) {
  SignedRequest result;

  // x-amz-date and the scope's date.
  char amz_date[16];
  {
    const detail::CivilTime t = detail::civil_four_digit_year(params.time);
    detail::write_digits(amz_date, t.year, 4);
    detail::write_digits(amz_date + 4, t.month, 2);
    detail::write_digits(amz_date + 6, t.day, 2);
    amz_date[8] = 'T';
    detail::write_digits(amz_date + 9, t.hour, 2);
    detail::write_digits(amz_date + 11, t.minute, 2);
    detail::write_digits(amz_date + 13, t.second, 2);
    amz_date[15] = 'Z';
  }
  const std::string_view date_time(amz_date, 16);
  const std::string_view date = date_time.substr(0, 8);

  result.added_headers.emplace_back("x-amz-date", std::string(date_time));
  const bool has_token = !credentials.session_token.empty();
  if (has_token) result.added_headers.emplace_back("x-amz-security-token", credentials.session_token);
  if (params.s3_rules) result.added_headers.emplace_back("x-amz-content-sha256", request.payload_hash);

  // Path: encoded once on the wire; S3 signs it as is, others normalise and encode again.
  if (request.path.empty()) {
    result.encoded_path = "/";
  } else {
    result.encoded_path.reserve(request.path.size() + request.path.size() / 2);
    append_encoded(result.encoded_path, request.path, true);
  }

  // Query.
  std::vector<std::pair<std::string, std::string>> query;
  query.reserve(request.query.size());
  for (const auto& [name, value] : request.query) query.emplace_back(uri_encode(name, false), uri_encode(value, false));
  std::sort(query.begin(), query.end());
  for (std::size_t i = 0; i < query.size(); ++i) {
    if (i != 0) result.encoded_query.push_back('&');
    result.encoded_query.append(query[i].first).append("=").append(query[i].second);
  }

  // Headers to sign.
  std::vector<CanonicalHeader> headers;
  headers.reserve(request.headers.size() + result.added_headers.size());
  std::string_view body_checksum = request.payload_hash;
  bool caller_checksum = false;
  for (const auto& [name, value] : request.headers) {
    std::string lower = lower_ascii(name);
    if (!params.sign_every_given_header &&
        std::find(kUnsignedHeaders.begin(), kUnsignedHeaders.end(), lower) != kUnsignedHeaders.end())
      continue;
    if (lower == "authorization" || lower == "x-amz-date") continue;
    if (has_token && lower == "x-amz-security-token") continue;
    if (lower == "x-amz-content-sha256") {
      if (params.s3_rules) continue;
      // botocore: a caller-given X-Amz-Content-SHA256 (its first value) is the payload line.
      if (!caller_checksum) body_checksum = value;
      caller_checksum = true;
    }
    headers.push_back({std::move(lower), value});
  }
  for (const auto& [name, value] : result.added_headers) headers.push_back({name, value});
  // Stable: repeated names keep the order given, as botocore's get_all() does.
  std::stable_sort(headers.begin(), headers.end(),
                   [](const CanonicalHeader& a, const CanonicalHeader& b) { return a.name < b.name; });

  std::string signed_headers;
  std::string& creq = result.canonical_request;
  creq.reserve(256 + result.encoded_path.size() * 2 + result.encoded_query.size() + request.headers.size() * 64);
  creq.append(request.method).push_back('\n');
  if (params.s3_rules) {
    creq.append(result.encoded_path);
  } else {
    append_encoded(creq, remove_dot_segments(result.encoded_path), true);
  }
  creq.push_back('\n');
  creq.append(result.encoded_query).push_back('\n');
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const bool continues = i != 0 && headers[i].name == headers[i - 1].name;
    if (continues) {
      creq.push_back(',');
    } else {
      if (i != 0) {
        creq.push_back('\n');
        signed_headers.push_back(';');
      }
      creq.append(headers[i].name).push_back(':');
      signed_headers.append(headers[i].name);
    }
    append_trimmed(creq, headers[i].value);
  }
  creq.append("\n\n").append(signed_headers).push_back('\n');
  creq.append(body_checksum);

  // String to sign.
  std::string scope;
  scope.reserve(32 + params.region.size() + params.service.size());
  scope.append(date).append("/").append(params.region).append("/").append(params.service).append("/aws4_request");
  std::string& sts = result.string_to_sign;
  sts.reserve(128);
  sts.append(kAlgorithm).append("\n").append(date_time).append("\n").append(scope).append("\n");
  Sha256 sha256;
  const Digest creq_digest = sha256.digest(creq);
  append_hex(sts, creq_digest.data(), creq_digest.size());

  // kDate = HMAC("AWS4" + secret, date); kRegion; kService; kSigning; signature = HMAC(kSigning, sts).
  std::string secret_key;
  secret_key.reserve(4 + credentials.secret_access_key.size());  // no reallocation leaves a copy behind
  secret_key.append("AWS4").append(credentials.secret_access_key);
  Digest key = sha256.hmac(secret_key, date);
  OPENSSL_cleanse(secret_key.data(), secret_key.size());
  key = sha256.hmac(view(key), params.region);
  key = sha256.hmac(view(key), params.service);
  key = sha256.hmac(view(key), "aws4_request");
  const Digest signature = sha256.hmac(view(key), sts);
  OPENSSL_cleanse(key.data(), key.size());
  result.signature.reserve(64);
  append_hex(result.signature, signature.data(), signature.size());

  std::string& authorization = result.authorization;
  authorization.reserve(64 + credentials.access_key_id.size() + scope.size() + signed_headers.size() + 64);
  authorization.append(kAlgorithm).append(" Credential=").append(credentials.access_key_id).append("/").append(scope);
  authorization.append(", SignedHeaders=").append(signed_headers);
  authorization.append(", Signature=").append(result.signature);
  return result;
}

std::optional<ParsedAuthorization> parse_authorization(std::string_view header_value) {
  constexpr std::string_view kPrefix = "AWS4-HMAC-SHA256 ";
  if (header_value.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view rest = header_value.substr(kPrefix.size());

  ParsedAuthorization parsed;
  bool have_credential = false, have_signed_headers = false, have_signature = false;
  while (true) {
    const std::size_t comma = rest.find(',');
    std::string_view part = rest.substr(0, comma);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    const std::size_t equals = part.find('=');
    if (equals == std::string_view::npos) return std::nullopt;
    const std::string_view name = part.substr(0, equals);
    const std::string_view value = part.substr(equals + 1);

    if (name == "Credential" && !have_credential) {
      have_credential = true;
      std::array<std::string_view, 5> fields;
      std::string_view remaining = value;
      for (std::size_t i = 0; i < fields.size(); ++i) {
        const std::size_t slash = remaining.find('/');
        if ((slash == std::string_view::npos) != (i == fields.size() - 1)) return std::nullopt;
        fields[i] = remaining.substr(0, slash);
        if (fields[i].empty()) return std::nullopt;
        if (slash != std::string_view::npos) remaining.remove_prefix(slash + 1);
      }
      if (fields[4] != "aws4_request" || fields[1].size() != 8 ||
          !std::all_of(fields[1].begin(), fields[1].end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
      parsed.access_key_id = fields[0];
      parsed.date = fields[1];
      parsed.region = fields[2];
      parsed.service = fields[3];
    } else if (name == "SignedHeaders" && !have_signed_headers) {
      have_signed_headers = true;
      std::string_view remaining = value;
      while (true) {
        const std::size_t semicolon = remaining.find(';');
        const std::string_view header = remaining.substr(0, semicolon);
        if (header.empty()) return std::nullopt;
        parsed.signed_headers.emplace_back(header);
        if (semicolon == std::string_view::npos) break;
        remaining.remove_prefix(semicolon + 1);
      }
    } else if (name == "Signature" && !have_signature) {
      have_signature = true;
      if (value.size() != 64 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }))
        return std::nullopt;
      parsed.signature = value;
    } else {
      return std::nullopt;  // unknown or repeated component
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!have_credential || !have_signed_headers || !have_signature) return std::nullopt;
  return parsed;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace trailkit::s3
