#include "batch/object_key.hpp"

#include <cstring>

#include "common/civil_time.hpp"

namespace trailkit::detail {
namespace {

constexpr std::size_t kMaxQuotedBytes = 64;
constexpr std::size_t kMaxRegionLength = 32;
constexpr std::size_t kMaxKeyPrefixBytes = 200;

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_lower(char c) noexcept { return c >= 'a' && c <= 'z'; }
bool is_alnum(char c) noexcept { return is_digit(c) || is_lower(c) || (c >= 'A' && c <= 'Z'); }
bool is_control(unsigned char c) noexcept { return c < 0x20 || c == 0x7f; }

std::string failure(std::string_view field, std::string_view value, std::string_view rule) {
  std::string message(field);
  message += ' ';
  message += quote_for_message(value);
  message += ": ";
  message += rule;
  return message;
}

bool is_ipv4_shaped(std::string_view value) noexcept {
  int groups = 0;
  std::size_t digits = 0;
  for (const char c : value) {
    if (c == '.') {
      if (digits == 0) return false;
      ++groups;
      digits = 0;
    } else if (is_digit(c) && digits < 3) {
      ++digits;
    } else {
      return false;
    }
  }
  return groups == 3 && digits > 0;
}

// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF), as S3 requires of keys.
bool is_valid_utf8(std::string_view value) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(value.data());
  const auto* end = p + value.size();
  while (p < end) {
    const unsigned char lead = *p;
    if (lead < 0x80) {
      ++p;
      continue;
    }
    int length = 0;
    std::uint32_t code = 0;
    std::uint32_t minimum = 0;
    if ((lead & 0xE0) == 0xC0) {
      length = 2, code = lead & 0x1F, minimum = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3, code = lead & 0x0F, minimum = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4, code = lead & 0x07, minimum = 0x10000;
    } else {
      return false;
    }
    if (end - p < length) return false;
    for (int i = 1; i < length; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      code = (code << 6) | (p[i] & 0x3F);
    }
    if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    // C1 controls (U+0080..U+009F) are as unprintable as C0 ones.
    if (code <= 0x9F) return false;
    p += length;
  }
  return true;
}

int hex_value(char c) noexcept {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX until nothing changes, so double encoding (%252e) cannot hide a dot segment either.
std::string percent_decode_fully(std::string_view value) {
  std::string current(value);
  for (;;) {
    std::string next;
    next.reserve(current.size());
    bool changed = false;
    for (std::size_t i = 0; i < current.size(); ++i) {
      if (current[i] == '%' && i + 2 < current.size()) {
        const int high = hex_value(current[i + 1]);
        const int low = hex_value(current[i + 2]);
        if (high >= 0 && low >= 0) {
          next += static_cast<char>(high * 16 + low);
          i += 2;
          changed = true;
          continue;
        }
      }
      next += current[i];
    }
    if (!changed) return current;
    current = std::move(next);
  }
}

// `[prefix/]AWSLogs/[o-id/]<acct>/<kind>/<region>/<YYYY>/<MM>/<DD>/<acct>_<kind>_<region>_`
std::string key_head(const KeyLocation& where, std::string_view kind, const CivilTime& date, std::size_t tail) {
  std::string key;
  key.reserve(where.prefix.size() + where.organization_id.size() + 2 * where.account_id.size() +
              2 * kind.size() + 2 * where.region.size() + tail + 32);
  if (!where.prefix.empty()) {
    key += where.prefix;
    key += '/';
  }
  key += "AWSLogs/";
  if (!where.organization_id.empty()) {
    key += where.organization_id;
    key += '/';
  }
  key += where.account_id;
  key += '/';
  key += kind;
  key += '/';
  key += where.region;
  key += '/';
  char folders[11];
  write_digits(folders, date.year, 4);
  folders[4] = '/';
  write_digits(folders + 5, date.month, 2);
  folders[7] = '/';
  write_digits(folders + 8, date.day, 2);
  folders[10] = '/';
  key.append(folders, sizeof folders);
  key += where.account_id;
  key += '_';
  key += kind;
  key += '_';
  key += where.region;
  key += '_';
  return key;
}

// `YYYYMMDDTHHmm` (13 characters); the caller appends `Z` or the seconds.
void write_stamp_to_minute(char* out, const CivilTime& t) noexcept {
  write_digits(out, t.year, 4);
  write_digits(out + 4, t.month, 2);
  write_digits(out + 6, t.day, 2);
  out[8] = 'T';
  write_digits(out + 9, t.hour, 2);
  write_digits(out + 11, t.minute, 2);
}

std::string delivery_file_key(const KeyLocation& where, std::string_view kind, std::int64_t delivery_epoch_seconds,
                              std::string_view unique16, std::string_view suffix) {
  const CivilTime t = civil_four_digit_year(delivery_epoch_seconds);
  std::string key = key_head(where, kind, t, 15 + unique16.size() + suffix.size());
  char stamp[15];
  write_stamp_to_minute(stamp, t);
  stamp[13] = 'Z';
  stamp[14] = '_';
  key.append(stamp, sizeof stamp);
  key += unique16;
  key += suffix;
  return key;
}

}  // namespace

std::string quote_for_message(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  const std::size_t shown = value.size() < kMaxQuotedBytes ? value.size() : kMaxQuotedBytes;
  for (std::size_t i = 0; i < shown; ++i) {
    const auto byte = static_cast<unsigned char>(value[i]);
    if (byte == '"' || byte == '\\') {
      out += '\\';
      out += static_cast<char>(byte);
    } else if (is_control(byte) || byte >= 0x80) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    } else {
      out += static_cast<char>(byte);
    }
  }
  out += '"';
  if (shown < value.size()) out += "... (" + std::to_string(value.size()) + " bytes)";
  return out;
}

