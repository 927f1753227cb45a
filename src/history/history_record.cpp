// history_record_from_json: one hand-written pass over the record that keeps only the fields the
// history indexes (the nlohmann SAX pass it replaced cost ~10 µs per 1.3 KB record; the ingest
// gate of issue #5 leaves ~1.2 µs). The scan validates exactly what nlohmann's strict parser
// validates, so a record is refused by both or by neither; strings are remembered as spans of the
// input and only the ones that end up in the HistoryRecord are copied (and unescaped) at the end.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/civil_time.hpp"
#include "trailkit/history.hpp"

namespace trailkit {
namespace detail {
namespace {

// A string value as it sits in the input, between its quotes; `escaped` when it holds a backslash
// and must be decoded before use. Empty raw text is the only way to decode to "".
struct Span {
  const char* data = nullptr;
  std::size_t size = 0;
  bool escaped = false;
};

// Where the scan is: only these containers hold fields the history needs (everything below
// kOther is kOther too).
enum class Where : std::uint8_t {
  kTop,
  kUserIdentity,
  kSessionContext,
  kSessionIssuer,
  kResources,  // the top-level `resources` array
  kResource,   // one object in it
  kInsightDetails,
  kOther,
};

// A key already resolved against the container it appears in, so that requestParameters.userName
// or a nested "resources" never matches.
enum class Key : std::uint8_t {
  kNone,
  kEventId,
  kEventName,
  kEventSource,
  kEventTime,
  kEventCategory,
  kRecipientAccountId,
  kAwsRegion,
  kReadOnly,
  kUserIdentity,
  kInsightDetails,
  kResources,
  kIdentityType,
  kIdentityUserName,
  kIdentityArn,
  kAccessKeyId,
  kInvokedBy,
  kSessionContext,
  kSessionIssuer,
  kIssuerUserName,
  kResourceType,
  kResourceArn,
  kInsightEventName,
  kInsightEventSource,
};

struct Fields {
  Span event_id, event_name, event_source, event_time, event_category, account_id, region;
  Span identity_type, user_name, arn, access_key_id, invoked_by, issuer_user_name;
  Span insight_event_name, insight_event_source;
  Span resource_type, resource_arn;  // of the resource object being scanned
  bool read_only = false;
  bool has_category = false;
};

inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The four hex digits at `p` (the caller checked they are in bounds), or -1.
int hex4(const char* p) noexcept {
  int value = 0;
  for (int i = 0; i < 4; ++i) {
    const int digit = hex_value(p[i]);
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

// The first byte at or after `p` that ends the plain run of a string: '"', '\\', a control
// character or a non-ASCII byte (which needs UTF-8 validation).
inline const char* skip_plain(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // A signed compare: bytes >= 0x80 are negative, so one compare finds control characters and
    // non-ASCII bytes alike.
    const __m128i stop =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), _mm_cmplt_epi8(v, space));
    const int mask = _mm_movemask_epi8(stop);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  for (; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) return p;
  }
  return end;
}

// One UTF-8 sequence at `p` (its lead byte >= 0x80), by RFC 3629's table as nlohmann checks it (no
// overlong forms, no surrogates, nothing above U+10FFFF). Advances `p` past it.
bool skip_utf8(const char*& p, const char* end) noexcept {
  const auto lead = static_cast<unsigned char>(p[0]);
  unsigned char low = 0x80, high = 0xBF;  // the range of the first continuation byte
  std::size_t length;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return false;
  }
  if (static_cast<std::size_t>(end - p) < length) return false;
  const auto first = static_cast<unsigned char>(p[1]);
  if (first < low || first > high) return false;
  for (std::size_t i = 2; i < length; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c < 0x80 || c > 0xBF) return false;
  }
  p += length;
  return true;
}

// One escape at `p` (at its backslash): only JSON's, and \u surrogates in pairs, as nlohmann
// demands. Advances `p` past it.
bool skip_escape(const char*& p, const char* end) noexcept {
  if (end - p < 2) return false;
  switch (p[1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
      p += 2;
      return true;
    case 'u': break;
    default: return false;
  }
  if (end - p < 6) return false;
  const int unit = hex4(p + 2);
  if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF)) return false;
  p += 6;
  if (unit < 0xD800 || unit > 0xDBFF) return true;
  if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return false;
  const int low = hex4(p + 2);
  if (low < 0xDC00 || low > 0xDFFF) return false;
  p += 6;
  return true;
}

