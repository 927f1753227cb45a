#pragma once
// ErrorReporter — the rate-limited path of background failures to the user's handler (spdlog's
// rate-limited error handler: a failing disk must neither escape nor spam).
// Thread contract: worker thread only.

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "trailkit/clock.hpp"
#include "trailkit/recorder.hpp"

namespace trailkit::detail {

class ErrorReporter {
 public:
  ErrorReporter(std::function<void(const ErrorReport&)> handler, std::uint32_t per_minute, const Clock& clock);

  /// Passes the report on unless this component used its budget for the current minute; then
  /// counts it, and the next report that gets through carries the count in `suppressed`.
  void report(ErrorKind kind, const std::string& component, std::string message);

  std::uint64_t total_reported() const noexcept { return total_; }

  /// The default handler: one line on stderr.
  static void print_to_stderr(const ErrorReport& report);

 private:
  struct Budget {
    std::int64_t window_start_ns = 0;
    std::uint32_t used = 0;
    std::uint64_t suppressed = 0;
  };
  std::function<void(const ErrorReport&)> handler_;
  std::uint32_t per_minute_;
  const Clock& clock_;
  std::map<std::string, Budget> budgets_;
  std::uint64_t total_ = 0;
};

}  // namespace trailkit::detail
