#include "batch/object_key.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <iomanip>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace trailkit::detail {
namespace {

using namespace std::string_literals;

constexpr std::int64_t k20240501T144712 = 1714574832;
constexpr std::int64_t kLeapDayLastSecond = 1709251199;  // 2024-02-29T23:59:59Z
constexpr std::int64_t kYearEndLastSecond = 1704067199;  // 2023-12-31T23:59:59Z
constexpr std::int64_t kNewYear2024 = 1704067200;        // 2024-01-01T00:00:00Z
constexpr std::int64_t k20200923T051630 = 1600838190;

const KeyLocation kPlain{"", "", "111122223333", "us-east-1"};

// ---- keys ----------------------------------------------------------------------------------------

TEST(LogFileKey, MatchesTheDocumentedLayoutForAKnownTime) {
  EXPECT_EQ(log_file_key(kPlain, k20240501T144712, "Ab12Cd34Ef56Gh78", ".json.gz"),
            "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/"
            "111122223333_CloudTrail_us-east-1_20240501T1447Z_Ab12Cd34Ef56Gh78.json.gz");
}

TEST(LogFileKey, PrefixIsJoinedWithASlash) {
  const KeyLocation where{"my/prefix", "", "111122223333", "eu-central-2"};
  EXPECT_EQ(log_file_key(where, k20240501T144712, "9nYN7gp2eWAJHIfT", ".json.gz"),
            "my/prefix/AWSLogs/111122223333/CloudTrail/eu-central-2/2024/05/01/"
            "111122223333_CloudTrail_eu-central-2_20240501T1447Z_9nYN7gp2eWAJHIfT.json.gz");
}

TEST(LogFileKey, OrganizationIdGoesAfterAwsLogs) {
  const KeyLocation where{"", "o-fxozgwu6rc", "123456789015", "ca-central-1"};
  EXPECT_EQ(log_file_key(where, k20200923T051630, "KL5e9VCV2SS7IqzB", ".json.gz"),
            "AWSLogs/o-fxozgwu6rc/123456789015/CloudTrail/ca-central-1/2020/09/23/"
            "123456789015_CloudTrail_ca-central-1_20200923T0516Z_KL5e9VCV2SS7IqzB.json.gz");
}

TEST(LogFileKey, LeapDayAndYearEndUseTheUtcDeliveryDate) {
  EXPECT_EQ(log_file_key(kPlain, kLeapDayLastSecond, "AAAAAAAAAAAAAAAA", ".json.gz"),
            "AWSLogs/111122223333/CloudTrail/us-east-1/2024/02/29/"
            "111122223333_CloudTrail_us-east-1_20240229T2359Z_AAAAAAAAAAAAAAAA.json.gz");
  EXPECT_EQ(log_file_key(kPlain, kYearEndLastSecond, "AAAAAAAAAAAAAAAA", ".json.gz"),
            "AWSLogs/111122223333/CloudTrail/us-east-1/2023/12/31/"
            "111122223333_CloudTrail_us-east-1_20231231T2359Z_AAAAAAAAAAAAAAAA.json.gz");
  EXPECT_EQ(log_file_key(kPlain, kNewYear2024, "AAAAAAAAAAAAAAAA", ".json.gz"),
            "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01/"
            "111122223333_CloudTrail_us-east-1_20240101T0000Z_AAAAAAAAAAAAAAAA.json.gz");
}

TEST(LogFileKey, ZstdSuffixIsAppendedVerbatim) {
  const std::string key = log_file_key(kPlain, k20240501T144712, "Ab12Cd34Ef56Gh78", ".json.zst");
  EXPECT_TRUE(key.ends_with("_20240501T1447Z_Ab12Cd34Ef56Gh78.json.zst")) << key;
}

TEST(LogFileKey, MatchesTheCloudTrailProcessingLibraryPattern) {
  // CPL's SourceIdentifier decides which S3 objects are log files; a key it rejects is never read.
  const std::regex cpl(R"(.+_CloudTrail_[\w\-]+_\d{8}T\d{4}Z_[\w]+\.json\.gz)");
  FastRandom random(7);
  for (const auto& where : {kPlain, KeyLocation{"my/prefix", "o-a1b2c3d4e5", "999988887777", "us-gov-west-1"}}) {
    for (const std::int64_t when : {k20240501T144712, kLeapDayLastSecond, kYearEndLastSecond, kNewYear2024}) {
      char unique[16];
      random_unique_string(random, unique);
      const std::string key = log_file_key(where, when, std::string_view(unique, 16), ".json.gz");
      EXPECT_TRUE(std::regex_match(key, cpl)) << key;
    }
  }
}

TEST(InsightFileKey, UsesTheSingularCloudTrailInsightFolder) {
  const KeyLocation where{"", "o-fxozgwu6rc", "123456789015", "ca-central-1"};
  EXPECT_EQ(insight_file_key(where, k20200923T051630, "KL5e9VCV2SS7IqzB", ".json.gz"),
            "AWSLogs/o-fxozgwu6rc/123456789015/CloudTrail-Insight/ca-central-1/2020/09/23/"
            "123456789015_CloudTrail-Insight_ca-central-1_20200923T0516Z_KL5e9VCV2SS7IqzB.json.gz");
}

TEST(DigestFileKey, MatchesTheDocumentedLayoutWithSeconds) {
  const KeyLocation where{"my/prefix", "", "111122223333", "eu-west-1"};
  EXPECT_EQ(digest_file_key(where, "my-trail", "us-east-1", k20240501T144712),
            "my/prefix/AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2024/05/01/"
            "111122223333_CloudTrail-Digest_eu-west-1_my-trail_us-east-1_20240501T144712Z.json.gz");
}

// Rebuilds validate-logs' key filter (spec §4.4) for one trail, escaping the literal parts.
std::regex validate_logs_digest_regex(std::string_view prefix, std::string_view org, std::string_view account,
                                      std::string_view source_region, std::string_view trail,
                                      std::string_view home_region) {
  const auto escape = [](std::string_view text) {
    static const std::regex special(R"([.^$|()\[\]{}*+?\\\-])");
    return std::regex_replace(std::string(text), special, R"(\$&)");
  };
  std::string pattern = "^";
  if (!prefix.empty()) pattern += escape(prefix) + "/";
  pattern += "AWSLogs/";
  if (!org.empty()) pattern += escape(org) + "/";
  pattern += escape(account) + R"(/CloudTrail\-Digest/)" + escape(source_region) + R"(/\d+/\d+/\d+/)" +
             escape(account) + R"(_CloudTrail\-Digest_)" + escape(source_region) + "_" + escape(trail) + "_" +
             escape(home_region) + R"(_.+(?:_backfill)?\.json\.gz$)";
  return std::regex(pattern);
}

std::int64_t parse_validate_logs_stamp(const std::string& stamp) {
  std::tm parts{};
  std::istringstream input(stamp);
  input >> std::get_time(&parts, "%Y%m%dT%H%M%SZ");
  EXPECT_FALSE(input.fail()) << stamp;
  return static_cast<std::int64_t>(timegm(&parts));
}

TEST(DigestFileKey, ValidateLogsFindsItAndSlicesTheEndTime) {
  for (const auto& where : {KeyLocation{"", "", "111122223333", "us-west-2"},
                            KeyLocation{"my/prefix", "o-a1b2c3d4e5", "111122223333", "us-west-2"}}) {
    const std::regex filter = validate_logs_digest_regex(where.prefix, where.organization_id, where.account_id,
                                                         where.region, "org.trail_1", "us-east-1");
    for (const std::int64_t end : {k20240501T144712, kLeapDayLastSecond, kYearEndLastSecond, kNewYear2024}) {
      const std::string key = digest_file_key(where, "org.trail_1", "us-east-1", end);
      EXPECT_TRUE(std::regex_match(key, filter)) << key;
      // validate-logs takes the date by fixed slicing: key[-24:-8].
      EXPECT_EQ(parse_validate_logs_stamp(key.substr(key.size() - 24, 16)), end) << key;
    }
  }
}

TEST(DigestFileKey, KeysSortChronologically) {
  // validate-logs stops listing at the first key past its window, so order must follow time.
  const std::string earlier = digest_file_key(kPlain, "t1x", "us-east-1", kYearEndLastSecond);
  const std::string later = digest_file_key(kPlain, "t1x", "us-east-1", kNewYear2024);
  EXPECT_LT(earlier, later);
}

TEST(KeyBuilders, YearsOutsideFourDigitsAreClamped) {
  const std::string key = log_file_key(kPlain, -62167219200 - 86400, "AAAAAAAAAAAAAAAA", ".json.gz");
  EXPECT_NE(key.find("/0000/01/01/"), std::string::npos) << key;
  const std::string late = log_file_key(kPlain, 253402300799 + 86400, "AAAAAAAAAAAAAAAA", ".json.gz");
  EXPECT_NE(late.find("/9999/12/31/"), std::string::npos) << late;
}

// ---- unique string -------------------------------------------------------------------------------

int alphabet_index(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
  if (c >= '0' && c <= '9') return 52 + (c - '0');
  return -1;
}

TEST(RandomUniqueString, UsesOnlyAlphanumericsAndIsRoughlyUniform) {
  FastRandom random(12345);
  constexpr int kStrings = 40000;
  std::array<long, 62> counts{};
  for (int i = 0; i < kStrings; ++i) {
    char unique[16];
    random_unique_string(random, unique);
    for (const char c : unique) {
      const int index = alphabet_index(c);
      ASSERT_GE(index, 0) << "unexpected character " << static_cast<int>(c);
      ++counts[static_cast<std::size_t>(index)];
    }
  }
  // Chi-square with 61 degrees of freedom: 130 is beyond p = 1e-6. A `% 62` of 6-bit draws would put
  // twice the mass on 'A' and 'B' and land in the thousands.
  const double expected = kStrings * 16.0 / 62.0;
  double chi_square = 0;
  for (const long count : counts) chi_square += (count - expected) * (count - expected) / expected;
  EXPECT_LT(chi_square, 130.0);
}

TEST(RandomUniqueString, ConsecutiveStringsDiffer) {
  FastRandom random(1);
  std::vector<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    char unique[16];
    random_unique_string(random, unique);
    seen.emplace_back(unique, 16);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
}

// ---- validators ----------------------------------------------------------------------------------

TEST(CheckAccountId, AcceptsTwelveDigitsOnly) {
  for (const std::string_view good : {"111122223333", "000000000000", "999999999999"}) {
    EXPECT_EQ(check_account_id("account_id", good), "") << good;
    EXPECT_TRUE(is_account_id(good)) << good;
  }
  for (const std::string& bad : {""s, "12345"s, "1111222233334"s, "11112222333"s, "11112222333a"s, " 111122223333"s,
                                "111122223333\n"s, "1111-2222-33"s, "../../etc/xx"s, "11112222333\0"s,
                                "１１１１２２２２３３３３"s}) {
    EXPECT_NE(check_account_id("account_id", bad), "") << bad;
    EXPECT_FALSE(is_account_id(bad)) << bad;
  }
  EXPECT_EQ(check_account_id("account_id", "12345"), R"(account_id "12345": must be exactly 12 decimal digits)");
}

TEST(CheckAccountId, EveryNonDigitByteAtEveryPositionIsRefused) {
  // is_account_id checks 8 and 4 bytes at a time: every byte value must be judged alone.
  for (std::size_t position = 0; position < 12; ++position) {
    for (int byte = 0; byte < 256; ++byte) {
      std::string id = "111122223333";
      id[position] = static_cast<char>(byte);
      EXPECT_EQ(is_account_id(id), byte >= '0' && byte <= '9') << "byte " << byte << " at " << position;
    }
  }
}

TEST(CheckRegion, AcceptsRealRegionsAndRejectsLookalikes) {
  for (const std::string_view good : {"us-east-1", "us-gov-west-1", "ap-southeast-2", "cn-north-1", "eu-central-2",
                                 "il-central-1", "us-isob-east-1", "ap-southeast-12", "ca-west-1"}) {
    EXPECT_EQ(check_region("region", good), "") << good;
    EXPECT_TRUE(is_region(good)) << good;
  }
  for (const std::string& bad :
       {""s, "us-east"s, "US-EAST-1"s, "us-east-123"s, "useast1"s, "us--east-1"s, "us-east-1 "s, "us-east-1/.."s,
        "-us-east-1"s, "u-east-1"s, "use-east-1"s, "us-1"s, "us-east-"s, "us-east-1-"s, "us_east_1"s, "../../etc"s,
        "us-east-1\n"s, "us-east\0-1"s, "us-" + std::string(28, 'a') + "-1"}) {
    EXPECT_NE(check_region("region", bad), "") << bad;
    EXPECT_FALSE(is_region(bad)) << bad;
  }
  EXPECT_TRUE(is_region("us-" + std::string(27, 'a') + "-1"));  // exactly 32 characters
}

TEST(CheckOrganizationId, AcceptsTenToThirtyTwoLowerAlphanumerics) {
  for (const std::string& good : {"o-a1b2c3d4e5"s, "o-fxozgwu6rc"s, "o-" + std::string(32, 'z')}) {
    EXPECT_EQ(check_organization_id("organization_id", good), "") << good;
  }
  for (const std::string& bad : {""s, "o-"s, "o-short"s, "o-abcdefghi"s, "O-abcdefghij"s, "o-ABCDEFGHIJ"s,
                                "o_abcdefghij"s, "o-abcdefghij/.."s, "o-" + std::string(33, 'a'), "o-abcde\0ghij"s,
                                "o-abcdefghij "s}) {
    EXPECT_NE(check_organization_id("organization_id", bad), "") << bad;
  }
}

TEST(CheckTrailName, FollowsTheCreateTrailRules) {
  for (const std::string& good : {"abc"s, "my-trail"s, "a.b_c-d"s, "Trail123"s, "1.2.3"s, "192.168.5.4a"s, "1.2.3.4.5"s,
                                  "1234.1.1.1"s, std::string(128, 'x')}) {
    EXPECT_EQ(check_trail_name("trail_name", good), "") << good;
  }
  for (const std::string& bad : {""s, "ab"s, std::string(129, 'x'), "-abc"s, "abc-"s, ".abc"s, "abc_"s, "a..b"s,
                                "a._b"s, "a-_b"s, "my trail"s, "a/b"s, "../x"s, "192.168.5.4"s, "1.2.3.4"s,
                                "trail\0x"s, "tr\xc3\xa4il"s}) {
    EXPECT_NE(check_trail_name("trail_name", bad), "") << bad;
  }
  EXPECT_EQ(check_trail_name("trail_name", "10.0.0.1"),
            R"(trail_name "10.0.0.1": must not be formatted as an IP address)");
}

TEST(CheckKeyPrefix, AcceptsOrdinaryPrefixes) {
  for (const std::string& good : {""s, "my/prefix"s, "logs"s, "a.b/c..d/..."s, "prefix-2024"s,
                                 "\xc3\xbcnic\xc3\xb8" "de"s, "a%20b"s, "100%"s, "%zz/x"s, std::string(200, 'p')}) {
    EXPECT_EQ(check_key_prefix("S3KeyPrefix", good), "") << good;
  }
}

TEST(CheckKeyPrefix, RejectsEveryTraversalShape) {
  for (const std::string& bad :
       {"../../etc"s, "/abs"s, "a/../../b"s, "%2e%2e/x"s, "%2E./x"s, "a/%2e"s, "x/%2E%2E"s, "%252e%252e/x"s,
        "a%2f..%2fb"s, "a%5c..%5cb"s, "a%00b"s, "a\\b"s, "..\\x"s, "a\0b"s, "a//b"s, std::string(201, 'p'),
        "trailing/"s, "."s, ".."s, "a/./b"s, "a\nb"s, "a\x7f"s, "\xff"s, "\xc0\xaf"s, "\xed\xa0\x80"s,
        "a\xc2\x85z"s}) {
    const std::string problem = check_key_prefix("S3KeyPrefix", bad);
    EXPECT_NE(problem, "") << bad;
    EXPECT_TRUE(problem.starts_with("S3KeyPrefix \"")) << problem;
  }
}

TEST(CheckKeyPrefix, MessagesShowControlBytesEscaped) {
  EXPECT_EQ(check_key_prefix("S3KeyPrefix", "a\0b"s),
            R"(S3KeyPrefix "a\x00b": must not contain NUL or control characters)");
  EXPECT_EQ(check_key_prefix("S3KeyPrefix", "../../etc"),
            R"(S3KeyPrefix "../../etc": must not contain a '.' or '..' segment)");
  const std::string long_problem = check_key_prefix("S3KeyPrefix", std::string(201, 'p'));
  EXPECT_NE(long_problem.find("(201 bytes)"), std::string::npos) << long_problem;
  EXPECT_NE(long_problem.find("at most 200 bytes"), std::string::npos) << long_problem;
}

TEST(CheckRelativePath, RefusesWhatCouldEscapeADirectory) {
  EXPECT_EQ(check_relative_path("key", "AWSLogs/1/CloudTrail/x.json.gz"), "");
  for (const std::string& bad : {""s, "/x"s, "x/"s, "a//b"s, "./x"s, "a/.."s, "a\\b"s, "a\0b"s, "a\tb"s}) {
    EXPECT_NE(check_relative_path("key", bad), "") << bad;
  }
}

}  // namespace
}  // namespace trailkit::detail