// Decodes a validated span into `out` (room for `capacity` bytes); returns the decoded size, or
// SIZE_MAX when it does not fit.
std::size_t decode(const Span& span, char* out, std::size_t capacity) noexcept {
  const char* p = span.data;
  const char* const end = p + span.size;
  std::size_t n = 0;
  while (p != end) {
    if (*p != '\\') {
      if (n == capacity) return SIZE_MAX;
      out[n++] = *p++;
      continue;
    }
    char simple = 0;
    switch (p[1]) {
      case 'b': simple = '\b'; break;
      case 'f': simple = '\f'; break;
      case 'n': simple = '\n'; break;
      case 'r': simple = '\r'; break;
      case 't': simple = '\t'; break;
      case 'u': break;
      default: simple = p[1]; break;  // " \ /
    }
    if (simple != 0) {
      if (n == capacity) return SIZE_MAX;
      out[n++] = simple;
      p += 2;
      continue;
    }
    auto code = static_cast<std::uint32_t>(hex4(p + 2));
    p += 6;
    if (code >= 0xD800 && code <= 0xDBFF) {  // validated: a low surrogate follows
      code = 0x10000 + ((code - 0xD800) << 10) + (static_cast<std::uint32_t>(hex4(p + 2)) - 0xDC00);
      p += 6;
    }
    char bytes[4];
    std::size_t length;
    if (code < 0x80) {
      bytes[0] = static_cast<char>(code);
      length = 1;
    } else if (code < 0x800) {
      bytes[0] = static_cast<char>(0xC0 | (code >> 6));
      bytes[1] = static_cast<char>(0x80 | (code & 0x3F));
      length = 2;
    } else if (code < 0x10000) {
      bytes[0] = static_cast<char>(0xE0 | (code >> 12));
      bytes[1] = static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      bytes[2] = static_cast<char>(0x80 | (code & 0x3F));
      length = 3;
    } else {
      bytes[0] = static_cast<char>(0xF0 | (code >> 18));
      bytes[1] = static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      bytes[2] = static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      bytes[3] = static_cast<char>(0x80 | (code & 0x3F));
      length = 4;
    }
    if (capacity - n < length) return SIZE_MAX;
    std::memcpy(out + n, bytes, length);
    n += length;
  }
  return n;
}

// `target` = the decoded span, in its existing capacity (decoding never grows the text).
void assign(std::string& target, const Span& span) {
  if (!span.escaped) {
    target.assign(span.data, span.size);
    return;
  }
  target.resize(span.size);
  target.resize(decode(span, target.data(), span.size));
}

bool equals(const Span& span, std::string_view text) noexcept {
  if (!span.escaped) return span.size == text.size() && std::memcmp(span.data, text.data(), text.size()) == 0;
  char buffer[32];
  const std::size_t n = decode(span, buffer, sizeof buffer);
  return n == text.size() && std::memcmp(buffer, text.data(), n) == 0;
}

bool raw_equals(const char* data, std::size_t size, std::string_view name) noexcept {
  return size == name.size() && std::memcmp(data, name.data(), size) == 0;
}

// The key `name` (decoded) means in a container of kind `where`.
Key key_in(Where where, const char* data, std::size_t size) noexcept {
  const auto is = [&](std::string_view name) { return raw_equals(data, size, name); };
  switch (where) {
    case Where::kTop:
      switch (size) {
        case 7: return is("eventID") ? Key::kEventId : Key::kNone;
        case 8: return is("readOnly") ? Key::kReadOnly : Key::kNone;
        case 9:
          if (is("eventName")) return Key::kEventName;
          if (is("eventTime")) return Key::kEventTime;
          if (is("awsRegion")) return Key::kAwsRegion;
          return is("resources") ? Key::kResources : Key::kNone;
        case 11: return is("eventSource") ? Key::kEventSource : Key::kNone;
        case 12: return is("userIdentity") ? Key::kUserIdentity : Key::kNone;
        case 13: return is("eventCategory") ? Key::kEventCategory : Key::kNone;
        case 14: return is("insightDetails") ? Key::kInsightDetails : Key::kNone;
        case 18: return is("recipientAccountId") ? Key::kRecipientAccountId : Key::kNone;
        default: return Key::kNone;
      }
    case Where::kUserIdentity:
      if (is("type")) return Key::kIdentityType;
      if (is("userName")) return Key::kIdentityUserName;
      if (is("arn")) return Key::kIdentityArn;
      if (is("accessKeyId")) return Key::kAccessKeyId;
      if (is("invokedBy")) return Key::kInvokedBy;
      return is("sessionContext") ? Key::kSessionContext : Key::kNone;
    case Where::kSessionContext: return is("sessionIssuer") ? Key::kSessionIssuer : Key::kNone;
    case Where::kSessionIssuer: return is("userName") ? Key::kIssuerUserName : Key::kNone;
    case Where::kResource:
      if (is("type")) return Key::kResourceType;
      return is("ARN") ? Key::kResourceArn : Key::kNone;
    case Where::kInsightDetails:
      if (is("eventName")) return Key::kInsightEventName;
      return is("eventSource") ? Key::kInsightEventSource : Key::kNone;
    default: return Key::kNone;
  }
}

