// Recorder: the emit path (caller threads) and the worker loop that drives the pipeline.
//
// Hot path (emit): pick this thread's shard, validate the two routing fields, reserve space in the
// shard's lock-free ring, copy the event's bytes, commit. No lock, no allocation, no syscall
// (kBlock may sleep, but only when the buffer is full).
//
// Worker: drain rings -> decode -> Batcher (format, compress, deliver). It polls with a short
// sleep rather than being woken per event (producers never make a syscall); flush() and
// shutdown() wake it through a condition variable.
#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "batch/batcher.hpp"
#include "batch/object_key.hpp"
#include "buffer/mpsc_ring.hpp"
#include "common/error_reporter.hpp"
#include "digest/state_files.hpp"
#include "digest/trail_state.hpp"
#include "history/history_feeder.hpp"
#include "emit/event_codec.hpp"
#include "trailkit/recorder.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TRAILKIT_PAUSE() _mm_pause()
#else
#define TRAILKIT_PAUSE() ((void)0)
#endif

namespace trailkit {
namespace {

// Threads get a shard index once, round-robin, so concurrent producers rarely share a ring's tail.
std::atomic<std::uint32_t> g_next_thread_index{0};
thread_local std::uint32_t t_thread_index = UINT32_MAX;

inline std::uint32_t thread_index() noexcept {
  if (t_thread_index == UINT32_MAX) t_thread_index = g_next_thread_index.fetch_add(1, std::memory_order_relaxed);
  return t_thread_index;
}

std::size_t floor_pow2(std::size_t n) {
  std::size_t p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

constexpr std::int64_t kDropCheckNs = 100'000'000;  // how often the worker looks for new drops: 100 ms

}  // namespace

// Per-shard producer counters, on their own cache line so shards never false-share.
struct alignas(64) ShardCounters {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> dropped_full{0};
  std::atomic<std::uint64_t> dropped_invalid{0};
  std::atomic<std::uint64_t> dropped_too_large{0};
  std::atomic<std::uint64_t> refused_closed{0};
};

class RecorderImpl {
 public:
  explicit RecorderImpl(RecorderOptions options);
  ~RecorderImpl();

  EmitStatus emit(const Event& event) noexcept;
  bool flush(std::chrono::milliseconds timeout) noexcept;
  bool shutdown(std::chrono::milliseconds timeout) noexcept;
  Stats stats() const noexcept;
  const RecorderOptions& options() const noexcept { return options_; }

 private:
  void run_worker();
  void report_history_errors();
  std::size_t drain_some(detail::Batcher& batcher, std::size_t max_per_shard);
  bool rings_empty() const noexcept;
  void drain_to(detail::Batcher& batcher, const std::vector<std::uint64_t>& barrier);
  void deliver_everything(detail::Batcher& batcher);
  void report_drops();
  EmitStatus reserve_blocking(detail::MpscRing& ring, std::uint32_t size, detail::MpscRing::Reservation& r) noexcept;

  RecorderOptions options_;
  std::shared_ptr<Clock> clock_;
  std::shared_ptr<Destination> destination_;
  detail::EncodeLimits encode_limits_{};
  std::vector<std::unique_ptr<detail::MpscRing>> rings_;
  std::uint32_t shard_mask_ = 0;  // shard count - 1 (a power of two): no division on the hot path
  std::unique_ptr<ShardCounters[]> shard_counters_;
  detail::BatchCounters batch_counters_;
  detail::DigestCounters digest_counters_;
  std::unique_ptr<detail::TrailState> trail_;  // state dir + digest chain; null without a state dir
  detail::HistoryCounters history_counters_;
  std::unique_ptr<detail::HistoryFeeder> history_;  // LookupEvents history; null when off
  detail::ErrorReporter errors_;

  // Worker hand-shake. flush_requested_/flush_completed_ are sequence numbers.
  std::mutex mutex_;
  std::condition_variable wake_worker_;
  std::condition_variable done_;
  std::uint64_t flush_requested_ = 0;
  std::uint64_t flush_completed_ = 0;
  bool stop_requested_ = false;
  bool worker_finished_ = false;
  bool shutdown_result_ = false;
  std::atomic<bool> abort_{false};
  std::thread worker_;

