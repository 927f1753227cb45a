#include "batch/batcher.hpp"

#include <algorithm>
#include <limits>

#include "batch/object_key.hpp"

namespace trailkit::detail {
namespace {

constexpr std::int64_t kFirstBackoffNs = 100'000'000;    // 100 ms
constexpr std::int64_t kMaxBackoffNs = 30'000'000'000;   // 30 s
// Worst-case compressed size of one chunk plus the stream trailer: a chunk is at most
// kChunkBytes plus one record (<= event limit), and incompressible data grows by < 1 %.
constexpr std::uint64_t seal_headroom(std::size_t event_bytes) {
  return (Batcher::kChunkBytes + event_bytes) * 102 / 100 + 4096;
}

}  // namespace

struct Batcher::OpenFile {
  std::string account;
  std::string region;
  std::unique_ptr<ObjectWriter> writer;
  std::unique_ptr<Compressor> compressor;
  std::unique_ptr<Sha256> hash;  // of the uncompressed bytes, when digests are on
  std::string sha256_hex;
  JsonBuffer json;        // uncompressed chunk being filled
  JsonBuffer compressed;  // compressed bytes not yet accepted by the writer
  std::string key;        // chosen when sealing starts; kept across commit retries
  std::int64_t opened_ns = 0;
  std::int64_t delivery_time = 0;
  std::uint64_t records = 0;
  std::uint64_t uncompressed_bytes = 0;
  std::uint64_t compressed_bytes = 0;
  std::int64_t oldest = std::numeric_limits<std::int64_t>::max();
  std::int64_t newest = std::numeric_limits<std::int64_t>::min();
  bool sealing = false;
  bool delivered = false;
  bool failed = false;
  std::int64_t retry_at_ns = 0;
  std::int64_t backoff_ns = 0;
};

Batcher::Batcher(const RecorderOptions& options, Destination& destination, const Clock& clock,
                 ErrorReporter& errors, BatchCounters& counters, TrailState* trail, HistoryFeeder* history)
    : options_(options), trail_(trail), history_(history), hash_files_(trail && trail->digests_enabled()), destination_(destination), clock_(clock), errors_(errors), counters_(counters),
      formatter_(options.limits, options.account_id, options.region),
      roll_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(options.roll_interval).count()) {}

Batcher::~Batcher() = default;

Batcher::OpenFile& Batcher::file_for(std::string_view account, std::string_view region) {
  if (last_file_ && !last_file_->sealing && last_file_->account == account && last_file_->region == region) {
    return *last_file_;
  }
  lookup_key_.assign(account);
  lookup_key_.push_back('/');
  lookup_key_.append(region);
  auto it = files_.find(lookup_key_);
  if (it != files_.end() && !it->second->sealing) {
    last_file_ = it->second.get();
    return *last_file_;
  }
  if (it != files_.end()) {
    // The previous file of this partition is still delivering (stalled seal): keep it under a
    // unique name so it is not lost, and open a fresh one.
    auto node = files_.extract(it);
    node.key() += "#sealing#" + std::to_string(random_.next());
    files_.insert(std::move(node));
  }
  // Too many partitions open: seal the oldest first so memory stays bounded.
  if (files_.size() >= options_.max_open_files) {
    OpenFile* oldest = nullptr;
    for (auto& [name, file] : files_) {
      if (!file->sealing && (!oldest || file->opened_ns < oldest->opened_ns)) oldest = file.get();
    }
    if (oldest) begin_seal(*oldest);
  }
  auto file = std::make_unique<OpenFile>();
  file->account.assign(account);
  file->region.assign(region);
  file->compressor = make_compressor(options_.compression);
  if (hash_files_) file->hash = std::make_unique<Sha256>();
  file->json.reserve(kChunkBytes + 4096);
  file->opened_ns = clock_.monotonic_now_ns();
  if (Status s = file->compressor->begin(); !s) mark_failed(*file, s, "compress");
  file->json.literal("{\"Records\":[");
  OpenFile* raw = file.get();
  files_[lookup_key_] = std::move(file);
  last_file_ = raw;
  return *raw;
}

