#pragma once
// MpscRing — the `buffer` stage: a bounded, lock-free, many-producer / one-consumer ring of
// variable-length byte records. Modelled on Aeron/Agrona's ManyToOneRingBuffer.
//
// Layout. One power-of-two byte array, allocated and zeroed once in the constructor (bounded
// memory is a product promise; zeroing up front also pre-faults every page, so the hot path never
// takes a page fault). Each record is 8-byte aligned and starts with an 8-byte header:
//
//   int32 length  total record length including the header, unaligned; 0 = "not committed yet"
//   int32 type    kDataRecord or kPaddingRecord
//
// A record that would cross the end of the array is preceded by a padding record that fills the
// end, so every record the consumer sees is contiguous.
//
// Protocol. A producer reserves `align8(header + size)` bytes (plus padding on wrap) with one CAS
// on the shared tail, writes its payload in place, then publishes by a release-store of `length`.
// The consumer reads records in position order and stops at the first header whose length is
// still 0; after handing a record to its callback it zeroes the record's bytes, which is what makes
// "length 0" mean "not committed" again on the next lap (zeroing only headers is not enough: a
// later lap's header can land in the middle of an earlier lap's payload). Consumed space is handed
// back by a release-store of the head, which producers acquire before writing over it.
//
// Positions are monotonic byte counts (never wrap in practice: 2^62 bytes); index = position & mask.
// The tail word's top bit is the "closed" flag, so the reserving CAS itself observes close().
//
// Hot window. A ring that always runs its whole array writes every record into lines last touched
// a full lap (megabytes) ago, long gone from the producer's L2: each ~1 KB emit then pays ~16
// cache misses. So when a drain leaves the ring empty with the head at or past `hot_window` bytes
// into the array, the consumer rebases: it moves tail and head together to the start of the next
// lap (the skipped bytes are free and already zero, so no record marks them). Producers then write
// into the low, recently used lines again, while the whole capacity stays available for bursts.
// The rebase is lock-free: the consumer sets tail = next lap | kRebaseBit (only from "empty": tail
// == head, so no reservation is in flight), then moves head; a producer that meets the bit
// completes the same two steps itself instead of waiting for the consumer.
//
// A reserved but not yet committed record blocks every later record from being drained until it is
// committed: producers must commit every successful reservation promptly (and never fail between
// try_reserve and commit), or the shard stalls.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace trailkit::detail {

class MpscRing {
 public:
  /// Smallest ring; also the rounding floor for `capacity_bytes`.
  static constexpr std::size_t kMinCapacity = 4096;
  /// Largest ring: keeps every record and padding length representable in the int32 header.
  static constexpr std::size_t kMaxCapacity = std::size_t{1} << 33;
  /// Bytes of header in front of every record.
  static constexpr std::uint32_t kHeaderSize = 8;
  /// Every record starts on this boundary (the header's int32 fields stay naturally aligned).
  static constexpr std::uint32_t kRecordAlignment = 8;

  /// Default hot window: half the L2 of the smaller current server cores (1 MiB on Zen 4 and
  /// Skylake-SP, 2 MiB on Sapphire Rapids), so one shard's working set stays in its producer's L2.
  /// On this project's 2 MiB-L2 bench host 512 KiB and 1 MiB gave the same p99 emit latency, 256 KiB
  /// a worse one (bench/RESULTS.md).
  static constexpr std::size_t kDefaultHotWindow = std::size_t{512} << 10;

  /// Setup only. Allocates and zeroes `capacity_bytes` rounded up to a power of two (minimum 4 KiB).
  /// An empty ring whose head is `hot_window_bytes` or more into the array is rebased to its start
  /// (see "Hot window" above); a window of capacity() or more turns rebasing off.
  /// Throws std::length_error above kMaxCapacity and std::bad_alloc if memory is unavailable.
  explicit MpscRing(std::size_t capacity_bytes, std::size_t hot_window_bytes = kDefaultHotWindow);
  ~MpscRing();
  MpscRing(const MpscRing&) = delete;
  MpscRing& operator=(const MpscRing&) = delete;

