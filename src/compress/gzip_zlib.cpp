// gzip through zlib: the best gzip ratio (~6.0 at level 6) when speed does not matter.
//
// zlib runs in raw-deflate mode (windowBits -15) and we write the gzip header and trailer
// ourselves, rather than windowBits 31 + deflateSetHeader: zlib ignores gz_header.xflags and
// writes XFL=4 at level 1 and XFL=2 at level 9, which would break the fixed kGzipHeader that
// every engine and level shares. The CRC-32 we compute is the one zlib's gzip mode would.

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <new>
#include <string>

#include "compress/compressor.hpp"

namespace trailkit::detail {
namespace {

constexpr std::size_t kOutSlice = std::size_t(128) << 10;  // see gzip_isal.cpp
constexpr std::size_t kMaxInPiece = std::size_t(1) << 30;  // z_stream counts in uInt

class ZlibGzipCompressor final : public Compressor {
 public:
  explicit ZlibGzipCompressor(int level) {
    // memLevel 8 and the default strategy are what `gzip -N` uses; memory is ~256 KB, once.
    if (deflateInit2(&stream_, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::bad_alloc();
  }
  ~ZlibGzipCompressor() override { deflateEnd(&stream_); }
  ZlibGzipCompressor(const ZlibGzipCompressor&) = delete;
  ZlibGzipCompressor& operator=(const ZlibGzipCompressor&) = delete;

  Status begin() noexcept override {
    if (const int code = deflateReset(&stream_); code != Z_OK) return zlib_error("deflateReset", code);
    crc_ = crc32_z(0, nullptr, 0);
    input_size_ = 0;
    open_ = true;
    header_pending_ = true;
    return Status::ok();
  }

  Status update(std::string_view input, JsonBuffer& out) noexcept override {
    if (!open_) return stream_not_open("gzip (zlib)", "update");
    write_header_once(out);
    const auto* bytes = reinterpret_cast<const Bytef*>(input.data());
    crc_ = crc32_z(crc_, bytes, input.size());
    input_size_ += input.size();
    while (!input.empty()) {
      const std::size_t piece = std::min(input.size(), kMaxInPiece);
      stream_.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(input.data()));
      stream_.avail_in = static_cast<uInt>(piece);
      // deflate() has consumed all input once it returns with output space left.
      do {
        const int code = deflate_slice(out, Z_NO_FLUSH);
        if (code != Z_OK && code != Z_BUF_ERROR) return zlib_error("deflate", code);
      } while (stream_.avail_out == 0);
      input.remove_prefix(piece);
    }
    return Status::ok();
  }

  Status finish(JsonBuffer& out) noexcept override {
    if (!open_) return stream_not_open("gzip (zlib)", "finish");
    open_ = false;
    write_header_once(out);
    stream_.next_in = nullptr;
    stream_.avail_in = 0;
    for (;;) {
      const int code = deflate_slice(out, Z_FINISH);
      if (code == Z_STREAM_END) break;
      if (code != Z_OK && code != Z_BUF_ERROR) return zlib_error("deflate", code);
    }
    // Trailer (RFC 1952): CRC-32, then ISIZE = input size mod 2^32, both little-endian.
    const std::uint32_t isize = static_cast<std::uint32_t>(input_size_);
    const std::uint32_t crc = static_cast<std::uint32_t>(crc_);
    unsigned char trailer[8];
    for (int i = 0; i < 4; ++i) {
      trailer[i] = static_cast<unsigned char>(crc >> (8 * i));
      trailer[4 + i] = static_cast<unsigned char>(isize >> (8 * i));
    }
    out.append(reinterpret_cast<const char*>(trailer), sizeof trailer);
    return Status::ok();
  }

  const char* suffix() const noexcept override { return ".json.gz"; }

 private:
  int deflate_slice(JsonBuffer& out, int flush) noexcept {
    stream_.next_out = reinterpret_cast<Bytef*>(out.prepare(kOutSlice));
    stream_.avail_out = static_cast<uInt>(kOutSlice);
    const int code = deflate(&stream_, flush);
    out.commit(kOutSlice - stream_.avail_out);
    return code;
  }

  void write_header_once(JsonBuffer& out) noexcept {
    if (!header_pending_) return;
    append_gzip_header(out);
    header_pending_ = false;
  }

  static Status zlib_error(const char* call, int code) {
    return Status::error(ErrorKind::kPermanent, std::string("zlib ") + call + " failed with code " + std::to_string(code));
  }

  z_stream stream_{};
  uLong crc_ = 0;
  std::uint64_t input_size_ = 0;
  bool open_ = false;
  bool header_pending_ = false;
};

}  // namespace

std::unique_ptr<Compressor> make_zlib_gzip_compressor(int level) {
  return std::make_unique<ZlibGzipCompressor>(level);
}

}  // namespace trailkit::detail