// nlohmann refuses a number whose double value overflows (error 406), so this does too: the value
// is 0.D × 10^magnitude for its significant digits D; only magnitudes near 308 need strtod, on at
// most kKeptDigits digits plus a sticky '1' for the dropped ones (the midpoints between doubles
// near DBL_MAX are integers of 309 digits, so the rounding, and with it the overflow, is exact).
bool number_is_finite(const char* int_begin, const char* int_end, const char* frac_begin, const char* frac_end,
                      bool exponent_negative, const char* exp_begin, const char* exp_end) noexcept {
  constexpr std::size_t kKeptDigits = 420;
  long long exponent = 0;
  for (const char* p = exp_begin; p != exp_end; ++p) {
    if (exponent < 1000000000) exponent = exponent * 10 + (*p - '0');
  }
  if (exponent_negative) exponent = -exponent;
  char digits[kKeptDigits + 32];
  std::size_t n = 0;
  long long magnitude = int_end - int_begin;
  bool sticky = false;
  const auto take = [&](const char* begin, const char* end) {
    for (const char* p = begin; p != end; ++p) {
      if (n == 0 && *p == '0') {
        --magnitude;
      } else if (n < kKeptDigits) {
        digits[n++] = *p;
      } else if (*p != '0') {
        sticky = true;
      }
    }
  };
  take(int_begin, int_end);
  take(frac_begin, frac_end);
  if (n == 0) return true;  // zero
  magnitude += exponent;
  if (magnitude < 300) return true;
  if (magnitude > 310) return false;
  if (sticky) digits[n++] = '1';
  // No decimal point: strtod's radix character follows the locale.
  std::snprintf(digits + n, sizeof digits - n, "e%lld", magnitude - static_cast<long long>(n));
  return std::isfinite(std::strtod(digits, nullptr));
}

// The container kinds of every open level, one bit each (1 = object). Inline for the first 4,096
// levels; only deeper nesting (never a real record) spills to the heap.
class ContainerStack {
 public:
  std::size_t depth() const noexcept { return depth_; }
  void push(bool is_object) {
    const std::size_t word = depth_ / 64;
    const std::uint64_t bit = std::uint64_t{1} << (depth_ % 64);
    std::uint64_t* slot;
    if (word < kInlineWords) {
      slot = &inline_[word];
    } else {
      if (spill_.size() <= word - kInlineWords) spill_.push_back(0);
      slot = &spill_[word - kInlineWords];
    }
    // A word's first level starts it afresh: bits above depth_ are never read before written.
    const std::uint64_t below = bit == 1 ? 0 : *slot & (bit - 1);
    *slot = below | (is_object ? bit : 0);
    top_is_object_ = is_object;
    ++depth_;
  }
  void pop() noexcept {
    if (--depth_ == 0) return;
    const std::size_t at = depth_ - 1;
    const std::size_t word = at / 64;
    const std::uint64_t bits = word < kInlineWords ? inline_[word] : spill_[word - kInlineWords];
    top_is_object_ = ((bits >> (at % 64)) & 1) != 0;
  }
  bool top_is_object() const noexcept { return top_is_object_; }

 private:
  static constexpr std::size_t kInlineWords = 64;
  std::uint64_t inline_[kInlineWords];  // written level by level, never read beyond depth_
  std::vector<std::uint64_t> spill_;
  std::size_t depth_ = 0;
  bool top_is_object_ = false;
};

