#include "buffer/mpsc_ring.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/fast_random.hpp"

namespace trailkit::detail {

// Stops a rebase after its first step, as a consumer preempted there would leave it.
struct MpscRingTestPeer {
  static bool begin_rebase(MpscRing& ring, std::uint64_t head) { return ring.begin_rebase(head); }
  // An empty ring whose positions are `position` (a multiple of the capacity: index 0), as after
  // that many bytes of traffic.
  static void empty_at(MpscRing& ring, std::uint64_t position) {
    ring.tail_.store(position);
    ring.head_cache_.store(position);
    ring.head_.store(position);
  }
  static constexpr std::uint64_t kRebaseLimit = MpscRing::kRebaseLimit;
};

namespace {

using Status = MpscRing::ReserveStatus;

// Reserves, fills with `body` and commits; fails the test if the reservation is refused.
void put(MpscRing& ring, const std::string& body) {
  MpscRing::Reservation reservation;
  ASSERT_EQ(ring.try_reserve(static_cast<std::uint32_t>(body.size()), reservation), Status::kOk);
  ASSERT_EQ(reservation.size, body.size());
  std::memcpy(reservation.data, body.data(), body.size());
  ring.commit(reservation);
}

std::vector<std::string> drain_all(MpscRing& ring, std::size_t max_records = SIZE_MAX) {
  std::vector<std::string> records;
  ring.drain([&](const char* data, std::uint32_t size) { records.emplace_back(data, size); },
             max_records);
  return records;
}

std::string pattern(std::size_t size, std::uint64_t seed) {
  std::string body(size, '\0');
  for (std::size_t i = 0; i < size; ++i) body[i] = static_cast<char>((seed * 131 + i * 7) & 0xFF);
  return body;
}

TEST(MpscRingTest, CapacityIsRoundedUpToAPowerOfTwoWithA4KiBMinimum) {
  EXPECT_EQ(MpscRing(1).capacity(), 4096u);
  EXPECT_EQ(MpscRing(4096).capacity(), 4096u);
  EXPECT_EQ(MpscRing(5000).capacity(), 8192u);
  MpscRing ring(1 << 20);
  EXPECT_EQ(ring.capacity(), std::size_t{1} << 20);
  EXPECT_EQ(ring.max_record_size(), ring.capacity() / 8);
  EXPECT_THROW(MpscRing(MpscRing::kMaxCapacity + 1), std::length_error);
}

TEST(MpscRingTest, EmptyRingDrainsNothing) {
  MpscRing ring(4096);
  EXPECT_TRUE(drain_all(ring).empty());
  EXPECT_EQ(ring.used_bytes(), 0u);
  EXPECT_EQ(ring.reserved_position(), 0u);
  EXPECT_EQ(ring.consumed_position(), 0u);
}

TEST(MpscRingTest, VariedSizesSurviveManyWrapArounds) {
  MpscRing ring(4096);
  FastRandom random(42);
  std::deque<std::string> expected;
  std::uint64_t next_seed = 0;
  std::uint64_t padded_wraps = 0;
  std::uint64_t previous_end = 0;
  const std::uint32_t max_size = static_cast<std::uint32_t>(ring.max_record_size());
  for (int round = 0; round < 20000; ++round) {
    // Reserve a few records (as many as fit), then drain a random number of them.
    const int burst = static_cast<int>(random.next() % 8);
    for (int i = 0; i < burst; ++i) {
      const auto size = static_cast<std::uint32_t>(random.next() % (max_size + 1));  // 0..max
      MpscRing::Reservation reservation;
      const Status status = ring.try_reserve(size, reservation);
      if (status == Status::kFull) break;
      ASSERT_EQ(status, Status::kOk);
      ASSERT_EQ(reinterpret_cast<std::uintptr_t>(reservation.data) % 8, 0u);
      if (reservation.position != previous_end) {
        // A gap between records is a padding record, and it only ever fills the end of the array.
        ASSERT_EQ(reservation.position % ring.capacity(), 0u);
        ++padded_wraps;
      }
      previous_end = reservation.position + ((8 + size + 7) & ~std::uint64_t{7});
      expected.push_back(pattern(size, next_seed++));
      std::memcpy(reservation.data, expected.back().data(), size);
      ring.commit(reservation);
    }
    const std::size_t want = random.next() % 6;
    for (const std::string& record : drain_all(ring, want)) {
      ASSERT_FALSE(expected.empty());
      ASSERT_EQ(record, expected.front());
      expected.pop_front();
    }
    ASSERT_EQ(ring.used_bytes(), ring.reserved_position() - ring.consumed_position());
  }
  for (const std::string& record : drain_all(ring)) {
    ASSERT_EQ(record, expected.front());
    expected.pop_front();
  }
  EXPECT_TRUE(expected.empty());
  EXPECT_EQ(ring.used_bytes(), 0u);
  EXPECT_GT(ring.reserved_position() / ring.capacity(), 500u);  // many laps
  EXPECT_GT(padded_wraps, 200u);                                 // and many of them padded
}

TEST(MpscRingTest, FullExactlyWhenFullAndSpaceComesBackAfterDrain) {
  MpscRing ring(4096);
  // 56 payload bytes + 8 header = 64: exactly 64 records fill the ring.
  const std::string body = pattern(56, 1);
  for (int i = 0; i < 64; ++i) put(ring, body);
  EXPECT_EQ(ring.used_bytes(), 4096u);
  MpscRing::Reservation reservation;
  EXPECT_EQ(ring.try_reserve(0, reservation), Status::kFull);
  EXPECT_EQ(ring.try_reserve(56, reservation), Status::kFull);

  ASSERT_EQ(drain_all(ring, 1).size(), 1u);
  EXPECT_EQ(ring.used_bytes(), 4096u - 64u);
  put(ring, body);  // exactly the freed slot
  EXPECT_EQ(ring.try_reserve(0, reservation), Status::kFull);

  EXPECT_EQ(drain_all(ring).size(), 64u);
  EXPECT_EQ(ring.used_bytes(), 0u);
  for (int i = 0; i < 64; ++i) put(ring, body);
  EXPECT_EQ(ring.try_reserve(0, reservation), Status::kFull);
}

TEST(MpscRingTest, RecordNeedingToWrapIsFullUntilTheEndPaddingAlsoFits) {
  MpscRing ring(4096);
  const std::string body = pattern(56, 2);  // 64-byte records
  for (int i = 0; i < 63; ++i) put(ring, body);  // tail index 4032: 64 bytes left at the end
  ASSERT_EQ(drain_all(ring, 2).size(), 2u);       // 128 bytes free at the start: 192 free in all
  MpscRing::Reservation reservation;
  // A 136-byte record fits in 192 free bytes but not contiguously: 64 padding + 136 > 192.
  EXPECT_EQ(ring.try_reserve(128, reservation), Status::kFull);
  // A 128-byte record does: padding fills the end and the record lands at index 0.
  ASSERT_EQ(ring.try_reserve(120, reservation), Status::kOk);
  EXPECT_EQ(reservation.position, 4096u);
  EXPECT_EQ(ring.used_bytes(), 4096u);
  const std::string wrapped = pattern(120, 3);
  std::memcpy(reservation.data, wrapped.data(), wrapped.size());
  ring.commit(reservation);
  const std::vector<std::string> records = drain_all(ring);
  ASSERT_EQ(records.size(), 62u);  // the padding record is not handed to the callback
  EXPECT_EQ(records.back(), wrapped);
  EXPECT_EQ(ring.used_bytes(), 0u);
}

TEST(MpscRingTest, PayloadsAboveMaxRecordSizeAreRefused) {
  MpscRing ring(8192);
  MpscRing::Reservation reservation;
  const auto max = static_cast<std::uint32_t>(ring.max_record_size());
  EXPECT_EQ(ring.try_reserve(max + 1, reservation), Status::kTooLarge);
  EXPECT_EQ(ring.try_reserve(UINT32_MAX, reservation), Status::kTooLarge);
  EXPECT_EQ(ring.reserved_position(), 0u);  // nothing was reserved
  ASSERT_EQ(ring.try_reserve(max, reservation), Status::kOk);
  EXPECT_EQ(reservation.size, max);
  ring.commit(reservation);
  EXPECT_EQ(drain_all(ring).size(), 1u);
}

TEST(MpscRingTest, UncommittedRecordBlocksLaterCommittedRecords) {
  MpscRing ring(4096);
  MpscRing::Reservation first;
  MpscRing::Reservation second;
  ASSERT_EQ(ring.try_reserve(5, first), Status::kOk);
  ASSERT_EQ(ring.try_reserve(6, second), Status::kOk);
  std::memcpy(second.data, "second", 6);
  ring.commit(second);
  EXPECT_TRUE(drain_all(ring).empty());
  EXPECT_EQ(ring.consumed_position(), 0u);

  std::memcpy(first.data, "first", 5);
  ring.commit(first);
  const std::vector<std::string> records = drain_all(ring);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0], "first");
  EXPECT_EQ(records[1], "second");
}

