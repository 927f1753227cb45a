#pragma once
// Whole-object decompression for `trailkit cat`, the tests and the log-file validator.
// Reads what any CloudTrail consumer may hand us, not only what trailkit writes: gzip with any
// number of members (like gunzip) and zstd with any number of frames.

#include <cstddef>
#include <string>
#include <string_view>

#include "trailkit/status.hpp"

namespace trailkit::detail {

/// What a stored object is, told by its magic bytes (not by its name or Content-Encoding).
enum class ContentEncoding { kGzip, kZstd, kUnknown };

/// 1f 8b -> kGzip; 28 b5 2f fd -> kZstd; anything else (including empty) -> kUnknown.
/// Thread-safe (pure function).
ContentEncoding detect_encoding(std::string_view bytes) noexcept;

/// Replaces `out` with the decompressed content of a whole gzip object (all members, concatenated,
/// as gunzip does) or zstd object (all frames). Fails with kInvalidArgument, naming what is wrong,
/// on unknown magic, corruption (bad deflate data, CRC-32 / ISIZE / zstd checksum mismatch),
/// truncation, or bytes after the last member that are not another member. Output is capped at
/// `max_output` bytes (error beyond) so a zip bomb cannot exhaust memory. `out` holds the partial
/// output on error. Thread-safe (no shared state); allocates a codec context per call.
Status decompress(std::string_view compressed, std::string& out, std::size_t max_output = std::size_t(1) << 34);

/// Number of complete, valid gzip members at the start of `compressed`, counting up to the first
/// corrupt, truncated or non-gzip member (so 0 for non-gzip input). Output is inflated and
/// discarded in a small fixed buffer. For tests of the single-member rule (spec §0.8).
/// Thread-safe.
std::size_t count_gzip_members(std::string_view compressed);

}  // namespace trailkit::detail
