#include "common/error_reporter.hpp"

#include <cstdio>

namespace trailkit::detail {

ErrorReporter::ErrorReporter(std::function<void(const ErrorReport&)> handler, std::uint32_t per_minute,
                             const Clock& clock)
    : handler_(handler ? std::move(handler) : &ErrorReporter::print_to_stderr), per_minute_(per_minute),
      clock_(clock) {}

void ErrorReporter::report(ErrorKind kind, const std::string& component, std::string message) {
  ++total_;
  constexpr std::int64_t kMinuteNs = 60'000'000'000;
  Budget& budget = budgets_[component];
  const std::int64_t now = clock_.monotonic_now_ns();
  if (now - budget.window_start_ns >= kMinuteNs || budget.window_start_ns == 0) {
    budget.window_start_ns = now;
    budget.used = 0;
  }
  if (budget.used >= per_minute_) {
    ++budget.suppressed;
    return;
  }
  ++budget.used;
  ErrorReport report{kind, component, std::move(message), budget.suppressed};
  budget.suppressed = 0;
  try {
    handler_(report);
  } catch (...) {
    // A throwing user handler must not take the worker down (STYLE.md habit 4).
  }
}

void ErrorReporter::print_to_stderr(const ErrorReport& report) {
  if (report.suppressed != 0) {
    std::fprintf(stderr, "trailkit: %s: %s (%llu similar reports suppressed)\n", report.component.c_str(),
                 report.message.c_str(), static_cast<unsigned long long>(report.suppressed));
  } else {
    std::fprintf(stderr, "trailkit: %s: %s\n", report.component.c_str(), report.message.c_str());
  }
}

}  // namespace trailkit::detail
