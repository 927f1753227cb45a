#include "history/history_feeder.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <iterator>

namespace trailkit::detail {
namespace {
constexpr std::size_t kMaxQueuedErrors = 64;
constexpr int kLowPriorityNice = 10;

// Linux per-thread nice; threads this one starts (the SQLite store's packing helper) inherit it.
// Best effort: a failure leaves the priority as it was.
void lower_this_threads_priority() {
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  const int current = ::getpriority(PRIO_PROCESS, tid);
  (void)::setpriority(PRIO_PROCESS, tid, std::min(current + kLowPriorityNice, 19));
}
constexpr std::int64_t kPruneEverySeconds = 3600;
}  // namespace

HistoryFeeder::HistoryFeeder(std::shared_ptr<EventHistory> store, std::size_t max_queue_bytes,
                             std::int64_t retention_seconds, const Clock& clock, HistoryCounters& counters,
                             bool low_priority)
    : store_(std::move(store)), max_queue_bytes_(max_queue_bytes), retention_seconds_(retention_seconds),
      clock_(clock), counters_(counters), low_priority_(low_priority) {
  current_.bytes.reserve(kBatchBytes / 4);
  store_thread_ = std::thread([this] { run_store(); });
  thread_ = std::thread([this] { run(); });
}

HistoryFeeder::~HistoryFeeder() {
  hand_off();
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mutex_);
    deriving_done_ = true;
  }
  mail_.notify_all();
  if (store_thread_.joinable()) store_thread_.join();
}

void HistoryFeeder::offer(std::string_view record) {
  current_.bytes.append(record);
  current_.ends.push_back(static_cast<std::uint32_t>(current_.bytes.size()));
  counters_.pending.fetch_add(1, std::memory_order_relaxed);
  if (current_.ends.size() >= kBatchRecords || current_.bytes.size() >= kBatchBytes) hand_off();
}

void HistoryFeeder::hand_off() {
  if (current_.ends.empty()) return;
  const std::size_t bytes = current_.bytes.size();
  {
    std::lock_guard lock(mutex_);
    if (queued_bytes_ + bytes <= max_queue_bytes_ || queue_.empty()) {
      queued_bytes_ += bytes;
      queued_records_ += current_.ends.size();
      queue_.push_back(std::move(current_));
      // A stored batch's buffers come back for reuse: fresh multi-megabyte buffers would cost a
      // page fault per 4 KiB on every batch.
      if (!spare_.empty()) {
        current_ = std::move(spare_.back());
        spare_.pop_back();
      } else {
        current_ = Batch{};
        current_.bytes.reserve(kBatchBytes / 4);
      }
      wake_.notify_one();
      return;
    }
  }
  // The history is behind by a full queue: skip this batch rather than stall the log files.
  const std::uint64_t records = current_.ends.size();
  counters_.dropped.fetch_add(records, std::memory_order_relaxed);
  counters_.pending.fetch_sub(records, std::memory_order_relaxed);
  current_.bytes.clear();
  current_.ends.clear();
  error("event history is behind (queue full at " + std::to_string(max_queue_bytes_) + " bytes): " +
        std::to_string(records) + " records not added to the history (they are in the log files)");
}

bool HistoryFeeder::drain(std::chrono::milliseconds timeout) {
  hand_off();
  std::unique_lock lock(mutex_);
  flush_requested_ = true;
  wake_.notify_all();
  return idle_.wait_for(lock, timeout, [&] { return queue_.empty() && in_flight_ == 0; });
}

std::vector<std::string> HistoryFeeder::take_errors() {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  out.swap(errors_);
  return out;
}

void HistoryFeeder::error(std::string message) {
  std::lock_guard lock(mutex_);
  if (errors_.size() < kMaxQueuedErrors) errors_.push_back(std::move(message));
}

