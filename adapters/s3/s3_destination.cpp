#include "s3/s3_destination.hpp"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/error_reporter.hpp"
#include "deliver/spool.hpp"
#include "s3/s3_client.hpp"

namespace trailkit::s3 {
namespace {

constexpr std::int64_t kNs = 1'000'000'000;

// 403 / NoSuchBucket and refused requests: nothing a retry soon would fix.
bool is_permanent(ErrorKind kind) { return kind == ErrorKind::kPermanent || kind == ErrorKind::kInvalidArgument; }

// Backoff step per failure kind: the base doubling per attempt up to the cap. The delay is drawn
// from it by retry_delay_ns.
std::int64_t backoff_ns(ErrorKind kind, std::uint32_t attempts) {
  std::int64_t base = 200'000'000, cap = 20 * kNs;  // transient: 0.2 s doubling to 20 s
  if (kind == ErrorKind::kThrottled) {
    base = kNs;
    cap = 60 * kNs;  // SlowDown: back off harder, at most one attempt a minute per entry
  } else if (is_permanent(kind)) {
    base = 5 * kNs;
    cap = 15 * 60 * kNs;  // 403 / NoSuchBucket: keep the data, retry rarely
  }
  const std::uint32_t shift = std::min<std::uint32_t>(attempts, 20);
  return std::min(cap, base << shift);
}

// Transient and throttled failures use full jitter, [0, step): many uploaders that failed together
// spread out, and a blip is retried soon. Permanent ones (403, NoSuchBucket) use equal jitter,
// [step/2, step): nothing an operator fixes is fixed within milliseconds, so a retry never comes
// sooner than half the step (2.5 s after the first denial).
std::int64_t retry_delay_ns(ErrorKind kind, std::uint32_t attempts, std::mt19937_64& random) {
  const std::int64_t step = backoff_ns(kind, attempts);
  const std::int64_t floor = is_permanent(kind) ? step / 2 : 0;
  return floor + static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(step - floor));
}

bool valid_bucket_name(const std::string& b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
  }
  return b.front() != '.' && b.front() != '-' && b.back() != '.' && b.back() != '-';
}

class SpoolObjectWriter final : public ObjectWriter {
 public:
  SpoolObjectWriter(std::unique_ptr<trailkit::detail::Spool::Writer> writer, std::function<void()> on_commit)
      : writer_(std::move(writer)), on_commit_(std::move(on_commit)) {}
  Status write(std::string_view bytes) noexcept override { return writer_->write(bytes); }
  Status commit(std::string_view key) noexcept override { return commit_with_metadata(key, ObjectMetadata{}); }
  Status commit_with_metadata(std::string_view key, const ObjectMetadata& metadata) noexcept override {
    // Durable in the spool (fsync + rename) before the recorder counts the file as written. The
    // metadata rides in the entry header and is sent as x-amz-meta-* with the upload.
    std::vector<std::pair<std::string, std::string>> copy;
    try {
      copy = metadata;
    } catch (...) {
      return Status::error(ErrorKind::kTransient, "out of memory copying object metadata");
    }
    Status s = writer_->commit(key, std::move(copy));
    if (s) on_commit_();
    return s;
  }
  void abort() noexcept override { writer_->abort(); }

 private:
  std::unique_ptr<trailkit::detail::Spool::Writer> writer_;
  std::function<void()> on_commit_;  // wakes an idle uploader
};

}  // namespace

void S3DestinationOptions::validate() const {
  if (!valid_bucket_name(bucket)) {
    throw std::invalid_argument("bucket \"" + bucket +
                                "\": must be 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter "
                                "or digit");
  }
  if (state_dir.empty()) throw std::invalid_argument("state_dir must not be empty");
  if (part_size < (5ull << 20)) throw std::invalid_argument("part_size must be at least 5 MiB (S3's minimum)");
  if (multipart_threshold < part_size) throw std::invalid_argument("multipart_threshold must be at least part_size");
  if (upload_threads == 0 || upload_threads > 64) throw std::invalid_argument("upload_threads must be 1..64");
  if (max_retry_age.count() <= 0) throw std::invalid_argument("max_retry_age must be positive");
}

std::pair<std::string, std::string> parse_s3_url(const std::string& url) {
  if (url.rfind("s3://", 0) != 0) throw std::invalid_argument("destination \"" + url + "\": expected s3://BUCKET[/PREFIX]");
  const std::string rest = url.substr(5);
  const std::size_t slash = rest.find('/');
  std::string bucket = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? std::string() : rest.substr(slash + 1);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (!valid_bucket_name(bucket)) throw std::invalid_argument("destination \"" + url + "\": invalid bucket name");
  return {bucket, prefix};
}

