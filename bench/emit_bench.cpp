// emit_bench — the caller-side cost of Recorder::emit() for a realistic ~1.3 KB CloudTrail event
// (issue #2 gates E1 and E2 of performance.md §E), beside two baselines in the same binary:
//   naive:  nlohmann::ordered_json built from the Event and dump()ed on the caller thread, the
//           string pushed into a std::mutex + std::deque<std::string> drained by a consumer thread
//           (the consumer polls; producers never pay a condition-variable wake-up);
//   spdlog: async logger, queue 8192, block policy, null sink, logging the event's pre-serialized
//           JSON as "{}" (performance.md §C.8; the JSON is built before timing, so spdlog is NOT
//           charged for serialization: it is the "off-the-shelf async logger" floor).
//   reference_spsc: the design performance.md §C.4/§E1 measured on its own host to set the gates
//           ("a straightforward SPSC prototype"): one SPSC byte ring per producer thread (4 MiB in the hot latency run),
//           every present field copied length-prefixed plus an rdtsc stamp, the tail published with
//           one release store; no validation, no field limits, no counters, no overflow policy
//           beyond "spin until there is room". Its consumer compresses the records with zstd-1.
//           It calibrates this machine: the gates were set on a different host (an AMD Zen 5),
//           and the ratio trailkit / reference_spsc is what carries over.
//   copy_floor: reference_spsc's rings, stamp and consumer, but each event arrives already in
//           trailkit's encoding and is copied with one memcpy, and the consumer sleeps 2 ms when
//           idle (as trailkit's worker): the floor of the per-emit work of any design that copies
//           the event once, on this machine and in this harness. Its rings run their whole array
//           (no hot window, see src/buffer/mpsc_ring.hpp), so its tail latency includes the cache
//           misses of writing into lines a lap old, which trailkit's rings avoid.
//
// Corpus: 4,096 events from SimulatedService, deep-copied once, cycled. eventTime is left unset, so
// emit() reads the clock as a service's call would. The Recorder drains to a NullDestination: the
// worker still formats and compresses (gzip, ISA-L 1) but writes nowhere.
//
// Two measurements per implementation, each with caller data "hot" (64 distinct events, ~150 KB,
// like a service that just built its event; what §E gates) and "cold" (all 4,096, ~10 MB):
//   emit_throughput/<impl>/threads:T   T producer threads (our own, started per run, so each gets
//       its own buffer shard) emit ~300 k events each, flat out, in bursts that fill at most half a
//       shard of the default 64 MiB buffer; between bursts (untimed) the consumer catches up. Drop
//       policy; `dropped` must be 0. The consumer shares the 2 cores, so T=2 is oversubscribed:
//       compare implementations at equal T.
//   emit_throughput_parked_consumer/<impl>/threads:T   the same, with the consumer asleep during
//       the timed bursts (trailkit: RecorderOptions::worker_idle_wait = 60 s, woken by flush();
//       reference_spsc: its consumer waits for drain()). This is §E2's method ("ring self-drained
//       so the sink is not measured"): only the producers run, so T=2 gets both cores.
//   emit_latency/<impl>   one producer pinned to CPU 0, the consumer (worker/pool/thread) started
//       pinned to CPU 1; 20-call bursts paced at 100 k events/s; every call timed with an rdtscp
//       pair; percentiles are net of the measured median timer overhead. 1 M samples after a
//       100 k warm-up (100 k for the naive baseline, which cannot sustain 100 k/s and so runs
//       at its own maximum rate: its `achieved_rate` says so). Hot: 8 MiB buffer (4 MiB per
//       shard, as the §E prototype); cold: the default 64 MiB.

#include <benchmark/benchmark.h>

#include <zstd.h>

#include <bit>
#include <deque>
#include <mutex>
#include <utility>

#include "bench_support.hpp"
#include "emit/event_codec.hpp"
#include "trailkit/recorder.hpp"

#ifdef TRAILKIT_BENCH_HAVE_SPDLOG
#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/null_sink.h>
#endif

