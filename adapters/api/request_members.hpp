#pragma once
// Reading JSON 1.1 request members for CloudTrailServer's operation handlers (cloudtrail_server.cpp,
// lookup_operations.cpp). A JSON 1.1 service answers a member of the wrong type with
// SerializationException; an absent member and an explicit null are both "not given".
// Thread contract: pure functions.

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "api/cloudtrail_server.hpp"

namespace trailkit::detail {

/// The member `name` of `input`, or null when absent or null.
inline const nlohmann::json* member(const nlohmann::json& input, const char* name) {
  const auto it = input.find(name);
  return it == input.end() || it->is_null() ? nullptr : &*it;
}

/// Throws SerializationException "<name> must be <type>".
[[noreturn]] inline void wrong_type(const std::string& name, const char* type) {
  throw api::ApiError("SerializationException", name + " must be " + type);
}

inline std::optional<std::string> string_member(const nlohmann::json& input, const char* name) {
  const nlohmann::json* value = member(input, name);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) wrong_type(name, "a string");
  return value->get<std::string>();
}

/// Timestamps are epoch-second numbers, integer (botocore) or fractional (other SDKs), spec §6.1.
/// long double holds every int64 exactly, so integer bounds compare exactly.
inline std::optional<long double> time_member(const nlohmann::json& input, const char* name) {
  const nlohmann::json* value = member(input, name);
  if (value == nullptr) return std::nullopt;
  if (value->is_number_unsigned()) return static_cast<long double>(value->get<std::uint64_t>());
  if (value->is_number_integer()) return static_cast<long double>(value->get<std::int64_t>());
  if (value->is_number_float()) return static_cast<long double>(value->get<double>());
  wrong_type(name, "a number (epoch seconds)");
}

/// `value` (a rounded time) as int64, saturating far outside any real time.
inline std::int64_t clamp_to_int64(long double value) {
  constexpr long double kMax = 9.2e18L;
  if (!(value < kMax)) return std::numeric_limits<std::int64_t>::max();
  if (!(value > -kMax)) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(value);
}

}  // namespace trailkit::detail
