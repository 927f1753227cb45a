#pragma once
// Civil (UTC calendar) time from epoch seconds without gmtime_r: Howard Hinnant's
// civil_from_days, ~6 ns versus ~60 ns for gmtime_r + strftime (performance.md §D.2).

#include <cstdint>
#include <optional>

namespace trailkit::detail {

struct CivilTime {
  int year;
  int month;   // 1..12
  int day;     // 1..31
  int hour;    // 0..23
  int minute;  // 0..59
  int second;  // 0..59
};

constexpr CivilTime civil_from_epoch(std::int64_t epoch_seconds) noexcept {
  std::int64_t days = epoch_seconds / 86400;
  std::int64_t rem = epoch_seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const std::int64_t doe = days - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return CivilTime{static_cast<int>(y), static_cast<int>(m), static_cast<int>(d),
                   static_cast<int>(rem / 3600), static_cast<int>((rem % 3600) / 60), static_cast<int>(rem % 60)};
}

/// Epoch seconds of a UTC civil time (Hinnant's days_from_civil, the inverse of civil_from_epoch),
/// or nullopt when a field is out of range: month 1..12, day within its month (leap years too),
/// hour 0..23, minute and second 0..59. The one place the parsers of eventTime, X-Amz-Date and the
/// validator's --start-time turn fields into seconds.
constexpr std::optional<std::int64_t> epoch_from_civil(int year, int month, int day, int hour, int minute,
                                                       int second) noexcept {
  if (month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 ||
      second > 59) {
    return std::nullopt;
  }
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (day > kDays[month - 1] + (month == 2 && leap ? 1 : 0)) return std::nullopt;
  const std::int64_t y = year - (month <= 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = era * 146097 + doe - 719468;
  return days * 86400 + hour * 3600 + minute * 60 + second;
}

/// Writes `n` decimal digits of `value` (zero-padded) to `out`.
constexpr void write_digits(char* out, int value, int n) noexcept {
  for (int i = n - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

/// civil_from_epoch with the time clamped to 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59Z, so
/// every formatted year has exactly four digits (eventTime regex, fixed-width key stamps).
constexpr CivilTime civil_four_digit_year(std::int64_t epoch_seconds) noexcept {
  constexpr std::int64_t kMin = -62167219200;  // 0000-01-01T00:00:00Z
  constexpr std::int64_t kMax = 253402300799;  // 9999-12-31T23:59:59Z
  return civil_from_epoch(epoch_seconds < kMin ? kMin : (epoch_seconds > kMax ? kMax : epoch_seconds));
}

/// `YYYY-MM-DDTHH:MM:SSZ` (20 characters, no terminator) — the CloudTrail eventTime format
/// (spec §0.2). Years outside 0000..9999 are clamped so the regex still holds.
constexpr void format_event_time(std::int64_t epoch_seconds, char out[20]) noexcept {
  const CivilTime t = civil_four_digit_year(epoch_seconds);
  write_digits(out, t.year, 4);
  out[4] = '-';
  write_digits(out + 5, t.month, 2);
  out[7] = '-';
  write_digits(out + 8, t.day, 2);
  out[10] = 'T';
  write_digits(out + 11, t.hour, 2);
  out[13] = ':';
  write_digits(out + 14, t.minute, 2);
  out[16] = ':';
  write_digits(out + 17, t.second, 2);
  out[19] = 'Z';
}

}  // namespace trailkit::detail