namespace {

using trailkit::EmitStatus;
using trailkit::Event;
using namespace trailkit::bench;

constexpr std::size_t kCorpusSize = 4096;  // power of two: index with a mask
constexpr double kLatencyRate = 100'000;  // events/s offered in the latency runs
constexpr std::size_t kBurst = 20;

struct Corpus {
  std::vector<std::unique_ptr<OwnedEvent>> owned = make_corpus(kCorpusSize);
  std::vector<const Event*> events = event_pointers(owned);
  std::vector<std::string> json;  // pre-serialized, for the spdlog baseline
  std::vector<std::string> encoded;  // each event in trailkit's emit encoding, for copy_floor
  double mean_json_bytes = 0;
  double mean_encoded_bytes = 0;
  Corpus() {
    trailkit::detail::EncodeLimits unlimited{};
    for (std::size_t i = 0; i < trailkit::kFieldCount; ++i) {
      unlimited.keep_bytes[i] = UINT32_MAX;
      unlimited.omit_over[i] = UINT32_MAX;
    }
    for (const Event* e : events) {
      json.push_back(naive_serialize(*e));
      mean_json_bytes += static_cast<double>(json.back().size());
      const trailkit::detail::EncodePlan plan = trailkit::detail::plan_encoding(*e, unlimited);
      encoded.emplace_back(plan.size, '\0');
      trailkit::detail::encode_event(*e, plan, unlimited, 1714557600, encoded.back().data());
      mean_encoded_bytes += static_cast<double>(plan.size);
    }
    mean_json_bytes /= static_cast<double>(events.size());
    mean_encoded_bytes /= static_cast<double>(events.size());
  }
};

const Corpus& corpus() {
  static const Corpus c;
  return c;
}

// ---- the implementations; emit(i) is thread-safe, the constructor starts the consumer ----

// `parked`: the consumer sleeps until drain() (throughput runs with the sink not measured).
class TrailkitSink {
 public:
  explicit TrailkitSink(std::size_t buffer_bytes, bool parked = false)
      : destination_(std::make_shared<NullDestination>()), parked_(parked) {
    trailkit::RecorderOptions options;
    options.account_id = "111122223333";
    options.destination = destination_;
    options.buffer_bytes = buffer_bytes;
    options.overflow_policy = trailkit::OverflowPolicy::kDrop;
    options.roll_interval = std::chrono::seconds(60);
    if (parked) options.worker_idle_wait = std::chrono::seconds(60);  // only flush() wakes it
    recorder_ = trailkit::Recorder::create(std::move(options));
  }
  ~TrailkitSink() { recorder_->shutdown(std::chrono::seconds(120)); }
  bool emit(std::size_t i) noexcept { return recorder_->emit(*corpus().events[i]) == EmitStatus::kOk; }
  std::uint64_t dropped() const noexcept { return recorder_->stats().dropped; }
  void drain() {
    recorder_->flush(std::chrono::seconds(60));
    // Let the worker finish its loop and go back to sleep before the next timed burst.
    if (parked_) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }

 private:
  std::shared_ptr<NullDestination> destination_;
  bool parked_;
  std::unique_ptr<trailkit::Recorder> recorder_;
};

class NaiveSink {
 public:
  explicit NaiveSink(std::size_t /*buffer_bytes*/, bool /*parked*/ = false) : consumer_([this] { run(); }) {}
  ~NaiveSink() {
    stop_.store(true, std::memory_order_release);
    consumer_.join();
  }
  bool emit(std::size_t i) {
    std::string record = naive_serialize(*corpus().events[i]);
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(record));
    return true;
  }
  std::uint64_t dropped() const noexcept { return 0; }
  void drain() {
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (queue_.empty()) return;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }

 private:
  void run() {
    std::deque<std::string> taken;
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        taken.swap(queue_);
      }
      if (taken.empty()) {
        if (stop_.load(std::memory_order_acquire)) return;
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        continue;
      }
      std::size_t bytes = 0;
      for (const std::string& s : taken) bytes += s.size();
      benchmark::DoNotOptimize(bytes);
      taken.clear();
    }
  }
  std::mutex mutex_;
  std::deque<std::string> queue_;
  std::atomic<bool> stop_{false};
  std::thread consumer_;
};