  /// Thread-safe (immutable after construction). Size of the byte array.
  std::size_t capacity() const noexcept { return capacity_; }
  /// Thread-safe (immutable). The hot window (capacity() when rebasing is off).
  std::size_t hot_window() const noexcept { return hot_window_; }
  /// Thread-safe (immutable). Largest payload try_reserve accepts: capacity()/8. Keeping records
  /// small relative to the ring means a wrap never wastes more than 1/8 of it in padding.
  std::size_t max_record_size() const noexcept { return max_record_size_; }

  enum class ReserveStatus {
    kOk,        ///< `out` describes the reserved payload; commit() it.
    kFull,      ///< Not enough contiguous free space right now. Nothing reserved; retry or drop.
    kClosed,    ///< close() was called. Nothing reserved; never succeeds again.
    kTooLarge,  ///< size > max_record_size(). Nothing reserved; never succeeds for this size.
  };

  struct Reservation {
    char* data = nullptr;         ///< `size` writable payload bytes, owned by the reserver until commit().
    std::uint64_t position = 0;   ///< Ring position of the record's header (monotonic, in bytes).
    std::uint32_t size = 0;       ///< Payload bytes reserved.
  };

  /// Thread-safe: any number of producer threads, concurrently with drain() and close().
  /// Reserves `size` payload bytes (size 0 is accepted and drains as an empty record).
  /// Never blocks, allocates, throws or makes a syscall: kFull returns at once and the caller owns
  /// the blocking/dropping policy. kTooLarge is checked first, then kClosed, then space.
  /// Lock-free, not wait-free: a producer retries its CAS only when another producer's CAS won.
  ReserveStatus try_reserve(std::uint32_t size, Reservation& out) noexcept {
    if (size > max_record_size_) return ReserveStatus::kTooLarge;
    const std::uint64_t record_length = align_up(std::uint64_t{kHeaderSize} + size);

    // relaxed: the tail value only selects which bytes we claim; exclusivity comes from the CAS
    // being a single RMW in tail_'s modification order, not from any ordering with other data.
    std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    std::uint64_t padding = 0;
    std::uint64_t head = 0;
    for (;;) {
      if ((tail & kFlagBits) != 0) {
        if ((tail & kClosedBit) != 0) return ReserveStatus::kClosed;
        help_rebase(tail);  // the consumer is rebasing the empty ring: finish it rather than wait
        continue;
      }
      const std::uint64_t to_end = capacity_ - (tail & mask_);
      padding = record_length > to_end ? to_end : 0;
      const std::uint64_t needed = tail + padding + record_length;  // end position of the claim
      // acquire: head_cache_ is only ever stored (release) by a producer that acquired the same
      // value from head_, so this chain makes the consumer's zeroing of every byte below that head
      // happen-before our writes into those bytes.
      head = head_cache_.load(std::memory_order_acquire);
      if (needed - head > capacity_) {
        // The cached head says "full": only now touch the consumer's cache line.
        // acquire: pairs with the consumer's release-store in publish_head(); see above.
        head = head_.load(std::memory_order_acquire);
        if (head > tail) {
          // Our relaxed tail load is older than a head the consumer already passed: not "full",
          // just stale. Reload instead of reporting a spurious kFull.
          tail = tail_.load(std::memory_order_relaxed);
          continue;
        }
        if (needed - head > capacity_) return ReserveStatus::kFull;
        // release: lets the producers that read this cached value inherit our acquire of head_.
        head_cache_.store(head, std::memory_order_release);
      }
      // relaxed on success and failure: see the tail load above. A failed CAS reloads `tail`
      // (including a freshly set closed bit, which is why close() cannot be slipped past).
      if (tail_.compare_exchange_weak(tail, needed, std::memory_order_relaxed,
                                      std::memory_order_relaxed)) {
        break;
      }
    }

    std::uint64_t position = tail;
    if (padding != 0) {
      // Publish the padding record at once: the consumer must be able to skip it even if this
      // producer is descheduled before committing its own record.
      char* pad = buffer_ + (position & mask_);
      store_type(pad, kPaddingRecord);
      // release: orders the type store above before the length becomes visible (consumer acquires).
      header_length(pad).store(static_cast<std::int32_t>(padding), std::memory_order_release);
      position += padding;
    }
    char* record = buffer_ + (position & mask_);
    store_type(record, kDataRecord);  // published by commit()'s release-store
    prefetch_next(position + record_length, head);
    out.data = record + kHeaderSize;
    out.position = position;
    out.size = size;
    return ReserveStatus::kOk;
  }

