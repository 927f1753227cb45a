#pragma once
// Checks every delivered log file against the format rules of cloudtrail-spec.md §0-§3, the rules
// consumers (validate-logs, the CloudTrail Processing Library, Athena) rely on.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "compress/decompress.hpp"

namespace trailkit::testing {

// The CPL's key pattern plus our full layout (spec §0.4 and §3.1).
inline const std::regex& log_key_regex() {
  static const std::regex re(
      R"(^(.+/)?AWSLogs/(o-[a-z0-9]{10,32}/)?(\d{12})/CloudTrail/([a-z]{2}(-[a-z]+)+-\d{1,2})/(\d{4})/(\d{2})/(\d{2})/)"
      R"(\3_CloudTrail_\4_\6\7\8T\d{4}Z_[A-Za-z0-9]{16}\.json\.(gz|zst)$)");
  return re;
}

inline const std::regex& event_time_regex() {
  static const std::regex re(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$)");
  return re;
}

/// Decompresses, checks the container rules and returns the parsed Records array.
/// Adds gtest failures (non-fatal) for each broken rule.
inline nlohmann::json check_log_file(const std::string& key, const std::string& bytes) {
  EXPECT_TRUE(std::regex_match(key, log_key_regex())) << "key does not match the CloudTrail layout: " << key;
  if (detail::detect_encoding(bytes) == detail::ContentEncoding::kGzip) {
    EXPECT_EQ(detail::count_gzip_members(bytes), 1u) << key << ": must be one gzip member";
    EXPECT_TRUE(key.ends_with(".json.gz")) << key;
  } else {
    EXPECT_EQ(detail::detect_encoding(bytes), detail::ContentEncoding::kZstd) << key;
    EXPECT_TRUE(key.ends_with(".json.zst")) << key;
  }
  std::string json;
  const Status s = detail::decompress(bytes, json);
  EXPECT_TRUE(s.is_ok()) << key << ": " << s.message();
  // `Records` must be the first key: the CPL reads `{"Records":[` literally (spec §1.1).
  EXPECT_TRUE(json.starts_with("{\"Records\":[")) << key << " starts with " << json.substr(0, 40);
  EXPECT_EQ(json.find('\n'), std::string::npos) << key << ": must be single-line JSON";
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(doc.is_discarded()) << key << ": not valid JSON";
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("Records")) return nlohmann::json::array();
  EXPECT_EQ(doc.size(), 1u);
  for (const auto& record : doc["Records"]) {
    EXPECT_TRUE(std::regex_match(record.value("eventTime", std::string()), event_time_regex()));
    if (record.contains("readOnly")) {
      EXPECT_TRUE(record["readOnly"].is_boolean());
    }
    if (record.contains("managementEvent")) {
      EXPECT_TRUE(record["managementEvent"].is_boolean());
    }
    EXPECT_TRUE(record.contains("requestParameters"));
    EXPECT_TRUE(record.contains("responseElements"));
    EXPECT_FALSE(record.contains("eventContext"));  // Lake only (spec §0.10)
    EXPECT_TRUE(record["eventID"].is_string());
    EXPECT_EQ(record["eventVersion"], "1.11");
    if (record.contains("errorCode")) {
      EXPECT_TRUE(record["errorCode"].is_string());
    }
    const auto& identity = record["userIdentity"];
    EXPECT_TRUE(identity.is_object());
    if (identity.contains("invokedBy")) {
      EXPECT_TRUE(identity["invokedBy"].is_string());
    }
    if (identity.contains("sessionContext") && identity["sessionContext"].contains("attributes") &&
        identity["sessionContext"]["attributes"].contains("mfaAuthenticated")) {
      EXPECT_TRUE(identity["sessionContext"]["attributes"]["mfaAuthenticated"].is_string());
    }
  }
  return doc["Records"];
}

}  // namespace trailkit::testing
