#pragma once
// JSON string writer used for every string field of every record (worker thread only).
//
// Why it is hand-written: serialization must stay under ~0.4 us per 1.2 KB record (>= 2.7 GB/s of output,
// performance.md §C.7/§D.2), and string escaping is most of that work. Clean runs are found 16 bytes at a time
// (SSE2, scalar fallback elsewhere) and copied in bulk; only the rare special byte takes the slow path.
//
// Output guarantee: whatever bytes the caller passes (user agents, error messages, request parameters copied
// from untrusted clients), the result is one valid JSON string literal in valid UTF-8, so a bad field can never
// make a whole CloudTrail log file unparseable.

#include <cstddef>
#include <cstdint>
#include <string_view>

#if defined(__SSE2__) && !defined(TRAILKIT_NO_SIMD)
#include <emmintrin.h>
#endif

#include "serialize/json_buffer.hpp"

namespace trailkit::detail {

/// Appends `s` as a JSON string literal INCLUDING the surrounding quotes.
///
/// Escaping: '"' -> \", '\' -> \\; U+0000..U+001F use \b \f \n \r \t or \u00XX (lower-case hex, as Python's
/// json.dumps); U+007F -> \u007f; U+2028/U+2029 -> \u2028/\u2029 (JavaScript line terminators: escaping them
/// keeps one-record-per-line tools and JS consumers working). Everything else, including valid non-ASCII UTF-8,
/// is copied unchanged ('/' is not escaped).
///
/// Invalid UTF-8 (overlongs, surrogates ED A0..BF xx, code points > U+10FFFF, truncated sequences, stray
/// continuation bytes, bytes C0 C1 F5..FF) is replaced by U+FFFD per the Unicode "maximal subpart" practice
/// (Unicode §3.9, U+FFFD substitution): the same result as Python's bytes.decode('utf-8', 'replace').
/// An embedded NUL does not end the string; it becomes \u0000.
///
/// Returns the number of U+FFFD replacements made (0 for clean input).
/// Thread contract: reentrant, no shared state; `out` must not be used concurrently by another thread.
/// Never throws except std::bad_alloc from JsonBuffer growth.
std::size_t append_json_string(JsonBuffer& out, std::string_view s);

/// Like append_json_string, but keeps at most `max_bytes` bytes of the input, cut back to a UTF-8 character
/// boundary (a multi-byte character that straddles the limit is dropped whole, never split), and when it had
/// to cut appends "..." inside the quotes. This is CloudTrail's rule for userAgent, errorCode, errorMessage and
/// requestID ("truncated at 1 KB", the observed truncated errorMessage ends in "..."; cloudtrail-spec.md §9.1).
/// The "..." is not counted in `max_bytes`. `*truncated` (if non-null) is set to whether a cut happened.
/// Returns the number of U+FFFD replacements made in the kept part.
/// Thread contract: as append_json_string.
std::size_t append_json_string_truncated(JsonBuffer& out, std::string_view s, std::size_t max_bytes,
                                         bool* truncated);

/// Strings up to this many bytes are encoded in one step; longer ones chunk by chunk, so that the worst-case
/// reservation (kJsonEscapeMaxExpansion per input byte) stays bounded for megabyte strings.
inline constexpr std::size_t kJsonStringChunk = 16 * 1024;

/// Worst-case output bytes per input byte ("\u00XX" for one control byte) and the extra room the encoders need
/// past it (they store whole 16-byte blocks and copy escapes as 8-byte words).
inline constexpr std::size_t kJsonEscapeMaxExpansion = 6;
inline constexpr std::size_t kJsonEscapeSlack = 32;

/// Raw-cursor forms of append_json_string / append_json_string_truncated for a caller that reserved room for a
/// whole record up front (record_formatter.cpp), so no capacity check or size update is paid per string.
/// Same bytes, same return-value meaning (added to *replacements instead of returned). Preconditions:
/// s.size() <= kJsonStringChunk, and `d` has room for kJsonEscapeMaxExpansion * s.size() + kJsonEscapeSlack + 5
/// bytes (quotes and "..." included). Return the end of the output. Thread contract: reentrant, no shared state.
char* write_json_string(char* d, std::string_view s, std::size_t* replacements) noexcept;
char* write_json_string_truncated(char* d, std::string_view s, std::size_t max_bytes, bool* truncated,
                                  std::size_t* replacements) noexcept;

/// write_json_string without its clean-prefix fast paths (the block-by-block encoder alone): the oracle the fast
/// paths are tested against. Same preconditions and bytes. For tests; thread contract: reentrant, no shared state.
char* write_json_string_blockwise(char* d, std::string_view s, std::size_t* replacements) noexcept;

// ---- Raw-pointer building blocks for json_sanitize.cpp, which re-emits the strings of caller-supplied JSON with
// exactly the rules above inside its own output cursor (no per-token buffer bookkeeping). Not for other callers.

#if defined(__SSE2__) && !defined(TRAILKIT_NO_SIMD)
#define TRAILKIT_JSON_SSE2 1
/// Bit i set when byte i of `v` (16 bytes of a string) is one the string encoders cannot copy as is:
/// < 0x20, '"', '\\', or >= 0x7F. Adding 0x60 (mod 256) maps exactly the copyable range 0x20..0x7E onto
/// 0x80..0xDE, i.e. -128..-34 as int8, so one signed compare catches controls, DEL and every byte >= 0x80.
/// Inline so the sanitizer's short-string fast path needs no call.
/// Thread contract: pure function.
inline unsigned json_string_special_mask(__m128i v) noexcept {
  const __m128i outside = _mm_cmpgt_epi8(_mm_add_epi8(v, _mm_set1_epi8(0x60)), _mm_set1_epi8(-34));
  const __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
  const __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(outside, _mm_or_si128(quote, backslash))));
}
/// The same for the 16 bytes at p (all 16 must be readable). Thread contract: pure function.
inline unsigned json_string_special_mask(const char* p) noexcept {
  return json_string_special_mask(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

/// True when a 16-byte load from p stays inside p's page (4 KiB, the smallest x86-64 page), so it cannot fault
/// even where the string ends earlier. Thread contract: pure function.
inline bool json_block_within_page(const void* p) noexcept {
  return (reinterpret_cast<std::uintptr_t>(p) & 4095u) <= 4096u - 16u;
}

/// Stores the 16 bytes at p to d and returns their special-byte mask. For json_block_within_page(p) only: the
/// load may read past the end of the string (never past p's page); the caller masks those bits off and
/// overwrites them in d. AddressSanitizer would report that read as an overflow, so it is not instrumented.
/// Thread contract: pure function.
__attribute__((no_sanitize("address"))) inline unsigned json_copy_block_within_page(const char* p, char* d) noexcept {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(d), v);
  return json_string_special_mask(v);
}
#endif

/// The usual cases of write_json_string inline, for strings with nothing to escape: a clean string of 1..15 bytes
/// is one block copy and quotes, one of 16..32 bytes (IDs, short ARNs) two overlapping block copies. Returns the end
/// of the output, or nullptr when it did not handle `s` (empty, over 32 bytes, or some byte needs work): then the
/// caller calls write_json_string, which writes the whole literal again from `d` (RecordFormatter::write_string
/// keeps that slow path and its replacement counter out of line). Same preconditions and bytes.
/// Thread contract: reentrant, no shared state.
inline char* write_json_string_clean(char* d, std::string_view s) noexcept {
#ifdef TRAILKIT_JSON_SSE2
  const std::size_t n = s.size();
  // n - 1 < 15 also keeps out the empty string, whose data() may be null.
  if (n - 1 < 15) {
    if (json_block_within_page(s.data()) &&
        (json_copy_block_within_page(s.data(), d + 1) & ((1u << n) - 1u)) == 0) {
      d[0] = '"';
      d[n + 1] = '"';
      return d + n + 2;
    }
  } else if (n - 16 <= 16) {
    // Both blocks lie inside the string: the second ends exactly at its end.
    const __m128i head = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data()));
    const __m128i tail = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + n - 16));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 1), head);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 1 + n - 16), tail);
    if ((json_string_special_mask(head) | json_string_special_mask(tail)) == 0) {
      d[0] = '"';
      d[n + 1] = '"';
      return d + n + 2;
    }
  }