TEST(MpscRingTest, UncommittedRecordAfterAWrapBlocksUntilCommitted) {
  MpscRing ring(4096);
  const std::string body = pattern(56, 4);
  for (int i = 0; i < 63; ++i) put(ring, body);
  ASSERT_EQ(drain_all(ring).size(), 63u);
  MpscRing::Reservation wrapped;
  ASSERT_EQ(ring.try_reserve(100, wrapped), Status::kOk);  // padding written, record at index 0
  put(ring, "after");
  EXPECT_TRUE(drain_all(ring).empty());
  EXPECT_EQ(ring.consumed_position(), 4096u);  // the padding record itself was consumed
  std::memset(wrapped.data, 'w', 100);
  ring.commit(wrapped);
  const std::vector<std::string> records = drain_all(ring);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0], std::string(100, 'w'));
  EXPECT_EQ(records[1], "after");
}

TEST(MpscRingTest, DrainStopsAtMaxRecords) {
  MpscRing ring(4096);
  for (int i = 0; i < 5; ++i) put(ring, std::to_string(i));
  std::vector<std::string> records = drain_all(ring, 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1], "1");
  EXPECT_EQ(drain_all(ring, 0).size(), 0u);
  records = drain_all(ring);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0], "2");
  EXPECT_EQ(ring.used_bytes(), 0u);
}