class S3Destination::Impl {
 public:
  explicit Impl(S3DestinationOptions options)
      : options_(std::move(options)),
        clock_(options_.clock ? options_.clock : system_clock()),
        errors_(options_.error_handler, 10, *clock_) {
    options_.validate();
    settings_ = resolve_s3_settings(options_.settings, Environment::process());
    client_options_.settings = settings_;
    client_options_.http = options_.http;
    if (client_options_.http.ca_bundle.empty()) client_options_.http.ca_bundle = settings_.ca_bundle;
    client_options_.server_side_encryption = options_.server_side_encryption;
    client_options_.kms_key_id = options_.kms_key_id;
    client_options_.clock = clock_;
    S3Client probe(client_options_);  // validates endpoint, SSE and credentials now, at setup
    std::vector<std::string> problems;
    spool_ = trailkit::detail::Spool::open(trailkit::detail::SpoolOptions{options_.state_dir + "/spool", options_.fsync, clock_}, &problems);
    for (auto& p : problems) errors_.report(ErrorKind::kPermanent, "spool", std::move(p));
    for (std::size_t i = 0; i < options_.upload_threads; ++i) {
      uploaders_.emplace_back([this, i] { run_uploader(i); });
    }
  }

  ~Impl() { shutdown(std::chrono::seconds(10)); }

  std::unique_ptr<ObjectWriter> begin_object(Status& status) noexcept {
    auto writer = spool_->begin(status);
    if (!writer) return nullptr;
    return std::make_unique<SpoolObjectWriter>(std::move(writer), [this] {
      {
        std::lock_guard lock(mutex_);
        ++commits_;
      }
      progress_.notify_all();
    });
  }

  const std::string& bucket() const noexcept { return options_.bucket; }
  std::string describe() const {
    return "s3://" + options_.bucket + " (" + s3::describe(settings_) + ")";
  }

  DeliveryStatus status() const {
    std::lock_guard lock(mutex_);
    DeliveryStatus s = status_;
    s.backlog_objects = spool_->ready_count();
    s.backlog_bytes = spool_->ready_bytes();
    s.quarantined = spool_->quarantined_total();
    return s;
  }