// performance.md's prototype design, rebuilt as a baseline (see the top of this file). Per-thread
// SPSC rings: a thread takes the next ring on its first emit (kRings producers at most).
// kWholeRecord = copy_floor: the same rings, stamp and consumer, but emit() copies the event's
// ready-made encoded bytes with one memcpy instead of walking its fields, and the consumer sleeps
// 2 ms when it finds nothing (as trailkit's worker) instead of spinning: the least work any design
// that copies an event once can do, i.e. this machine's floor for the emit gates' per-emit work
// (not for their tails: these rings have no hot window).
template <bool kWholeRecord>
class SpscSink {
 public:
  // The buffer is split over the rings as trailkit splits it over its shards (8 MiB: 4 MiB each,
  // the prototype's ring size).
  explicit SpscSink(std::size_t buffer_bytes, bool parked = false)
      : parked_(parked),
        ring_bytes_(std::bit_floor(buffer_bytes / kRings)),
        mask_(ring_bytes_ - 1),
        rings_{Ring(ring_bytes_), Ring(ring_bytes_)},
        consumer_([this] { run(); }) {}
  ~SpscSink() {
    stop_.store(true, std::memory_order_release);
    consumer_.join();
  }
  bool emit(std::size_t i) noexcept {
    thread_local Ring* ring = nullptr;
    thread_local const SpscSink* owner = nullptr;
    if (owner != this) {
      ring = &rings_[next_ring_.fetch_add(1, std::memory_order_relaxed) % kRings];
      owner = this;
    }
    const Event& e = *corpus().events[i];
    // Size: an 8-byte length word, the rdtsc stamp, the presence mask (copy_floor: the byte
    // count), then length-prefixed fields (copy_floor: the encoded record).
    std::uint64_t present = 0;
    std::size_t size = 24;
    if constexpr (kWholeRecord) {
      present = corpus().encoded[i].size();
      size += present;
    } else {
      present = e.present_mask();
      for (std::uint64_t m = present; m != 0; m &= m - 1) {
        size += 4 + e.get(static_cast<trailkit::Field>(std::countr_zero(m))).size();
      }
    }
    size = (size + 7) & ~std::size_t{7};
    std::uint64_t tail = ring->tail.load(std::memory_order_relaxed);
    if (ring_bytes_ - (tail & mask_) < size) {  // no room before the end: pad to it
      write_word(ring->bytes + (tail & mask_), 0);  // 0 = "wrap to the start"
      tail += ring_bytes_ - (tail & mask_);
    }
    while (tail + size - ring->head_cache > ring_bytes_) {  // full: spin, as the prototype did
      ring->head_cache = ring->head.load(std::memory_order_acquire);
      if (tail + size - ring->head_cache > ring_bytes_) _mm_pause();
    }
    char* d = ring->bytes + (tail & mask_);
    write_word(d, size);
    write_word(d + 8, ticks());
    write_word(d + 16, present);
    d += 24;
    if constexpr (kWholeRecord) {
      std::memcpy(d, corpus().encoded[i].data(), present);
    } else {
      for (std::uint64_t m = present; m != 0; m &= m - 1) {
        const std::string_view v = e.get(static_cast<trailkit::Field>(std::countr_zero(m)));
        const auto n = static_cast<std::uint32_t>(v.size());
        std::memcpy(d, &n, 4);
        std::memcpy(d + 4, v.data(), n);
        d += 4 + n;
      }
    }
    ring->tail.store(tail + size, std::memory_order_release);
    return true;
  }
  std::uint64_t dropped() const noexcept { return 0; }
  void drain() {
    awake_.store(true, std::memory_order_release);
    for (Ring& r : rings_) {
      while (r.head.load(std::memory_order_acquire) != r.tail.load(std::memory_order_acquire)) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    }
    if (parked_) {
      awake_.store(false, std::memory_order_release);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // as TrailkitSink: back asleep
    }
  }

 private:
  static constexpr std::size_t kRings = 2;  // the benches use at most 2 producer threads
  struct Ring {
    explicit Ring(std::size_t size) : bytes(static_cast<char*>(std::aligned_alloc(64, size))) {
      std::memset(bytes, 0, size);  // pre-fault, as trailkit's rings are
    }
    Ring(Ring&& other) noexcept : bytes(std::exchange(other.bytes, nullptr)) {}
    ~Ring() { std::free(bytes); }
    char* bytes;
    alignas(64) std::atomic<std::uint64_t> tail{0};
    std::uint64_t head_cache = 0;  // producer's copy of head
    alignas(64) std::atomic<std::uint64_t> head{0};
  };
  static void write_word(char* d, std::uint64_t v) noexcept { std::memcpy(d, &v, 8); }
  static std::uint64_t read_word(const char* s) noexcept {
    std::uint64_t v;
    std::memcpy(&v, s, 8);
    return v;
  }

