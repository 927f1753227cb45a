// compress_bench: single-thread compression speed (MB/s of UNcompressed input, 1 MB = 10^6 B) and
// ratio of every codec the compress stage offers, over a synthetic CloudTrail corpus, against the
// naive baseline zlib level 6 (what a plain `gzip` writer would use).
//
// Our compressors run exactly as the batch worker drives them: one stream per file, fed 1 MiB
// pieces, output drained after every call. libdeflate is a whole-buffer reference only: it has
// no streaming API, so producing the ONE gzip member CloudTrail requires (spec §0.8) would mean
// holding the whole uncompressed file in memory; splitting into several members is not allowed.
//
// Corpus: the file named by env TRAILKIT_BENCH_CORPUS, else ~32 MB generated once by
// bench/gen_cloudtrail.py (performance.md Appendix B, seed 42) into /tmp and reused.
// A summary at the end lists each codec's speed as a multiple of zlib-6.

#include <benchmark/benchmark.h>
#include <libdeflate.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "compress/compressor.hpp"

namespace {

using trailkit::Compression;
using trailkit::CompressionOptions;
using trailkit::GzipEngine;

constexpr std::size_t kPiece = std::size_t(1) << 20;  // what the batch worker hands the compressor
constexpr const char* kBaseline = "gzip_zlib_l6_baseline";

std::string load_corpus() {
  std::string path;
  if (const char* env = std::getenv("TRAILKIT_BENCH_CORPUS"); env && *env) {
    path = env;
  } else {
    path = "/tmp/trailkit_bench_corpus_32MB_seed42.json";
    if (!std::filesystem::exists(path)) {
      const std::string generator =
          (std::filesystem::path(__FILE__).parent_path() / "gen_cloudtrail.py").string();
      const std::string command = "python3 '" + generator + "' '" + path + ".tmp' 32000000 42 >&2 && mv '" + path +
                                  ".tmp' '" + path + "'";
      std::fprintf(stderr, "generating corpus: %s\n", command.c_str());
      if (std::system(command.c_str()) != 0) {
        std::fprintf(stderr, "corpus generation failed; set TRAILKIT_BENCH_CORPUS to a CloudTrail JSON file\n");
        std::exit(1);
      }
    }
  }
  std::ifstream file(path, std::ios::binary);
  std::string corpus((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (corpus.empty()) {
    std::fprintf(stderr, "corpus %s is missing or empty\n", path.c_str());
    std::exit(1);
  }
  return corpus;
}

const std::string& corpus() {
  static const std::string text = load_corpus();
  return text;
}

void set_counters(benchmark::State& state, std::size_t input_bytes, std::size_t output_bytes) {
  state.counters["MB/s"] = benchmark::Counter(static_cast<double>(input_bytes) / 1e6,
                                              benchmark::Counter::kIsIterationInvariantRate);
  state.counters["ratio"] = static_cast<double>(input_bytes) / static_cast<double>(output_bytes);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input_bytes));
}

// Our streaming compressor, driven as the batch worker drives it.
void stream_compress(benchmark::State& state, Compression codec, GzipEngine engine, int level) {
  const std::string& input = corpus();
  CompressionOptions options;
  options.codec = codec;
  options.gzip_engine = engine;
  options.level = level;
  auto compressor = trailkit::detail::make_compressor(options);
  trailkit::detail::JsonBuffer out(std::size_t(2) << 20);
  std::size_t compressed = 0;
  for (auto _ : state) {
    compressed = 0;
    if (!compressor->begin()) state.SkipWithError("begin failed");
    for (std::size_t at = 0; at < input.size(); at += kPiece) {
      const std::string_view piece = std::string_view(input).substr(at, kPiece);
      if (!compressor->update(piece, out)) state.SkipWithError("update failed");
      compressed += out.size();
      benchmark::DoNotOptimize(out.data());
      out.clear();
    }
    if (!compressor->finish(out)) state.SkipWithError("finish failed");
    compressed += out.size();
    out.clear();
  }
  set_counters(state, input.size(), compressed);
}

// Whole-buffer reference (see the top comment for why it cannot be our gzip engine).
void libdeflate_whole_buffer(benchmark::State& state, int level) {
  const std::string& input = corpus();
  libdeflate_compressor* compressor = libdeflate_alloc_compressor(level);
  std::vector<char> out(libdeflate_gzip_compress_bound(compressor, input.size()));
  std::size_t compressed = 0;
  for (auto _ : state) {
    compressed = libdeflate_gzip_compress(compressor, input.data(), input.size(), out.data(), out.size());
    if (compressed == 0) state.SkipWithError("libdeflate_gzip_compress failed");
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, input.size(), compressed ? compressed : 1);
  libdeflate_free_compressor(compressor);
}

// Console output as usual, then one table: MB/s, ratio, and speed as a multiple of zlib-6
// (means over --benchmark_repetitions).
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      Row& row = row_for(run.benchmark_name());
      row.mb_per_s_sum += run.counters.at("MB/s").value;
      row.ratio = run.counters.at("ratio").value;
      ++row.runs;
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    double baseline = 0;
    for (const Row& row : rows_) {
      if (row.name == kBaseline) baseline = row.mb_per_s();
    }
    std::printf("\n%-34s %10s %7s %10s\n", "codec", "MB/s", "ratio", "x zlib-6");
    for (const Row& row : rows_) {
      std::printf("%-34s %10.1f %7.2f %10.2f\n", row.name.c_str(), row.mb_per_s(), row.ratio,
                  baseline > 0 ? row.mb_per_s() / baseline : 0.0);
    }
  }

 private:
  struct Row {
    std::string name;
    double mb_per_s_sum = 0;
    double ratio = 0;
    int runs = 0;
    double mb_per_s() const { return mb_per_s_sum / runs; }
  };
  Row& row_for(const std::string& name) {
    for (Row& row : rows_) {
      if (row.name == name) return row;
    }
    rows_.push_back(Row{name});
    return rows_.back();
  }
  std::vector<Row> rows_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::fprintf(stderr, "corpus: %zu bytes\n", corpus().size());
  const auto add = [](const std::string& name, auto function) {
    benchmark::RegisterBenchmark(name.c_str(), function)->Unit(benchmark::kMillisecond);
  };
  // The naive baseline first, so the console shows it before the codecs compared with it.
  add(kBaseline, [](benchmark::State& s) { stream_compress(s, Compression::kGzip, GzipEngine::kZlib, 6); });
  add("gzip_zlib_l1", [](benchmark::State& s) { stream_compress(s, Compression::kGzip, GzipEngine::kZlib, 1); });
  for (int level = 0; level <= 3; ++level) {
    add("gzip_isal_l" + std::to_string(level),
        [level](benchmark::State& s) { stream_compress(s, Compression::kGzip, GzipEngine::kIsal, level); });
  }
  add("zstd_l1", [](benchmark::State& s) { stream_compress(s, Compression::kZstd, GzipEngine::kIsal, 1); });
  add("zstd_l3", [](benchmark::State& s) { stream_compress(s, Compression::kZstd, GzipEngine::kIsal, 3); });
  add("gzip_libdeflate_l1_whole_buffer", [](benchmark::State& s) { libdeflate_whole_buffer(s, 1); });
  add("gzip_libdeflate_l6_whole_buffer", [](benchmark::State& s) { libdeflate_whole_buffer(s, 6); });
  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
