#include "compress/compressor.hpp"

#include <stdexcept>
#include <string>

namespace trailkit {

void CompressionOptions::validate() const {
  const auto level_error = [this](const char* rule) {
    return std::invalid_argument("compression.level " + std::to_string(level) + ": " + rule);
  };
  if (threads < 0 || threads > 8) {
    throw std::invalid_argument("compression.threads " + std::to_string(threads) + ": must be 0..8");
  }
  if (threads != 0 && codec != Compression::kZstd) {
    throw std::invalid_argument("compression.threads " + std::to_string(threads) +
                                ": only zstd compresses on extra threads (gzip: leave it 0)");
  }
  switch (codec) {
    case Compression::kGzip:
      switch (gzip_engine) {
        case GzipEngine::kIsal:
          if (level != -1 && (level < 0 || level > 3)) throw level_error("ISA-L gzip levels are 0..3 (-1 = default 1)");
          return;
        case GzipEngine::kZlib:
          if (level != -1 && (level < 1 || level > 9)) throw level_error("zlib gzip levels are 1..9 (-1 = default 6)");
          return;
      }
      throw std::invalid_argument("compression.gzip_engine " + std::to_string(static_cast<int>(gzip_engine)) +
                                  ": must be GzipEngine::kIsal or GzipEngine::kZlib");
    case Compression::kZstd:
      if (level != -1 && (level < 1 || level > 19)) throw level_error("zstd levels are 1..19 (-1 = default 1)");
      return;
  }
  throw std::invalid_argument("compression.codec " + std::to_string(static_cast<int>(codec)) +
                              ": must be Compression::kGzip or Compression::kZstd");
}

Compression parse_compression(const std::string& name) {
  if (name == "gzip") return Compression::kGzip;
  if (name == "zstd") return Compression::kZstd;
  throw std::invalid_argument("compression \"" + name + "\": must be \"gzip\" or \"zstd\"");
}

namespace detail {

int resolved_level(const CompressionOptions& options) noexcept {
  if (options.level != -1) return options.level;
  if (options.codec == Compression::kZstd) return 1;
  return options.gzip_engine == GzipEngine::kZlib ? 6 : 1;
}

Status stream_not_open(const char* codec, const char* call) {
  return Status::error(ErrorKind::kInvalidArgument, std::string(codec) + " " + call + "() without begin()");
}

std::unique_ptr<Compressor> make_compressor(const CompressionOptions& options) {
  options.validate();
  const int level = resolved_level(options);
  if (options.codec == Compression::kZstd) return make_zstd_compressor(level, options.threads);
  if (options.gzip_engine == GzipEngine::kZlib) return make_zlib_gzip_compressor(level);
  return make_isal_gzip_compressor(level);
}

}  // namespace detail
}  // namespace trailkit
