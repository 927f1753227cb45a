// pipeline_bench — end-to-end events/s (issue #2 gates E3a/E3b of performance.md §E): one producer
// thread emits N pre-built SimulatedService events (4,096 distinct, cycled) into a Recorder with
// OverflowPolicy::kBlock (nothing may be dropped), roll interval 1 s, default max_file_bytes and
// buffer; the clock runs from the first emit until shutdown() returns, i.e. until every record is
// serialized, compressed and delivered. The worker is the single background core (the producer
// has the other one).
//
// Destinations: `null` (NullDestination: no I/O) and `local` (the real local-directory
// destination in a temp dir, fsync on, removed after each run). Codecs: gzip via ISA-L level 1
// (the default), zstd-1, and gzip via zlib-6 (CompressionOptions{kGzip, kZlib, 6}).
//
// `local_fsync_with_history` is the local destination with RecorderOptions::history on (SQLite in a
// state dir beside the trail): the log files' rate beside the same run without it.
//
// Counters: events_per_s, MB_per_s (JSON, Stats::bytes_uncompressed), ratio (uncompressed /
// compressed), events_per_s_at_1200B (rescaled by bytes to the 1.2 KB sizing record), files.
//
// Ceilings (same binary, same records): what ONE core can do at most with a codec on this
// machine. `compress_only` feeds the records' JSON, formatted once up front, to the compressor in
// the worker's 256 KiB pieces (no emit, no ring, no serializer). `decode_serialize_compress`
// decodes each record from emit()'s encoding (records back to back in one arena, as in a ring),
// formats it with the worker's RecordFormatter and compresses the same pieces: the worker's work
// minus the ring protocol and the file bookkeeping. A pipeline row can only reach its ceiling, so
// a gate above the compress_only row is out of reach for any design on this machine.
//
// Naive baseline (same binary): the producer builds nlohmann::ordered_json + dump() per event and
// pushes the string through a std::mutex + std::deque to a consumer thread that writes
// {"Records":[...]} through zlib level 6 gzip into one file, fsynced at the end.

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <deque>
#include <filesystem>
#include <mutex>

#include "bench_support.hpp"
#include "batch/batcher.hpp"
#include "compress/compressor.hpp"
#include "emit/event_codec.hpp"
#include "trailkit/recorder.hpp"

namespace {

using trailkit::Compression;
using trailkit::Event;
using trailkit::GzipEngine;
using namespace trailkit::bench;

constexpr std::size_t kCorpusSize = 4096;

const std::vector<const Event*>& events() {
  static const auto owned = make_corpus(kCorpusSize);
  static const auto pointers = event_pointers(owned);
  return pointers;
}

std::string make_temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "trailkit_pipeline_XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return {};
  return pattern;
}

void report(benchmark::State& state, double seconds, std::uint64_t events, std::uint64_t json_bytes,
            std::uint64_t compressed_bytes) {
  const double per_s = static_cast<double>(events) / seconds;
  const double record_bytes = static_cast<double>(json_bytes) / static_cast<double>(events);
  state.counters["events_per_s"] = per_s;
  state.counters["MB_per_s"] = static_cast<double>(json_bytes) / 1e6 / seconds;
  state.counters["ratio"] = static_cast<double>(json_bytes) / static_cast<double>(std::max<std::uint64_t>(1, compressed_bytes));
  state.counters["B_per_record"] = record_bytes;
  state.counters["events_per_s_at_1200B"] = per_s * record_bytes / 1200.0;
  state.SetItemsProcessed(static_cast<std::int64_t>(events));
}

struct PipelineConfig {
  Compression codec;
  GzipEngine engine;
  int level;
  bool local;
  std::size_t events;
  bool history = false;  // also feed the event history (state dir in the temp dir)
  int threads = 0;       // CompressionOptions::threads (zstd)
  bool history_low_priority = false;
};