  // Worker-only state.
  std::vector<Resource> decode_resources_;
  std::uint64_t reported_drops_ = 0;
  std::int64_t next_drop_report_ns_ = 0;
};

RecorderImpl::RecorderImpl(RecorderOptions options)
    : options_(std::move(options)),
      clock_(options_.clock ? options_.clock : system_clock()),
      errors_(options_.error_handler, options_.error_reports_per_minute, *clock_) {
  destination_ = options_.destination ? options_.destination
                                      : std::shared_ptr<Destination>(make_local_directory_destination(options_.local_directory));
  // Emit-side byte budgets (see event_codec.hpp): JSON values over their CloudTrail limit are not
  // copied at all; 1 KB-truncated strings are copied only a little past their limit.
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    encode_limits_.keep_bytes[i] = UINT32_MAX;
    encode_limits_.omit_over[i] = UINT32_MAX;
  }
  const auto field = [](Field f) { return static_cast<std::size_t>(f); };
  const auto clamp32 = [](std::size_t v) { return static_cast<std::uint32_t>(std::min<std::size_t>(v, UINT32_MAX - 8)); };
  for (Field f : {Field::kUserAgent, Field::kErrorCode, Field::kErrorMessage, Field::kRequestId}) {
    encode_limits_.keep_bytes[field(f)] = clamp32(options_.limits.truncate_bytes + 4);
  }
  for (Field f : {Field::kRequestParameters, Field::kResponseElements, Field::kServiceEventDetails}) {
    encode_limits_.omit_over[field(f)] = clamp32(options_.limits.large_json_bytes);
  }
  for (Field f : {Field::kAdditionalEventData, Field::kEdgeDeviceDetails, Field::kWebIdAttributes}) {
    encode_limits_.omit_over[field(f)] = clamp32(options_.limits.small_json_bytes);
  }
  encode_limits_.derive_fast_path();

  const std::size_t shards = floor_pow2(
      options_.buffer_shards ? options_.buffer_shards
                             : std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4));
  shard_mask_ = static_cast<std::uint32_t>(shards - 1);
  // Round each shard *down* to a power of two so the total never exceeds buffer_bytes.
  const std::size_t per_shard = floor_pow2(options_.buffer_bytes / shards);
  for (std::size_t i = 0; i < shards; ++i) rings_.push_back(std::make_unique<detail::MpscRing>(per_shard));
  shard_counters_ = std::make_unique<ShardCounters[]>(shards);
  if (!options_.state_dir.empty()) {
    trail_ = std::make_unique<detail::TrailState>(options_, *destination_, *clock_, errors_, digest_counters_);
  }
  if (options_.history.enabled) {
    std::shared_ptr<EventHistory> store = options_.history.store;
    if (!store) {
      SqliteHistoryOptions sqlite;
      sqlite.path = !options_.history.path.empty() ? options_.history.path : detail::history_database_path(options_.state_dir);
      sqlite.retention_days = options_.history.retention_days;
      sqlite.compression_level = options_.history.compression_level;
      store = open_sqlite_history(sqlite);
    }
    history_ = std::make_unique<detail::HistoryFeeder>(std::move(store), options_.history.max_queue_bytes,
                                                       options_.history.retention_days * 86400, *clock_,
                                                       history_counters_, options_.history.low_priority);
  }
  worker_ = std::thread([this] { run_worker(); });
}

RecorderImpl::~RecorderImpl() {
  shutdown(options_.shutdown_timeout);
  abort_.store(true);
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
  }
  wake_worker_.notify_all();
  if (worker_.joinable()) worker_.join();
}

