#pragma once
// HistoryFeeder — feeds the event history (LookupEvents) off the emit path.
//
// The worker hands every compact record it writes into a log file to offer(): a memcpy into the
// current batch, nothing else. Full batches (or whatever is there at each tick) go to a bounded
// queue; the feeder's own thread turns each record into a HistoryRecord (management and Insights
// events only), and a second thread stores each such set in one add(): the two overlap, so
// deriving the next set costs no ingest time while the store writes (both stages together reach
// ~200 k events/s here; bench/history_bench.cpp). Below kBatchRecords queued the feeder waits up
// to kHold for more (unless drain() or shutdown asks), so a slow trickle still makes stores of
// useful size (the SQLite store writes a block per add). The feeder can never stall the pipeline:
// when the queue holds `max_queue_bytes`, new batches are skipped and their records counted in
// `dropped` (the log files still hold them). The lag is visible in `pending` (records queued).
// Errors are queued for the worker, which reports them through its rate-limited reporter, so the
// user's error handler is still only called on the worker thread.
//
// Thread contract: offer(), hand_off() and take_errors() from the worker thread; counters from any
// thread; the destructor stops the thread after storing what is queued (bounded by `stop_timeout`).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "trailkit/clock.hpp"
#include "trailkit/history.hpp"

namespace trailkit::detail {

struct HistoryCounters {
  std::atomic<std::uint64_t> written{0};  ///< records stored (or recognised as duplicates)
  std::atomic<std::uint64_t> skipped{0};  ///< records LookupEvents does not cover (data events)
  std::atomic<std::uint64_t> dropped{0};  ///< records lost to a full queue or a storage failure
  std::atomic<std::uint64_t> pending{0};  ///< records offered, not yet stored
};

class HistoryFeeder {
 public:
  static constexpr std::size_t kBatchRecords = 2048;
  static constexpr std::size_t kBatchBytes = 4u << 20;
  static constexpr std::size_t kMaxStoreRecords = 16384;  // one add() takes at most this many
  static constexpr std::chrono::milliseconds kHold{1000};
  static constexpr std::size_t kSpareBatches = 4;

  /// `low_priority`: run the history threads at nice +10 (HistoryOptions::low_priority).
  HistoryFeeder(std::shared_ptr<EventHistory> store, std::size_t max_queue_bytes, std::int64_t retention_seconds,
                const Clock& clock, HistoryCounters& counters, bool low_priority = false);
  ~HistoryFeeder();
  HistoryFeeder(const HistoryFeeder&) = delete;
  HistoryFeeder& operator=(const HistoryFeeder&) = delete;

  /// One compact record, exactly as written into the log file.
  void offer(std::string_view record);
  /// Queues the current batch (the worker calls it when idle and at flush/shutdown).
  void hand_off();
  /// Waits until everything handed off is stored; false on timeout.
  bool drain(std::chrono::milliseconds timeout);
  /// Error messages since the last call (for the worker's reporter).
  std::vector<std::string> take_errors();

 private:
  struct Batch {
    std::string bytes;
    std::vector<std::uint32_t> ends;
  };
  // A set of derived records on its way to the store; two alternate between the threads.
  struct Slot {
    std::vector<HistoryRecord> records;  // exactly the kept ones
    std::vector<HistoryRecord> spare;    // unused slots, kept for their strings' capacity
    std::uint64_t total = 0;             // records offered (kept + skipped)
    std::uint64_t skipped = 0;
  };
  void run();
  void run_store();
  void derive(std::vector<Batch>& batches, Slot& slot);
  void store(Slot& slot);
  void error(std::string message);

  std::shared_ptr<EventHistory> store_;
  const std::size_t max_queue_bytes_;
  const std::int64_t retention_seconds_;
  const Clock& clock_;
  HistoryCounters& counters_;
  const bool low_priority_;
  Batch current_;  // worker only

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Batch> queue_;
  std::vector<Batch> spare_;  // emptied batches, capacity kept, for hand_off()
  std::size_t queued_bytes_ = 0;
  std::size_t queued_records_ = 0;
  bool flush_requested_ = false;  // drain() waits: store without holding
  std::size_t in_flight_ = 0;     // sets taken from the queue and not yet stored
  Slot* mailbox_ = nullptr;       // a derived set waiting for the store thread
  std::condition_variable mail_;  // mailbox_ changed
  bool stop_ = false;
  bool deriving_done_ = false;    // the feeder thread has left: the store thread ends when idle
  std::vector<std::string> errors_;
  std::int64_t next_prune_ = 0;   // store thread
  Slot slots_[2];                 // reused, so steady state does not allocate
  std::thread thread_;            // derives
  std::thread store_thread_;      // stores
};

}  // namespace trailkit::detail
