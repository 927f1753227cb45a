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

// ---- Fast path for the common case: compact, printable-ASCII JSON without escapes (what an API layer sends).
// Such a document is its own sanitized form (no whitespace to drop, no string to re-escape), so a valid one is
// copied with one memcpy after a validation-only walk. Anything else, including every error, goes to sanitize(),
// which stays the single source of results (error text, offset, status).

// Documents up to this size are tried on the fast path; the quote bitmap below lives on the stack (1 KB).
constexpr std::size_t kPlainMaxInput = 8 * 1024;
constexpr std::size_t kPlainWords = kPlainMaxInput / 64;
// The walk keeps the object/array stack in one register, so deeper documents take the exact path.
constexpr std::size_t kPlainMaxDepth = 64;

#ifdef TRAILKIT_JSON_SSE2
// Bit i set when byte i of `v` rules the fast path out: < 0x20 (controls, and the whitespace \t \n \r), >= 0x7F
// (escaped or validated as UTF-8 by the exact path) or '\\' (an escape to normalise).
inline __m128i plain_reject_bytes(__m128i v) noexcept {
  const __m128i outside = _mm_cmpgt_epi8(_mm_add_epi8(v, _mm_set1_epi8(0x60)), _mm_set1_epi8(-34));
  return _mm_or_si128(outside, _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
}
inline unsigned plain_reject_mask(__m128i v) noexcept {
  return static_cast<unsigned>(_mm_movemask_epi8(plain_reject_bytes(v)));
}
inline unsigned quote_mask(__m128i v) noexcept {
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"'))));
}
inline __m128i load16(const char* p) noexcept { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }

// A 16-byte load from p that may extend past the document but never past p's page (json_block_within_page(p)):
// the caller drops the bits past the end. Not instrumented for the same reason as json_copy_block_within_page.
__attribute__((no_sanitize("address"))) inline __m128i load16_within_page(const char* p) noexcept {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
#endif

// Fills quotes[] with one bit per byte of [begin, begin + n) that is '"' (bits past n zero) and returns false
// when some byte rules the fast path out. n <= kPlainMaxInput.
bool scan_plain(const char* begin, std::size_t n, std::uint64_t* quotes) noexcept {
#ifdef TRAILKIT_JSON_SSE2
  if (n < 16) {
    if (n == 0) return false;
    unsigned reject = 0;
    unsigned quote = 0;
    if (json_block_within_page(begin)) {
      const __m128i v = load16_within_page(begin);
      reject = plain_reject_mask(v);
      quote = quote_mask(v);
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>(begin[i]);
        reject |= static_cast<unsigned>(c < 0x20 || c >= 0x7F || c == '\\') << i;
        quote |= static_cast<unsigned>(c == '"') << i;
      }
    }
    const unsigned keep = (1u << n) - 1u;
    quotes[0] = quote & keep;
    return (reject & keep) == 0;
  }
  __m128i reject = _mm_setzero_si128();
  std::size_t i = 0;
  // Whole 64-byte words: four blocks each. The reject test is deferred to the end (it rarely fires).
  for (; n - i >= 64; i += 64) {
    const __m128i a = load16(begin + i), b = load16(begin + i + 16), c = load16(begin + i + 32),
                  d = load16(begin + i + 48);
    reject = _mm_or_si128(reject, _mm_or_si128(_mm_or_si128(plain_reject_bytes(a), plain_reject_bytes(b)),
                                               _mm_or_si128(plain_reject_bytes(c), plain_reject_bytes(d))));
    quotes[i / 64] = std::uint64_t{quote_mask(a)} | std::uint64_t{quote_mask(b)} << 16 |
                     std::uint64_t{quote_mask(c)} << 32 | std::uint64_t{quote_mask(d)} << 48;
  }
  if (i < n) {
    // The last partial word: whole blocks, then one block ending exactly at the end (overlapping the previous
    // one, n >= 16), its bits shifted down to the bytes not yet seen. No read outside the document.
    std::uint64_t word = 0;
    unsigned shift = 0;
    for (; n - i >= 16; i += 16, shift += 16) {
      const __m128i v = load16(begin + i);
      reject = _mm_or_si128(reject, plain_reject_bytes(v));
      word |= std::uint64_t{quote_mask(v)} << shift;
    }
    if (i < n) {
      const std::size_t rest = n - i;
      const __m128i v = load16(begin + n - 16);
      if ((plain_reject_mask(v) >> (16 - rest)) != 0) return false;
      word |= std::uint64_t{quote_mask(v) >> (16 - rest)} << shift;
    }
    quotes[(n - 1) / 64] = word;
  }
  return _mm_movemask_epi8(reject) == 0;
#else
  if (n == 0) return false;
  bool reject = false;
  for (std::size_t w = 0; w * 64 < n; ++w) {
    std::uint64_t word = 0;
    const std::size_t stop = std::min(n - w * 64, std::size_t{64});
    for (std::size_t i = 0; i < stop; ++i) {
      const auto c = static_cast<unsigned char>(begin[w * 64 + i]);
      reject |= c < 0x20 || c >= 0x7F || c == '\\';
      word |= std::uint64_t{c == '"'} << i;
    }
    quotes[w] = word;
  }
  return !reject;
#endif
}

// The validation-only walk over a document that scan_plain() passed: the same grammar as sanitize(), but strings
// are only "up to the next quote" (no escapes, controls or non-ASCII can be in them) and any whitespace outside
// them, any error and nesting deeper than min(depth_limit, kPlainMaxDepth) return false (the exact path decides).
// quotes[] has a sentinel word after the document's last word (its bit 0 set), so the quote search needs no
// bounds check: a closing quote found at or past the end means the string is unterminated.
bool is_plain_json(const char* const begin, const char* const end, const std::uint64_t* quotes,
                   std::size_t depth_limit) noexcept {
  const auto n = static_cast<std::size_t>(end - begin);
  depth_limit = std::min(depth_limit, kPlainMaxDepth);
  std::uint64_t stack = 0;  // bit 0: the innermost open container is an object; bit i: the one i levels out
  std::size_t depth = 0;
  bool in_object = false;
  const char* p = begin;
  const char* number_error = nullptr;
  // The quotes not yet passed, consumed in order: the walk steps over literals, numbers and punctuation only
  // after checking their bytes (none is '"'), so at a string's opening quote every earlier quote has been
  // consumed, the opening quote is the next one and the closing quote the one after it.
  std::size_t w = 0;
  std::uint64_t bits = quotes[0];
  // `p` at an opening quote -> just past the closing one, or nullptr when the string is unterminated.
  auto skip_string = [&]() -> const char* {
    while (bits == 0) bits = quotes[++w];
    bits &= bits - 1;  // the opening quote, at p
    while (bits == 0) bits = quotes[++w];
    const std::size_t close = w * 64 + static_cast<std::size_t>(std::countr_zero(bits));
    bits &= bits - 1;
    return close < n ? begin + close + 1 : nullptr;  // past the end: the sentinel (nothing is read after it)
  };

value:
  if (p == end) return false;
  if (*p == '"') {  // the usual value: no jump table
    p = skip_string();
    if (p == nullptr) return false;
    goto after_value;
  }
  switch (*p) {
    case '{':
      if (depth >= depth_limit) return false;
      in_object = true;
      stack = stack << 1 | 1u;
      ++depth;
      ++p;
      if (p < end && *p == '}') goto close;
      goto key;
    case '[':
      if (depth >= depth_limit) return false;
      in_object = false;
      stack <<= 1;
      ++depth;
      ++p;
      if (p < end && *p == ']') goto close;
      goto value;
    case 't':
    case 'f':
    case 'n': {
      const std::string_view literal = *p == 't' ? "true" : *p == 'f' ? "false" : "null";
      if (static_cast<std::size_t>(end - p) < literal.size() || std::memcmp(p, literal.data(), literal.size()) != 0) {
        return false;
      }
      p += literal.size();
      goto after_value;
    }
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9': {
      // The usual number is a plain integer: scan its digits here; a fraction or exponent after them is
      // rescanned by scan_number from the start.
      const char* q = p + 1;
      while (q < end && is_digit(*q)) ++q;
      if (q == end || (*q != '.' && (*q | 0x20) != 'e')) {
        p = q;
        goto after_value;
      }
      [[fallthrough]];
    }
    case '-':
    case '0':
      p = scan_number(p, end, &number_error);
      if (number_error != nullptr) return false;
      goto after_value;
    default:
      return false;
  }

key:
  if (p == end || *p != '"') return false;
  p = skip_string();
  if (p == nullptr || p == end || *p != ':') return false;
  ++p;
  goto value;

after_value:
  if (depth == 0) return p == end;
  if (p == end) return false;
  if (*p == ',') {
    ++p;
    if (in_object) goto key;
    goto value;
  }
  if (*p != (in_object ? '}' : ']')) return false;

close:
  ++p;
  --depth;
  stack >>= 1;
  in_object = (stack & 1) != 0;  // meaningless at depth 0, where after_value returns first
  goto after_value;
}

}  // namespace

RawJsonResult append_sanitized_json(JsonBuffer& out, std::string_view raw, int max_depth) {
  if (raw.size() <= kPlainMaxInput) {
    std::uint64_t quotes[kPlainWords + 1];
    const std::size_t depth_limit = max_depth > 0 ? static_cast<std::size_t>(max_depth) : 0;
    if (scan_plain(raw.data(), raw.size(), quotes)) {
      quotes[(raw.size() + 63) / 64] = 1;  // the sentinel is_plain_json's quote search stops at
      if (is_plain_json(raw.data(), raw.data() + raw.size(), quotes, depth_limit)) {
        out.append(raw);
        return RawJsonResult{};
      }
    }
  }
  return append_sanitized_json_exact(out, raw, max_depth);
}

RawJsonResult append_sanitized_json_exact(JsonBuffer& out, std::string_view raw, int max_depth) {
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
