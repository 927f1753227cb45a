#pragma once
// Compression options for sealed log files (the `compress` stage).

#include <string>

namespace trailkit {

/// Log-file codec. gzip is what CloudTrail writes and every consumer reads (`.json.gz`); zstd
/// (`.json.zst`) is ~1.6x smaller at similar speed for consumers that opt in.
enum class Compression { kGzip, kZstd };

/// Which library produces gzip. ISA-L level 1 is ~10x zlib level 6 at ratio ~4.6 vs ~6.0
/// (performance.md §C.2); zlib is there for the best gzip ratio when speed does not matter.
enum class GzipEngine { kIsal, kZlib };

/// Thread contract: plain value type, read once when the recorder is created.
struct CompressionOptions {
  Compression codec = Compression::kGzip;
  GzipEngine gzip_engine = GzipEngine::kIsal;
  /// Codec level; -1 means the codec default: ISA-L 1 (valid 0..3), zlib 6 (1..9), zstd 1 (1..19).
  int level = -1;
  /// zstd only: threads that compress beside the worker (libzstd's nbWorkers), 0..8. 0 (default)
  /// compresses on the worker and gives the same bytes for the same input; 1 lets the worker format
  /// the next records while a zstd thread compresses; 2+ split a file into jobs compressed in
  /// parallel. Each thread adds a few MB of job buffers. The output is one standard zstd frame
  /// either way (its bytes differ from the single-threaded ones; digests hash the uncompressed
  /// file, so they are unaffected).
  int threads = 0;

  /// Throws std::invalid_argument naming the field and the rule when a value is out of range.
  void validate() const;
  /// The file-name suffix: ".json.gz" or ".json.zst".
  const char* suffix() const noexcept { return codec == Compression::kZstd ? ".json.zst" : ".json.gz"; }
};

/// Parses "gzip" / "zstd" (as the CLI takes them). Throws std::invalid_argument otherwise.
Compression parse_compression(const std::string& name);

}  // namespace trailkit
