// history_extract_bench — what the history feeder pays per record to derive its lookup attributes
// (history_record_from_json), beside two baselines:
//   * Scanner: the hand-written single pass (src/history/history_record.cpp), into one reused
//     HistoryRecord as the feeder calls it; ScannerFresh: the optional-returning overload;
//   * ReferenceSax: the nlohmann SAX pass it replaced (tests/history/reference_history_record.hpp);
//   * NlohmannDom: the naive baseline, a DOM parse of the record (no field extraction at all).
// Issue #5's ingest gate (>= 200 k events/s on one thread) leaves this step ~1.2 µs per record.
//
// Records: 4,096 SimulatedService calls (seed 1) serialized by RecordFormatter (~1.3 KB compact
// JSON), as history_bench's corpus; items/s is records/s, bytes/s is JSON bytes/s.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../tests/history/reference_history_record.hpp"
#include "bench_support.hpp"
#include "serialize/record_formatter.hpp"
#include "trailkit/history.hpp"

namespace {

constexpr std::int64_t kNow = 1714550400;  // 2024-05-01T08:00:00Z
constexpr std::size_t kCorpusCalls = 4096;

const std::vector<std::string>& corpus_json() {
  static const std::vector<std::string> json = trailkit::bench::formatted_corpus(kCorpusCalls, kNow);
  return json;
}

// Runs `extract` over the corpus, one record per iteration, and reports records/s and bytes/s.
template <class Extract>
void run_over_corpus(benchmark::State& state, Extract extract) {
  const auto& corpus = corpus_json();
  std::size_t i = 0;
  std::int64_t bytes = 0;
  for (auto _ : state) {
    const std::string& json = corpus[i];
    benchmark::DoNotOptimize(extract(json));
    bytes += static_cast<std::int64_t>(json.size());
    if (++i == corpus.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(bytes);
}

void BM_Extract_Scanner(benchmark::State& state) {
  trailkit::HistoryRecord slot;  // reused, as the feeder reuses one per slot
  run_over_corpus(state, [&slot](const std::string& json) { return trailkit::history_record_from_json(json, slot); });
}
BENCHMARK(BM_Extract_Scanner);

void BM_Extract_ScannerFresh(benchmark::State& state) {
  run_over_corpus(state, [](const std::string& json) { return trailkit::history_record_from_json(json).has_value(); });
}
BENCHMARK(BM_Extract_ScannerFresh);

void BM_Extract_ReferenceSax(benchmark::State& state) {
  run_over_corpus(state, [](const std::string& json) {
    return trailkit::test::reference_history_record_from_json(json).has_value();
  });
}
BENCHMARK(BM_Extract_ReferenceSax);

void BM_Extract_NlohmannDom(benchmark::State& state) {
  run_over_corpus(state, [](const std::string& json) {
    return nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false).size();
  });
}
BENCHMARK(BM_Extract_NlohmannDom);

}  // namespace

BENCHMARK_MAIN();
