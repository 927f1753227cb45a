#include "serialize/json_escape.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

namespace trailkit::detail {
namespace {

using Byte = unsigned char;

// Input is encoded in chunks so that the worst-case reservation (6 output bytes per input byte, "\u00XX") stays
// bounded for megabyte strings while small strings reserve once.
constexpr std::size_t kChunk = kJsonStringChunk;
// Room past the worst case: the SIMD loop stores a whole 16-byte block and escapes are copied as 8-byte words.
constexpr std::size_t kSlack = kJsonEscapeSlack;
constexpr std::size_t kMaxExpansion = kJsonEscapeMaxExpansion;

struct Escape {
  char text[8];
  std::uint8_t size;  // 0: the byte is copied as is
};

constexpr std::array<Escape, 128> make_escapes() {
  std::array<Escape, 128> table{};
  constexpr char kHex[] = "0123456789abcdef";
  auto set = [&table](int c, const char* text) {
    Escape& e = table[static_cast<std::size_t>(c)];
    std::uint8_t n = 0;
    while (text[n] != '\0') {
      e.text[n] = text[n];
      ++n;
    }
    e.size = n;
  };
  for (int c = 0; c < 0x20; ++c) {
    char text[7] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15], '\0'};
    set(c, text);
  }
  set('\b', "\\b");
  set('\f', "\\f");
  set('\n', "\\n");
  set('\r', "\\r");
  set('\t', "\\t");
  set('"', "\\\"");
  set('\\', "\\\\");
  set(0x7F, "\\u007f");
  return table;
}
constexpr std::array<Escape, 128> kEscapes = make_escapes();

constexpr std::array<bool, 256> make_special() {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) table[static_cast<std::size_t>(c)] = c < 0x20 || c == '"' || c == '\\' || c >= 0x7F;
  return table;
}
constexpr std::array<bool, 256> kSpecial = make_special();

struct Utf8Sequence {
  std::size_t size;  // bytes consumed: the whole character, or the maximal subpart to replace by one U+FFFD
  bool valid;
};

// Unicode Table 3-7 (well-formed UTF-8). On failure the consumed length is the "maximal subpart" -- the longest
// prefix that could still have started a valid sequence -- which is what Python's 'replace' handler does.
inline Utf8Sequence decode_utf8(const Byte* p, const Byte* end) {
  const unsigned b0 = p[0];
  if (b0 < 0xC2 || b0 > 0xF4) return {1, false};
  if (end - p < 2) return {1, false};
  unsigned lo = 0x80, hi = 0xBF;
  if (b0 == 0xE0) lo = 0xA0;       // overlong 3-byte
  else if (b0 == 0xED) hi = 0x9F;  // UTF-16 surrogates
  else if (b0 == 0xF0) lo = 0x90;  // overlong 4-byte
  else if (b0 == 0xF4) hi = 0x8F;  // > U+10FFFF
  const unsigned b1 = p[1];
  if (b1 < lo || b1 > hi) return {1, false};
  if (b0 < 0xE0) return {2, true};
  if (end - p < 3 || (p[2] & 0xC0) != 0x80) return {2, false};
  if (b0 < 0xF0) return {3, true};
  if (end - p < 4 || (p[3] & 0xC0) != 0x80) return {3, false};
  return {4, true};
}