TEST(MpscRingTest, PositionsCountHeadersAndAlignment) {
  MpscRing ring(4096);
  put(ring, "abc");  // 8 + 3 -> 16
  put(ring, std::string(8, 'x'));  // 8 + 8 -> 16
  put(ring, "");  // 8
  EXPECT_EQ(ring.reserved_position(), 40u);
  EXPECT_EQ(ring.used_bytes(), 40u);
  const std::vector<std::string> records = drain_all(ring);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2], "");
  EXPECT_EQ(ring.consumed_position(), 40u);
  EXPECT_EQ(ring.used_bytes(), 0u);
}

// ---- hot window: an empty ring past it restarts at the array start ----

constexpr std::size_t kRing = 64 * 1024;
constexpr std::size_t kWindow = 4096;
const std::string kBody56(56, 'r');  // 64-byte records: 70 of them pass the 4 KiB window

char* reserve_and_commit(MpscRing& ring, const std::string& body, std::uint64_t* position = nullptr) {
  MpscRing::Reservation reservation;
  EXPECT_EQ(ring.try_reserve(static_cast<std::uint32_t>(body.size()), reservation), Status::kOk);
  if (reservation.data == nullptr) return nullptr;
  std::memcpy(reservation.data, body.data(), body.size());
  ring.commit(reservation);
  if (position != nullptr) *position = reservation.position;
  return reservation.data;
}

TEST(MpscRingTest, EmptyRingPastTheHotWindowRestartsAtTheArrayStartWithItsWholeCapacity) {
  MpscRing ring(kRing, kWindow);
  ASSERT_EQ(ring.hot_window(), kWindow);
  char* const array_start = reserve_and_commit(ring, kBody56);
  for (int i = 1; i < 70; ++i) put(ring, kBody56);
  ASSERT_EQ(drain_all(ring).size(), 70u);
  // Head and tail moved together to the next lap; the skipped bytes count as neither used nor lost.
  EXPECT_EQ(ring.consumed_position(), kRing);
  EXPECT_EQ(ring.reserved_position(), kRing);
  EXPECT_EQ(ring.used_bytes(), 0u);

  std::uint64_t position = 0;
  EXPECT_EQ(reserve_and_commit(ring, pattern(56, 0), &position), array_start);
  EXPECT_EQ(position, kRing);
  for (std::size_t i = 1; i < kRing / 64; ++i) put(ring, pattern(56, i));  // the whole array again
  MpscRing::Reservation refused;
  EXPECT_EQ(ring.try_reserve(56, refused), Status::kFull);
  const std::vector<std::string> records = drain_all(ring);
  ASSERT_EQ(records.size(), kRing / 64);
  for (std::size_t i = 0; i < records.size(); ++i) ASSERT_EQ(records[i], pattern(56, i)) << i;
}