class Scanner {
 public:
  Scanner(std::string_view json, Fields& fields, std::vector<HistoryRecord::Resource>& resources)
      : p_(json.data()), end_(json.data() + json.size()), fields_(fields), resources_(resources) {}

  // Scans the whole input; false when nlohmann would refuse it or its top level is not an object.
  bool run();
  std::size_t resource_count() const noexcept { return resource_count_; }

 private:
  static constexpr std::size_t kTrackedDepth = 4;  // deepest interesting level: sessionIssuer

  void skip_whitespace() noexcept {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  // Most strings are plain ASCII up to their closing quote: that case stays inline.
  bool scan_string(Span& span) noexcept {
    const char* p = skip_plain(p_ + 1, end_);
    if (p == end_ || *p != '"') return scan_string_rest(span, p);
    span = Span{p_ + 1, static_cast<std::size_t>(p - p_ - 1), false};
    p_ = p + 1;
    return true;
  }
  bool scan_string_rest(Span& span, const char* p) noexcept;
  bool scan_number() noexcept;
  bool scan_literal(std::string_view word) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0) return false;
    p_ += word.size();
    return true;
  }
  void store(const Span& value) noexcept;
  void open(bool is_object);
  void close();
  void commit_resource();

  const char* p_;
  const char* const end_;
  Fields& fields_;
  std::vector<HistoryRecord::Resource>& resources_;
  std::size_t resource_count_ = 0;
  ContainerStack stack_;
  Where where_ = Where::kOther;           // of the innermost open container
  Where where_at_[kTrackedDepth + 1] = {};  // by depth (1-based), for the levels that can matter
  Key key_ = Key::kNone;                  // of the value being scanned, resolved against where_
};

// The string from `p` on (where skip_plain stopped): escapes, non-ASCII, or an error.
bool Scanner::scan_string_rest(Span& span, const char* p) noexcept {
  span.data = p_ + 1;
  span.escaped = false;
  for (;;) {
    if (p == end_) return false;
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"') break;
    if (c == '\\') {
      span.escaped = true;
      if (!skip_escape(p, end_)) return false;
    } else if (c < 0x20 || !skip_utf8(p, end_)) {
      return false;
    }
    p = skip_plain(p, end_);
  }
  span.size = static_cast<std::size_t>(p - span.data);
  p_ = p + 1;
  return true;
}

bool Scanner::scan_number() noexcept {
  const char* p = p_;
  if (*p == '-') ++p;
  const char* const int_begin = p;
  if (p == end_ || !is_digit(*p)) return false;
  if (*p == '0') {
    ++p;  // no leading zeros: "01" ends the number at the '0' and then fails on the '1'
  } else {
    while (p != end_ && is_digit(*p)) ++p;
  }
  const char* const int_end = p;
  const char* frac_begin = p;
  const char* frac_end = p;
  if (p != end_ && *p == '.') {
    frac_begin = ++p;
    if (p == end_ || !is_digit(*p)) return false;
    while (p != end_ && is_digit(*p)) ++p;
    frac_end = p;
  }
  bool exponent_negative = false;
  const char* exp_begin = p;
  const char* exp_end = p;
  if (p != end_ && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p != end_ && (*p == '+' || *p == '-')) exponent_negative = *p++ == '-';
    exp_begin = p;
    if (p == end_ || !is_digit(*p)) return false;
    while (p != end_ && is_digit(*p)) ++p;
    exp_end = p;
  }
  p_ = p;
  // Without an exponent, up to 308 integer digits stay below DBL_MAX (~1.8e308).
  if (exp_begin == exp_end && int_end - int_begin <= 308) return true;
  return number_is_finite(int_begin, int_end, frac_begin, frac_end, exponent_negative, exp_begin, exp_end);
}

