#pragma once
// The `compress` stage: one streaming compressor per log file, fed by the batch worker as the
// file's JSON grows, so no whole file is ever held uncompressed.
//
// CloudTrail rules followed here (cloudtrail-spec.md §0.8, §3.2):
//  - A gzip log file is exactly ONE gzip member, however many update() calls built it, because
//    `aws cloudtrail validate-logs` inflates only the first member and would hash a prefix.
//  - Output is deterministic so a retried file re-produces identical bytes: it is a pure function
//    of the input bytes and the options, whatever the update() cuts, instance or reuse. The gzip
//    header is always kGzipHeader (MTIME 0, no FNAME, XFL 0, OS 0 — CloudTrail's Java-made files
//    read as "from FAT filesystem").
//  - zstd (opt-in `.json.zst`) is one frame per file with the content checksum on.

#include <cstdint>
#include <memory>
#include <string_view>

#include "serialize/json_buffer.hpp"
#include "trailkit/compression.hpp"
#include "trailkit/status.hpp"

namespace trailkit::detail {

/// The 10-byte gzip member header every trailkit gzip file starts with: ID1 ID2, CM=8 (deflate),
/// FLG=0 (no FNAME/FEXTRA/FCOMMENT/FHCRC), MTIME=0, XFL=0, OS=0. Fixed bytes make the output a
/// pure function of the input (no clock, no file name), which retries rely on.
inline constexpr unsigned char kGzipHeader[10] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

/// One compressed stream per log file.
///
/// Thread contract: an instance is used by one worker thread at a time, never concurrently;
/// distinct instances are independent. Internal state is allocated once in the constructor and
/// reused by every begin(), so memory stays flat however many files or bytes pass through
/// (about 0.6 MB for ISA-L level 1, 0.3 MB for zlib, 1.4 MB for zstd level 1, 3.7 MB at 3).
/// Output is appended to the caller's buffer, which the caller drains after each call; the
/// compressor never holds more than its codec window plus one output chunk.
/// Calls return a Status and never throw (JsonBuffer growth aborts on out-of-memory).
class Compressor {
 public:
  virtual ~Compressor() = default;
  /// Starts a new stream (file), discarding any unfinished one. Writes nothing yet for zstd;
  /// the gzip header is emitted by the first update() or finish().
  virtual Status begin() noexcept = 0;
  /// Compresses `input` and appends whatever compressed bytes are ready to `out`. Empty input
  /// is allowed. Error (kInvalidArgument) if no stream is open.
  virtual Status update(std::string_view input, JsonBuffer& out) noexcept = 0;
  /// Flushes the rest and writes the trailer (gzip CRC-32 + ISIZE, zstd checksum); the stream is
  /// complete and a new begin() is needed. A stream with no input is a valid empty file.
  virtual Status finish(JsonBuffer& out) noexcept = 0;
  /// The file-name suffix: ".json.gz" or ".json.zst".
  virtual const char* suffix() const noexcept = 0;
};

/// Builds the compressor the options ask for. Calls options.validate(), so it throws
/// std::invalid_argument on bad options (setup time only), std::bad_alloc if a codec context
/// cannot be created. Thread-safe (no shared state).
std::unique_ptr<Compressor> make_compressor(const CompressionOptions& options);

// Per-codec factories behind make_compressor; `level` is already resolved and in range.
std::unique_ptr<Compressor> make_isal_gzip_compressor(int level);
std::unique_ptr<Compressor> make_zlib_gzip_compressor(int level);
std::unique_ptr<Compressor> make_zstd_compressor(int level, int threads = 0);

/// Appends kGzipHeader: how both gzip engines start a member.
inline void append_gzip_header(JsonBuffer& out) {
  out.append(reinterpret_cast<const char*>(kGzipHeader), sizeof kGzipHeader);
}

/// The error update()/finish() return outside begin()..finish(); `codec` names the compressor.
Status stream_not_open(const char* codec, const char* call);

/// The level `options.level` means once -1 (codec default) is resolved: ISA-L 1, zlib 6, zstd 1.
int resolved_level(const CompressionOptions& options) noexcept;

}  // namespace trailkit::detail