#else
  static_cast<void>(d);
  static_cast<void>(s);
#endif
  return nullptr;
}

/// Where encode_json_string_segment stopped reading input and writing output.
struct JsonSegmentEnd {
  const char* input;
  char* output;
};

/// Encodes, without quotes, the bytes of [p, stop) up to the first '"', '\\' or byte < 0x20 (the bytes that end,
/// start an escape in, or are forbidden in a string literal of *input* JSON) with append_json_string's rules
/// (0x7F and U+2028/2029 escaped, invalid UTF-8 -> U+FFFD). A multi-byte sequence starting before `stop` is
/// decoded whole, reading at most up to `end` (>= stop), so `input` may end up to 3 bytes past `stop`.
/// `d` must have room for kJsonEscapeMaxExpansion * (stop - p) + kJsonEscapeSlack bytes. Returns the stopping
/// byte's address (or the position reached, >= stop) and the end of the output; adds the U+FFFD count to
/// *replacements. Returned by value (two registers) so the caller's cursors never have to live in memory.
/// Thread contract: reentrant, no shared state.
JsonSegmentEnd encode_json_string_segment(const char* p, const char* stop, const char* end, char* d,
                                          std::size_t* replacements) noexcept;

/// Writes one code point (a Unicode scalar value: <= U+10FFFF and not a surrogate) without quotes, escaped
/// exactly as append_json_string would escape its UTF-8 encoding. Needs room for 16 bytes at `d`; returns the
/// end of the output. Thread contract: reentrant, no shared state.
char* encode_json_code_point(char* d, std::uint32_t code_point) noexcept;

}  // namespace trailkit::detail