  // Decodes each record's fields into a 1 MiB staging buffer and compresses it with zstd-1 when
  // full, like the prototype's consumer (which also formatted JSON; this one does less work, which
  // only favours the baseline's producer through less cache pressure on the shared core).
  void run() {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 1);
    std::vector<char> staging(std::size_t{1} << 20);
    std::vector<char> compressed(ZSTD_compressBound(staging.size()));
    std::size_t used = 0;
    const auto flush_staging = [&] {
      ZSTD_inBuffer in{staging.data(), used, 0};
      ZSTD_outBuffer out{compressed.data(), compressed.size(), 0};
      while (in.pos < in.size) {
        ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_continue);
        out.pos = 0;
      }
      used = 0;
    };
    for (;;) {
      if (parked_ && !awake_.load(std::memory_order_acquire)) {
        if (stop_.load(std::memory_order_acquire)) break;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        continue;
      }
      bool any = false;
      for (Ring& r : rings_) {
        std::uint64_t head = r.head.load(std::memory_order_relaxed);
        const std::uint64_t tail = r.tail.load(std::memory_order_acquire);
        while (head != tail) {
          const char* s = r.bytes + (head & mask_);
          const std::uint64_t size = read_word(s);
          if (size == 0) {  // wrap marker
            head += ring_bytes_ - (head & mask_);
            continue;
          }
          std::uint64_t present = read_word(s + 16);
          const char* p = s + 24;
          if constexpr (kWholeRecord) {  // the encoded record, staged whole
            for (std::uint64_t done = 0; done < present;) {
              if (used == staging.size()) flush_staging();
              const std::uint64_t n = std::min<std::uint64_t>(present - done, staging.size() - used);
              std::memcpy(staging.data() + used, p + done, n);
              used += n;
              done += n;
            }
            present = 0;
          }
          for (; present != 0; present &= present - 1) {
            std::uint32_t n;
            std::memcpy(&n, p, 4);
            if (used + n > staging.size()) flush_staging();
            std::memcpy(staging.data() + used, p + 4, n);
            used += n;
            p += 4 + n;
          }
          head += size;
          any = true;
        }
        r.head.store(head, std::memory_order_release);
      }
      if (!any) {
        if (stop_.load(std::memory_order_acquire)) break;
        if constexpr (kWholeRecord) {
          // As trailkit's worker (worker_idle_wait): a consumer that spins on the producers'
          // tail lines pulls them across cores all the time, which a floor should not charge.
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        } else {
          _mm_pause();
        }
      }
    }
    ZSTD_freeCCtx(cctx);
  }

  const bool parked_;
  std::atomic<bool> awake_{false};
  const std::size_t ring_bytes_;
  const std::uint64_t mask_;
  Ring rings_[kRings];
  std::atomic<std::size_t> next_ring_{0};
  std::atomic<bool> stop_{false};
  std::thread consumer_;
};

using ReferenceSpscSink = SpscSink<false>;
using CopyFloorSink = SpscSink<true>;

#ifdef TRAILKIT_BENCH_HAVE_SPDLOG
class SpdlogSink {
 public:
  explicit SpdlogSink(std::size_t /*buffer_bytes*/, bool /*parked*/ = false)
      : pool_(std::make_shared<spdlog::details::thread_pool>(8192, 1)),
        logger_(std::make_shared<spdlog::async_logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>(), pool_,
                                                       spdlog::async_overflow_policy::block)) {}
  ~SpdlogSink() {
    logger_->flush();
    logger_.reset();
    pool_.reset();  // joins the pool thread after it has drained the queue
  }
  bool emit(std::size_t i) {
    logger_->info("{}", corpus().json[i]);
    return true;
  }
  std::uint64_t dropped() const noexcept { return 0; }
  void drain() {
    while (pool_->queue_size() != 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }

 private:
  std::shared_ptr<spdlog::details::thread_pool> pool_;
  std::shared_ptr<spdlog::async_logger> logger_;
};
#endif

// ---- throughput ----

