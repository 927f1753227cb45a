// emit_instructions — a fixed amount of emit() work for an instruction count under callgrind, which
// is repeatable on a noisy shared machine where timings are not (bench/RESULTS.md):
//
//   valgrind --tool=callgrind --callgrind-out-file=/tmp/emit.cg --toggle-collect='*emit_measured*' \
//       BUILD/bench/emit_instructions
//   callgrind_annotate /tmp/emit.cg | head -30      # total Ir / 10,000 = instructions per emit
//
// The corpus and options are emit_bench's hot latency run: 64 distinct ~1.3 KB events from
// SimulatedService, eventTime unset (emit reads the clock), drop policy. The worker sleeps through
// the measured loop (worker_idle_wait = 60 s), so nothing but emit() is counted.
#include <cstdio>

#include "bench_support.hpp"
#include "trailkit/recorder.hpp"

namespace {

constexpr std::size_t kWarmUp = 1'000;
constexpr std::size_t kMeasured = 10'000;

__attribute__((noinline)) std::size_t emit_loop(trailkit::Recorder& recorder,
                                                const std::vector<const trailkit::Event*>& events, std::size_t n) {
  std::size_t ok = 0;
  for (std::size_t i = 0; i < n; ++i) ok += recorder.emit(*events[i & 63]) == trailkit::EmitStatus::kOk;
  return ok;
}

// Two names for the same loop, so --toggle-collect can count the measured calls alone.
__attribute__((noinline)) std::size_t warm_up(trailkit::Recorder& r, const std::vector<const trailkit::Event*>& e) {
  return emit_loop(r, e, kWarmUp);
}
__attribute__((noinline)) std::size_t emit_measured(trailkit::Recorder& r,
                                                    const std::vector<const trailkit::Event*>& e) {
  return emit_loop(r, e, kMeasured);
}

}  // namespace

int main() {
  using namespace trailkit;
  RecorderOptions options;
  options.account_id = "111122223333";
  options.destination = std::make_shared<bench::NullDestination>();
  options.buffer_bytes = 64u << 20;  // holds all 11,000 events: none is dropped
  options.worker_idle_wait = std::chrono::seconds(60);
  options.roll_interval = std::chrono::seconds(60);
  auto recorder = Recorder::create(std::move(options));
  const auto owned = bench::make_corpus(64);
  const auto events = bench::event_pointers(owned);
  const std::size_t ok = warm_up(*recorder, events) + emit_measured(*recorder, events);
  recorder->shutdown(std::chrono::seconds(120));
  std::printf("emit_instructions: %zu of %zu emits accepted; %zu measured (divide callgrind's total Ir by it)\n", ok,
              kWarmUp + kMeasured, kMeasured);
  return ok == kWarmUp + kMeasured ? 0 : 1;
}