void Scanner::store(const Span& value) noexcept {
  Fields& f = fields_;
  switch (key_) {
    case Key::kEventId: f.event_id = value; break;
    case Key::kEventName: f.event_name = value; break;
    case Key::kEventSource: f.event_source = value; break;
    case Key::kEventTime: f.event_time = value; break;
    case Key::kEventCategory:
      f.event_category = value;
      f.has_category = true;
      break;
    case Key::kRecipientAccountId: f.account_id = value; break;
    case Key::kAwsRegion: f.region = value; break;
    case Key::kIdentityType: f.identity_type = value; break;
    case Key::kIdentityUserName: f.user_name = value; break;
    case Key::kIdentityArn: f.arn = value; break;
    case Key::kAccessKeyId: f.access_key_id = value; break;
    case Key::kInvokedBy: f.invoked_by = value; break;
    case Key::kIssuerUserName: f.issuer_user_name = value; break;
    case Key::kResourceType: f.resource_type = value; break;
    case Key::kResourceArn: f.resource_arn = value; break;
    case Key::kInsightEventName: f.insight_event_name = value; break;
    case Key::kInsightEventSource: f.insight_event_source = value; break;
    default: break;
  }
}

void Scanner::open(bool is_object) {
  Where next = Where::kOther;
  if (stack_.depth() == 0) {
    next = is_object ? Where::kTop : Where::kOther;
  } else if (is_object) {
    switch (key_) {
      case Key::kUserIdentity: next = Where::kUserIdentity; break;
      case Key::kInsightDetails: next = Where::kInsightDetails; break;
      case Key::kSessionContext: next = Where::kSessionContext; break;
      case Key::kSessionIssuer: next = Where::kSessionIssuer; break;
      default:
        if (where_ == Where::kResources) {
          next = Where::kResource;
          fields_.resource_type = Span{};
          fields_.resource_arn = Span{};
        }
        break;
    }
  } else if (key_ == Key::kResources) {
    next = Where::kResources;
  }
  stack_.push(is_object);
  if (stack_.depth() <= kTrackedDepth) where_at_[stack_.depth()] = next;
  where_ = next;
  key_ = Key::kNone;  // array elements have no key
}

void Scanner::close() {
  if (where_ == Where::kResource) commit_resource();
  stack_.pop();
  const std::size_t depth = stack_.depth();
  where_ = depth != 0 && depth <= kTrackedDepth ? where_at_[depth] : Where::kOther;
}

// A resource with neither type nor ARN is not listed (as before). The slot reuses the strings a
// previous record left in `out`.
void Scanner::commit_resource() {
  if (fields_.resource_type.size == 0 && fields_.resource_arn.size == 0) return;
  if (resource_count_ == resources_.size()) resources_.emplace_back();
  HistoryRecord::Resource& resource = resources_[resource_count_++];
  assign(resource.type, fields_.resource_type);
  // ResourceName: the last segment of the ARN after ':' or '/', else the whole ARN.
  assign(resource.name, fields_.resource_arn);
  std::size_t cut = resource.name.size();
  while (cut != 0 && resource.name[cut - 1] != ':' && resource.name[cut - 1] != '/') --cut;
  if (cut != 0 && cut != resource.name.size()) resource.name.erase(0, cut);
}

bool Scanner::run() {
  // nlohmann skips a UTF-8 byte order mark, but only as the very first bytes.
  if (end_ - p_ >= 3 && std::memcmp(p_, "\xEF\xBB\xBF", 3) == 0) p_ += 3;
  skip_whitespace();
  if (p_ == end_ || *p_ != '{') return false;  // also a valid non-object: not a record
  Span span;

value:  // a value is expected; key_ names it (kNone in an array)
  skip_whitespace();
  if (p_ == end_) return false;
  switch (*p_) {
    case '"':
      if (!scan_string(span)) return false;
      store(span);
      goto after_value;
    case '{':
    case '[': {
      const bool is_object = *p_++ == '{';
      open(is_object);
      skip_whitespace();
      if (p_ != end_ && *p_ == (is_object ? '}' : ']')) {  // empty
        ++p_;
        close();
        goto after_value;
      }
      if (is_object) goto member;
      goto value;
    }
    case 't':
      if (!scan_literal("true")) return false;
      if (key_ == Key::kReadOnly) fields_.read_only = true;  // readOnly counts only as a boolean
      goto after_value;
    case 'f':
      if (!scan_literal("false")) return false;
      if (key_ == Key::kReadOnly) fields_.read_only = false;
      goto after_value;
    case 'n':
      if (!scan_literal("null")) return false;
      goto after_value;
    default:
      if (!scan_number()) return false;
      goto after_value;
  }

member:  // at a key (after '{' or ',' and whitespace)
  if (p_ == end_ || *p_ != '"' || !scan_string(span)) return false;
  if (where_ == Where::kOther) {
    key_ = Key::kNone;  // nothing below an uninteresting container matches: skip the compare
  } else if (!span.escaped) {
    key_ = key_in(where_, span.data, span.size);
  } else {
    // An escaped key must match after decoding; no key of interest is longer than 18 bytes.
    char name[32];
    const std::size_t n = decode(span, name, sizeof name);
    key_ = n == SIZE_MAX ? Key::kNone : key_in(where_, name, n);
  }
  skip_whitespace();
  if (p_ == end_ || *p_ != ':') return false;
  ++p_;
  goto value;

after_value:
  skip_whitespace();
  if (stack_.depth() == 0) return p_ == end_ || *p_ == '\0';  // nlohmann stops at a NUL byte
  if (p_ == end_) return false;
  if (*p_ == ',') {
    ++p_;
    if (stack_.top_is_object()) {
      skip_whitespace();
      goto member;
    }
    key_ = Key::kNone;
    goto value;
  }
  if (*p_ == (stack_.top_is_object() ? '}' : ']')) {
    ++p_;
    close();
    goto after_value;
  }
  return false;
}