EmitStatus RecorderImpl::reserve_blocking(detail::MpscRing& ring, std::uint32_t size,
                                          detail::MpscRing::Reservation& r) noexcept {
  // The deadline is read from the clock only once the ring is found full: a clock read per emit
  // would cost the steady state ~20 ns for nothing.
  std::chrono::steady_clock::time_point deadline{};
  for (int attempt = 0;; ++attempt) {
    switch (ring.try_reserve(size, r)) {
      case detail::MpscRing::ReserveStatus::kOk: return EmitStatus::kOk;
      case detail::MpscRing::ReserveStatus::kClosed: return EmitStatus::kClosed;
      case detail::MpscRing::ReserveStatus::kTooLarge: return EmitStatus::kTooLarge;
      case detail::MpscRing::ReserveStatus::kFull: break;
    }
    if (options_.overflow_policy == OverflowPolicy::kDrop) return EmitStatus::kDroppedFull;
    if (attempt == 0) deadline = std::chrono::steady_clock::now() + options_.block_timeout;
    if (attempt < 64) {
      TRAILKIT_PAUSE();
      continue;
    }
    if (std::chrono::steady_clock::now() >= deadline) return EmitStatus::kDroppedFull;
    if (attempt < 128) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
}

EmitStatus RecorderImpl::emit(const Event& event) noexcept {
  const std::uint32_t index = thread_index() & shard_mask_;
  detail::MpscRing& ring = *rings_[index];
  ShardCounters& counters = shard_counters_[index];

  // Routing fields become path components of the object key: refuse bad ones here, where the
  // caller learns it, instead of writing them anywhere (B6 of the reliability notes).
  const std::string_view account = event.get(Field::kRecipientAccountId);
  const std::string_view region = event.get(Field::kAwsRegion);
  EmitStatus status = EmitStatus::kOk;
  if (account.data() != nullptr && !detail::is_account_id(account)) {
    status = EmitStatus::kInvalidAccount;
  } else if (region.data() != nullptr && region != options_.region &&  // the default was validated at setup
             !detail::is_region(region)) {
    status = EmitStatus::kInvalidRegion;
  }

  const detail::EncodePlan plan = detail::plan_encoding(event, encode_limits_);
  detail::MpscRing::Reservation reservation;
  if (status == EmitStatus::kOk) {
    status = plan.size > ring.max_record_size()
                 ? EmitStatus::kTooLarge
                 : reserve_blocking(ring, static_cast<std::uint32_t>(plan.size), reservation);
  }
  if (status == EmitStatus::kClosed || (status != EmitStatus::kOk && ring.is_closed())) {
    counters.refused_closed.fetch_add(1, std::memory_order_relaxed);
    return EmitStatus::kClosed;
  }
  // `accepted` is incremented before the record becomes visible (commit is a release store), so
  // no reader can see it written before it was accepted. Drops: accepted first, then the drop.
  counters.accepted.fetch_add(1, std::memory_order_relaxed);
  switch (status) {
    case EmitStatus::kOk: {
      const std::int64_t now_s =
          event.event_time == kTimeNotSet ? clock_->wall_now_seconds() : event.event_time;
      detail::encode_event(event, plan, encode_limits_, now_s, reservation.data);
      ring.commit(reservation);
      return EmitStatus::kOk;
    }
    case EmitStatus::kDroppedFull: counters.dropped_full.fetch_add(1, std::memory_order_release); break;
    case EmitStatus::kTooLarge: counters.dropped_too_large.fetch_add(1, std::memory_order_release); break;
    default: counters.dropped_invalid.fetch_add(1, std::memory_order_release); break;
  }
  return status;
}


std::size_t RecorderImpl::drain_some(detail::Batcher& batcher, std::size_t max_per_shard) {
  std::size_t total = 0;
  detail::DecodedEvent decoded;
  for (auto& ring : rings_) {
    if (batcher.stalled()) break;
    total += ring->drain(
        [&](const char* data, std::uint32_t size) {
          if (detail::decode_event(data, size, decoded, decode_resources_)) {
            batcher.add(decoded);
          } else {
            // Cannot happen unless memory is corrupted; count it rather than crash.
            batch_counters_.abandoned.fetch_add(1, std::memory_order_release);
            errors_.report(ErrorKind::kPermanent, "buffer", "undecodable record skipped");
          }
        },
        max_per_shard);
  }
  return total;
}

bool RecorderImpl::rings_empty() const noexcept {
  for (const auto& ring : rings_) {
    if (ring->consumed_position() != ring->reserved_position()) return false;
  }
  return true;
}

void RecorderImpl::drain_to(detail::Batcher& batcher, const std::vector<std::uint64_t>& barrier) {
  // Everything reserved before the barrier must be consumed. A producer between reserve and commit
  // holds us only for the few nanoseconds of its copy.
  for (std::size_t i = 0; i < rings_.size(); ++i) {
    while (rings_[i]->consumed_position() < barrier[i] && !abort_.load(std::memory_order_relaxed)) {
      if (batcher.stalled()) {
        batcher.retry_io();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      if (drain_some(batcher, 4096) == 0) std::this_thread::yield();
    }
  }
}

void RecorderImpl::deliver_everything(detail::Batcher& batcher) {
  batcher.seal_all();
  while (!batcher.idle() && !abort_.load(std::memory_order_relaxed)) {
    batcher.retry_io();
    if (batcher.idle()) break;
    std::unique_lock lock(mutex_);
    wake_worker_.wait_for(lock, std::chrono::milliseconds(5));
  }
}

void RecorderImpl::report_drops() {
  const std::int64_t now = clock_->monotonic_now_ns();
  if (now < next_drop_report_ns_) return;
  // Reading the counters pulls every producer's counter line (and ring tail line) over to this
  // core, so that producer's next emit pays a cross-core transfer: look every 100 ms, not on every
  // worker iteration (which was once per drained batch, i.e. after nearly every burst of emits).
  next_drop_report_ns_ = now + kDropCheckNs;
  const Stats s = stats();
  if (s.dropped > reported_drops_) {
    errors_.report(ErrorKind::kThrottled, "buffer",
                   std::to_string(s.dropped - reported_drops_) + " events dropped (full " +
                       std::to_string(s.dropped_full) + ", invalid " + std::to_string(s.dropped_invalid) +
                       ", too large " + std::to_string(s.dropped_too_large) + " in total so far)");
    reported_drops_ = s.dropped;
    next_drop_report_ns_ = now + 60'000'000'000;  // at most one drop report a minute
  }
}

void RecorderImpl::report_history_errors() {
  if (!history_) return;
  for (std::string& message : history_->take_errors()) errors_.report(ErrorKind::kTransient, "history", std::move(message));
}

void RecorderImpl::run_worker() {
  detail::Batcher batcher(options_, *destination_, *clock_, errors_, batch_counters_, trail_.get(), history_.get());
  const std::int64_t idle_wait_ns = std::chrono::nanoseconds(options_.worker_idle_wait).count();
  for (;;) {
    std::uint64_t flush_target = 0;
    bool stopping = false;
    {
      std::lock_guard lock(mutex_);
      if (flush_requested_ > flush_completed_) flush_target = flush_requested_;
      stopping = stop_requested_;
    }
    if (abort_.load(std::memory_order_relaxed)) break;

    if (stopping) {
      // No reservation can succeed after close(); then everything reserved is drained and delivered.
      for (auto& ring : rings_) ring->close();
      std::vector<std::uint64_t> barrier;
      for (auto& ring : rings_) barrier.push_back(ring->reserved_position());
      drain_to(batcher, barrier);
      deliver_everything(batcher);
      if (trail_ && !abort_.load(std::memory_order_relaxed)) trail_->finish();
      if (history_ && !abort_.load(std::memory_order_relaxed)) history_->drain(std::chrono::seconds(10));
      report_history_errors();
      break;
    }
    if (flush_target != 0) {
      std::vector<std::uint64_t> barrier;
      for (auto& ring : rings_) barrier.push_back(ring->reserved_position());
      drain_to(batcher, barrier);
      deliver_everything(batcher);
      // Lookups right after flush() see the flushed events (bounded: the history never holds up files for long).
      if (history_) history_->drain(std::chrono::seconds(5));
      {
        std::lock_guard lock(mutex_);
        flush_completed_ = std::max(flush_completed_, flush_target);
      }
      done_.notify_all();
      continue;
    }

    std::size_t drained = 0;
    if (batcher.stalled()) {
      batcher.retry_io();
    } else {
      drained = drain_some(batcher, 8192);
    }
    batcher.seal_due();
    if (trail_) trail_->tick();
    report_drops();
    if (drained == 0) {
      if (history_) {
        history_->hand_off();
        report_history_errors();
      }
      const std::int64_t now = clock_->monotonic_now_ns();
      const std::int64_t wait_ns = std::clamp<std::int64_t>(batcher.next_deadline_ns() - now, 0, idle_wait_ns);
      std::unique_lock lock(mutex_);
      if (flush_requested_ == flush_completed_ && !stop_requested_) {
        wake_worker_.wait_for(lock, std::chrono::nanoseconds(wait_ns));
      }
    }
  }
  if (abort_.load()) {
    batcher.abandon_all();
    // Records still in the rings will never be written: count them so the identity holds.
    for (int round = 0; round < 1000 && !rings_empty(); ++round) {
      for (auto& ring : rings_) {
        ring->drain([&](const char*, std::uint32_t) {
          batch_counters_.abandoned.fetch_add(1, std::memory_order_release);
        });
      }
    }
  }
  report_drops();
  {
    std::lock_guard lock(mutex_);
    worker_finished_ = true;
    flush_completed_ = flush_requested_;
  }
  done_.notify_all();
}

bool RecorderImpl::flush(std::chrono::milliseconds timeout) noexcept {
  std::unique_lock lock(mutex_);
  if (worker_finished_) return rings_empty();
  const std::uint64_t target = ++flush_requested_;
  wake_worker_.notify_all();
  return done_.wait_for(lock, timeout, [&] { return flush_completed_ >= target || worker_finished_; }) &&
         (flush_completed_ >= target);
}

bool RecorderImpl::shutdown(std::chrono::milliseconds timeout) noexcept {
  std::unique_lock lock(mutex_);
  if (worker_finished_) return shutdown_result_;
  stop_requested_ = true;
  wake_worker_.notify_all();
  if (done_.wait_for(lock, timeout, [&] { return worker_finished_; })) {
    shutdown_result_ = !abort_.load();
    return shutdown_result_;
  }
  // Timed out: tell the worker to give up what is left (counted as dropped_write_failed).
  abort_.store(true);
  for (auto& ring : rings_) ring->close();
  return false;
}

Stats RecorderImpl::stats() const noexcept {
  // Read order matters for `accepted == written + dropped + pending` with pending >= 0: counters
  // that only grow *after* a record was accepted are read first, `accepted` last.
  Stats s;
  s.written = batch_counters_.written.load(std::memory_order_acquire);
  s.dropped_write_failed = batch_counters_.abandoned.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < rings_.size(); ++i) {
    s.dropped_full += shard_counters_[i].dropped_full.load(std::memory_order_acquire);
    s.dropped_invalid += shard_counters_[i].dropped_invalid.load(std::memory_order_acquire);
    s.dropped_too_large += shard_counters_[i].dropped_too_large.load(std::memory_order_acquire);
    s.refused_closed += shard_counters_[i].refused_closed.load(std::memory_order_relaxed);
  }
  std::atomic_thread_fence(std::memory_order_acquire);
  for (std::size_t i = 0; i < rings_.size(); ++i) {
    s.accepted += shard_counters_[i].accepted.load(std::memory_order_acquire);
  }
  s.dropped = s.dropped_full + s.dropped_invalid + s.dropped_too_large + s.dropped_write_failed;
  s.pending = s.accepted - s.written - s.dropped;
  s.files_written = batch_counters_.files.load(std::memory_order_relaxed);
  s.bytes_uncompressed = batch_counters_.bytes_uncompressed.load(std::memory_order_relaxed);
  s.bytes_compressed = batch_counters_.bytes_compressed.load(std::memory_order_relaxed);
  s.fields_sanitized = batch_counters_.fields_sanitized.load(std::memory_order_relaxed);
  s.fields_truncated = batch_counters_.fields_truncated.load(std::memory_order_relaxed);
  s.fields_omitted = batch_counters_.fields_omitted.load(std::memory_order_relaxed);
  s.delivery_errors = batch_counters_.delivery_errors.load(std::memory_order_relaxed);
  s.digests_written = digest_counters_.written.load(std::memory_order_relaxed);
  s.digest_errors = digest_counters_.errors.load(std::memory_order_relaxed);
  s.history_written = history_counters_.written.load(std::memory_order_relaxed);
  s.history_pending = history_counters_.pending.load(std::memory_order_relaxed);
  s.history_dropped = history_counters_.dropped.load(std::memory_order_relaxed);
  return s;
}

// ---- Recorder: the public face ----

std::unique_ptr<Recorder> Recorder::create(RecorderOptions options) {
  options.validate();
  return std::unique_ptr<Recorder>(new Recorder(std::make_unique<RecorderImpl>(std::move(options))));
}

Recorder::Recorder(std::unique_ptr<RecorderImpl> impl) : impl_(std::move(impl)) {}
Recorder::~Recorder() = default;

EmitStatus Recorder::emit(const Event& event) noexcept { return impl_->emit(event); }
bool Recorder::flush(std::chrono::milliseconds timeout) noexcept { return impl_->flush(timeout); }
bool Recorder::shutdown(std::chrono::milliseconds timeout) noexcept { return impl_->shutdown(timeout); }
Stats Recorder::stats() const noexcept { return impl_->stats(); }
const RecorderOptions& Recorder::options() const noexcept { return impl_->options(); }

}  // namespace trailkit
