#include "digest/state_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>

namespace trailkit::detail {
namespace {

using Json = nlohmann::ordered_json;  // keeps the documented field order in the files

constexpr int kFormatVersion = 1;

std::string join_path(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (!out.empty() && out.back() != '/') out.push_back('/');
  out.append(name);
  return out;
}

std::string parent_of(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

[[noreturn]] void fail(const std::string& what, const std::string& path, int err) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(err));
}

void write_all(int fd, std::string_view content, const std::string& tmp) {
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write", tmp, errno);
    }
    done += static_cast<std::size_t>(n);
  }
}

std::string random_suffix() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr char kDigits[] = "0123456789abcdef";
  std::uint64_t value = generator();
  std::string out(16, '0');
  for (char& c : out) {
    c = kDigits[value & 0xF];
    value >>= 4;
  }
  return out;
}

}  // namespace

void create_private_directories(const std::string& dir) {
  if (dir.empty() || dir == "." || dir == "/") return;
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) throw std::runtime_error("cannot create directory " + dir + ": not a directory");
    return;
  }
  create_private_directories(parent_of(dir));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) fail("cannot create directory", dir, errno);
}

std::optional<std::string> read_file_if_exists(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail("cannot open", path, errno);
  }
  std::string out;
  char chunk[8192];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      fail("cannot read", path, err);
    }
    if (n == 0) break;
    out.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

namespace {

// Typed field access for the readers: a missing field keeps its default (older writers), a field of the
// wrong type is an error (a different or corrupt writer), reported by name.
class FieldReader {
 public:
  FieldReader(const Json& object, const std::string& path) : object_(object), path_(path) {}

  void string(const char* name, std::string& out) const {
    if (const Json* v = find(name)) {
      if (!v->is_string()) wrong_type(name, "a string");
      out = v->get<std::string>();
    }
  }
  void boolean(const char* name, bool& out) const {
    if (const Json* v = find(name)) {
      if (!v->is_boolean()) wrong_type(name, "true or false");
      out = v->get<bool>();
    }
  }
  void integer(const char* name, std::int64_t& out) const {
    if (const Json* v = find(name)) {
      if (!v->is_number_integer()) wrong_type(name, "an integer");
      out = v->get<std::int64_t>();
    }
  }

