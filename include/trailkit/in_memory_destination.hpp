#pragma once
// trailkit::InMemoryDestination — a real Destination that keeps objects in memory, with scripted
// faults. For tests of code that uses trailkit (and trailkit's own tests), like OpenTelemetry's
// InMemoryExporter: a component, not a mock.

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "trailkit/destination.hpp"

namespace trailkit {

/// Thread contract: Destination methods are called by the recorder's worker; every other method is
/// thread-safe and may be called from any thread at any time.
class InMemoryDestination final : public Destination {
 public:
  InMemoryDestination();
  ~InMemoryDestination() override;

  std::unique_ptr<ObjectWriter> begin_object(Status& status) noexcept override;
  std::string describe() const override { return "memory://"; }
  std::string bucket_name() const override { return "in-memory"; }

  /// Committed objects, key -> bytes exactly as written.
  std::map<std::string, std::string> objects() const;
  /// The metadata an object was committed with (empty when none or no such object).
  ObjectMetadata metadata(const std::string& key) const;
  std::size_t object_count() const;
  /// Objects begun and neither committed nor aborted yet.
  std::size_t open_writers() const;

  /// The next `count` write() calls fail with `kind` (nothing of them kept).
  void fail_writes(std::size_t count, ErrorKind kind = ErrorKind::kTransient);
  /// The next `count` commit() calls fail with `kind`.
  void fail_commits(std::size_t count, ErrorKind kind = ErrorKind::kTransient);
  /// While set, every begin/write/commit fails with kTransient (an outage).
  void set_unavailable(bool unavailable);
  /// Number of failures injected so far.
  std::size_t failures_injected() const;

 private:
  friend class InMemoryObjectWriter;
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace trailkit