// Each producer emits `bursts` bursts of `burst` events flat out; between bursts, untimed, the
// consumer is let catch up (Recorder::flush). A burst fills at most half of a shard, so with the
// drop policy nothing is dropped while the measured code is exactly the steady-state emit path
// (`dropped` must be 0); emitting into a never-drained 1 GiB buffer instead would measure DRAM
// write-allocate misses, not emit().
template <class Sink>
void emit_throughput(benchmark::State& state, std::size_t per_thread, bool parked) {
  const int threads = static_cast<int>(state.range(0));
  const std::size_t buffer_bytes = static_cast<std::size_t>(state.range(1)) << 20;
  const auto distinct = static_cast<std::size_t>(state.range(2));  // power of two <= kCorpusSize
  const Corpus& c = corpus();
  const std::size_t shards = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4);
  const std::size_t burst = std::max<std::size_t>(
      1, static_cast<std::size_t>(0.5 * static_cast<double>(buffer_bytes / shards) / (c.mean_encoded_bytes + 16)));
  const std::size_t bursts = (per_thread + burst - 1) / burst;
  double seconds = 0;
  std::uint64_t accepted = 0;
  std::uint64_t dropped = 0;
  for (auto _ : state) {
    auto sink = std::make_unique<Sink>(buffer_bytes, parked);
    if (parked) sink->drain();  // the consumer is now asleep
    SpinBarrier sync(threads);
    std::atomic<std::uint64_t> ok_total{0};
    double elapsed = 0;
    std::vector<std::thread> producers;
    for (int t = 0; t < threads; ++t) {
      producers.emplace_back([&, t] {
        std::size_t index = static_cast<std::size_t>(t) * 1031;  // threads start at different events
        std::uint64_t ok = 0;
        for (std::size_t b = 0; b < bursts; ++b) {
          sync.arrive_and_wait();
          const auto start = std::chrono::steady_clock::now();
          for (std::size_t n = 0; n < burst; ++n) ok += sink->emit(index++ & (distinct - 1)) ? 1 : 0;
          sync.arrive_and_wait();
          if (t == 0) {
            elapsed += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            sink->drain();  // untimed: the others wait at the next barrier
          }
        }
        ok_total.fetch_add(ok);
      });
    }
    for (auto& p : producers) p.join();
    state.SetIterationTime(elapsed);
    seconds += elapsed;
    accepted += ok_total.load();
    dropped += sink->dropped();
    sink.reset();  // drains and stops the consumer (not timed)
  }
  const double emits = static_cast<double>(state.iterations()) * threads * static_cast<double>(bursts * burst);
  state.counters["emits_per_s"] = emits / seconds;
  state.counters["emits_per_s_per_thread"] = emits / seconds / threads;
  state.counters["ns_per_emit_per_thread"] = seconds * 1e9 * threads / emits;
  state.counters["dropped"] = static_cast<double>(dropped);
  state.counters["ok"] = static_cast<double>(accepted);
  state.counters["burst"] = static_cast<double>(burst);
  state.counters["distinct_events"] = static_cast<double>(distinct);
  state.counters["json_B_per_event"] = c.mean_json_bytes;
  state.counters["ring_B_per_event"] = c.mean_encoded_bytes;
  state.SetItemsProcessed(static_cast<std::int64_t>(emits));
}

// ---- latency ----