namespace {
// True when all 8 bytes of `w` are ASCII digits: high nibble 3, low nibble + 6 without a carry.
constexpr bool all_digits(std::uint64_t w) noexcept {
  return (w & 0xF0F0F0F0F0F0F0F0u) == 0x3030303030303030u &&
         (((w & 0x0F0F0F0F0F0F0F0Fu) + 0x0606060606060606u) & 0xF0F0F0F0F0F0F0F0u) == 0;
}
}  // namespace

bool is_account_id(std::string_view value) noexcept {
  // On every emit: two word checks instead of a loop over 12 characters.
  if (value.size() != 12) return false;
  std::uint64_t head;
  std::uint32_t tail;
  std::memcpy(&head, value.data(), 8);
  std::memcpy(&tail, value.data() + 8, 4);
  return all_digits(head) && all_digits(tail | 0x3030303000000000u);
}

bool is_region(std::string_view value) noexcept {
  if (value.size() > kMaxRegionLength || value.size() < 2 || !is_lower(value[0]) || !is_lower(value[1])) return false;
  std::size_t i = 2;
  int letter_groups = 0;
  while (i < value.size()) {
    if (value[i] != '-') return false;
    const std::size_t start = ++i;
    if (start < value.size() && is_digit(value[start])) {
      // The final `-\d{1,2}`; it must follow at least one `-[a-z]+` group.
      while (i < value.size() && is_digit(value[i])) ++i;
      return letter_groups > 0 && i == value.size() && i - start <= 2;
    }
    while (i < value.size() && is_lower(value[i])) ++i;
    if (i == start) return false;
    ++letter_groups;
  }
  return false;  // no trailing number
}

std::string check_account_id(std::string_view field, std::string_view value) {
  if (is_account_id(value)) return {};
  return failure(field, value, "must be exactly 12 decimal digits");
}

std::string check_region(std::string_view field, std::string_view value) {
  if (is_region(value)) return {};
  return failure(field, value,
                 "must look like an AWS region (^[a-z]{2}(-[a-z]+)+-\\d{1,2}$, at most 32 characters, "
                 "e.g. us-east-1)");
}

std::string check_organization_id(std::string_view field, std::string_view value) {
  bool valid = value.size() >= 12 && value.size() <= 34 && value.substr(0, 2) == "o-";
  for (std::size_t i = 2; valid && i < value.size(); ++i) valid = is_lower(value[i]) || is_digit(value[i]);
  if (valid) return {};
  return failure(field, value, "must be \"o-\" followed by 10 to 32 lower-case letters or digits");
}

