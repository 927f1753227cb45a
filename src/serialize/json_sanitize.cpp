#include "serialize/json_sanitize.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>

#include "serialize/json_escape.hpp"

namespace trailkit::detail {
namespace {

// Containers up to this depth need no heap for the object/array bit-stack (512 bytes of stack).
constexpr std::size_t kInlineStackWords = 64;
// Input is consumed in chunks of this size so the worst-case output reservation (6x) stays bounded.
constexpr std::size_t kChunk = 16 * 1024;
// Room reserved before each structural step: the longest is "false" / an escape (<= 8 bytes written).
constexpr std::size_t kTokenRoom = 16;

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

inline bool is_whitespace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Compact input has no whitespace, so the parser only calls this where it is likely or after seeing some.
inline const char* skip_whitespace(const char* p, const char* end) {
  while (p < end && is_whitespace(*p)) ++p;
  return p;
}

// Four hex digits -> value, or -1.
long parse_hex4(const char* p) {
  long value = 0;
  for (int i = 0; i < 4; ++i) {
    const char c = p[i];
    int digit;
    if (c >= '0' && c <= '9') digit = c - '0';
    else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    else return -1;
    value = value * 16 + digit;
  }
  return value;
}

// The parser keeps its input/output cursors in registers; helpers take and return them by value.
struct Position {
  const char* input;
  char* output;  // nullptr: failed at `input`
};

// Commits what was written at [out.data() + out.size(), d) and returns where to write `n` more bytes.
[[gnu::noinline]] char* grow(JsonBuffer& out, char* d, std::size_t n, char** limit) {
  out.commit(static_cast<std::size_t>(d - (out.data() + out.size())));
  char* const start = out.prepare(n);
  *limit = out.data() + out.capacity();
  return start;
}

// `p` is at a backslash inside a string (at least 16 bytes of room at d). Writes the normalised escape.
Position copy_escape(const char* p, const char* end, char* d, std::size_t* replacements, const char** error) {
  if (end - p < 2) {
    *error = "unterminated string";
    return {p, nullptr};
  }
  const char* text = nullptr;
  switch (p[1]) {
    case '"': text = "\\\""; break;
    case '\\': text = "\\\\"; break;
    case '/': *d = '/'; return {p + 2, d + 1};  // "\/" is only an escape of convenience
    case 'b': text = "\\b"; break;
    case 'f': text = "\\f"; break;
    case 'n': text = "\\n"; break;
    case 'r': text = "\\r"; break;
    case 't': text = "\\t"; break;
    case 'u': break;
    default: *error = "invalid escape in string"; return {p, nullptr};
  }
  if (text != nullptr) {
    std::memcpy(d, text, 2);
    return {p + 2, d + 2};
  }
  const long unit = end - p >= 6 ? parse_hex4(p + 2) : -1;
  if (unit < 0) {
    *error = "invalid \\u escape (needs 4 hex digits)";
    return {p, nullptr};
  }
  auto code_point = static_cast<std::uint32_t>(unit);
  p += 6;
  if (code_point >= 0xD800 && code_point <= 0xDFFF) {
    // A surrogate is only meaningful as a high+low pair; alone it cannot be UTF-8, so it becomes U+FFFD (what a
    // lenient decoder does). A malformed following escape is left for the next call to reject.
    const long low = code_point <= 0xDBFF && end - p >= 6 && p[0] == '\\' && p[1] == 'u' ? parse_hex4(p + 2) : -1;
    if (low >= 0xDC00 && low <= 0xDFFF) {
      code_point = 0x10000 + ((code_point - 0xD800) << 10) + (static_cast<std::uint32_t>(low) - 0xDC00);
      p += 6;
    } else {
      code_point = 0xFFFD;
      ++*replacements;
    }
  }
  return {p, encode_json_code_point(d, code_point)};
}

// RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?  Returns the end of the number, or sets
// *error and returns the offending byte.
const char* scan_number(const char* p, const char* end, const char** error) {
  if (*p == '-') ++p;
  if (p == end || !is_digit(*p)) {
    *error = "expected a digit in number";
    return p;
  }
  if (*p == '0') {
    ++p;  // a following digit ("01") is left for the caller to reject as unexpected data
  } else {
    while (p < end && is_digit(*p)) ++p;
  }
  if (p < end && *p == '.') {
    ++p;
    if (p == end || !is_digit(*p)) {
      *error = "expected a digit after the decimal point";
      return p;
    }
    while (p < end && is_digit(*p)) ++p;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    if (p == end || !is_digit(*p)) {
      *error = "expected a digit in the exponent";
      return p;
    }
    while (p < end && is_digit(*p)) ++p;
  }
  return p;
}

// Documents up to this size get their worst-case output (6x + slack) reserved up front and are parsed without
// any capacity checks; larger ones (rare: CloudTrail omits requestParameters over 100 KB) check per token.
constexpr std::size_t kUncheckedMaxInput = 64 * 1024;

// The parser: `stack` is the bit-stack of open containers (1 = object) with room for depth_limit bits.
template <bool kChecked>
RawJsonResult sanitize(JsonBuffer& out, std::string_view raw, std::size_t depth_limit, std::uint64_t* stack) {
  const std::size_t entry_size = out.size();
  const char* const begin = raw.data();
  const char* const end = begin + raw.size();
  std::size_t replacements = 0;
  const char* error = nullptr;
  RawJsonStatus status = RawJsonStatus::kInvalid;
  std::size_t depth = 0;
  bool in_object = false;  // kind of the innermost open container (cached top of the bit-stack)
  bool is_key = false;

  // Strings may grow 6x, everything else only shrinks.
  char* limit = nullptr;
  char* d = grow(out, out.data() + out.size(),
                 kJsonEscapeMaxExpansion * std::min(raw.size(), kChecked ? kChunk : kUncheckedMaxInput) +
                     kJsonEscapeSlack + kTokenRoom,
                 &limit);
  auto room = [&](std::size_t n) {
    if constexpr (kChecked) {
      if (static_cast<std::size_t>(limit - d) < n) d = grow(out, d, n, &limit);
    } else {
      static_cast<void>(n);
    }
  };
  const char* p = skip_whitespace(begin, end);

  // A goto state machine: one function, no recursion, cursors in registers.
value:  // expecting a value at p (whitespace skipped)
  room(kTokenRoom);
  if (p == end) {
    error = "expected a value";
    goto fail;
  }
  switch (*p) {
    case ' ':
    case '\n':
    case '\r':
    case '\t':
      p = skip_whitespace(p, end);
      goto value;
    case '"':
      is_key = false;
      goto string;
    case '{':
    case '[': {
      if (depth >= depth_limit) {
        status = RawJsonStatus::kTooDeep;
        error = "nesting deeper than max_depth";
        goto fail;
      }
      in_object = *p == '{';
      const std::uint64_t bit = std::uint64_t{1} << (depth & 63);
      if (in_object) stack[depth >> 6] |= bit;
      else stack[depth >> 6] &= ~bit;
      ++depth;
      *d++ = *p;
      p = skip_whitespace(p + 1, end);
      if (p < end && *p == (in_object ? '}' : ']')) goto close;
      if (in_object) goto key;
      goto value;
    }
    case 't':
      if (end - p < 4 || std::memcmp(p, "true", 4) != 0) goto bad_value;
      std::memcpy(d, "true", 4);
      d += 4;
      p += 4;
      goto after_value;
    case 'f':
      if (end - p < 5 || std::memcmp(p, "false", 5) != 0) goto bad_value;
      std::memcpy(d, "false", 5);
      d += 5;
      p += 5;
      goto after_value;
    case 'n':
      if (end - p < 4 || std::memcmp(p, "null", 4) != 0) goto bad_value;
      std::memcpy(d, "null", 4);
      d += 4;
      p += 4;
      goto after_value;
    default: {
      if (*p != '-' && !is_digit(*p)) goto bad_value;
      const char* const number_end = scan_number(p, end, &error);
      if (error != nullptr) {
        p = number_end;
        goto fail;
      }
      const auto size = static_cast<std::size_t>(number_end - p);
      room(size);
      std::memcpy(d, p, size);  // verbatim: no float round-trip, so 64-bit IDs and "1.50" survive
      d += size;
      p = number_end;
      goto after_value;
    }
  }

key:  // p where an object key must start (after optional whitespace)
  if (p == end || *p != '"') {
    if (p < end && is_whitespace(*p)) {
      p = skip_whitespace(p, end);
      goto key;
    }
    error = "expected '\"' to start an object key";
    goto fail;
  }
  is_key = true;

string:  // p at the opening quote
  *d++ = '"';
  ++p;
#ifdef TRAILKIT_JSON_SSE2
  // Fast path for the usual short, clean key or value: copy 16-byte blocks until the first special byte; when it
  // is the closing quote the string is done without a call.
  room(kJsonEscapeMaxExpansion * std::min(static_cast<std::size_t>(end - p), kChunk) + kJsonEscapeSlack);
  for (;;) {
    unsigned mask;
    if (end - p >= 16) {
      mask = json_string_special_mask(p);
      std::memcpy(d, p, 16);
      if (mask == 0) {
        if (kChecked && static_cast<std::size_t>(limit - d) < kJsonEscapeMaxExpansion * 16 + kJsonEscapeSlack) break;
        p += 16;
        d += 16;
        continue;
      }
    } else if (p < end && json_block_within_page(p)) {
      // The last string of a document usually starts within 16 bytes of its end: one masked block
      // (the slack covers the 16-byte store) instead of a call. Clean to the end means unterminated,
      // which the exact path below reports.
      mask = json_copy_block_within_page(p, d) & ((1u << (end - p)) - 1u);
      if (mask == 0) break;
    } else {
      break;
    }
    const int clean = std::countr_zero(mask);
    p += clean;
    d += clean;
    if (*p == '"') goto string_end;
    break;
  }
#endif
  for (;;) {
    const std::size_t n = std::min(static_cast<std::size_t>(end - p), kChunk);
    room(kJsonEscapeMaxExpansion * n + kJsonEscapeSlack);
    const char* const stop = p + n;
    const JsonSegmentEnd segment = encode_json_string_segment(p, stop, end, d, &replacements);
    p = segment.input;
    d = segment.output;
    if (p >= stop) {
      if (p == end) {
        error = "unterminated string";
        goto fail;
      }
      continue;  // chunk done, string goes on
    }
    if (*p == '"') goto string_end;
    if (*p != '\\') {
      error = "control character in string (must be escaped)";
      goto fail;
    }
    room(kTokenRoom);
    const Position escaped = copy_escape(p, end, d, &replacements, &error);
    p = escaped.input;
    if (escaped.output == nullptr) goto fail;
    d = escaped.output;
  }

string_end:  // p at the closing quote
  room(kTokenRoom);
  *d++ = '"';
  ++p;
  if (is_key) {
    if (p == end || *p != ':') {
      p = skip_whitespace(p, end);
      if (p == end || *p != ':') {
        error = "expected ':' after object key";
        goto fail;
      }
    }
    *d++ = ':';
    ++p;
    goto value;
  }

after_value:  // close containers until one continues with ','
  if (depth == 0) {
    p = skip_whitespace(p, end);
    if (p != end) {
      error = "unexpected data after the JSON value";
      goto fail;
    }
    out.commit(static_cast<std::size_t>(d - (out.data() + out.size())));
    RawJsonResult result;
    result.replacements = replacements;
    return result;
  }
  room(kTokenRoom);
  if (p == end) {
    error = in_object ? "unterminated object" : "unterminated array";
    goto fail;
  }
  if (*p == ',') {
    *d++ = ',';
    ++p;
    if (in_object) goto key;
    goto value;
  }
  if (*p != (in_object ? '}' : ']')) {
    if (is_whitespace(*p)) {
      p = skip_whitespace(p, end);
      goto after_value;
    }
    error = in_object ? "expected ',' or '}' after object member" : "expected ',' or ']' after array element";
    goto fail;
  }

close:  // p at the closer matching the innermost container
  *d++ = *p++;
  --depth;
  in_object = depth > 0 && ((stack[(depth - 1) >> 6] >> ((depth - 1) & 63)) & 1) != 0;
  goto after_value;

bad_value:
  error = "expected a value";
fail:
  out.truncate(entry_size);
  RawJsonResult result;
  result.status = status;
  result.error_offset = static_cast<std::size_t>(p - begin);
  result.error = error;
  return result;
}

}  // namespace

RawJsonResult append_sanitized_json(JsonBuffer& out, std::string_view raw, int max_depth) {
  // Every open container costs an input byte, so the bit-stack never needs more than min(max_depth, raw.size())
  // bits: hostile "[[[[" with a huge max_depth cannot make it huge.
  const std::size_t depth_limit = max_depth > 0 ? static_cast<std::size_t>(max_depth) : 0;
  const std::size_t stack_words = std::min(depth_limit, raw.size()) / 64 + 1;
  std::uint64_t inline_stack[kInlineStackWords];
  std::unique_ptr<std::uint64_t[]> heap_stack;
  std::uint64_t* stack = inline_stack;
  if (stack_words > kInlineStackWords) {
    heap_stack = std::make_unique<std::uint64_t[]>(stack_words);
    stack = heap_stack.get();
  }
  return raw.size() <= kUncheckedMaxInput ? sanitize<false>(out, raw, depth_limit, stack)
                                          : sanitize<true>(out, raw, depth_limit, stack);
}

}  // namespace trailkit::detail