  bool wait_until_delivered(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(mutex_);
    for (;;) {
      if (spool_->ready_count() == 0 && in_flight_.empty()) return true;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      progress_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(50)));
    }
  }

  void shutdown(std::chrono::milliseconds timeout) {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) return;
      stop_ = true;
    }
    spool_->wake();
    progress_.notify_all();
    // An upload in progress finishes or times out on its own HTTP timeouts; what is left stays spooled.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (auto& t : uploaders_) {
      while (t.joinable() && std::chrono::steady_clock::now() < deadline) {
        std::unique_lock lock(mutex_);
        if (finished_uploaders_ == uploaders_.size()) break;
        progress_.wait_for(lock, std::chrono::milliseconds(20));
      }
    }
    for (auto& t : uploaders_) {
      if (t.joinable()) t.join();
    }
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }

 private:
  struct Retry {
    std::uint32_t attempts = 0;
    std::int64_t next_ns = 0;
  };

  void run_uploader(std::size_t index) {
    std::mt19937_64 random(std::random_device{}() + index);
    std::unique_ptr<S3Client> client;
    for (;;) {
      std::optional<trailkit::detail::SpoolEntryInfo> entry;
      std::int64_t wait_ns = kNs;
      std::uint64_t commits_seen = 0;
      {
        std::unique_lock lock(mutex_);
        if (stop_) break;
        commits_seen = commits_;
        const std::int64_t now = clock_->monotonic_now_ns();
        for (auto& e : spool_->ready_entries(256)) {
          if (in_flight_.count(e.id)) continue;
          auto it = retries_.find(e.id);
          if (it != retries_.end() && it->second.next_ns > now) {
            wait_ns = std::min(wait_ns, it->second.next_ns - now);
            continue;
          }
          entry = std::move(e);
          in_flight_.insert(entry->id);
          break;
        }
      }
      if (!entry) {
        // Sleep until a file is committed, the next retry falls due (re-scan at least every second),
        // or shutdown. The commit count closes the window between the scan and the wait, so a file
        // committed to an idle destination is picked up at once, not after the timer.
        std::unique_lock lock(mutex_);
        progress_.wait_for(lock, std::chrono::nanoseconds(std::min<std::int64_t>(wait_ns, kNs)),
                           [&] { return stop_ || commits_ != commits_seen; });
        continue;
      }
      if (!client) {
        try {
          client = std::make_unique<S3Client>(client_options_);
        } catch (const std::exception& e) {
          finish(*entry, Status::error(ErrorKind::kPermanent, e.what()), random);
          continue;
        }
      }
      finish(*entry, upload(*client, *entry), random);
    }
    std::lock_guard lock(mutex_);
    ++finished_uploaders_;
    progress_.notify_all();
  }

  Status upload(S3Client& client, const trailkit::detail::SpoolEntryInfo& entry) {
    const std::int64_t age_s = clock_->wall_now_ns() / kNs - entry.created_epoch_seconds;
    if (age_s > std::chrono::duration_cast<std::chrono::seconds>(options_.max_retry_age).count()) {
      spool_->quarantine(entry.id, "undelivered for longer than max_retry_age");
      errors_.report(ErrorKind::kPermanent, "deliver",
                     "s3://" + options_.bucket + "/" + entry.key + " gave up after " + std::to_string(age_s) +
                         " s undelivered; kept in the spool's quarantine folder");
      return Status::ok();  // nothing more to do for it
    }
    int fd = -1;
    std::uint64_t offset = 0, length = 0;
    if (Status s = spool_->open_payload(entry.id, fd, offset, length); !s) {
      if (s.kind() == ErrorKind::kPermanent) spool_->quarantine(entry.id, s.message());
      return s.kind() == ErrorKind::kPermanent ? Status::ok() : s;
    }
    ObjectBody body{fd, offset, length, entry.payload_sha256_hex, entry.payload_md5_base64};
    S3Reply reply;
    Status s = length > options_.multipart_threshold
                   ? client.put_object_multipart(options_.bucket, entry.key, body, entry.metadata, options_.part_size, &reply)
                   : client.put_object(options_.bucket, entry.key, body, entry.metadata, &reply);
    ::close(fd);
    if (!s && (reply.error_code == "BadDigest" || reply.error_code == "XAmzContentSHA256Mismatch") &&
        spool_->verify_payload(entry.id).kind() == ErrorKind::kPermanent) {
      // The bytes on disk no longer match what was spooled: never upload them as if they were fine.
      spool_->quarantine(entry.id, "payload no longer matches its recorded digest");
      return Status::ok();
    }
    if (s) {
      if (Status removed = spool_->remove(entry.id); !removed) {
        errors_.report(removed.kind(), "spool", removed.message());
      }
      std::lock_guard lock(mutex_);
      ++status_.delivered_objects;
      status_.delivered_bytes += length;
      status_.latest_delivery_time = clock_->wall_now_ns() / kNs;
      status_.latest_delivery_error.clear();
    }
    return s;
  }

  void finish(const trailkit::detail::SpoolEntryInfo& entry, const Status& s, std::mt19937_64& random) {
    std::lock_guard lock(mutex_);
    in_flight_.erase(entry.id);
    if (s) {
      retries_.erase(entry.id);
    } else {
      Retry& r = retries_[entry.id];
      r.next_ns = clock_->monotonic_now_ns() + retry_delay_ns(s.kind(), r.attempts++, random);
      ++status_.failed_attempts;
      status_.latest_delivery_error = s.message();
      status_.latest_delivery_error_time = clock_->wall_now_ns() / kNs;
      errors_.report(s.kind(), "deliver", s.message() + " (kept in the spool; will retry)");
    }
    progress_.notify_all();
  }

  S3DestinationOptions options_;
  std::shared_ptr<Clock> clock_;
  trailkit::detail::ErrorReporter errors_;  // guarded by mutex_ when used from finish(); upload() reports are rare
  S3Settings settings_;
  S3ClientOptions client_options_;
  std::unique_ptr<trailkit::detail::Spool> spool_;
  std::vector<std::thread> uploaders_;

  mutable std::mutex mutex_;
  std::condition_variable progress_;
  DeliveryStatus status_;
  std::set<std::uint64_t> in_flight_;
  std::map<std::uint64_t, Retry> retries_;
  std::uint64_t commits_ = 0;  // files committed to the spool by this object
  bool stop_ = false;
  bool stopped_ = false;
  std::size_t finished_uploaders_ = 0;
};

std::shared_ptr<S3Destination> S3Destination::create(S3DestinationOptions options) {
  return std::shared_ptr<S3Destination>(new S3Destination(std::make_unique<Impl>(std::move(options))));
}
S3Destination::S3Destination(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
S3Destination::~S3Destination() = default;
std::unique_ptr<ObjectWriter> S3Destination::begin_object(Status& status) noexcept { return impl_->begin_object(status); }
std::string S3Destination::describe() const { return impl_->describe(); }
std::string S3Destination::bucket_name() const { return impl_->bucket(); }
DeliveryStatus S3Destination::status() const { return impl_->status(); }
bool S3Destination::wait_until_delivered(std::chrono::milliseconds timeout) { return impl_->wait_until_delivered(timeout); }
void S3Destination::shutdown(std::chrono::milliseconds timeout) { impl_->shutdown(timeout); }

}  // namespace trailkit::s3
