// gzip through ISA-L igzip: ~10x zlib-6 at ratio ~4.6 (performance.md §C.2), the default engine.

#include <isa-l/igzip_lib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "compress/compressor.hpp"

namespace trailkit::detail {
namespace {

// ISA-L's output depends on how the input is cut into isal_deflate() calls (its block decisions
// follow avail_in), unlike zlib's and zstd's. So that a file is a pure function of its bytes --
// a retry that re-serializes the same records in different pieces must reproduce the same file --
// we always call isal_deflate() with exactly kChunk bytes: whole chunks straight from the
// caller's input, partial ones staged in a kChunk buffer until full (or until finish()).
constexpr std::size_t kChunk = std::size_t(256) << 10;
// Output slice: room for a whole chunk even if it expands, so one call usually suffices. The
// caller drains `out` after each call, so its capacity settles near one update()'s output.
constexpr std::size_t kOutSlice = kChunk + kChunk / 8;

std::uint32_t level_buffer_size(int level) noexcept {
  switch (level) {
    case 1: return ISAL_DEF_LVL1_DEFAULT;
    case 2: return ISAL_DEF_LVL2_DEFAULT;
    case 3: return ISAL_DEF_LVL3_DEFAULT;
    default: return ISAL_DEF_LVL0_DEFAULT;
  }
}

Status isal_error(const char* where, int code) {
  return Status::error(ErrorKind::kPermanent, std::string("ISA-L ") + where + " failed with code " + std::to_string(code));
}

class IsalGzipCompressor final : public Compressor {
 public:
  explicit IsalGzipCompressor(int level)
      : level_(static_cast<std::uint32_t>(level)),
        level_buffer_size_(level_buffer_size(level)),
        stream_(std::make_unique<isal_zstream>()),
        level_buffer_(level_buffer_size_ ? std::make_unique<std::uint8_t[]>(level_buffer_size_) : nullptr),
        staging_(std::make_unique<std::uint8_t[]>(kChunk)) {}

  Status begin() noexcept override {
    isal_deflate_init(stream_.get());  // clears every field, so set ours again
    stream_->level = level_;
    stream_->level_buf = level_buffer_.get();
    stream_->level_buf_size = level_buffer_size_;
    // We write kGzipHeader ourselves (isal's default header says OS=Unix); ISA-L adds the
    // CRC-32 + ISIZE trailer.
    stream_->gzip_flag = IGZIP_GZIP_NO_HDR;
    stream_->flush = NO_FLUSH;
    stream_->end_of_stream = 0;
    staged_ = 0;
    open_ = true;
    header_pending_ = true;
    return Status::ok();
  }

  Status update(std::string_view input, JsonBuffer& out) noexcept override {
    if (!open_) return stream_not_open("gzip (ISA-L)", "update");
    write_header_once(out);
    if (input.empty()) return Status::ok();
    if (staged_ > 0) {
      const std::size_t take = std::min(kChunk - staged_, input.size());
      std::memcpy(staging_.get() + staged_, input.data(), take);
      staged_ += take;
      input.remove_prefix(take);
      if (staged_ < kChunk) return Status::ok();
      staged_ = 0;
      if (Status status = deflate_chunk(staging_.get(), kChunk, out); !status) return status;
    }
    for (; input.size() >= kChunk; input.remove_prefix(kChunk)) {
      const auto* chunk = reinterpret_cast<const std::uint8_t*>(input.data());
      if (Status status = deflate_chunk(chunk, kChunk, out); !status) return status;
    }
    if (!input.empty()) std::memcpy(staging_.get(), input.data(), input.size());
    staged_ = input.size();
    return Status::ok();
  }

  Status finish(JsonBuffer& out) noexcept override {
    if (!open_) return stream_not_open("gzip (ISA-L)", "finish");
    open_ = false;
    write_header_once(out);
    stream_->next_in = staging_.get();
    stream_->avail_in = static_cast<std::uint32_t>(staged_);
    stream_->end_of_stream = 1;
    staged_ = 0;
    while (stream_->internal_state.state != ZSTATE_END) {
      if (Status status = deflate_slice(out); !status) return status;
    }
    return Status::ok();
  }

  const char* suffix() const noexcept override { return ".json.gz"; }

 private:
  // isal_deflate returns when the input is consumed or the output slice is full.
  Status deflate_chunk(const std::uint8_t* chunk, std::size_t size, JsonBuffer& out) noexcept {
    stream_->next_in = const_cast<std::uint8_t*>(chunk);
    stream_->avail_in = static_cast<std::uint32_t>(size);
    do {
      if (Status status = deflate_slice(out); !status) return status;
    } while (stream_->avail_in > 0 || stream_->avail_out == 0);
    return Status::ok();
  }

  Status deflate_slice(JsonBuffer& out) noexcept {
    stream_->next_out = reinterpret_cast<std::uint8_t*>(out.prepare(kOutSlice));
    stream_->avail_out = static_cast<std::uint32_t>(kOutSlice);
    const int code = isal_deflate(stream_.get());
    out.commit(kOutSlice - stream_->avail_out);
    return code == COMP_OK ? Status::ok() : isal_error("isal_deflate", code);
  }

  void write_header_once(JsonBuffer& out) noexcept {
    if (!header_pending_) return;
    append_gzip_header(out);
    header_pending_ = false;
  }


  std::uint32_t level_;
  std::uint32_t level_buffer_size_;
  std::unique_ptr<isal_zstream> stream_;  // ~80 KB of window and hash state: heap, allocated once
  std::unique_ptr<std::uint8_t[]> level_buffer_;
  std::unique_ptr<std::uint8_t[]> staging_;  // the partial chunk carried to the next call
  std::size_t staged_ = 0;
  bool open_ = false;
  bool header_pending_ = false;
};

}  // namespace

std::unique_ptr<Compressor> make_isal_gzip_compressor(int level) {
  return std::make_unique<IsalGzipCompressor>(level);
}

}  // namespace trailkit::detail
