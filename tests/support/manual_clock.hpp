#pragma once
// ManualClock — a Clock that tests move by hand (roll intervals, key timestamps).
#include <atomic>

#include "trailkit/clock.hpp"

namespace trailkit::testing {

class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t wall_seconds) : wall_ns_(wall_seconds * 1'000'000'000), mono_ns_(1'000'000'000) {}
  int64_t wall_now_ns() const noexcept override { return wall_ns_.load(); }
  int64_t monotonic_now_ns() const noexcept override { return mono_ns_.load(); }
  void advance_seconds(std::int64_t seconds) {
    wall_ns_ += seconds * 1'000'000'000;
    mono_ns_ += seconds * 1'000'000'000;
  }

 private:
  std::atomic<std::int64_t> wall_ns_;
  std::atomic<std::int64_t> mono_ns_;
};

}  // namespace trailkit::testing
