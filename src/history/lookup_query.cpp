#include "history/lookup_query.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <optional>

#include "digest/crypto.hpp"

namespace trailkit::detail {
namespace {

constexpr unsigned char kTokenVersion = 1;
constexpr std::size_t kMacBytes = 16;
constexpr std::size_t kTokenBytes = 1 + 8 + 8 + kMacBytes;
constexpr std::size_t kMaxAttributeValue = 2000;

struct KeyName {
  std::string_view name;
  LookupKey key;
};
constexpr std::array<KeyName, 8> kKeys = {{
    {"EventId", LookupKey::kEventId},
    {"EventName", LookupKey::kEventName},
    {"ReadOnly", LookupKey::kReadOnly},
    {"Username", LookupKey::kUsername},
    {"ResourceType", LookupKey::kResourceType},
    {"ResourceName", LookupKey::kResourceName},
    {"EventSource", LookupKey::kEventSource},
    {"AccessKeyId", LookupKey::kAccessKeyId},
}};

void put_int64(std::string& out, std::int64_t value) {
  const auto v = static_cast<std::uint64_t>(value);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

std::int64_t get_int64(std::string_view in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[static_cast<std::size_t>(i)]);
  return static_cast<std::int64_t>(v);
}

void put_field(std::string& out, std::string_view bytes) {
  put_int64(out, static_cast<std::int64_t>(bytes.size()));
  out.append(bytes);
}

void put_optional(std::string& out, const std::optional<std::int64_t>& value) {
  out.push_back(value ? '\1' : '\0');
  put_int64(out, value.value_or(0));
}

// Every parameter the token is bound to, length-prefixed so no two requests encode alike.
std::string bound_parameters(const LookupRequest& request) {
  std::string out;
  out.push_back(static_cast<char>(request.attributes.size()));
  for (const auto& attribute : request.attributes) {
    put_field(out, attribute.key);
    put_field(out, attribute.value);
  }
  put_optional(out, request.start_time);
  put_optional(out, request.end_time);
  out.push_back(request.event_category ? '\1' : '\0');
  put_field(out, request.event_category.value_or(""));
  return out;
}

std::array<unsigned char, EVP_MAX_MD_SIZE> token_mac(std::string_view cursor_bytes, const LookupRequest& request,
                                                     std::string_view token_key) {
  std::string message(cursor_bytes);
  message += bound_parameters(request);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), token_key.data(), static_cast<int>(token_key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(), &length);
  return mac;
}

std::string base64url_encode(std::string_view bytes) {
  std::string text = base64_encode(bytes);
  while (!text.empty() && text.back() == '=') text.pop_back();
  for (char& c : text) c = c == '+' ? '-' : (c == '/' ? '_' : c);
  return text;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string standard(text);
  for (char& c : standard) {
    if (c == '+' || c == '/' || c == '=') return std::nullopt;  // only the URL-safe alphabet is ours
    c = c == '-' ? '+' : (c == '_' ? '/' : c);
  }
  while (standard.size() % 4 != 0) standard.push_back('=');
  return base64_decode(standard);
}

[[noreturn]] void fail(const char* code, const std::string& message) { throw LookupError(code, message); }

LookupCursor decode_token(const LookupRequest& request, std::string_view token_key) {
  const auto bytes = base64url_decode(request.next_token);
  if (!bytes || bytes->size() != kTokenBytes || static_cast<unsigned char>((*bytes)[0]) != kTokenVersion) {
    fail("InvalidNextTokenException", "NextToken is not a token this service issued");
  }
  const std::string_view cursor_bytes = std::string_view(*bytes).substr(0, 17);
  const auto mac = token_mac(cursor_bytes, request, token_key);
  if (CRYPTO_memcmp(mac.data(), bytes->data() + 17, kMacBytes) != 0) {
    fail("InvalidNextTokenException",
         "NextToken does not match this request: replay it with the same LookupAttributes, StartTime, EndTime "
         "and EventCategory");
  }
  return LookupCursor{get_int64(cursor_bytes.substr(1, 8)), get_int64(cursor_bytes.substr(9, 8))};
}

}  // namespace

LookupQuery make_lookup_query(const LookupRequest& request, std::int64_t now, std::int64_t retention_seconds,
                              std::string_view token_key) {
  LookupQuery query;
  if (request.event_category) {
    if (*request.event_category != "insight") {
      fail("InvalidEventCategoryException", "EventCategory must be \"insight\" (lower case), got \"" +
                                                request.event_category->substr(0, 64) + "\"");
    }
    query.insight = true;
  }
  if (request.attributes.size() > 1) {
    fail("InvalidLookupAttributesException", "LookupAttributes takes at most one attribute, got " +
                                                 std::to_string(request.attributes.size()));
  }
  if (!request.attributes.empty()) {
    const auto& attribute = request.attributes.front();
    const auto* found = std::find_if(kKeys.begin(), kKeys.end(), [&](const KeyName& k) { return k.name == attribute.key; });
    if (found == kKeys.end()) {
      fail("InvalidLookupAttributesException",
           "AttributeKey \"" + attribute.key.substr(0, 64) +
               "\" is not one of EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource, "
               "AccessKeyId");
    }
    if (attribute.value.empty() || attribute.value.size() > kMaxAttributeValue) {
      fail("InvalidLookupAttributesException", "AttributeValue of " + attribute.key + " must have 1 to 2000 characters");
    }
    if (query.insight && found->key != LookupKey::kEventId && found->key != LookupKey::kEventName &&
        found->key != LookupKey::kEventSource) {
      fail("InvalidLookupAttributesException",
           "AttributeKey " + attribute.key + " is not valid for Insights lookups (EventId, EventName, EventSource)");
    }
    if (found->key == LookupKey::kReadOnly && attribute.value != "true" && attribute.value != "false") {
      fail("InvalidLookupAttributesException", "AttributeValue of ReadOnly must be \"true\" or \"false\"");
    }
    query.key = found->key;
    query.value = attribute.value;
  }
  if (request.start_time && request.end_time && *request.start_time > *request.end_time) {
    fail("InvalidTimeRangeException", "StartTime is after EndTime");
  }
  const std::int64_t window_start = now - retention_seconds;
  if (request.end_time && *request.end_time < window_start) {
    fail("InvalidTimeRangeException", "the time range ends before the event history's window (the last " +
                                          std::to_string(retention_seconds / 86400) + " days)");
  }
  query.start_time = std::max(request.start_time.value_or(window_start), window_start);
  query.end_time = request.end_time.value_or(std::numeric_limits<std::int64_t>::max());
  query.empty_range = query.start_time > query.end_time;
  if (request.max_results) {
    if (*request.max_results < 1 || *request.max_results > 50) {
      fail("InvalidMaxResultsException", "MaxResults must be between 1 and 50, got " + std::to_string(*request.max_results));
    }
    query.max_results = *request.max_results;
  }
  if (!request.next_token.empty()) query.cursor = decode_token(request, token_key);
  return query;
}

std::string make_next_token(const LookupRequest& request, const LookupCursor& cursor, std::string_view token_key) {
  std::string bytes;
  bytes.push_back(static_cast<char>(kTokenVersion));
  put_int64(bytes, cursor.event_time);
  put_int64(bytes, cursor.rowid);
  const auto mac = token_mac(bytes, request, token_key);
  bytes.append(reinterpret_cast<const char*>(mac.data()), kMacBytes);
  return base64url_encode(bytes);
}

}  // namespace trailkit::detail