  /// Thread-safe: called once, by the thread that got `reservation` from a kOk try_reserve, after it
  /// finished writing the payload (also valid after close()). Never blocks, allocates or throws.
  void commit(const Reservation& reservation) noexcept {
    char* record = reservation.data - kHeaderSize;
    // release: the payload bytes (and the type field) written before this store are visible to the
    // consumer once its acquire-load of this length reads non-zero.
    header_length(record).store(static_cast<std::int32_t>(kHeaderSize + reservation.size),
                                std::memory_order_release);
  }

  /// Consumer thread only (one thread at a time). Calls fn(const char* data, std::uint32_t size) for
  /// up to `max_records` committed records in reservation order, in place (`data` valid only during
  /// the call), zeroes them and releases their space to producers. Stops at the first record that
  /// is reserved but not committed. Returns the number of records passed to fn. Never allocates.
  /// One call visits at most capacity() bytes, so it returns even while producers keep up.
  /// If fn throws, the records before it and the throwing record itself count as consumed
  /// (released) and the exception propagates.
  template <class F>
  std::size_t drain(F&& fn, std::size_t max_records = SIZE_MAX) noexcept(noexcept(fn(nullptr, 0u))) {
    // Only this thread stores head_, except helpers completing one of this thread's rebases, which
    // it finished itself before returning: a relaxed read of the last value is exact.
    DrainCursor cursor(*this, head_.load(std::memory_order_relaxed));
    // Bound one call to one lap: head is released in steps, so busy producers could otherwise keep
    // a drain running forever.
    const std::uint64_t stop = cursor.position_ + capacity_;
    std::size_t count = 0;
    while (count < max_records && cursor.position_ < stop) {
      char* record = buffer_ + (cursor.position_ & mask_);
      // acquire: pairs with the producer's release-store in commit() (or of a padding header), so
      // the type field and payload written before it are visible below.
      const std::int32_t length = header_length(record).load(std::memory_order_acquire);
      if (length == 0) {  // not committed (or not even reserved) yet
        if ((cursor.position_ & mask_) >= hot_window_) {
          cursor.publish();
          rebase_if_empty(cursor.position_);
        }
        break;
      }
      const std::uint64_t record_length = align_up(static_cast<std::uint64_t>(length));
      const bool is_data = load_type(record) == kDataRecord;
      // Count the record as consumed before fn runs: a throwing fn must not wedge the ring.
      cursor.position_ += record_length;
      if (is_data) {
        ++count;
        fn(static_cast<const char*>(record + kHeaderSize),
           static_cast<std::uint32_t>(static_cast<std::uint32_t>(length) - kHeaderSize));
      }
      cursor.release_consumed();
    }
    return count;
  }

  /// Thread-safe, idempotent. After it returns no try_reserve succeeds; records already reserved
  /// may still be committed and drained (a flush after close() sees everything reserved before it).
  void close() noexcept {
    // acq_rel: release so a thread that sees is_closed() also sees what the closer did before
    // closing (e.g. a shutdown flag); acquire so the closer's later reserved_position() read is
    // ordered after the close. The atomicity of fetch_or against the producers' CAS is what
    // guarantees no reservation slips past.
    tail_.fetch_or(kClosedBit, std::memory_order_acq_rel);
  }