// Encodes [p, stop) into d (reserved for kMaxExpansion * (stop - p) + kSlack bytes). A multi-byte sequence that
// starts before `stop` may read (never past `end`) and consume beyond it. With kStopAtJsonSyntax the bytes that
// are syntax in *input* JSON strings ('"', '\\', < 0x20) are not escaped: encoding stops there instead.
template <bool kStopAtJsonSyntax>
const Byte* encode_run(const Byte* p, const Byte* stop, const Byte* end, char*& dst, std::size_t& replacements) {
  char* d = dst;
  while (p < stop) {
#ifdef TRAILKIT_JSON_SSE2
    // Copy first, ask questions later: the block is stored whole and the cursor advances only over clean bytes.
    const std::size_t left = static_cast<std::size_t>(stop - p);
    unsigned mask;
    if (left >= 16) {
      std::memcpy(d, p, 16);
      mask = json_string_special_mask(reinterpret_cast<const char*>(p));
      if (mask == 0) {
        p += 16;
        d += 16;
        // A clean block suggests a long clean run (user agents, policy documents): move 64 bytes per step.
        while (stop - p >= 64) {
          const char* const q = reinterpret_cast<const char*>(p);
          if ((json_string_special_mask(q) | json_string_special_mask(q + 16) | json_string_special_mask(q + 32) |
               json_string_special_mask(q + 48)) != 0) {
            break;
          }
          std::memcpy(d, p, 64);
          p += 64;
          d += 64;
        }
        continue;
      }
    } else if (json_block_within_page(p)) {
      // Fewer than 16 bytes left (most record fields are short), but a 16-byte load from p stays in
      // p's page, so it cannot fault: one compare instead of a byte loop; bits past `stop` are
      // dropped. (Copying through a stack buffer instead stalled on store-to-load forwarding.)
      mask = json_copy_block_within_page(reinterpret_cast<const char*>(p), d) & ((1u << left) - 1u);
      if (mask == 0) {
        p += left;
        d += left;
        break;
      }
    } else {
      // The rare short tail at the end of a page: a table-driven byte loop.
      while (p < stop && !kSpecial[*p]) *d++ = static_cast<char>(*p++);
      if (p == stop) break;
      mask = 1;  // p is at the special byte: no further clean bytes to skip
    }
    const unsigned clean = static_cast<unsigned>(std::countr_zero(mask));
    p += clean;
    d += clean;
#else
    while (p < stop && !kSpecial[*p]) *d++ = static_cast<char>(*p++);
    if (p == stop) break;
#endif
    const Byte b = *p;
    if (b < 0x80) {
      if constexpr (kStopAtJsonSyntax) {
        if (b != 0x7F) break;
      }
      const Escape& e = kEscapes[b];
      std::memcpy(d, e.text, sizeof e.text);
      d += e.size;
      ++p;
      continue;
    }
    // Non-ASCII: stay in this loop while the text stays non-ASCII (CJK, Cyrillic, emoji), single clean ASCII bytes
    // (word spaces) included, instead of going back to the block scan for every character.
    for (;;) {
      const unsigned b0 = *p;
      if (b0 < 0x80) {
        if (b0 < 0x20 || b0 == '"' || b0 == '\\' || b0 == 0x7F || stop - p < 2 || p[1] < 0x80) break;
        *d++ = static_cast<char>(b0);
        ++p;
        continue;
      }
      if (end - p >= 4) {  // fast path for well-formed 2- and 3-byte characters: copy a whole word
        if (b0 >= 0xC2 && b0 <= 0xDF && (p[1] & 0xC0) == 0x80) {
          std::memcpy(d, p, 4);
          d += 2;
          p += 2;
          if (p >= stop) break;
          continue;
        }
        if ((b0 & 0xF0) == 0xE0 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
          const unsigned cp = ((b0 & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
          if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF) && cp != 0x2028 && cp != 0x2029) {
            std::memcpy(d, p, 4);
            d += 3;
            p += 3;
            if (p >= stop) break;
            continue;
          }
        }
      }
      const Utf8Sequence seq = decode_utf8(p, end);
      if (!seq.valid) {
        std::memcpy(d, "\xEF\xBF\xBD", 3);
        d += 3;
        ++replacements;
      } else if (p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)) {
        std::memcpy(d, p[2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
        d += 6;
      } else if (end - p >= 4) {
        std::memcpy(d, p, 4);  // whole word; only seq.size bytes are kept (the slack covers the rest)
        d += seq.size;
      } else {
        d[0] = static_cast<char>(p[0]);
        d[1] = static_cast<char>(p[1]);
        if (seq.size > 2) d[2] = static_cast<char>(p[2]);
        if (seq.size > 3) d[3] = static_cast<char>(p[3]);
        d += seq.size;
      }
      p += seq.size;
      if (p >= stop) break;
    }
  }
  dst = d;
  return p;
}

#ifdef TRAILKIT_JSON_SSE2
// For n >= 16: copies [p, p + n) to d in 16-byte blocks up to the first byte that needs work and returns how many
// bytes before it are copied (n when none does). The last block ends exactly at p + n, overlapping the one before
// it, so a 16..n byte string (ARNs, request IDs, user agents) needs no tail loop and no read past its end.
inline std::size_t copy_clean_prefix(const char* p, std::size_t n, char* d) noexcept {
  std::size_t i = 0;
  for (; n - i > 16; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i), v);
    const unsigned mask = json_string_special_mask(v);
    if (mask != 0) return i + static_cast<std::size_t>(std::countr_zero(mask));
  }
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(d + n - 16), v);
  const unsigned mask = json_string_special_mask(v);
  // The overlap with the previous block is known clean, so the first special byte is at or after i.
  return mask == 0 ? n : n - 16 + static_cast<std::size_t>(std::countr_zero(mask));
}
#endif

// Encodes [p, end) into out, chunk by chunk, so a megabyte string never reserves 6 MB at once.
void encode_into(JsonBuffer& out, const Byte* p, const Byte* end, std::size_t& replacements) {
  while (p < end) {
    const std::size_t n = std::min(static_cast<std::size_t>(end - p), kChunk);
    char* const start = out.prepare(kMaxExpansion * n + kSlack);
    char* d = start;
    p = encode_run<false>(p, p + n, end, d, replacements);
    out.commit(static_cast<std::size_t>(d - start));
  }
}

