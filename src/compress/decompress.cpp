#include "compress/decompress.hpp"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>

namespace trailkit::detail {
namespace {

constexpr std::size_t kMaxInPiece = std::size_t(1) << 30;  // z_stream counts in uInt
constexpr std::size_t kMinSlice = std::size_t(64) << 10;

Status corrupt(std::string message) { return Status::error(ErrorKind::kInvalidArgument, std::move(message)); }

bool starts_with_gzip_magic(std::string_view bytes) noexcept {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f && static_cast<unsigned char>(bytes[1]) == 0x8b;
}

// Grows `out` geometrically and refuses to pass `max_output`: a slice never reaches beyond
// max_output + 1 bytes, so one byte too many is detected without inflating the rest of a bomb.
class StringSink {
 public:
  StringSink(std::string& out, std::size_t max_output) : out_(out), max_output_(max_output) { out_.clear(); }
  ~StringSink() { out_.resize(produced_); }
  StringSink(const StringSink&) = delete;
  StringSink& operator=(const StringSink&) = delete;

  std::size_t slice(char*& data) {
    const std::size_t limit = max_output_ == SIZE_MAX ? SIZE_MAX : max_output_ + 1;
    const std::size_t size = std::min({std::max(produced_, kMinSlice), limit - produced_, kMaxInPiece});
    if (out_.size() < produced_ + size) out_.resize(produced_ + size);
    data = out_.data() + produced_;
    return size;
  }
  void commit(std::size_t n) noexcept { produced_ += n; }
  bool over_limit() const noexcept { return produced_ > max_output_; }
  Status limit_error() const {
    return corrupt("decompressed size exceeds the limit of " + std::to_string(max_output_) + " bytes");
  }

 private:
  std::string& out_;
  std::size_t max_output_;
  std::size_t produced_ = 0;
};

// Inflates into a fixed scratch buffer and forgets the bytes (count_gzip_members).
class DiscardSink {
 public:
  std::size_t slice(char*& data) noexcept {
    data = scratch_.data();
    return scratch_.size();
  }
  void commit(std::size_t) noexcept {}
  bool over_limit() const noexcept { return false; }
  Status limit_error() const { return Status::ok(); }

 private:
  std::array<char, kMinSlice> scratch_;
};

struct InflateEnd {
  void operator()(z_stream* stream) const noexcept {
    inflateEnd(stream);
    delete stream;
  }
};

template <class Sink>
Status inflate_gzip(std::string_view compressed, Sink& sink, std::size_t& members) {
  members = 0;
  auto stream = std::make_unique<z_stream>();
  // 16 + MAX_WBITS: gzip wrapper only; zlib then checks each member's CRC-32 and ISIZE itself.
  if (inflateInit2(stream.get(), 16 + MAX_WBITS) != Z_OK) return corrupt("zlib inflateInit2 failed");
  std::unique_ptr<z_stream, InflateEnd> guard(stream.release());
  z_stream& z = *guard;
  std::size_t fed = 0;  // bytes of `compressed` handed to zlib so far
  for (;;) {
    if (z.avail_in == 0 && fed < compressed.size()) {
      const std::size_t piece = std::min(compressed.size() - fed, kMaxInPiece);
      z.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(compressed.data() + fed));
      z.avail_in = static_cast<uInt>(piece);
      fed += piece;
    }
    char* data = nullptr;
    const std::size_t size = sink.slice(data);
    z.next_out = reinterpret_cast<Bytef*>(data);
    z.avail_out = static_cast<uInt>(size);
    const int code = inflate(&z, Z_NO_FLUSH);
    sink.commit(size - z.avail_out);
    if (sink.over_limit()) return sink.limit_error();
    const std::size_t offset = fed - z.avail_in;  // first byte zlib has not consumed
    if (code == Z_STREAM_END) {
      ++members;
      if (offset == compressed.size()) return Status::ok();
      if (!starts_with_gzip_magic(compressed.substr(offset))) {
        return corrupt(std::to_string(compressed.size() - offset) + " bytes after gzip member " +
                       std::to_string(members) + " are not a gzip member (trailing garbage)");
      }
      inflateReset(&z);
      continue;
    }
    if (code == Z_OK) continue;
    if (code == Z_BUF_ERROR && z.avail_out == 0) continue;  // output slice full: take another
    if (code == Z_BUF_ERROR) {
      return corrupt("truncated gzip: member " + std::to_string(members + 1) + " ends early at byte " +
                     std::to_string(compressed.size()) + " (no deflate end / CRC-32 / ISIZE trailer)");
    }
    return corrupt("corrupt gzip member " + std::to_string(members + 1) + " near byte " + std::to_string(offset) +
                   ": " + (z.msg ? z.msg : "zlib error " + std::to_string(code)));
  }
}

struct DctxFree {
  void operator()(ZSTD_DCtx* context) const noexcept { ZSTD_freeDCtx(context); }
};

Status decompress_zstd(std::string_view compressed, StringSink& sink) {
  std::unique_ptr<ZSTD_DCtx, DctxFree> context(ZSTD_createDCtx());
  if (!context) return corrupt("ZSTD_createDCtx failed");
  ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
  for (;;) {
    char* data = nullptr;
    const std::size_t size = sink.slice(data);
    ZSTD_outBuffer out{data, size, 0};
    const std::size_t hint = ZSTD_decompressStream(context.get(), &out, &in);
    sink.commit(out.pos);
    if (ZSTD_isError(hint)) {
      return corrupt("corrupt zstd near byte " + std::to_string(in.pos) + ": " + ZSTD_getErrorName(hint));
    }
    if (sink.over_limit()) return sink.limit_error();
    // hint 0: a frame just ended (checksum verified); another may follow in the input.
    if (hint == 0 && in.pos == in.size) return Status::ok();
    if (in.pos == in.size && out.pos < out.size) {
      return corrupt("truncated zstd: frame ends early at byte " + std::to_string(compressed.size()));
    }
  }
}

}  // namespace

ContentEncoding detect_encoding(std::string_view bytes) noexcept {
  if (starts_with_gzip_magic(bytes)) return ContentEncoding::kGzip;
  if (bytes.size() >= 4 && static_cast<unsigned char>(bytes[0]) == 0x28 && static_cast<unsigned char>(bytes[1]) == 0xb5 &&
      static_cast<unsigned char>(bytes[2]) == 0x2f && static_cast<unsigned char>(bytes[3]) == 0xfd) {
    return ContentEncoding::kZstd;
  }
  return ContentEncoding::kUnknown;
}

Status decompress(std::string_view compressed, std::string& out, std::size_t max_output) {
  StringSink sink(out, max_output);
  switch (detect_encoding(compressed)) {
    case ContentEncoding::kGzip: {
      std::size_t members = 0;
      return inflate_gzip(compressed, sink, members);
    }
    case ContentEncoding::kZstd:
      return decompress_zstd(compressed, sink);
    case ContentEncoding::kUnknown:
      break;
  }
  return corrupt(compressed.empty() ? std::string("empty input: neither gzip nor zstd")
                                    : "unknown format: magic bytes are neither gzip (1f 8b) nor zstd (28 b5 2f fd)");
}

std::size_t count_gzip_members(std::string_view compressed) {
  if (!starts_with_gzip_magic(compressed)) return 0;
  auto sink = std::make_unique<DiscardSink>();
  std::size_t members = 0;
  (void)inflate_gzip(compressed, *sink, members);
  return members;
}

}  // namespace trailkit::detail
