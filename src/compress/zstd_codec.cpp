// zstd (`.json.zst`): ~1.6x the ratio of ISA-L gzip-1 at ~90 % of its speed (performance.md §C.2).

#include <zstd.h>

#include <cstddef>
#include <new>
#include <stdexcept>
#include <string>

#include "compress/compressor.hpp"

namespace trailkit::detail {
namespace {

class ZstdCompressor final : public Compressor {
 public:
  ZstdCompressor(int level, int threads) : context_(ZSTD_createCCtx()) {
    if (context_ == nullptr) throw std::bad_alloc();
    // Parameters are sticky across ZSTD_reset_session_only, so they are set once. The content
    // checksum lets `zstd -t` and decompress() detect corruption. nbWorkers 0 (the default) keeps
    // the compression on the calling worker and the output deterministic; with workers, input is
    // copied into zstd's job buffers and ZSTD_e_continue blocks only when they are all full.
    ZSTD_CCtx_setParameter(context_, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(context_, ZSTD_c_checksumFlag, 1);
    if (threads > 0) {
      const std::size_t code = ZSTD_CCtx_setParameter(context_, ZSTD_c_nbWorkers, threads);
      if (ZSTD_isError(code)) {
        ZSTD_freeCCtx(context_);
        throw std::invalid_argument(std::string("compression.threads ") + std::to_string(threads) +
                                    ": this libzstd cannot compress on threads (" + ZSTD_getErrorName(code) + ")");
      }
    }
  }
  ~ZstdCompressor() override { ZSTD_freeCCtx(context_); }
  ZstdCompressor(const ZstdCompressor&) = delete;
  ZstdCompressor& operator=(const ZstdCompressor&) = delete;

  Status begin() noexcept override {
    const std::size_t code = ZSTD_CCtx_reset(context_, ZSTD_reset_session_only);
    if (ZSTD_isError(code)) return zstd_error("ZSTD_CCtx_reset", code);
    open_ = true;
    return Status::ok();
  }

  Status update(std::string_view input, JsonBuffer& out) noexcept override {
    if (!open_) return stream_not_open("zstd", "update");
    ZSTD_inBuffer in{input.data(), input.size(), 0};
    // ZSTD_e_continue returns once all input is consumed into the context or written out.
    while (in.pos < in.size) {
      if (const std::size_t code = compress_slice(in, out, ZSTD_e_continue); ZSTD_isError(code)) {
        return zstd_error("ZSTD_compressStream2", code);
      }
    }
    return Status::ok();
  }

  Status finish(JsonBuffer& out) noexcept override {
    if (!open_) return stream_not_open("zstd", "finish");
    open_ = false;
    ZSTD_inBuffer in{nullptr, 0, 0};
    for (;;) {
      const std::size_t remaining = compress_slice(in, out, ZSTD_e_end);
      if (ZSTD_isError(remaining)) return zstd_error("ZSTD_compressStream2", remaining);
      if (remaining == 0) return Status::ok();  // frame epilogue (checksum) written
    }
  }

  const char* suffix() const noexcept override { return ".json.zst"; }

 private:
  std::size_t compress_slice(ZSTD_inBuffer& in, JsonBuffer& out, ZSTD_EndDirective directive) noexcept {
    const std::size_t slice = ZSTD_CStreamOutSize();  // one block plus its header: the ideal slice
    ZSTD_outBuffer output{out.prepare(slice), slice, 0};
    const std::size_t code = ZSTD_compressStream2(context_, &output, &in, directive);
    out.commit(output.pos);
    return code;
  }

  static Status zstd_error(const char* call, std::size_t code) {
    return Status::error(ErrorKind::kPermanent, std::string("zstd ") + call + " failed: " + ZSTD_getErrorName(code));
  }

  ZSTD_CCtx* context_;
  bool open_ = false;
};

}  // namespace

std::unique_ptr<Compressor> make_zstd_compressor(int level, int threads) {
  return std::make_unique<ZstdCompressor>(level, threads);
}

}  // namespace trailkit::detail