TEST(MpscRingTest, RingInsideTheHotWindowOrNotEmptyOrClosedIsNotRebased) {
  {  // inside the window
    MpscRing ring(kRing, kWindow);
    for (int i = 0; i < 10; ++i) put(ring, kBody56);
    ASSERT_EQ(drain_all(ring).size(), 10u);
    EXPECT_EQ(ring.consumed_position(), 640u);
  }
  {  // a reservation in flight: its bytes cannot move, so neither can the tail
    MpscRing ring(kRing, kWindow);
    for (int i = 0; i < 70; ++i) put(ring, kBody56);
    MpscRing::Reservation pending;
    ASSERT_EQ(ring.try_reserve(56, pending), Status::kOk);
    ASSERT_EQ(drain_all(ring).size(), 70u);
    EXPECT_EQ(ring.consumed_position(), 70u * 64);
    EXPECT_EQ(ring.reserved_position(), 71u * 64);
    std::memcpy(pending.data, kBody56.data(), 56);
    ring.commit(pending);
    ASSERT_EQ(drain_all(ring).size(), 1u);
    EXPECT_EQ(ring.consumed_position(), kRing);  // rebased once it was empty
  }
  {  // records drained only up to max_records: not caught up, not rebased
    MpscRing ring(kRing, kWindow);
    for (int i = 0; i < 80; ++i) put(ring, kBody56);
    ASSERT_EQ(drain_all(ring, 75).size(), 75u);
    EXPECT_EQ(ring.consumed_position(), 75u * 64);
  }
  {  // closed: the flush barrier of shutdown must find the tail where close() left it
    MpscRing ring(kRing, kWindow);
    for (int i = 0; i < 70; ++i) put(ring, kBody56);
    ring.close();
    ASSERT_EQ(drain_all(ring).size(), 70u);
    EXPECT_EQ(ring.consumed_position(), 70u * 64);
    EXPECT_EQ(ring.reserved_position(), 70u * 64);
  }
  {  // the default window is larger than this ring: rebasing is off, positions run the array
    MpscRing ring(kRing);
    EXPECT_EQ(ring.hot_window(), kRing);
    for (int i = 0; i < 900; ++i) put(ring, kBody56);
    ASSERT_EQ(drain_all(ring).size(), 900u);
    EXPECT_EQ(ring.consumed_position(), 900u * 64);
  }
}

TEST(MpscRingTest, ProducerMeetingAnUnfinishedRebaseFinishesItInsteadOfWaiting) {
  MpscRing ring(kRing);  // rebasing off: only the test's first step happens
  char* const array_start = reserve_and_commit(ring, kBody56);
  for (int i = 1; i < 70; ++i) put(ring, kBody56);
  ASSERT_EQ(drain_all(ring).size(), 70u);
  EXPECT_FALSE(MpscRingTestPeer::begin_rebase(ring, 64));  // not where the ring emptied
  ASSERT_TRUE(MpscRingTestPeer::begin_rebase(ring, 70u * 64));
  // The consumer "stopped" after its first step: the tail moved, the head did not.
  EXPECT_EQ(ring.reserved_position(), kRing);
  EXPECT_EQ(ring.consumed_position(), 70u * 64);
  EXPECT_EQ(ring.used_bytes(), 0u);
  std::uint64_t position = 0;
  EXPECT_EQ(reserve_and_commit(ring, "next", &position), array_start);
  EXPECT_EQ(position, kRing);
  EXPECT_EQ(ring.consumed_position(), kRing);  // the producer moved the head
  EXPECT_EQ(ring.used_bytes(), 16u);
  const std::vector<std::string> records = drain_all(ring);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0], "next");
  ring.close();
  MpscRing::Reservation refused;
  EXPECT_EQ(ring.try_reserve(8, refused), Status::kClosed);
}