template <class Sink>
void emit_latency(benchmark::State& state, std::size_t samples_wanted) {
  const Corpus& c = corpus();
  const auto distinct = static_cast<std::size_t>(state.range(0));  // power of two <= kCorpusSize
  const std::size_t buffer_bytes = static_cast<std::size_t>(state.range(1)) << 20;
  const double tpn = ticks_per_ns();
  const double overhead = timer_overhead_ticks();
  const std::size_t warmup = std::min<std::size_t>(100'000, samples_wanted / 5);
  std::vector<std::uint64_t> samples(samples_wanted);
  std::size_t index = 0;
  std::uint64_t late_bursts = 0;
  std::uint64_t dropped = 0;
  double seconds = 0;
  for (auto _ : state) {
    // The consumer thread starts on CPU 1; this thread then stays on CPU 0.
    auto sink = create_on_cpu(1, 0, [&] { return std::make_unique<Sink>(buffer_bytes); });
    const auto period = static_cast<std::uint64_t>(static_cast<double>(kBurst) / kLatencyRate * 1e9 * tpn);
    const auto run = [&](std::size_t count, std::uint64_t* out) {
      std::uint64_t next = ticks();
      for (std::size_t n = 0; n < count; n += kBurst) {
        while (ticks() < next) _mm_pause();
        for (std::size_t j = 0; j < kBurst && n + j < count; ++j) {
          const std::uint64_t t0 = ticks();
          benchmark::DoNotOptimize(sink->emit(index++ & (distinct - 1)));
          const std::uint64_t t1 = ticks();
          if (out != nullptr) out[n + j] = t1 - t0;
        }
        next += period;
        const std::uint64_t now = ticks();
        if (now > next) {  // behind schedule (slow emits or a preempted thread): do not catch up
          next = now;
          ++late_bursts;
        }
      }
    };
    run(warmup, nullptr);
    late_bursts = 0;
    const auto start = std::chrono::steady_clock::now();
    run(samples.size(), samples.data());
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    dropped = sink->dropped();
    sink.reset();
    unpin_current_thread();
  }
  const auto net_ns = [&](double q) {
    const double t = static_cast<double>(quantile(samples, q)) - overhead;
    return std::max(0.0, t) / tpn;
  };
  state.counters["p50_ns"] = net_ns(0.50);
  state.counters["p90_ns"] = net_ns(0.90);
  state.counters["p99_ns"] = net_ns(0.99);
  state.counters["p99.9_ns"] = net_ns(0.999);
  state.counters["p99.99_ns"] = net_ns(0.9999);
  state.counters["max_ns"] = net_ns(1.0);
  state.counters["timer_overhead_ns"] = overhead / tpn;
  state.counters["samples"] = static_cast<double>(samples.size());
  state.counters["achieved_rate"] = static_cast<double>(samples.size()) / seconds;
  state.counters["late_bursts"] = static_cast<double>(late_bursts);
  state.counters["dropped"] = static_cast<double>(dropped);
  state.counters["json_B_per_event"] = c.mean_json_bytes;
  state.counters["distinct_events"] = static_cast<double>(distinct);
}

template <class Sink>
void register_sink(const std::string& name, std::size_t throughput_per_thread, std::size_t latency_samples,
                   bool with_parked_consumer = false) {
  const auto add_throughput = [&](const std::string& bench, bool parked) {
    benchmark::RegisterBenchmark((bench + name).c_str(),
                                 [=](benchmark::State& s) { emit_throughput<Sink>(s, throughput_per_thread, parked); })
        ->ArgNames({"threads", "buffer_mib", "distinct"})
        ->Args({1, 64, 64})
        ->Args({2, 64, 64})
        ->Args({1, 8, 64})
        ->Args({2, 8, 64})
        ->Args({1, 64, static_cast<std::int64_t>(kCorpusSize)})
        ->Args({2, 64, static_cast<std::int64_t>(kCorpusSize)})
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  };
  add_throughput("emit_throughput/", false);
  if (with_parked_consumer) add_throughput("emit_throughput_parked_consumer/", true);
  benchmark::RegisterBenchmark(("emit_latency/" + name).c_str(),
                               [=](benchmark::State& s) { emit_latency<Sink>(s, latency_samples); })
      ->ArgNames({"distinct", "buffer_mib"})
      ->Args({64, 8})
      ->Args({static_cast<std::int64_t>(kCorpusSize), 64})
      ->Iterations(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::fprintf(stderr, "corpus: %zu events, %.0f B JSON / %.0f B encoded per event; TSC %.3f ticks/ns\n",
               corpus().events.size(), corpus().mean_json_bytes, corpus().mean_encoded_bytes, ticks_per_ns());
  register_sink<TrailkitSink>("trailkit", 300'000, 1'000'000, true);
  register_sink<NaiveSink>("naive_baseline", 20'000, 100'000);
  register_sink<ReferenceSpscSink>("reference_spsc", 300'000, 1'000'000, true);
  register_sink<CopyFloorSink>("copy_floor", 300'000, 1'000'000, true);
#ifdef TRAILKIT_BENCH_HAVE_SPDLOG
  register_sink<SpdlogSink>("spdlog_baseline", 300'000, 1'000'000);
#else
  std::fprintf(stderr, "spdlog baseline not built (spdlog not found by CMake)\n");
#endif
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
