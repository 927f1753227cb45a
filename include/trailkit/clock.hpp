#pragma once
// trailkit::Clock — every reading of time goes through this interface so tests can script it.

#include <cstdint>
#include <memory>

namespace trailkit {

/// Source of wall-clock and monotonic time.
/// Thread contract: implementations must be thread-safe; `wall_now_ns` is called on emit threads
/// (only for events without an explicit eventTime) and on the worker.
class Clock {
 public:
  virtual ~Clock() = default;
  /// Nanoseconds since the Unix epoch (UTC). Used for eventTime and for object-key timestamps.
  virtual int64_t wall_now_ns() const noexcept = 0;
  /// Whole seconds since the Unix epoch, for eventTime on the emit path. The system clock answers
  /// from CLOCK_REALTIME_COARSE (a few ns instead of ~22 ns; it may trail by one kernel tick, a few
  /// milliseconds, which whole-second eventTimes tolerate).
  virtual int64_t wall_now_seconds() const noexcept { return wall_now_ns() / 1'000'000'000; }
  /// Monotonic nanoseconds from an arbitrary origin. Used for roll intervals and timeouts, so a
  /// wall-clock jump never stalls or bursts file rotation.
  virtual int64_t monotonic_now_ns() const noexcept = 0;
};

/// The system clock (CLOCK_REALTIME / CLOCK_MONOTONIC through std::chrono). Thread-safe.
std::shared_ptr<Clock> system_clock();

}  // namespace trailkit