TEST(MpscRingTest, RebasingStopsBeforePositionsReachTheFlagBits) {
  MpscRing ring(kRing, kWindow);
  const std::uint64_t limit = MpscRingTestPeer::kRebaseLimit;
  MpscRingTestPeer::empty_at(ring, limit - kRing);
  for (int i = 0; i < 70; ++i) put(ring, kBody56);
  ASSERT_EQ(drain_all(ring).size(), 70u);
  EXPECT_EQ(ring.consumed_position(), limit);  // the last rebase
  for (int i = 0; i < 70; ++i) put(ring, pattern(56, i));
  const std::vector<std::string> records = drain_all(ring);
  ASSERT_EQ(records.size(), 70u);
  EXPECT_EQ(records[69], pattern(56, 69));
  EXPECT_EQ(ring.consumed_position(), limit + 70u * 64);  // from here on the ring runs its whole array
  EXPECT_EQ(ring.reserved_position(), limit + 70u * 64);
}

TEST(MpscRingTest, ReservationAfterCloseDuringAnUnfinishedRebaseIsRefused) {
  MpscRing ring(kRing);
  for (int i = 0; i < 70; ++i) put(ring, kBody56);
  ASSERT_EQ(drain_all(ring).size(), 70u);
  ASSERT_TRUE(MpscRingTestPeer::begin_rebase(ring, 70u * 64));
  ring.close();
  EXPECT_TRUE(ring.is_closed());
  MpscRing::Reservation refused;
  EXPECT_EQ(ring.try_reserve(8, refused), Status::kClosed);
  EXPECT_EQ(ring.reserved_position(), kRing);  // neither flag is part of the position
}

TEST(MpscRingTest, CloseRefusesNewReservationsButDrainsEarlierOnes) {
  MpscRing ring(4096);
  put(ring, "committed");
  MpscRing::Reservation in_flight;
  ASSERT_EQ(ring.try_reserve(9, in_flight), Status::kOk);
  const std::uint64_t reserved = ring.reserved_position();
  EXPECT_FALSE(ring.is_closed());

  ring.close();
  ring.close();  // idempotent
  EXPECT_TRUE(ring.is_closed());
  MpscRing::Reservation refused;
  EXPECT_EQ(ring.try_reserve(1, refused), Status::kClosed);
  EXPECT_EQ(ring.try_reserve(0, refused), Status::kClosed);
  EXPECT_EQ(ring.reserved_position(), reserved);  // the closed flag is not part of the position

  std::memcpy(in_flight.data, "in flight", 9);
  ring.commit(in_flight);  // still allowed after close
  const std::vector<std::string> records = drain_all(ring);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0], "committed");
  EXPECT_EQ(records[1], "in flight");
  EXPECT_EQ(ring.consumed_position(), ring.reserved_position());
  EXPECT_EQ(ring.used_bytes(), 0u);
}

TEST(MpscRingTest, ThrowingCallbackConsumesItsRecordAndPropagates) {
  MpscRing ring(4096);
  put(ring, "bad");
  put(ring, "good");
  EXPECT_THROW(ring.drain([](const char*, std::uint32_t) { throw std::runtime_error("x"); }),
               std::runtime_error);
  EXPECT_EQ(ring.consumed_position(), 16u);  // "bad" released, the ring is not wedged
  const std::vector<std::string> records = drain_all(ring);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0], "good");
}

// ---- Multi-producer stress ----------------------------------------------------------------------

// Each record: {u32 producer, u32 sequence, u32 body checksum, u32 body length} then 1..300 random
// body bytes. The consumer checks per-producer order, completeness and body integrity.
struct StressPrefix {
  std::uint32_t producer;
  std::uint32_t sequence;
  std::uint32_t checksum;
  std::uint32_t body_size;
};

std::uint32_t fnv1a(const char* data, std::size_t size) {
  std::uint32_t hash = 2166136261u;
  for (std::size_t i = 0; i < size; ++i) {
    hash = (hash ^ static_cast<unsigned char>(data[i])) * 16777619u;
  }
  return hash;
}