void trailkit_pipeline(benchmark::State& state, PipelineConfig config) {
  const auto& evs = events();
  double seconds = 0;
  trailkit::Stats last;
  std::uint64_t not_ok = 0;
  for (auto _ : state) {
    const std::string dir = config.local ? make_temp_dir() : std::string();
    if (config.local && dir.empty()) {
      state.SkipWithError("mkdtemp failed");
      return;
    }
    trailkit::RecorderOptions options;
    options.account_id = "111122223333";
    options.compression = trailkit::CompressionOptions{config.codec, config.engine, config.level, config.threads};
    options.roll_interval = std::chrono::seconds(1);
    options.overflow_policy = trailkit::OverflowPolicy::kBlock;
    options.block_timeout = std::chrono::seconds(30);
    if (config.history) {
      options.state_dir = dir + "/state";
      options.history.enabled = true;
      options.history.low_priority = config.history_low_priority;
    }
    if (config.local) {
      options.local_directory.root = dir + "/trail";
      options.local_directory.fsync = true;
    } else {
      options.destination = std::make_shared<NullDestination>();
    }
    auto recorder = trailkit::Recorder::create(std::move(options));
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t n = 0; n < config.events; ++n) {
      not_ok += recorder->emit(*evs[n & (kCorpusSize - 1)]) == trailkit::EmitStatus::kOk ? 0 : 1;
    }
    const bool clean = recorder->shutdown(std::chrono::minutes(10));
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(elapsed);
    seconds += elapsed;
    last = recorder->stats();
    recorder.reset();
    if (config.local) std::filesystem::remove_all(dir);
    if (!clean || last.written != config.events) {
      state.SkipWithError("shutdown not clean or records missing");
      return;
    }
  }
  report(state, seconds / static_cast<double>(state.iterations()), config.events, last.bytes_uncompressed,
         last.bytes_compressed);
  state.counters["files"] = static_cast<double>(last.files_written);
  if (config.history) {
    state.counters["history_written"] = static_cast<double>(last.history_written);
    state.counters["history_dropped"] = static_cast<double>(last.history_dropped);
  }
  state.counters["not_ok"] = static_cast<double>(not_ok);
}

// ---- single-core ceilings ----

// Records carry a fixed eventTime, as emit() would have stamped it.
constexpr std::int64_t kCeilingEventTime = 1714550400;  // 2024-05-01T08:00:00Z

// The corpus as the worker formats it, each record followed by ','.
const std::vector<std::string>& formatted_records() {
  static const std::vector<std::string> records = [] {
    auto out = formatted_corpus(kCorpusSize, kCeilingEventTime);
    for (std::string& record : out) record.push_back(',');
    return out;
  }();
  return records;
}

constexpr std::size_t kPiece = trailkit::detail::Batcher::kChunkBytes;  // what the worker hands the compressor

// The corpus in the worker's input form: emit()'s encoding, records back to back in one arena
// (as in a ring), each decoded in place per use, as the worker does.
struct EncodedCorpus {
  std::vector<char> arena;
  std::vector<std::pair<std::size_t, std::size_t>> records;  // offset, size
};
const EncodedCorpus& encoded_corpus() {
  static const EncodedCorpus corpus = [] {
    trailkit::detail::EncodeLimits limits;
    std::fill(std::begin(limits.keep_bytes), std::end(limits.keep_bytes), UINT32_MAX);
    std::fill(std::begin(limits.omit_over), std::end(limits.omit_over), UINT32_MAX);
    limits.derive_fast_path();
    EncodedCorpus out;
    for (const Event* event : events()) {
      const auto plan = trailkit::detail::plan_encoding(*event, limits);
      const std::size_t offset = (out.arena.size() + 7) & ~std::size_t{7};
      out.arena.resize(offset + plan.size);
      trailkit::detail::encode_event(*event, plan, limits, kCeilingEventTime, out.arena.data() + offset);
      out.records.emplace_back(offset, plan.size);
    }
    return out;
  }();
  return corpus;
}

