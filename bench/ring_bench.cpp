// ring_bench — producer-side throughput of the buffer stage: reserve + memcpy(1,200 B) + commit into
// an MpscRing while a consumer thread drains it, with 1 and 2 producer threads. Beside it, the
// deliberately naive baseline the ring must beat: std::mutex + std::deque<std::string>, same
// payload, same byte bound, same "spin and yield when full" producer policy.
//
// Both consumers do the same minimal work per record: copy it out into a scratch buffer, as the
// batch stage appends each record to its output. Copying (rather than touching one byte) matters:
// a consumer that never reads the payload would flatter the baseline, whose consumer then never
// pulls the record's cache lines over, while the ring's consumer must (it zeroes them). On a 2-core machine Threads(2) plus the consumer is
// oversubscribed; compare the ring and the baseline at the same thread count, not across counts.

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "buffer/mpsc_ring.hpp"

namespace {

using trailkit::detail::MpscRing;

constexpr std::size_t kPayloadSize = 1200;  // a typical serialized CloudTrail record
constexpr std::size_t kQueueBytes = std::size_t{1} << 20;

// Consumer-thread scratch: where the "batch stage" copies each record.
void consume(const char* data, std::size_t size) {
  static char scratch[4096];
  std::memcpy(scratch, data, size);
  benchmark::DoNotOptimize(scratch);
  benchmark::ClobberMemory();
}

const char* payload() {
  static const std::string bytes(kPayloadSize, 'x');
  return bytes.data();
}

// Runs `drain_once` on its own thread until stopped; the final drain empties what is left.
class ConsumerThread {
 public:
  template <class DrainOnce>
  explicit ConsumerThread(DrainOnce drain_once)
      : thread_([this, drain_once]() mutable {
          while (!stop_.load(std::memory_order_acquire)) {
            if (drain_once() == 0) std::this_thread::yield();
          }
          while (drain_once() != 0) {
          }
        }) {}
  ~ConsumerThread() {
    stop_.store(true, std::memory_order_release);
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// ---- MpscRing ---------------------------------------------------------------------------------

std::unique_ptr<MpscRing> g_ring;
std::unique_ptr<ConsumerThread> g_ring_consumer;

void BM_MpscRingReserveCopyCommit(benchmark::State& state) {
  if (state.thread_index() == 0) {
    g_ring = std::make_unique<MpscRing>(kQueueBytes);
    g_ring_consumer = std::make_unique<ConsumerThread>([] {
      return g_ring->drain([](const char* data, std::uint32_t size) { consume(data, size); });
    });
  }
  const char* bytes = payload();
  std::uint64_t full = 0;
  for (auto _ : state) {  // the loop start is a barrier: g_ring exists in every thread here
    MpscRing::Reservation reservation;
    MpscRing::ReserveStatus status;
    while ((status = g_ring->try_reserve(kPayloadSize, reservation)) ==
           MpscRing::ReserveStatus::kFull) {
      ++full;
      std::this_thread::yield();
    }
    std::memcpy(reservation.data, bytes, kPayloadSize);
    g_ring->commit(reservation);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kPayloadSize));
  state.counters["full_retries"] = static_cast<double>(full);
  // The loop end is a barrier too: every producer is done before thread 0 tears down.
  if (state.thread_index() == 0) {
    g_ring_consumer.reset();
    g_ring.reset();
  }
}
BENCHMARK(BM_MpscRingReserveCopyCommit)->Threads(1)->Threads(2)->UseRealTime();

// ---- Naive baseline: mutex + deque<string>, bounded to the same bytes --------------------------

class MutexDequeQueue {
 public:
  bool try_push(const char* data, std::size_t size) {
    std::string record(data, size);  // allocate + copy, as a naive queue of strings does
    std::lock_guard<std::mutex> lock(mutex_);
    if (bytes_ + size > kQueueBytes) return false;
    bytes_ += size;
    records_.push_back(std::move(record));
    return true;
  }
  std::size_t drain_one_batch() {
    std::size_t count = 0;
    for (;;) {
      std::string record;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (records_.empty()) return count;
        record = std::move(records_.front());
        records_.pop_front();
        bytes_ -= record.size();
      }
      consume(record.data(), record.size());
      ++count;
    }
  }

 private:
  std::mutex mutex_;
  std::deque<std::string> records_;
  std::size_t bytes_ = 0;
};

std::unique_ptr<MutexDequeQueue> g_queue;
std::unique_ptr<ConsumerThread> g_queue_consumer;

void BM_MutexDequeBaseline(benchmark::State& state) {
  if (state.thread_index() == 0) {
    g_queue = std::make_unique<MutexDequeQueue>();
    g_queue_consumer = std::make_unique<ConsumerThread>([] { return g_queue->drain_one_batch(); });
  }
  const char* bytes = payload();
  std::uint64_t full = 0;
  for (auto _ : state) {
    while (!g_queue->try_push(bytes, kPayloadSize)) {
      ++full;
      std::this_thread::yield();
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kPayloadSize));
  state.counters["full_retries"] = static_cast<double>(full);
  if (state.thread_index() == 0) {
    g_queue_consumer.reset();
    g_queue.reset();
  }
}
BENCHMARK(BM_MutexDequeBaseline)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
