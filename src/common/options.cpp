// Validation and environment loading of RecorderOptions (STYLE.md habit 5: defaults stated in the
// header, validate() called by the factory, environment read only by from_env()).
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "batch/object_key.hpp"
#include "serialize/json_buffer.hpp"
#include "serialize/json_sanitize.hpp"
#include "trailkit/recorder.hpp"

namespace trailkit {
namespace {

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument(message); }

void check(const std::string& problem) {
  if (!problem.empty()) fail(problem);
}

const char* env(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? value : nullptr;
}

}  // namespace

void FieldLimits::validate() const {
  if (truncate_bytes == 0) fail("limits.truncate_bytes must be greater than 0");
  if (large_json_bytes == 0) fail("limits.large_json_bytes must be greater than 0");
  if (small_json_bytes == 0) fail("limits.small_json_bytes must be greater than 0");
  if (event_bytes < 4096) fail("limits.event_bytes must be at least 4096");
  if (max_json_depth < 1 || max_json_depth > 10000) fail("limits.max_json_depth must be between 1 and 10000");
  detail::JsonBuffer out;
  const detail::RawJsonResult parsed = detail::append_sanitized_json(out, omitted_marker, max_json_depth);
  if (parsed.status != detail::RawJsonStatus::kOk || out.view() != omitted_marker) {
    fail("limits.omitted_marker must be one compact, valid JSON value (e.g. {\"omitted\":true})");
  }
}

void RecorderOptions::validate() const {
  if (account_id.empty()) fail("account_id is required: the 12-digit AWS account id used in log-file keys");
  check(detail::check_account_id("account_id", account_id));
  check(detail::check_region("region", region));
  check(detail::check_trail_name("trail_name", trail_name));
  check(detail::check_key_prefix("key_prefix", key_prefix));
  if (!organization_id.empty()) check(detail::check_organization_id("organization_id", organization_id));
  if (roll_interval < std::chrono::seconds(1) || roll_interval > std::chrono::hours(24)) {
    fail("roll_interval must be between 1 second and 24 hours");
  }
  if (max_file_bytes < 1024) fail("max_file_bytes must be at least 1024");
  if (max_open_files == 0) fail("max_open_files must be at least 1");
  compression.validate();
  limits.validate();
  if (buffer_shards > 64) fail("buffer_shards must be 0 (automatic) or at most 64");
  const std::size_t shards = buffer_shards == 0 ? 4 : buffer_shards;
  if (buffer_bytes / shards < (64u << 10)) fail("buffer_bytes must give each buffer shard at least 64 KiB");
  if (buffer_bytes > (std::size_t{16} << 30)) fail("buffer_bytes must be at most 16 GiB");
  if (block_timeout.count() < 0) fail("block_timeout must not be negative");
  if (worker_idle_wait < std::chrono::microseconds(10) || worker_idle_wait > std::chrono::seconds(60)) {
    fail("worker_idle_wait must be between 10 microseconds and 60 seconds");
  }
  if (!destination) local_directory.validate();
  if (error_reports_per_minute == 0) fail("error_reports_per_minute must be at least 1");
  if (state_dir.find('\0') != std::string::npos) fail("state_dir must not contain a NUL byte");
  digest.validate();
  history.validate();
  if (history.enabled && !history.store && history.path.empty() && state_dir.empty()) {
    fail("history.enabled needs state_dir (or history.path, or history.store): the history database lives there");
  }
  if (digest.enabled && state_dir.empty()) {
    fail("digest.enabled needs state_dir: the digest chain and signing key are kept there");
  }
}

void HistoryOptions::validate() const {
  if (retention_days < 1 || retention_days > 3650) fail("history.retention_days must be between 1 and 3650");
  if (max_queue_bytes < (1u << 20)) fail("history.max_queue_bytes must be at least 1 MiB");
  if (compression_level < -7 || compression_level > 19) {
    fail("history.compression_level must be between -7 and 19 (0 = uncompressed)");
  }
}

void DigestOptions::validate() const {
  if (interval < std::chrono::seconds(1) || interval > std::chrono::hours(24)) {
    fail("digest.interval must be between 1 second and 24 hours");
  }
  if (private_key_file.find('\0') != std::string::npos) fail("digest.private_key_file must not contain a NUL byte");
  if (!bucket_name.empty() && (bucket_name.size() > 255 || bucket_name.find_first_of("/\0") != std::string::npos)) {
    fail("digest.bucket_name must be at most 255 characters without '/' or NUL");
  }
}

RecorderOptions RecorderOptions::from_env() {
  RecorderOptions options;
  if (const char* v = env("TRAILKIT_ACCOUNT_ID")) options.account_id = v;
  if (const char* v = env("TRAILKIT_REGION")) {
    options.region = v;
  } else if (const char* r = env("AWS_REGION")) {
    options.region = r;
  } else if (const char* d = env("AWS_DEFAULT_REGION")) {
    options.region = d;
  }
  if (const char* v = env("TRAILKIT_TRAIL_NAME")) options.trail_name = v;
  if (const char* v = env("TRAILKIT_KEY_PREFIX")) options.key_prefix = v;
  if (const char* v = env("TRAILKIT_DESTINATION")) options.local_directory.root = v;
  if (const char* v = env("TRAILKIT_ROLL_INTERVAL_SECONDS")) {
    char* end = nullptr;
    const long seconds = std::strtol(v, &end, 10);
    if (end == v || *end != '\0' || seconds <= 0) {
      fail("TRAILKIT_ROLL_INTERVAL_SECONDS must be a positive whole number of seconds");
    }
    options.roll_interval = std::chrono::seconds(seconds);
  }
  if (const char* v = env("TRAILKIT_COMPRESSION")) options.compression.codec = parse_compression(v);
  return options;
}

}  // namespace trailkit