void ceiling(benchmark::State& state, Compression codec, GzipEngine engine, int level, std::size_t count,
             bool serialize) {
  const auto& records = formatted_records();
  const EncodedCorpus& encoded = encoded_corpus();
  auto compressor = trailkit::detail::make_compressor(trailkit::CompressionOptions{codec, engine, level});
  trailkit::detail::RecordFormatter formatter(trailkit::FieldLimits{}, "111122223333", "us-east-1");
  trailkit::detail::DecodedEvent decoded;
  std::vector<trailkit::Resource> resources;
  trailkit::detail::JsonBuffer piece(2 * kPiece);
  trailkit::detail::JsonBuffer compressed(std::size_t{4} << 20);
  std::uint64_t json_bytes = 0;
  std::uint64_t compressed_bytes = 0;
  double seconds = 0;
  bool ok = true;
  for (auto _ : state) {
    json_bytes = compressed_bytes = 0;
    const auto start = std::chrono::steady_clock::now();
    ok = ok && compressor->begin().is_ok();
    const auto drain = [&] {
      ok = ok && compressor->update({piece.data(), piece.size()}, compressed).is_ok();
      json_bytes += piece.size();
      piece.clear();
      compressed_bytes += compressed.size();
      compressed.clear();
    };
    for (std::size_t n = 0; n < count; ++n) {
      if (serialize) {
        const auto [offset, size] = encoded.records[n & (kCorpusSize - 1)];
        ok = ok && trailkit::detail::decode_event(encoded.arena.data() + offset, size, decoded, resources);
        formatter.format(decoded, piece);
        piece.push_back(',');
      } else {
        const std::string& record = records[n & (kCorpusSize - 1)];
        piece.append(record.data(), record.size());
      }
      if (piece.size() >= kPiece) drain();
    }
    drain();
    ok = ok && compressor->finish(compressed).is_ok();
    compressed_bytes += compressed.size();
    compressed.clear();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(elapsed);
    seconds += elapsed;
  }
  if (!ok) {
    state.SkipWithError("compressor failed");
    return;
  }
  report(state, seconds / static_cast<double>(state.iterations()), count, json_bytes, compressed_bytes);
}

// ---- naive baseline ----

class NaiveGzipFileWriter {
 public:
  explicit NaiveGzipFileWriter(const std::string& path) : out_(std::fopen(path.c_str(), "wb")), buffer_(256 * 1024) {
    deflateInit2(&z_, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);  // 15 + 16: gzip wrapper
    write("{\"Records\":[", Z_NO_FLUSH);
  }
  ~NaiveGzipFileWriter() {
    deflateEnd(&z_);
    if (out_ != nullptr) std::fclose(out_);
  }
  void record(const std::string& json) {
    if (records_++ != 0) write(",", Z_NO_FLUSH);
    write(json, Z_NO_FLUSH);
  }
  void finish() {
    write("]}", Z_FINISH);
    std::fflush(out_);
    fsync(fileno(out_));
  }
  std::uint64_t json_bytes() const { return json_bytes_; }
  std::uint64_t compressed_bytes() const { return compressed_bytes_; }

 private:
  void write(std::string_view bytes, int flush) {
    json_bytes_ += bytes.size();
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    z_.avail_in = static_cast<uInt>(bytes.size());
    do {
      z_.next_out = reinterpret_cast<Bytef*>(buffer_.data());
      z_.avail_out = static_cast<uInt>(buffer_.size());
      deflate(&z_, flush);
      const std::size_t produced = buffer_.size() - z_.avail_out;
      std::fwrite(buffer_.data(), 1, produced, out_);
      compressed_bytes_ += produced;
    } while (z_.avail_out == 0 || (flush == Z_FINISH && z_.avail_in != 0));
  }
  std::FILE* out_;
  std::vector<char> buffer_;
  z_stream z_{};
  std::uint64_t records_ = 0;
  std::uint64_t json_bytes_ = 0;
  std::uint64_t compressed_bytes_ = 0;
};