std::string check_trail_name(std::string_view field, std::string_view value) {
  if (value.size() < 3 || value.size() > 128) return failure(field, value, "must be 3 to 128 characters long");
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    const bool punctuation = c == '.' || c == '_' || c == '-';
    if (!is_alnum(c) && !punctuation) {
      return failure(field, value, "may contain only ASCII letters, digits, '.', '_' and '-'");
    }
    if (punctuation && (i == 0 || i + 1 == value.size())) {
      return failure(field, value, "must start and end with a letter or digit");
    }
    if (punctuation && !is_alnum(value[i - 1])) {
      return failure(field, value, "must not have two of '.', '_', '-' next to each other");
    }
  }
  if (is_ipv4_shaped(value)) return failure(field, value, "must not be formatted as an IP address");
  return {};
}

std::string check_relative_path(std::string_view field, std::string_view value) {
  if (value.empty()) return failure(field, value, "must not be empty");
  for (const char c : value) {
    if (is_control(static_cast<unsigned char>(c))) {
      return failure(field, value, "must not contain NUL or control characters");
    }
    if (c == '\\') return failure(field, value, "must not contain '\\' (it is a separator on some systems)");
  }
  if (value.front() == '/') return failure(field, value, "must be relative (must not start with '/')");
  if (value.back() == '/') return failure(field, value, "must not end with '/'");
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = value.find('/', start);
    const std::string_view segment = value.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (segment.empty()) return failure(field, value, "must not contain an empty segment ('//')");
    if (segment == "." || segment == "..") return failure(field, value, "must not contain a '.' or '..' segment");
    if (slash == std::string_view::npos) return {};
    start = slash + 1;
  }
}

std::string check_key_prefix(std::string_view field, std::string_view value) {
  if (value.empty()) return {};
  if (value.size() > kMaxKeyPrefixBytes) return failure(field, value, "must be at most 200 bytes");
  if (!is_valid_utf8(value)) return failure(field, value, "must be valid UTF-8 without control characters");
  if (std::string problem = check_relative_path(field, value); !problem.empty()) return problem;
  if (value.find('%') == std::string_view::npos) return {};
  const std::string decoded = percent_decode_fully(value);
  if (!check_relative_path(field, decoded).empty()) {
    return failure(field, value,
                   "must not contain '.', '..' or empty segments, '\\' or control characters even when "
                   "percent-decoded");
  }
  return {};
}

std::string log_file_key(const KeyLocation& where, std::int64_t delivery_epoch_seconds, std::string_view unique16,
                         std::string_view suffix) {
  return delivery_file_key(where, "CloudTrail", delivery_epoch_seconds, unique16, suffix);
}

std::string insight_file_key(const KeyLocation& where, std::int64_t delivery_epoch_seconds,
                             std::string_view unique16, std::string_view suffix) {
  return delivery_file_key(where, "CloudTrail-Insight", delivery_epoch_seconds, unique16, suffix);
}

std::string digest_file_key(const KeyLocation& where, std::string_view trail_name, std::string_view home_region,
                            std::int64_t digest_end_epoch_seconds) {
  constexpr std::string_view kSuffix = ".json.gz";
  const CivilTime t = civil_four_digit_year(digest_end_epoch_seconds);
  std::string key =
      key_head(where, "CloudTrail-Digest", t, trail_name.size() + home_region.size() + 18 + kSuffix.size());
  key += trail_name;
  key += '_';
  key += home_region;
  key += '_';
  key += digest_key_stamp(digest_end_epoch_seconds);
  key += kSuffix;
  return key;
}

std::string digest_key_stamp(std::int64_t epoch_seconds) {
  const CivilTime t = civil_four_digit_year(epoch_seconds);
  char stamp[16];
  write_stamp_to_minute(stamp, t);
  write_digits(stamp + 13, t.second, 2);
  stamp[15] = 'Z';
  return std::string(stamp, sizeof stamp);
}

void random_unique_string(FastRandom& random, char out[16]) noexcept {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  static_assert(sizeof kAlphabet - 1 == 62);
  int filled = 0;
  while (filled < 16) {
    std::uint64_t bits = random.next();
    // Ten 6-bit draws per word; 62 and 63 are rejected so every character has probability 1/62.
    for (int draw = 0; draw < 10 && filled < 16; ++draw, bits >>= 6) {
      const auto index = static_cast<unsigned>(bits & 63u);
      if (index < 62) out[filled++] = kAlphabet[index];
    }
  }
}

}  // namespace trailkit::detail