// Strict `YYYY-MM-DDTHH:MM:SSZ` (spec §1.3 eventTime) to epoch seconds; no locale, no timegm.
std::optional<std::int64_t> parse_event_time(const Span& span) noexcept {
  char text[20];
  if (span.size < 20 || decode(span, text, sizeof text) != 20) return std::nullopt;
  if (text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' || text[19] != 'Z') {
    return std::nullopt;
  }
  const auto number = [&](std::size_t at, std::size_t digits) -> int {
    int value = 0;
    for (std::size_t i = at; i < at + digits; ++i) {
      if (!is_digit(text[i])) return -1;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  const int year = number(0, 4), month = number(5, 2), day = number(8, 2);
  const int hour = number(11, 2), minute = number(14, 2), second = number(17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return std::nullopt;
  return epoch_from_civil(year, month, day, hour, minute, second);
}

// Username (history.hpp): userName, else an AssumedRole's session name, else the issuer's
// userName, else invokedBy, else "root" for Root (the console's event history shows it so).
void derive_username(const Fields& f, std::string& username) {
  if (f.user_name.size != 0) return assign(username, f.user_name);
  if (f.arn.size != 0 && equals(f.identity_type, "AssumedRole")) {
    assign(username, f.arn);
    const std::size_t slash = username.rfind('/');
    if (slash != std::string::npos && slash + 1 < username.size()) {
      username.erase(0, slash + 1);
      return;
    }
  }
  if (f.issuer_user_name.size != 0) return assign(username, f.issuer_user_name);
  if (f.invoked_by.size != 0) return assign(username, f.invoked_by);
  if (equals(f.identity_type, "Root")) {
    username.assign("root");
    return;
  }
  username.clear();
}

}  // namespace
}  // namespace detail

bool history_record_from_json(std::string_view compact_record, HistoryRecord& out) {
  using namespace detail;
  Fields f;
  Scanner scanner(compact_record, f, out.resources);
  if (!scanner.run()) return false;

  bool insight = false;
  Span event_name = f.event_name;
  Span event_source = f.event_source;
  if (f.has_category && !equals(f.event_category, "Management")) {
    if (!equals(f.event_category, "Insight")) return false;  // Data, NetworkActivity, anything new
    insight = true;
    // Insights records carry the API they describe under insightDetails (spec §2).
    if (event_name.size == 0) event_name = f.insight_event_name;
    if (event_source.size == 0) event_source = f.insight_event_source;
  }
  const auto time = parse_event_time(f.event_time);
  if (!time || f.event_id.size == 0 || event_name.size == 0 || event_source.size == 0) return false;

  assign(out.event_id, f.event_id);
  assign(out.event_name, event_name);
  assign(out.event_source, event_source);
  out.event_time = *time;
  out.read_only = f.read_only;
  assign(out.access_key_id, f.access_key_id);
  derive_username(f, out.username);
  out.insight = insight;
  out.resources.resize(scanner.resource_count());
  assign(out.account_id, f.account_id);
  assign(out.region, f.region);
  out.cloudtrail_event.assign(compact_record);
  return true;
}

std::optional<HistoryRecord> history_record_from_json(std::string_view compact_record) {
  HistoryRecord record;
  if (!history_record_from_json(compact_record, record)) return std::nullopt;
  return record;
}

}  // namespace trailkit