void naive_pipeline(benchmark::State& state, std::size_t count) {
  const auto& evs = events();
  double seconds = 0;
  std::uint64_t json_bytes = 0;
  std::uint64_t compressed_bytes = 0;
  for (auto _ : state) {
    const std::string dir = make_temp_dir();
    std::mutex mutex;
    std::deque<std::string> queue;
    std::atomic<bool> done{false};
    NaiveGzipFileWriter writer(dir + "/records.json.gz");
    const auto start = std::chrono::steady_clock::now();
    std::thread consumer([&] {
      std::deque<std::string> taken;
      for (;;) {
        {
          std::lock_guard lock(mutex);
          taken.swap(queue);
        }
        if (taken.empty()) {
          if (done.load(std::memory_order_acquire)) break;
          std::this_thread::sleep_for(std::chrono::microseconds(100));
          continue;
        }
        for (const std::string& s : taken) writer.record(s);
        taken.clear();
      }
      writer.finish();
    });
    for (std::size_t n = 0; n < count; ++n) {
      std::string json = naive_serialize(*evs[n & (kCorpusSize - 1)]);
      std::lock_guard lock(mutex);
      queue.push_back(std::move(json));
    }
    done.store(true, std::memory_order_release);
    consumer.join();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(elapsed);
    seconds += elapsed;
    json_bytes = writer.json_bytes();
    compressed_bytes = writer.compressed_bytes();
    std::filesystem::remove_all(dir);
  }
  report(state, seconds / static_cast<double>(state.iterations()), count, json_bytes, compressed_bytes);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // Event counts: ~4-5 s per run at the expected rates. TRAILKIT_BENCH_SCALE (e.g. 0.1) shrinks them.
  double scale = 1.0;
  if (const char* env = std::getenv("TRAILKIT_BENCH_SCALE"); env && *env) scale = std::atof(env);
  const auto scaled = [scale](double n) { return static_cast<std::size_t>(std::max(1000.0, n * scale)); };
  const auto add = [](const std::string& name, auto fn) {
    benchmark::RegisterBenchmark(name.c_str(), fn)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
  };
  add("pipeline/naive_baseline_nlohmann_zlib6_file",
      [n = scaled(100'000)](benchmark::State& s) { naive_pipeline(s, n); });
  struct Codec {
    const char* name;
    Compression codec;
    GzipEngine engine;
    int level;
    double events;
  };
  const Codec codecs[] = {{"gzip_isal1", Compression::kGzip, GzipEngine::kIsal, 1, 2'000'000},
                          {"zstd1", Compression::kZstd, GzipEngine::kIsal, 1, 2'000'000},
                          {"gzip_zlib6", Compression::kGzip, GzipEngine::kZlib, 6, 400'000}};
  for (const Codec& c : codecs) {
    for (const bool local : {false, true}) {
      const PipelineConfig config{c.codec, c.engine, c.level, local, scaled(c.events)};
      add(std::string("pipeline/trailkit/") + c.name + (local ? "/local_fsync" : "/null"),
          [config](benchmark::State& s) { trailkit_pipeline(s, config); });
    }
  }
  for (const Codec& c : codecs) {
    if (c.engine == GzipEngine::kZlib) continue;
    for (const bool serialize : {false, true}) {
      add(std::string("pipeline/ceiling/") + c.name + (serialize ? "/decode_serialize_compress" : "/compress_only"),
          [c, serialize, n = scaled(c.events)](benchmark::State& s) {
            ceiling(s, c.codec, c.engine, c.level, n, serialize);
          });
    }
  }
  // zstd with compression threads beside the worker (CompressionOptions::threads).
  for (const int threads : {1, 2}) {
    PipelineConfig config{Compression::kZstd, GzipEngine::kIsal, 1, false, scaled(2'000'000)};
    config.threads = threads;
    add("pipeline/trailkit/zstd1_threads" + std::to_string(threads) + "/null",
        [config](benchmark::State& s) { trailkit_pipeline(s, config); });
  }
  // The default configuration with the event history on (issue #5: the log files keep their
  // rate; what the history cannot take at this rate is counted in history_dropped, not waited for).
  for (const Codec& c : codecs) {
    if (c.engine != GzipEngine::kIsal || c.codec != Compression::kGzip) continue;
    PipelineConfig config{c.codec, c.engine, c.level, true, scaled(c.events)};
    config.history = true;
    add(std::string("pipeline/trailkit/") + c.name + "/local_fsync_with_history",
        [config](benchmark::State& s) { trailkit_pipeline(s, config); });
    config.history_low_priority = true;
    add(std::string("pipeline/trailkit/") + c.name + "/local_fsync_with_history_low_priority",
        [config](benchmark::State& s) { trailkit_pipeline(s, config); });
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
