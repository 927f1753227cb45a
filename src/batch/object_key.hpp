#pragma once
// CloudTrail object keys (spec §3.1) and the validation of every value that ends up inside one.
//
// Each configured value (account ID, region, organization ID, trail name, S3KeyPrefix) is checked once
// at setup, before it is used to build a key, so a hostile or mistyped value can never become a path
// that escapes the bucket prefix or the local root (reliability-security-ecosystem.md B6). The key
// builders then trust their inputs and only concatenate.
//
// Thread contract: every function here is stateless and thread-safe, except random_unique_string,
// which uses the caller's FastRandom (one per thread).

#include <cstdint>
#include <string>
#include <string_view>

#include "common/fast_random.hpp"

namespace trailkit::detail {

// ---- Validators ----------------------------------------------------------------------------------
// Each returns "" when the value is valid, else one sentence naming `field` and the rule it breaks,
// e.g. `account_id "12345": must be exactly 12 decimal digits`. Values appear quoted, with control,
// non-ASCII, '"' and '\' bytes escaped, and cut after 64 bytes, so a message is always printable.

/// AWS account ID: `^\d{12}$`.
std::string check_account_id(std::string_view field, std::string_view value);
/// Region: `^[a-z]{2}(-[a-z]+)+-\d{1,2}$`, at most 32 characters (us-east-1, us-gov-west-1, cn-north-1).
std::string check_region(std::string_view field, std::string_view value);
/// Organization ID: `^o-[a-z0-9]{10,32}$` (inserted after `AWSLogs/` for organization trails).
std::string check_organization_id(std::string_view field, std::string_view value);
/// CloudTrail trail name (spec §6.7): 3-128 characters of ASCII letters, digits, '.', '_', '-';
/// starts and ends with a letter or digit; no two of '.', '_', '-' adjacent; not IPv4-shaped (1.2.3.4).
std::string check_trail_name(std::string_view field, std::string_view value);
/// S3KeyPrefix: "" (no prefix) or at most 200 bytes of valid UTF-8 without control characters, NUL or
/// '\'; no leading or trailing '/'; no empty, "." or ".." segment, also after percent-decoding
/// (`%2e%2e`, `%2E.`, `a%2f..`), because some S3 clients and proxies decode keys before use.
std::string check_key_prefix(std::string_view field, std::string_view value);
/// A relative '/'-separated path: non-empty, no control characters or NUL, no '\', not absolute, no
/// trailing '/', no empty, "." or ".." segment. The rule the local destination applies to object keys
/// and check_key_prefix applies to the prefix (one rule, so the two cannot diverge).
std::string check_relative_path(std::string_view field, std::string_view value);

/// Allocation-free versions of check_account_id / check_region for the emit hot path.
bool is_account_id(std::string_view value) noexcept;
bool is_region(std::string_view value) noexcept;

/// `value` in double quotes, escaped and cut as described above; for error messages.
std::string quote_for_message(std::string_view value);

// ---- Key builders --------------------------------------------------------------------------------
// Preconditions: every field of KeyLocation already passed its validator (prefix and organization_id
// may be empty, meaning "none"); unique16 is 16 characters from random_unique_string. Times outside
// years 0000..9999 are clamped so the folders stay four-digit (Athena's `yyyy/MM/dd` projection).

/// Where a trail's objects live: `[prefix/]AWSLogs/[o-id/]<acct>/<kind>/<region>/`.
struct KeyLocation {
  std::string_view prefix;           ///< S3KeyPrefix without a trailing '/', or "" for none
  std::string_view organization_id;  ///< `o-…` for organization trails, or ""
  std::string_view account_id;       ///< the account whose activity the file holds
  std::string_view region;           ///< the region whose activity the file holds (also the folder)
};

/// `[prefix/]AWSLogs/[o-id/]<acct>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/<acct>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique16><suffix>`.
/// The date folders and the minute stamp are the UTC *delivery* time (spec §3.1); `suffix` is
/// ".json.gz" or ".json.zst".
std::string log_file_key(const KeyLocation& where, std::int64_t delivery_epoch_seconds, std::string_view unique16,
                         std::string_view suffix);
/// The same layout under `CloudTrail-Insight` (singular, as real keys show).
std::string insight_file_key(const KeyLocation& where, std::int64_t delivery_epoch_seconds,
                             std::string_view unique16, std::string_view suffix);
/// `[prefix/]AWSLogs/[o-id/]<acct>/CloudTrail-Digest/<region>/<YYYY>/<MM>/<DD>/<acct>_CloudTrail-Digest_<region>_<trailName>_<homeRegion>_<YYYYMMDDTHHMMSSZ>.json.gz`.
/// Folders and stamp are the digest *end* time: validate-logs slices the stamp at [-24:-8] and relies
/// on keys sorting chronologically (spec §4.4).
std::string digest_file_key(const KeyLocation& where, std::string_view trail_name, std::string_view home_region,
                            std::int64_t digest_end_epoch_seconds);

/// `YYYYMMDDTHHMMSSZ`: the end-time stamp of a digest key (validate-logs compares these as text).
std::string digest_key_stamp(std::int64_t epoch_seconds);

/// Fills `out` with 16 characters of [A-Za-z0-9], each uniformly distributed (rejection sampling, so
/// no modulo bias). CloudTrail's UniqueString has no meaning beyond uniqueness (spec §3.1).
void random_unique_string(FastRandom& random, char out[16]) noexcept;

}  // namespace trailkit::detail