  /// Thread-safe.
  bool is_closed() const noexcept {
    return (tail_.load(std::memory_order_acquire) & kClosedBit) != 0;  // pairs with close()
  }

  /// Thread-safe. Bytes ever reserved (monotonic; includes headers, alignment and padding). A flush
  /// barrier reads this, then drains until consumed_position() reaches it.
  std::uint64_t reserved_position() const noexcept {
    // acquire: cheap on every target we care about, and keeps a flusher's later reads ordered
    // after this snapshot.
    return tail_.load(std::memory_order_acquire) & ~kFlagBits;
  }

  /// Thread-safe. Bytes ever consumed (monotonic). Lags the records drain() has passed to fn by
  /// at most one drain call (head is released in steps and at the end of each drain()).
  std::uint64_t consumed_position() const noexcept {
    return head_.load(std::memory_order_acquire);  // pairs with publish_head()
  }

  /// Thread-safe. Bytes reserved and not yet released (a snapshot; exact only when quiescent).
  std::size_t used_bytes() const noexcept {
    std::uint64_t used = 0;
    for (int attempt = 0; attempt < 4; ++attempt) {
      // Head first: tail is monotonic and never behind head, so the difference cannot go negative.
      const std::uint64_t head = consumed_position();
      const std::uint64_t tail = tail_.load(std::memory_order_acquire);
      if ((tail & kRebaseBit) != 0) return 0;  // only an empty ring is rebased
      used = (tail & ~kFlagBits) - head;
      // A rebase between the two loads would count the bytes it skipped: read again.
      if (consumed_position() == head) break;
    }
    return static_cast<std::size_t>(std::min<std::uint64_t>(used, capacity_));
  }

 private:
  static constexpr std::int32_t kDataRecord = 1;
  static constexpr std::int32_t kPaddingRecord = -1;
  static constexpr std::uint64_t kClosedBit = std::uint64_t{1} << 63;
  static constexpr std::uint64_t kRebaseBit = std::uint64_t{1} << 62;  // set only while the ring is empty
  static constexpr std::uint64_t kFlagBits = kClosedBit | kRebaseBit;
  static constexpr std::uint64_t kRebaseLimit = std::uint64_t{1} << 61;
  // 64 B is the line size on x86-64 and most ARM cores; not hardware_destructive_interference_size,
  // whose value GCC warns may differ between translation units.
  static constexpr std::size_t kCacheLine = 64;

  static constexpr std::uint64_t align_up(std::uint64_t n) noexcept {
    return (n + kRecordAlignment - 1) & ~std::uint64_t{kRecordAlignment - 1};
  }
  static std::atomic_ref<std::int32_t> header_length(char* record) noexcept {
    // Records are 8-aligned inside a 64-aligned array, so the int32 is naturally aligned.
    return std::atomic_ref<std::int32_t>(*reinterpret_cast<std::int32_t*>(record));
  }
  // The type field is plain memory: written before, and read after, the length's release/acquire.
  static void store_type(char* record, std::int32_t type) noexcept {
    std::memcpy(record + 4, &type, sizeof type);
  }
  static std::int32_t load_type(const char* record) noexcept {
    std::int32_t type;
    std::memcpy(&type, record + 4, sizeof type);
    return type;
  }

  // Bytes past a reservation that try_reserve warms for writing: about one ~1 KB CloudTrail record.
  static constexpr std::uint64_t kPrefetchBytes = 1024;

