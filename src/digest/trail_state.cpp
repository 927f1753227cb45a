#include "digest/trail_state.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "batch/object_key.hpp"
#include "common/civil_time.hpp"
#include "compress/compressor.hpp"
#include "digest/crypto.hpp"
#include "digest/key_registry.hpp"
#include "digest/state_files.hpp"
#include "serialize/json_buffer.hpp"

namespace trailkit::detail {
namespace {

using nlohmann::json;

constexpr std::int64_t kMaxBackoffSeconds = 60;

std::string chain_path(const std::string& state_dir, const std::string& account, const std::string& region) {
  return state_dir + "/digest/" + account + "/" + region + ".json";
}

std::string event_time_text(std::int64_t seconds) {
  char text[20];
  format_event_time(seconds, text);
  return std::string(text, 20);
}

json link_to_json(const std::optional<DigestLink>& link) {
  if (!link) return nullptr;
  return json{{"bucket", link->bucket}, {"key", link->key}, {"hashValue", link->sha256_hex},
              {"signature", link->signature_hex}};
}

}  // namespace

TrailState::TrailState(const RecorderOptions& options, Destination& destination, const Clock& clock,
                       ErrorReporter& errors, DigestCounters& counters)
    : options_(options), destination_(destination), clock_(clock), errors_(errors), counters_(counters),
      digests_(options.digest.enabled), interval_(options.digest.interval.count()) {
  const std::string& dir = options_.state_dir;
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) throw std::runtime_error("state_dir \"" + dir + "\" cannot be created: " + error.message());
  ::chmod(dir.c_str(), 0700);  // it holds the signing key and the chain
  const std::string lock_path = dir + "/lock";
  lock_ = UniqueFd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (lock_.get() < 0) throw std::runtime_error("state_dir lock " + lock_path + " cannot be opened: " + std::strerror(errno));
  if (::flock(lock_.get(), LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    throw std::runtime_error("state_dir \"" + dir + "\" is in use by another recorder (" + lock_path +
                             " is locked: " + std::strerror(e) + "); one recorder per state dir");
  }

  const std::int64_t now = clock_.wall_now_seconds();
  start_logging_time_ = now;
  bucket_ = !options_.digest.bucket_name.empty() ? options_.digest.bucket_name : destination_.bucket_name();
  if (bucket_.empty()) bucket_ = "trailkit-local";

  TrailDescription trail;
  trail.name = options_.trail_name;
  trail.account_id = options_.account_id;
  trail.home_region = options_.region;
  trail.bucket = bucket_;
  trail.key_prefix = options_.key_prefix;
  trail.organization_id = options_.organization_id;
  trail.log_file_validation = digests_;
  trail.digest_interval_seconds = interval_;
  trail.destination = destination_.describe();
  write_trail_description(dir, trail);
  // Keep what an earlier run recorded (GetTrailStatus shows the last delivery across restarts).
  if (auto previous = read_trail_status(dir)) {
    latest_delivery_time_ = previous->latest_delivery_time;
    latest_digest_delivery_time_ = previous->latest_digest_delivery_time;
    for (LatestDigest& d : previous->latest_digests) {
      const std::string id = d.account_id + "/" + d.region;
      latest_digests_[id] = std::move(d);
    }
  }
  write_status();

  if (!digests_) return;
  std::string key_path = options_.digest.private_key_file;
  if (key_path.empty()) {
    key_path = default_signing_key_path(dir);
    struct stat st {};
    if (::stat(key_path.c_str(), &st) != 0 && errno == ENOENT) {
      std::filesystem::create_directories(std::filesystem::path(key_path).parent_path(), error);
      if (error) throw std::runtime_error("cannot create the key directory for " + key_path + ": " + error.message());
      ::chmod(std::filesystem::path(key_path).parent_path().c_str(), 0700);
      SigningKey::generate(2048).save_file(key_path);
    }
  }
  key_ = std::make_unique<SigningKey>(SigningKey::load_file(key_path, options_.digest.allow_insecure_key_permissions));
  fingerprint_ = key_->fingerprint();
  KeyRegistry registry = KeyRegistry::load(public_keys_path(dir));
  if (registry.activate(fingerprint_, key_->public_key_der(), now)) registry.save(public_keys_path(dir));

  load_chains();
  chain_for(options_.account_id, options_.region);  // the home region always has a chain
  for (auto& [name, chain] : chains_) deliver_unsent(chain);
}

TrailState::~TrailState() = default;

void TrailState::load_chains() {
  const std::filesystem::path root = std::filesystem::path(options_.state_dir) / "digest";
  std::error_code error;
  if (!std::filesystem::is_directory(root, error)) return;
  for (const auto& account_dir : std::filesystem::directory_iterator(root, error)) {
    const std::string account = account_dir.path().filename().string();
    if (!account_dir.is_directory() || !is_account_id(account)) continue;
    for (const auto& file : std::filesystem::directory_iterator(account_dir.path(), error)) {
      const std::string name = file.path().filename().string();
      if (name.size() <= 5 || name.substr(name.size() - 5) != ".json") continue;
      const std::string region = name.substr(0, name.size() - 5);
      if (!is_region(region)) continue;
      Chain chain;
      chain.account = account;
      chain.region = region;
      chain.path = file.path().string();
      try {
        std::ifstream in(chain.path, std::ios::binary);
        const json state = json::parse(in);
        if (state.at("version").get<int>() != 1) throw std::runtime_error("unknown version");
        chain.window_start = state.at("windowStart").get<std::int64_t>();
        if (const json& p = state.at("previous"); !p.is_null()) {
          chain.previous = DigestLink{p.at("bucket").get<std::string>(), p.at("key").get<std::string>(),
                                      p.at("hashValue").get<std::string>(), p.at("signature").get<std::string>()};
        }
        for (const json& f : state.at("pending")) {
          chain.pending.push_back(DigestLogFile{f.at("s3Bucket").get<std::string>(), f.at("s3Object").get<std::string>(),
                                                f.at("hashValue").get<std::string>(),
                                                f.at("newestEventTime").get<std::int64_t>(),
                                                f.at("oldestEventTime").get<std::int64_t>()});
        }
        for (const json& u : state.at("unsent")) {
          chain.unsent.push_back(Unsent{u.at("key").get<std::string>(), u.at("json").get<std::string>(),
                                        u.at("signature").get<std::string>(), u.at("endTime").get<std::int64_t>(), true});
        }
      } catch (const std::exception& e) {
        // Never start on a state we cannot trust, and never delete it: move it aside, start a new
        // chain for this region (a visible chain gap), and say so.
        const std::string aside = chain.path + ".corrupt-" + std::to_string(clock_.wall_now_seconds());
        std::filesystem::rename(chain.path, aside, error);
        errors_.report(ErrorKind::kPermanent, "digest",
                       "digest chain state " + chain.path + " is unreadable (" + e.what() + "); moved to " + aside +
                           "; a new chain starts for " + account + "/" + region);
        continue;
      }
      const std::string id = account + "/" + region;
      chains_.emplace(id, std::move(chain));
    }
  }
}

TrailState::Chain& TrailState::chain_for(const std::string& account, const std::string& region) {
  const std::string id = account + "/" + region;
  auto it = chains_.find(id);
  if (it != chains_.end()) return it->second;
  Chain chain;
  chain.account = account;
  chain.region = region;
  chain.path = chain_path(options_.state_dir, account, region);
  chain.window_start = clock_.wall_now_seconds();
  Chain& stored = chains_.emplace(id, std::move(chain)).first->second;
  persist(stored);
  next_due_ = std::min(next_due_, stored.window_start + interval_);  // 0 (check at the next tick) stays 0
  return stored;
}

bool TrailState::persist(Chain& chain) {
  json pending = json::array();
  for (const DigestLogFile& f : chain.pending) {
    pending.push_back(json{{"s3Bucket", f.bucket}, {"s3Object", f.key}, {"hashValue", f.sha256_hex},
                           {"newestEventTime", f.newest_event_time}, {"oldestEventTime", f.oldest_event_time}});
  }
  json unsent = json::array();
  for (const Unsent& u : chain.unsent) {
    unsent.push_back(json{{"key", u.key}, {"json", u.json}, {"signature", u.signature}, {"endTime", u.end_time}});
  }
  const json state{{"version", 1},          {"accountId", chain.account}, {"region", chain.region},
                   {"windowStart", chain.window_start}, {"previous", link_to_json(chain.previous)},
                   {"pending", pending},     {"unsent", unsent}};
  try {
    write_file_atomically(chain.path, state.dump(), 0600);
    return true;
  } catch (const std::exception& e) {
    counters_.errors.fetch_add(1, std::memory_order_relaxed);
    errors_.report(ErrorKind::kTransient, "digest", std::string("saving the digest chain failed: ") + e.what());
    return false;
  }
}

void TrailState::on_log_file(const SealedFile& file) {
  latest_delivery_time_ = clock_.wall_now_seconds();
  latest_delivery_error_.clear();
  if (digests_) {
    Chain& chain = chain_for(file.account_id, file.region);
    chain.pending.push_back(DigestLogFile{bucket_, file.key, file.sha256_hex, file.newest_event_time,
                                          file.oldest_event_time});
    if (!persist(chain)) {
      // Kept in memory: the next successful persist (or the digest itself) still carries it.
    }
  }
  write_status();
}

void TrailState::on_delivery_error(const std::string& message) {
  if (latest_delivery_error_ == message) return;
  latest_delivery_error_ = message;
  write_status();
}

void TrailState::make_digest(Chain& chain, std::int64_t end_time) {
  DigestContent content;
  content.account_id = chain.account;
  content.start_time = chain.window_start;
  content.end_time = end_time;
  content.bucket = bucket_;
  content.key = digest_file_key(KeyLocation{options_.key_prefix, options_.organization_id, chain.account, chain.region},
                                options_.trail_name, options_.region, end_time);
  content.fingerprint = fingerprint_;
  content.previous = chain.previous;
  content.log_files = chain.pending;
  Unsent digest;
  digest.key = content.key;
  digest.json = serialize_digest(content);
  digest.end_time = end_time;
  const std::string hash = sha256_hex(digest.json);
  const std::optional<std::string_view> previous_signature =
      chain.previous ? std::optional<std::string_view>(chain.previous->signature_hex) : std::nullopt;
  digest.signature = key_->sign_hex(
      digest_string_to_sign(event_time_text(end_time), content.bucket, content.key, hash, previous_signature));

  // Advance the chain in the state file first: from here on a crash re-delivers this digest.
  Chain before = chain;
  chain.previous = DigestLink{content.bucket, content.key, hash, digest.signature};
  chain.window_start = end_time;
  chain.pending.clear();
  chain.unsent.push_back(std::move(digest));
  if (!persist(chain)) {
    chain = std::move(before);  // retried at the next tick, with the same inputs
    chain.retry_at = clock_.wall_now_seconds() + 1;
    return;
  }
  deliver_unsent(chain);
}

Status TrailState::deliver(const Unsent& digest) {
  CompressionOptions gzip;
  gzip.codec = Compression::kGzip;
  gzip.gzip_engine = options_.compression.codec == Compression::kGzip ? options_.compression.gzip_engine : GzipEngine::kIsal;
  auto compressor = make_compressor(gzip);
  JsonBuffer compressed;
  if (Status s = compressor->begin(); !s) return s;
  if (Status s = compressor->update(digest.json, compressed); !s) return s;
  if (Status s = compressor->finish(compressed); !s) return s;
  Status status;
  std::unique_ptr<ObjectWriter> writer = destination_.begin_object(status);
  if (!writer) return status;
  if (Status s = writer->write(compressed.view()); !s) {
    writer->abort();
    return s;
  }
  const ObjectMetadata metadata{{std::string(kSignatureMetadata), digest.signature},
                                {std::string(kSignatureAlgorithmMetadata), std::string(kSignatureAlgorithm)}};
  Status s = writer->commit_with_metadata(digest.key, metadata);
  if (!s) writer->abort();
  return s;
}

void TrailState::deliver_unsent(Chain& chain) {
  bool delivered_any = false;
  while (!chain.unsent.empty()) {
    Unsent& digest = chain.unsent.front();
    Status s = deliver(digest);
    if (!s && digest.recovered && s.kind() == ErrorKind::kPermanent) {
      // A digest recovered from the state file whose object is already there: the crash came after
      // the delivery and before the state update. Objects are never overwritten, so it is the same one.
      s = Status::ok();
    }
    if (!s) {
      counters_.errors.fetch_add(1, std::memory_order_relaxed);
      ++chain.failures;
      const std::int64_t backoff = std::min<std::int64_t>(kMaxBackoffSeconds, std::int64_t{1} << std::min(chain.failures, 6));
      chain.retry_at = clock_.wall_now_seconds() + backoff;
      latest_digest_delivery_error_ = s.message();
      errors_.report(s.kind(), "digest", "delivery of digest " + digest.key + " failed: " + s.message() + " (will retry)");
      write_status();
      if (delivered_any) persist(chain);
      return;
    }
    LatestDigest& latest = latest_digests_[chain.account + "/" + chain.region];
    if (digest.end_time >= latest.end_time) latest = LatestDigest{chain.account, chain.region, digest.key, digest.end_time};
    chain.unsent.erase(chain.unsent.begin());
    chain.failures = 0;
    chain.retry_at = 0;
    delivered_any = true;
    counters_.written.fetch_add(1, std::memory_order_relaxed);
    latest_digest_delivery_time_ = clock_.wall_now_seconds();
    latest_digest_delivery_error_.clear();
  }
  if (delivered_any) {
    persist(chain);
    write_status();
  }
}

void TrailState::tick() {
  if (!digests_) return;
  const std::int64_t now = clock_.wall_now_seconds();
  if (now < next_due_) {
    bool retry = false;
    for (const auto& [id, chain] : chains_) retry |= !chain.unsent.empty() && now >= chain.retry_at;
    if (!retry) return;
  }
  std::int64_t next = std::numeric_limits<std::int64_t>::max();
  for (auto& [id, chain] : chains_) {
    if (!chain.unsent.empty() && now >= chain.retry_at) deliver_unsent(chain);
    if (now >= chain.window_start + interval_ && now >= chain.retry_at) {
      // On time: exactly one interval. After downtime longer than an interval: one catch-up window
      // up to now, so windows stay contiguous without a burst of empty digests.
      const std::int64_t end = now - chain.window_start >= 2 * interval_ ? now : chain.window_start + interval_;
      make_digest(chain, end);
    }
    next = std::min(next, chain.window_start + interval_);
  }
  next_due_ = next;
}

void TrailState::finish() {
  if (digests_) {
    const std::int64_t now = clock_.wall_now_seconds();
    for (auto& [id, chain] : chains_) {
      // The final digest covers everything delivered up to the stop. If the last one ended this
      // very second and nothing came since, it already does.
      if (now > chain.window_start) {
        make_digest(chain, now);
      } else if (!chain.pending.empty()) {
        make_digest(chain, chain.window_start + 1);
      }
      for (int attempt = 0; attempt < 3 && !chain.unsent.empty(); ++attempt) deliver_unsent(chain);
    }
  }
  logging_ = false;
  write_status();
}

void TrailState::write_status() {
  TrailStatus status;
  status.is_logging = logging_;
  status.start_logging_time = start_logging_time_;
  status.stop_logging_time = logging_ ? 0 : clock_.wall_now_seconds();
  status.latest_delivery_time = latest_delivery_time_;
  status.latest_delivery_error = latest_delivery_error_;
  status.latest_digest_delivery_time = latest_digest_delivery_time_;
  status.latest_digest_delivery_error = latest_digest_delivery_error_;
  for (const auto& [id, latest] : latest_digests_) status.latest_digests.push_back(latest);
  try {
    write_trail_status(options_.state_dir, status);
  } catch (const std::exception& e) {
    errors_.report(ErrorKind::kTransient, "state", std::string("writing trail-status.json failed: ") + e.what());
  }
}

}  // namespace trailkit::detail