void HistoryFeeder::run() {
  if (low_priority_) lower_this_threads_priority();
  std::vector<Batch> batches;
  for (int next_slot = 0;; next_slot ^= 1) {
    batches.clear();
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stop_ and nothing left
      // A trickle: wait a little for more, so each store is a useful size.
      wake_.wait_for(lock, kHold, [&] { return stop_ || flush_requested_ || queued_records_ >= kBatchRecords; });
      std::size_t records = 0;
      while (!queue_.empty() && (batches.empty() || records + queue_.front().ends.size() <= kMaxStoreRecords)) {
        records += queue_.front().ends.size();
        queued_bytes_ -= queue_.front().bytes.size();
        queued_records_ -= queue_.front().ends.size();
        batches.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      ++in_flight_;
    }
    // The slot is free: the store thread took the other one before this one was posted last time,
    // and it takes mail only after finishing the set before it.
    Slot& slot = slots_[next_slot];
    derive(batches, slot);
    std::unique_lock lock(mutex_);
    for (Batch& batch : batches) {
      if (spare_.size() >= kSpareBatches) break;
      batch.bytes.clear();
      batch.ends.clear();
      spare_.push_back(std::move(batch));
    }
    mail_.wait(lock, [&] { return mailbox_ == nullptr; });
    mailbox_ = &slot;
    mail_.notify_all();
  }
}

void HistoryFeeder::run_store() {
  if (low_priority_) lower_this_threads_priority();
  for (;;) {
    Slot* slot = nullptr;
    {
      std::unique_lock lock(mutex_);
      mail_.wait(lock, [&] { return mailbox_ != nullptr || deriving_done_; });
      if (mailbox_ == nullptr) break;  // the feeder has left and posted everything
      slot = mailbox_;
    }
    store(*slot);
    {
      std::lock_guard lock(mutex_);
      mailbox_ = nullptr;  // taken only now: the feeder must not refill this slot while add() reads it
      --in_flight_;
      if (queue_.empty() && in_flight_ == 0) flush_requested_ = false;
    }
    mail_.notify_all();
    idle_.notify_all();
  }
  idle_.notify_all();
}

void HistoryFeeder::derive(std::vector<Batch>& batches, Slot& slot) {
  std::size_t total = 0;
  for (const Batch& batch : batches) total += batch.ends.size();
  std::vector<HistoryRecord>& records = slot.records;
  for (auto& r : slot.spare) records.push_back(std::move(r));
  slot.spare.clear();
  if (records.size() < total) records.resize(total);
  std::size_t kept = 0;
  std::uint64_t skipped = 0;
  for (const Batch& batch : batches) {
    std::uint32_t begin = 0;
    for (const std::uint32_t end : batch.ends) {
      const std::string_view record(batch.bytes.data() + begin, end - begin);
      begin = end;
      // Into a reused slot: its strings keep their capacity from earlier sets.
      if (history_record_from_json(record, records[kept])) {
        ++kept;
      } else {
        ++skipped;  // data events, network activity events
      }
    }
  }
  // add() takes the vector: it must hold exactly the kept records; the rest wait in `spare`.
  slot.spare.assign(std::make_move_iterator(records.begin() + static_cast<std::ptrdiff_t>(kept)),
                    std::make_move_iterator(records.end()));
  records.resize(kept);
  slot.total = total;
  slot.skipped = skipped;
}

void HistoryFeeder::store(Slot& slot) {
  const std::size_t kept = slot.records.size();
  try {
    if (kept != 0) store_->add(slot.records);
    counters_.written.fetch_add(kept, std::memory_order_relaxed);
    counters_.skipped.fetch_add(slot.skipped, std::memory_order_relaxed);
  } catch (const std::exception& e) {
    counters_.dropped.fetch_add(kept, std::memory_order_relaxed);
    counters_.skipped.fetch_add(slot.skipped, std::memory_order_relaxed);
    error(std::string("adding ") + std::to_string(kept) + " events to the history failed: " + e.what());
  }
  counters_.pending.fetch_sub(slot.total, std::memory_order_relaxed);

  const std::int64_t now = clock_.wall_now_seconds();
  if (now >= next_prune_) {
    next_prune_ = now + kPruneEverySeconds;
    try {
      store_->prune(now - retention_seconds_);
    } catch (const std::exception& e) {
      error(std::string("pruning the history failed: ") + e.what());
    }
  }
}

}  // namespace trailkit::detail
