#include "digest/key_registry.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "digest/crypto.hpp"
#include "digest/state_files.hpp"

namespace trailkit::detail {
namespace {

using Json = nlohmann::ordered_json;

constexpr int kFormatVersion = 1;

[[noreturn]] void malformed(const std::string& path, const std::string& problem) {
  throw std::runtime_error("malformed public key registry " + path + ": " + problem);
}

PublicKeyRecord parse_key(const Json& entry, std::size_t index, const std::string& path) {
  const std::string where = "keys[" + std::to_string(index) + "]";
  if (!entry.is_object()) malformed(path, where + " is not an object");
  const auto fingerprint = entry.find("fingerprint");
  const auto value = entry.find("value");
  const auto start = entry.find("validityStartTime");
  const auto end = entry.find("validityEndTime");
  if (fingerprint == entry.end() || !fingerprint->is_string()) malformed(path, where + ".fingerprint is not a string");
  if (value == entry.end() || !value->is_string()) malformed(path, where + ".value is not a string");
  if (start == entry.end() || !start->is_number_integer()) {
    malformed(path, where + ".validityStartTime is not an integer");
  }
  if (end == entry.end() || !(end->is_null() || end->is_number_integer())) {
    malformed(path, where + ".validityEndTime is not an integer or null");
  }
  PublicKeyRecord key;
  key.fingerprint = fingerprint->get<std::string>();
  std::optional<std::string> der = base64_decode(value->get<std::string>());
  if (!der) malformed(path, where + ".value is not base64");
  key.der = std::move(*der);
  // A fingerprint that does not match its key would make validate-logs pick the wrong key: refuse it here.
  if (key.fingerprint != md5_hex(key.der)) {
    malformed(path, where + ".fingerprint is not the lower-case hex MD5 of the key");
  }
  key.validity_start = start->get<std::int64_t>();
  if (!end->is_null()) key.validity_end = end->get<std::int64_t>();
  return key;
}

}  // namespace

KeyRegistry KeyRegistry::load(const std::string& path) {
  KeyRegistry registry;
  const std::optional<std::string> text = read_file_if_exists(path);
  if (!text) return registry;
  Json json;
  try {
    json = Json::parse(*text);
  } catch (const Json::exception& e) {
    malformed(path, std::string("not JSON (") + e.what() + ")");
  }
  if (!json.is_object()) malformed(path, "not a JSON object");
  const auto version = json.find("version");
  if (version == json.end() || !version->is_number_integer() || version->get<std::int64_t>() != kFormatVersion) {
    malformed(path, "\"version\" must be " + std::to_string(kFormatVersion));
  }
  const auto keys = json.find("keys");
  if (keys == json.end() || !keys->is_array()) malformed(path, "\"keys\" is not an array");
  std::size_t active_count = 0;
  for (std::size_t i = 0; i < keys->size(); ++i) {
    registry.keys_.push_back(parse_key((*keys)[i], i, path));
    if (!registry.keys_.back().validity_end) ++active_count;
  }
  if (active_count > 1) malformed(path, "more than one active key (validityEndTime null)");
  return registry;
}

void KeyRegistry::save(const std::string& path) const {
  Json keys = Json::array();
  for (const PublicKeyRecord& key : keys_) {
    Json entry;
    entry["fingerprint"] = key.fingerprint;
    entry["value"] = base64_encode(key.der);
    entry["validityStartTime"] = key.validity_start;
    entry["validityEndTime"] = key.validity_end ? Json(*key.validity_end) : Json(nullptr);
    keys.push_back(std::move(entry));
  }
  Json json;
  json["version"] = kFormatVersion;
  json["keys"] = std::move(keys);
  // Fingerprints are hex and values base64, so the text is ASCII: dump() cannot throw on encoding.
  write_file_atomically(path, json.dump() + "\n");
}

bool KeyRegistry::activate(const std::string& fingerprint, const std::string& der, std::int64_t now) {
  for (PublicKeyRecord& key : keys_) {
    if (key.validity_end) continue;
    if (key.fingerprint == fingerprint) return false;
    // A clock that stepped back must not give the retired key a negative window.
    key.validity_end = std::max(now, key.validity_start);
  }
  keys_.push_back(PublicKeyRecord{fingerprint, der, now, std::nullopt});
  return true;
}

std::vector<PublicKeyRecord> KeyRegistry::overlapping(std::int64_t from, std::int64_t to) const {
  std::vector<PublicKeyRecord> out;
  for (const PublicKeyRecord& key : keys_) {
    if (key.validity_start <= to && (!key.validity_end || *key.validity_end >= from)) out.push_back(key);
  }
  return out;
}

const PublicKeyRecord* KeyRegistry::active() const noexcept {
  for (const PublicKeyRecord& key : keys_) {
    if (!key.validity_end) return &key;
  }
  return nullptr;
}

std::int64_t KeyRegistry::reported_end(const PublicKeyRecord& key, std::int64_t now) noexcept {
  if (key.validity_end) return *key.validity_end;
  return std::max(key.validity_start + kReportedValiditySeconds, now);
}

}  // namespace trailkit::detail
