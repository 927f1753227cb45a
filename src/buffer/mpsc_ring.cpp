#include "buffer/mpsc_ring.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <string>

namespace trailkit::detail {

namespace {
constexpr std::align_val_t kBufferAlignment{64};
}  // namespace

MpscRing::MpscRing(std::size_t capacity_bytes, std::size_t hot_window_bytes) {
  if (capacity_bytes > kMaxCapacity) {
    throw std::length_error("MpscRing: capacity_bytes " + std::to_string(capacity_bytes) +
                            " exceeds the maximum of " + std::to_string(kMaxCapacity) + " bytes");
  }
  capacity_ = std::bit_ceil(capacity_bytes < kMinCapacity ? kMinCapacity : capacity_bytes);
  mask_ = capacity_ - 1;
  max_record_size_ = capacity_ / 8;
  release_step_ = capacity_ / 4;
  // At least one record past the array start: a rebase from index 0 would skip a lap for nothing.
  hot_window_ = std::clamp<std::size_t>(hot_window_bytes, kRecordAlignment, capacity_);
  buffer_ = static_cast<char*>(::operator new(capacity_, kBufferAlignment));
  // Zero = "not committed" everywhere; touching every page now keeps page faults off the hot path.
  std::memset(buffer_, 0, capacity_);
}

MpscRing::~MpscRing() { ::operator delete(buffer_, kBufferAlignment); }

}  // namespace trailkit::detail