const Byte* as_bytes(const char* p) { return reinterpret_cast<const Byte*>(p); }

// Largest cut <= max_bytes (< s.size()) that does not split a valid multi-byte character.
std::size_t utf8_cut(std::string_view s, std::size_t max_bytes) {
  const Byte* const base = as_bytes(s.data());
  std::size_t lead = max_bytes;
  while (lead > 0 && max_bytes - lead < 3 && (base[lead] & 0xC0) == 0x80) --lead;
  if (lead == max_bytes) return max_bytes;
  const Utf8Sequence seq = decode_utf8(base + lead, base + s.size());
  return seq.valid && lead + seq.size > max_bytes ? lead : max_bytes;
}

}  // namespace

char* write_json_string(char* d, std::string_view s, std::size_t* replacements) noexcept {
  const Byte* begin = as_bytes(s.data());
  const Byte* const end = begin + s.size();
  *d++ = '"';
#ifdef TRAILKIT_JSON_SSE2
  if (s.size() >= 16) {
    const std::size_t clean = copy_clean_prefix(s.data(), s.size(), d);
    d += clean;
    begin += clean;
    if (begin == end) {
      *d = '"';
      return d + 1;
    }
  }
#endif
  encode_run<false>(begin, end, end, d, *replacements);
  *d++ = '"';
  return d;
}

char* write_json_string_blockwise(char* d, std::string_view s, std::size_t* replacements) noexcept {
  const Byte* const begin = as_bytes(s.data());
  const Byte* const end = begin + s.size();
  *d++ = '"';
  encode_run<false>(begin, end, end, d, *replacements);
  *d++ = '"';
  return d;
}

char* write_json_string_truncated(char* d, std::string_view s, std::size_t max_bytes, bool* truncated,
                                  std::size_t* replacements) noexcept {
  const bool cut = s.size() > max_bytes;
  if (truncated != nullptr) *truncated = cut;
  if (!cut) return write_json_string(d, s, replacements);
  const Byte* const begin = as_bytes(s.data());
  *d++ = '"';
  const Byte* const keep = begin + utf8_cut(s, max_bytes);
  encode_run<false>(begin, keep, keep, d, *replacements);
  std::memcpy(d, "...\"", 4);
  return d + 4;
}

std::size_t append_json_string(JsonBuffer& out, std::string_view s) {
  std::size_t replacements = 0;
  if (s.size() <= kChunk) {  // the common case: one reservation, quotes included
    char* const start = out.prepare(kMaxExpansion * s.size() + kSlack + 2);
    out.commit(static_cast<std::size_t>(write_json_string(start, s, &replacements) - start));
    return replacements;
  }
  out.push_back('"');
  encode_into(out, as_bytes(s.data()), as_bytes(s.data()) + s.size(), replacements);
  out.push_back('"');
  return replacements;
}

std::size_t append_json_string_truncated(JsonBuffer& out, std::string_view s, std::size_t max_bytes,
                                         bool* truncated) {
  const bool cut = s.size() > max_bytes;
  if (truncated != nullptr) *truncated = cut;
  if (!cut) return append_json_string(out, s);
  const std::size_t keep = utf8_cut(s, max_bytes);
  std::size_t replacements = 0;
  out.push_back('"');
  encode_into(out, as_bytes(s.data()), as_bytes(s.data()) + keep, replacements);
  out.literal("...\"");
  return replacements;
}

JsonSegmentEnd encode_json_string_segment(const char* p, const char* stop, const char* end, char* d,
                                          std::size_t* replacements) noexcept {
  const Byte* const reached = encode_run<true>(as_bytes(p), as_bytes(stop), as_bytes(end), d, *replacements);
  return {p + (reached - as_bytes(p)), d};
}

char* encode_json_code_point(char* d, std::uint32_t code_point) noexcept {
  if (code_point < 0x80) {
    const Escape& e = kEscapes[code_point];
    if (e.size == 0) {
      *d = static_cast<char>(code_point);
      return d + 1;
    }
    std::memcpy(d, e.text, sizeof e.text);
    return d + e.size;
  }
  if (code_point == 0x2028 || code_point == 0x2029) {
    std::memcpy(d, code_point == 0x2028 ? "\\u2028" : "\\u2029", 6);
    return d + 6;
  }
  if (code_point < 0x800) {
    *d++ = static_cast<char>(0xC0 | (code_point >> 6));
  } else if (code_point < 0x10000) {
    *d++ = static_cast<char>(0xE0 | (code_point >> 12));
    *d++ = static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
  } else {
    *d++ = static_cast<char>(0xF0 | (code_point >> 18));
    *d++ = static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    *d++ = static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
  }
  *d++ = static_cast<char>(0x80 | (code_point & 0x3F));
  return d;
}

}  // namespace trailkit::detail