 private:
  const Json* find(const char* name) const {
    const auto it = object_.find(name);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }
  [[noreturn]] void wrong_type(const char* name, const char* expected) const {
    throw std::runtime_error("malformed " + path_ + ": \"" + name + "\" must be " + expected);
  }
  const Json& object_;
  const std::string& path_;
};

// Parses a state file: a JSON object with "version":1. nullopt when the file does not exist.
std::optional<Json> read_state_json(const std::string& path) {
  const std::optional<std::string> text = read_file_if_exists(path);
  if (!text) return std::nullopt;
  Json json;
  try {
    json = Json::parse(*text);
  } catch (const Json::exception& e) {
    throw std::runtime_error("malformed " + path + ": not JSON (" + e.what() + ")");
  }
  if (!json.is_object()) throw std::runtime_error("malformed " + path + ": not a JSON object");
  const auto version = json.find("version");
  if (version == json.end() || !version->is_number_integer() || version->get<std::int64_t>() != kFormatVersion) {
    throw std::runtime_error("unsupported " + path + ": \"version\" must be " + std::to_string(kFormatVersion));
  }
  return json;
}

// Invalid UTF-8 in a string (a trail name from a misconfigured caller) becomes U+FFFD rather than throwing.
std::string dump(const Json& json) { return json.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n"; }

}  // namespace

std::string TrailDescription::arn() const {
  return "arn:aws:cloudtrail:" + home_region + ":" + account_id + ":trail/" + name;
}

std::string trail_description_path(std::string_view state_dir) { return join_path(state_dir, "trail.json"); }
std::string trail_status_path(std::string_view state_dir) { return join_path(state_dir, "trail-status.json"); }
std::string public_keys_path(std::string_view state_dir) { return join_path(state_dir, "public-keys.json"); }
std::string default_signing_key_path(std::string_view state_dir) { return join_path(state_dir, "keys/digest-key.pem"); }
std::string history_database_path(std::string_view state_dir) { return join_path(state_dir, "history.sqlite3"); }

void write_file_atomically(const std::string& path, std::string_view content, unsigned mode) {
  const std::string dir = parent_of(path);
  create_private_directories(dir);
  // Same directory as the target so rename() is atomic; pid + random so concurrent writers never share a tmp.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + random_suffix();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, static_cast<mode_t>(mode));
  if (fd < 0) fail("cannot create", tmp, errno);
  try {
    write_all(fd, content, tmp);
    if (::fsync(fd) != 0) fail("cannot fsync", tmp, errno);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail("cannot close", tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail("cannot rename " + tmp + " to", path, err);
  }
  // The rename is durable only once the directory is; a crash before this may show the old file, never a torn one.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) fail("cannot open directory", dir, errno);
  const int rc = ::fsync(dir_fd);
  const int err = errno;
  ::close(dir_fd);
  // EINVAL: this filesystem does not support fsync on a directory; the rename itself already happened.
  if (rc != 0 && err != EINVAL) fail("cannot fsync directory", dir, err);
}

void write_trail_description(std::string_view state_dir, const TrailDescription& trail) {
  Json json;
  json["version"] = kFormatVersion;
  json["name"] = trail.name;
  json["accountId"] = trail.account_id;
  json["homeRegion"] = trail.home_region;
  json["s3BucketName"] = trail.bucket;
  json["s3KeyPrefix"] = trail.key_prefix;
  json["organizationId"] = trail.organization_id;
  json["logFileValidationEnabled"] = trail.log_file_validation;
  json["digestIntervalSeconds"] = trail.digest_interval_seconds;
  json["destination"] = trail.destination;
  write_file_atomically(trail_description_path(state_dir), dump(json));
}

std::optional<TrailDescription> read_trail_description(std::string_view state_dir) {
  const std::string path = trail_description_path(state_dir);
  const std::optional<Json> json = read_state_json(path);
  if (!json) return std::nullopt;
  TrailDescription trail;
  const FieldReader fields(*json, path);
  fields.string("name", trail.name);
  fields.string("accountId", trail.account_id);
  fields.string("homeRegion", trail.home_region);
  fields.string("s3BucketName", trail.bucket);
  fields.string("s3KeyPrefix", trail.key_prefix);
  fields.string("organizationId", trail.organization_id);
  fields.boolean("logFileValidationEnabled", trail.log_file_validation);
  fields.integer("digestIntervalSeconds", trail.digest_interval_seconds);
  fields.string("destination", trail.destination);
  return trail;
}

void write_trail_status(std::string_view state_dir, const TrailStatus& status) {
  Json json;
  json["version"] = kFormatVersion;
  json["isLogging"] = status.is_logging;
  json["startLoggingTime"] = status.start_logging_time;
  json["stopLoggingTime"] = status.stop_logging_time;
  json["latestDeliveryTime"] = status.latest_delivery_time;
  json["latestDeliveryError"] = status.latest_delivery_error;
  json["latestDigestDeliveryTime"] = status.latest_digest_delivery_time;
  json["latestDigestDeliveryError"] = status.latest_digest_delivery_error;
  Json latest = Json::array();
  for (const LatestDigest& d : status.latest_digests) {
    latest.push_back(Json{{"accountId", d.account_id}, {"region", d.region}, {"key", d.key}, {"endTime", d.end_time}});
  }
  json["latestDigests"] = std::move(latest);
  write_file_atomically(trail_status_path(state_dir), dump(json));
}

std::optional<TrailStatus> read_trail_status(std::string_view state_dir) {
  const std::string path = trail_status_path(state_dir);
  const std::optional<Json> json = read_state_json(path);
  if (!json) return std::nullopt;
  TrailStatus status;
  const FieldReader fields(*json, path);
  fields.boolean("isLogging", status.is_logging);
  fields.integer("startLoggingTime", status.start_logging_time);
  fields.integer("stopLoggingTime", status.stop_logging_time);
  fields.integer("latestDeliveryTime", status.latest_delivery_time);
  fields.string("latestDeliveryError", status.latest_delivery_error);
  fields.integer("latestDigestDeliveryTime", status.latest_digest_delivery_time);
  fields.string("latestDigestDeliveryError", status.latest_digest_delivery_error);
  if (const auto it = json->find("latestDigests"); it != json->end()) {
    if (!it->is_array()) throw std::runtime_error(path + ": \"latestDigests\" must be an array");
    for (const Json& entry : *it) {
      LatestDigest d;
      const FieldReader entry_fields(entry, path);
      entry_fields.string("accountId", d.account_id);
      entry_fields.string("region", d.region);
      entry_fields.string("key", d.key);
      entry_fields.integer("endTime", d.end_time);
      status.latest_digests.push_back(std::move(d));
    }
  }
  return status;
}

}  // namespace trailkit::detail