  // Asks for the lines the next record will most likely be written to in exclusive state, so the
  // next reservation's stores hit this core's cache. Without it every emit pays the transfers of
  // ~16 lines that the consumer last wrote (it zeroes what it drains) on its own critical path;
  // with it they overlap with the rest of this emit and with the caller's work until the next one
  // (measured in bench/emit_bench: see bench/RESULTS.md). Only free space is touched: lines still
  // holding undrained records belong to the consumer, and pulling them away would slow it down.
  // `head` is a head value this producer acquired (it only grows, so the check stays safe).
  void prefetch_next(std::uint64_t from, std::uint64_t head) const noexcept {
    if (from + kPrefetchBytes - head > capacity_) return;
    const std::uint64_t first = from & ~std::uint64_t{kCacheLine - 1};
    const std::uint64_t end = from + kPrefetchBytes;
    if ((first & mask_) + kPrefetchBytes + kCacheLine <= capacity_) {
      // The common case, no wrap: fixed offsets from one pointer, unrolled (a sixth of the loop's
      // instructions). 16 lines always lie below `end`; a 17th when `from` is not line-aligned.
      const char* base = buffer_ + (first & mask_);
#pragma GCC unroll 16
      for (std::uint64_t k = 0; k < kPrefetchBytes; k += kCacheLine) prefetch_for_write(base + k);
      if (first + kPrefetchBytes < end) prefetch_for_write(base + kPrefetchBytes);
      return;
    }
    for (std::uint64_t p = first; p < end; p += kCacheLine) prefetch_for_write(buffer_ + (p & mask_));
  }

  static void prefetch_for_write(const char* line) noexcept {
#if defined(__x86_64__) && !defined(__PRFCHW__)
    // PREFETCHW by hand: a generic x86-64 build has no -mprfchw, so __builtin_prefetch(p, 1)
    // would become a read prefetch (a shared line, upgraded again by the store). The encoding is
    // a NOP on the few x86-64 cores without it.
    asm volatile("prefetchw %0" : : "m"(*line));
#else
    __builtin_prefetch(line, 1, 3);
#endif
  }

  // Consumer only, after a drain that consumed everything up to `head` and published it. If no
  // producer has reserved past it, jumps tail and head to the next lap's start (see "Hot window").
  void rebase_if_empty(std::uint64_t head) noexcept {
    // Each rebase skips up to a lap of position space. Positions must stay below the flag bits,
    // so rebasing stops at 2^61 (decades of real traffic, years even at the worker's top rate with
    // the largest ring); the ring then simply runs its whole array as before.
    if (head >= kRebaseLimit || !begin_rebase(head)) return;
    advance_head_for_rebase(next_lap_start(head));
    // Only the consumer sets the bit and its rebases do not overlap, so this clears our own
    // (leaving a closed bit that close() may have added meanwhile).
    tail_.fetch_and(~kRebaseBit, std::memory_order_relaxed);
  }

  // Step 1 of a rebase: tail = next lap | kRebaseBit, only if tail is still `head` (empty, open).
  bool begin_rebase(std::uint64_t head) noexcept {
    // Look before the CAS: a locked instruction takes the producers' line exclusively even when it
    // fails, and under load the ring is rarely empty.
    std::uint64_t expected = tail_.load(std::memory_order_relaxed);
    if (expected != head) return false;
    // relaxed: the CAS only claims the skipped bytes; what producers write after the rebase is
    // ordered after our zeroing by the head values they acquire, as for every other reservation.
    // A producer that reserved since our drain (or close()) makes it fail: then nothing changes.
    return tail_.compare_exchange_strong(expected, next_lap_start(head) | kRebaseBit,
                                         std::memory_order_relaxed, std::memory_order_relaxed);
  }

  std::uint64_t next_lap_start(std::uint64_t position) const noexcept { return (position | mask_) + 1; }

  // A producer found `tail` carrying kRebaseBit: moves head to the rebase target as the consumer
  // would, clears the bit if no later state replaced it, and reloads `tail` for the caller's loop.
  void help_rebase(std::uint64_t& tail) noexcept {
    advance_head_for_rebase(tail & ~kFlagBits);
    // On failure `tail` holds the current value (a closed bit added, or the consumer finished).
    if (tail_.compare_exchange_strong(tail, tail & ~kRebaseBit, std::memory_order_relaxed,
                                      std::memory_order_relaxed)) {
      tail &= ~kRebaseBit;
    }
  }