// Hot window: off (the whole array), 8 bytes (a rebase whenever a drain empties the ring, so
// producers keep meeting unfinished rebases) and 16 KiB.
class MpscRingStressTest : public testing::TestWithParam<std::size_t> {};

TEST_P(MpscRingStressTest, FourProducersKeepPerProducerOrderAndIntegrityUnderConstantWrap) {
  constexpr std::uint32_t kProducers = 4;
  constexpr std::uint32_t kPerProducer = 500'000;
  MpscRing ring(64 * 1024, GetParam());
  std::atomic<std::uint64_t> full_retries{0};
  std::atomic<bool> producer_failed{false};

  std::vector<std::thread> producers;
  for (std::uint32_t id = 0; id < kProducers; ++id) {
    producers.emplace_back([&ring, &full_retries, &producer_failed, id] {
      FastRandom random(1000 + id);
      std::array<char, 300> body;
      std::uint64_t my_full = 0;
      for (std::uint32_t sequence = 0; sequence < kPerProducer; ++sequence) {
        const auto body_size = static_cast<std::uint32_t>(1 + random.next() % 300);
        for (std::uint32_t i = 0; i < body_size; i += 8) {
          const std::uint64_t word = random.next();
          std::memcpy(body.data() + i, &word, std::min<std::uint32_t>(8, body_size - i));
        }
        const StressPrefix prefix{id, sequence, fnv1a(body.data(), body_size), body_size};
        MpscRing::Reservation reservation;
        Status status;
        while ((status = ring.try_reserve(sizeof prefix + body_size, reservation)) == Status::kFull) {
          ++my_full;
          std::this_thread::yield();  // 2 cores, 5 threads: let the consumer run
        }
        if (status != Status::kOk) {  // would leave the consumer waiting forever
          producer_failed = true;
          return;
        }
        std::memcpy(reservation.data, &prefix, sizeof prefix);
        std::memcpy(reservation.data + sizeof prefix, body.data(), body_size);
        ring.commit(reservation);
      }
      full_retries.fetch_add(my_full, std::memory_order_relaxed);
    });
  }

  std::array<std::uint32_t, kProducers> next_sequence{};
  std::uint64_t received = 0;
  std::uint64_t failures = 0;
  const auto verify = [&](const char* data, std::uint32_t size) {
    StressPrefix prefix;
    if (size < sizeof prefix) {
      ++failures;
      return;
    }
    std::memcpy(&prefix, data, sizeof prefix);
    const bool ok = prefix.producer < kProducers &&
                    prefix.sequence == next_sequence[prefix.producer] &&
                    prefix.body_size == size - sizeof prefix &&
                    prefix.checksum == fnv1a(data + sizeof prefix, prefix.body_size);
    if (!ok) {
      ++failures;
      return;
    }
    ++next_sequence[prefix.producer];
    ++received;
  };
  while (received + failures < std::uint64_t{kProducers} * kPerProducer && failures == 0 &&
         !producer_failed) {
    if (ring.drain(verify) == 0) std::this_thread::yield();
  }
  for (std::thread& producer : producers) producer.join();

  ASSERT_FALSE(producer_failed);
  EXPECT_EQ(failures, 0u);
  for (std::uint32_t id = 0; id < kProducers; ++id) EXPECT_EQ(next_sequence[id], kPerProducer);
  EXPECT_EQ(ring.drain(verify), 0u);  // nothing extra
  EXPECT_EQ(ring.consumed_position(), ring.reserved_position());
  EXPECT_EQ(ring.used_bytes(), 0u);
  EXPECT_GT(full_retries.load(), 0u);                            // the ring really filled up
  EXPECT_GT(ring.reserved_position() / ring.capacity(), 1000u);  // and wrapped constantly
  std::printf("[ stress   ] %llu laps, %llu kFull retries\n",
              static_cast<unsigned long long>(ring.reserved_position() / ring.capacity()),
              static_cast<unsigned long long>(full_retries.load()));
}

INSTANTIATE_TEST_SUITE_P(HotWindow, MpscRingStressTest, testing::Values(SIZE_MAX, 8, 16 * 1024),
                         [](const testing::TestParamInfo<std::size_t>& param) {
                           return param.param == SIZE_MAX ? std::string("Off")
                                                          : std::to_string(param.param) + "B";
                         });

}  // namespace
}  // namespace trailkit::detail
