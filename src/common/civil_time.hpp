#pragma once
// Civil (UTC calendar) time from epoch seconds without gmtime_r: Howard Hinnant's
// civil_from_days, ~6 ns versus ~60 ns for gmtime_r + strftime (performance.md §D.2).

#include <cstdint>

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