  // head_ = target unless it is already there or beyond (a late helper of an earlier rebase).
  // Between the CAS on tail and this, head_ still holds the position the ring emptied at, and
  // nobody but the consumer's drain() ever stores another value; so moving it is safe from any
  // thread, and the CAS keeps a stale helper from moving it back.
  void advance_head_for_rebase(std::uint64_t target) noexcept {
    // acquire/release: a producer that later acquires `target` from head_ must see the consumer's
    // zeroing below the old head, which this thread acquired with it.
    std::uint64_t head = head_.load(std::memory_order_acquire);
    while (head < target &&
           !head_.compare_exchange_weak(head, target, std::memory_order_acq_rel, std::memory_order_acquire)) {
    }
  }

  // Consumer-side bookkeeping for one drain() call. Zeroes each consumed record right after its
  // callback (while it is still in L1) and releases space in steps so producers are not starved
  // during a long drain; the destructor covers the last record and the early-exit/throw paths.
  struct DrainCursor {
    DrainCursor(MpscRing& ring, std::uint64_t head) noexcept
        : ring_(ring), position_(head), zeroed_(head), published_(head) {}
    ~DrainCursor() { publish(); }
    DrainCursor(const DrainCursor&) = delete;
    DrainCursor& operator=(const DrainCursor&) = delete;

    // Zeroes and releases everything consumed so far.
    void publish() noexcept {
      release_consumed();
      if (published_ != position_) {
        ring_.publish_head(position_);
        published_ = position_;
      }
    }

    void release_consumed() noexcept {
      if (zeroed_ != position_) {
        // [zeroed_, position_) is exactly one record (contiguous by construction, never wrapping).
        std::memset(ring_.buffer_ + (zeroed_ & ring_.mask_), 0,
                    static_cast<std::size_t>(position_ - zeroed_));
        zeroed_ = position_;
      }
      if (position_ - published_ >= ring_.release_step_) {
        ring_.publish_head(position_);
        published_ = position_;
      }
    }

    MpscRing& ring_;
    std::uint64_t position_;   // next record to read
    std::uint64_t zeroed_;     // bytes below this are zeroed
    std::uint64_t published_;  // last value stored to head_
  };

  void publish_head(std::uint64_t head) noexcept {
    // release: the memset zeroing of every byte below `head` happens-before any producer that
    // acquires this value (directly or via head_cache_) writes over those bytes, and a 0 length it
    // later reads there really means "not committed".
    head_.store(head, std::memory_order_release);
  }

  friend struct MpscRingTestPeer;  // tests stop a rebase after its first step

  // Read-only after construction; shared by everyone, so it may share lines with nothing hot.
  alignas(kCacheLine) char* buffer_ = nullptr;
  std::size_t capacity_ = 0;
  std::uint64_t mask_ = 0;
  std::size_t max_record_size_ = 0;
  std::uint64_t release_step_ = 0;  // consumer releases head at least every capacity/4 bytes
  std::uint64_t hot_window_ = 0;    // rebase an empty ring whose head index is at or past this

  // Producer line. head_cache_ sits beside tail_ on purpose: every reservation already owns this
  // line for the CAS, so reading the cached head costs no extra transfer, and it is written only
  // when the ring looks full. The consumer never touches this line.
  alignas(kCacheLine) std::atomic<std::uint64_t> tail_{0};  // position | kClosedBit
  std::atomic<std::uint64_t> head_cache_{0};                // some past value of head_

  // Consumer line: written by drain(), read by producers only when their cached head says "full".
  // No trailing padding needed: alignas makes sizeof(MpscRing) a multiple of 64, so nothing else
  // shares this line.
  alignas(kCacheLine) std::atomic<std::uint64_t> head_{0};
};

}  // namespace trailkit::detail