void Batcher::add(const DecodedEvent& record) {
  const Event& event = record.event;
  OpenFile& file = file_for(formatter_.account_of(event), formatter_.region_of(event));
  if (file.records != 0) file.json.push_back(',');
  const std::size_t before = file.json.size();
  formatter_.format(record, file.json);
  if (history_) history_->offer(std::string_view(file.json.data() + before, file.json.size() - before));
  file.uncompressed_bytes += file.json.size() - before + (file.records != 0 ? 1 : 0);
  ++file.records;
  ++open_records_;
  file.oldest = std::min(file.oldest, event.event_time);
  file.newest = std::max(file.newest, event.event_time);
  if (file.json.size() >= kChunkBytes) {
    compress_chunk(file);
    if (!file.failed && file.compressed_bytes + seal_headroom(options_.limits.event_bytes) >= options_.max_file_bytes) {
      begin_seal(file);
    }
  }
}

void Batcher::compress_chunk(OpenFile& file) {
  const std::size_t before = file.compressed.size();
  if (file.hash) file.hash->update(file.json.view());
  if (Status s = file.compressor->update(file.json.view(), file.compressed); !s) {
    // A codec failure is not retriable with the same stream; it is reported and the chunk kept
    // so the counters stay honest. It does not happen with valid input and enough memory.
    errors_.report(s.kind(), "compress", s.message());
  }
  file.compressed_bytes += file.compressed.size() - before;
  file.json.clear();
  pump(file);
}

void Batcher::begin_seal(OpenFile& file) {
  if (file.sealing) return;
  file.sealing = true;
  if (last_file_ == &file) last_file_ = nullptr;
  file.json.literal("]}");
  file.uncompressed_bytes += 14;  // {"Records":[ and ]}
  const std::size_t before = file.compressed.size();
  if (file.hash) {
    file.hash->update(file.json.view());
    file.sha256_hex = file.hash->finish_hex();
    file.hash.reset();
  }
  if (!file.json.empty()) {
    if (Status s = file.compressor->update(file.json.view(), file.compressed); !s) {
      errors_.report(s.kind(), "compress", s.message());
    }
    file.json.clear();
  }
  if (Status s = file.compressor->finish(file.compressed); !s) errors_.report(s.kind(), "compress", s.message());
  file.compressed_bytes += file.compressed.size() - before;
  // The name's minute is the delivery time (spec §3.1): the moment the file is sealed.
  file.delivery_time = clock_.wall_now_ns() / 1'000'000'000;
  char unique[16];
  random_unique_string(random_, unique);
  file.key = log_file_key(KeyLocation{options_.key_prefix, options_.organization_id, file.account, file.region},
                          file.delivery_time, std::string_view(unique, 16), file.compressor->suffix());
  pump(file);
}

bool Batcher::pump(OpenFile& file) {
  if (file.delivered) return true;
  if (!file.writer) {
    Status status;
    file.writer = destination_.begin_object(status);
    if (!file.writer) {
      mark_failed(file, status, "open");
      return false;
    }
  }
  if (!file.compressed.empty()) {
    if (Status s = file.writer->write(file.compressed.view()); !s) {
      mark_failed(file, s, "write");
      return false;
    }
    file.compressed.clear();
  }
  if (!file.sealing) {
    if (file.failed) {
      file.failed = false;
      --stalled_files_;
    }
    return true;
  }
  Status s = file.writer->commit(file.key);
  if (!s && s.kind() == ErrorKind::kInvalidArgument) {
    // The writer cannot commit at all any more (e.g. its fsync failed, so its bytes cannot be
    // trusted). The compressed stream is gone, so the file cannot be rewritten: count its records
    // as lost, loudly, instead of retrying forever.
    counters_.delivery_errors.fetch_add(1, std::memory_order_relaxed);
    errors_.report(ErrorKind::kPermanent, "deliver",
                   "gave up log file " + file.key + " (" + std::to_string(file.records) +
                       " records counted in dropped_write_failed): " + s.message());
    abandon(file);
    return true;
  }
  if (!s) {
    if (s.kind() == ErrorKind::kPermanent) {
      // Name taken (RENAME_NOREPLACE): choose a new unique string and retry; never overwrite.
      char unique[16];
      random_unique_string(random_, unique);
      file.key = log_file_key(KeyLocation{options_.key_prefix, options_.organization_id, file.account, file.region},
                              file.delivery_time, std::string_view(unique, 16), file.compressor->suffix());
    }
    mark_failed(file, s, "commit");
    return false;
  }
  if (file.failed) {
    file.failed = false;
    --stalled_files_;
  }
  file.delivered = true;
  open_records_ -= file.records;
  counters_.bytes_uncompressed.fetch_add(file.uncompressed_bytes, std::memory_order_relaxed);
  counters_.bytes_compressed.fetch_add(file.compressed_bytes, std::memory_order_relaxed);
  counters_.files.fetch_add(1, std::memory_order_relaxed);
  sync_format_counters();
  // Release: a stats() reader that sees this `written` also sees the accepted increments of these
  // records (they happened-before the worker consumed them).
  counters_.written.fetch_add(file.records, std::memory_order_release);
  if (options_.on_file_sealed || trail_) {
    SealedFile sealed{file.key,       file.account,          file.region,
                      file.records,   file.uncompressed_bytes, file.compressed_bytes,
                      file.records ? file.oldest : 0, file.records ? file.newest : 0, file.delivery_time,
                      file.sha256_hex};
    if (trail_) trail_->on_log_file(sealed);
    if (options_.on_file_sealed) try {
      options_.on_file_sealed(sealed);
    } catch (...) {
      errors_.report(ErrorKind::kPermanent, "callback", "on_file_sealed threw an exception; ignored");
    }
  }
  return true;
}

void Batcher::mark_failed(OpenFile& file, const Status& status, const char* step) {
  counters_.delivery_errors.fetch_add(1, std::memory_order_relaxed);
  if (!file.failed) {
    file.failed = true;
    ++stalled_files_;
    file.backoff_ns = kFirstBackoffNs;
  } else {
    file.backoff_ns = std::min(file.backoff_ns * 2, kMaxBackoffNs);
  }
  // Full jitter (AWS architecture blog): sleep uniformly in [0, backoff].
  const std::int64_t jitter = static_cast<std::int64_t>(random_.next() % static_cast<std::uint64_t>(file.backoff_ns));
  file.retry_at_ns = clock_.monotonic_now_ns() + jitter;
  std::string message = std::string(step) + " of " + (file.key.empty() ? std::string("a log file") : file.key) +
                        " at " + destination_.describe() + " failed: " + status.message();
  if (trail_) trail_->on_delivery_error(message);
  errors_.report(status.kind(), "deliver", message + " (will retry)");
}

void Batcher::retry_io() {
  const std::int64_t now = clock_.monotonic_now_ns();
  for (auto& [name, file] : files_) {
    if (file->failed && now >= file->retry_at_ns) pump(*file);
  }
  remove_delivered();
}

void Batcher::remove_delivered() {
  for (auto it = files_.begin(); it != files_.end();) {
    if (it->second->delivered) {
      if (last_file_ == it->second.get()) last_file_ = nullptr;
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
}

void Batcher::seal_due() {
  const std::int64_t now = clock_.monotonic_now_ns();
  bool any = false;
  for (auto& [name, file] : files_) {
    if (!file->sealing && now - file->opened_ns >= roll_ns_) {
      begin_seal(*file);
      any = true;
    }
  }
  if (any) remove_delivered();
}

void Batcher::seal_all() {
  for (auto& [name, file] : files_) {
    if (!file->sealing) begin_seal(*file);
  }
  remove_delivered();
}

void Batcher::abandon(OpenFile& file) {
  if (file.writer) file.writer->abort();
  if (file.failed) {
    file.failed = false;
    --stalled_files_;
  }
  file.delivered = true;  // removed by remove_delivered(); nothing more to do for it
  open_records_ -= file.records;
  counters_.abandoned.fetch_add(file.records, std::memory_order_release);
}

void Batcher::abandon_all() {
  for (auto& [name, file] : files_) {
    if (file->delivered) continue;
    const std::uint64_t records = file->records;
    abandon(*file);
    errors_.report(ErrorKind::kPermanent, "deliver",
                   "gave up a log file of " + std::to_string(records) + " records for " + file->account + "/" +
                       file->region + " at shutdown timeout");
  }
  files_.clear();
  last_file_ = nullptr;
  stalled_files_ = 0;
}

std::int64_t Batcher::next_deadline_ns() const noexcept {
  std::int64_t deadline = std::numeric_limits<std::int64_t>::max();
  for (const auto& [name, file] : files_) {
    deadline = std::min(deadline, file->failed ? file->retry_at_ns : file->opened_ns + roll_ns_);
  }
  return deadline;
}

void Batcher::sync_format_counters() {
  const FormatCounters& c = formatter_.counters();
  counters_.fields_sanitized.store(c.sanitized, std::memory_order_relaxed);
  counters_.fields_truncated.store(c.truncated, std::memory_order_relaxed);
  counters_.fields_omitted.store(c.omitted, std::memory_order_relaxed);
}

}  // namespace trailkit::detail
