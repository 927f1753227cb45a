#include "emit/event_codec.hpp"

#include <algorithm>
#include <bit>

namespace trailkit::detail {
namespace {

constexpr std::size_t kHeaderSize = sizeof(EncodedHeader);

inline std::uint32_t kept(std::string_view v, std::uint32_t keep) noexcept {
  return v.size() > keep ? keep : static_cast<std::uint32_t>(v.size());
}

// Most fields are 4-40 bytes: fixed-size overlapping moves beat a call into libc's memcpy, whose
// size dispatch dominates for short copies on the emit path.
inline void copy_bytes(char* dst, const char* src, std::size_t n) noexcept {
  if (n > 16) {
    if (n > 48) {
      std::memcpy(dst, src, n);
      return;
    }
    // 17-48 bytes (ARNs, IDs, user agents' heads): 16-byte moves, the last one overlapping.
    char block[16];
    std::memcpy(block, src, 16);
    std::memcpy(dst, block, 16);
    if (n > 32) {
      std::memcpy(block, src + 16, 16);
      std::memcpy(dst + 16, block, 16);
    }
    std::memcpy(block, src + n - 16, 16);
    std::memcpy(dst + n - 16, block, 16);
  } else if (n >= 8) {
    std::uint64_t head, tail;
    std::memcpy(&head, src, 8);
    std::memcpy(&tail, src + n - 8, 8);
    std::memcpy(dst, &head, 8);
    std::memcpy(dst + n - 8, &tail, 8);
  } else if (n >= 4) {
    std::uint32_t head, tail;
    std::memcpy(&head, src, 4);
    std::memcpy(&tail, src + n - 4, 4);
    std::memcpy(dst, &head, 4);
    std::memcpy(dst + n - 4, &tail, 4);
  } else if (n > 0) {
    dst[0] = src[0];
    dst[n / 2] = src[n / 2];
    dst[n - 1] = src[n - 1];
  }
}

// std::popcount is a libgcc call on a generic x86-64 build (no POPCNT); this SWAR count is a
// dozen instructions inline.
inline std::uint32_t popcount64(std::uint64_t x) noexcept {
  x = x - ((x >> 1) & 0x5555555555555555u);
  x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Fu;
  return static_cast<std::uint32_t>((x * 0x0101010101010101u) >> 56);
}

inline std::uint32_t resource_length(std::string_view v) noexcept {
  return v.data() == nullptr ? kAbsentLength : static_cast<std::uint32_t>(v.size());
}

// Writes the length and bytes of each field in `mask`; returns the end of the bytes. `Whole`: no
// keep_bytes cut applies (plan.whole), so the per-field limit lookup is compiled out.
template <bool Whole>
char* copy_fields(const Event& event, std::uint64_t mask, const EncodeLimits& limits, char* lengths,
                  char* bytes) noexcept {
  while (mask) {
    const auto i = static_cast<unsigned>(std::countr_zero(mask));
    mask &= mask - 1;
    const std::string_view v = event.get(static_cast<Field>(i));
    const std::uint32_t n = Whole ? static_cast<std::uint32_t>(v.size()) : kept(v, limits.keep_bytes[i]);
    std::memcpy(lengths, &n, 4);
    lengths += 4;
    copy_bytes(bytes, v.data(), n);
    bytes += n;
  }
  return bytes;
}

// Exact planning: each field against its own keep/omit limits.
void plan_with_limits(const Event& event, const EncodeLimits& limits, EncodePlan& plan) noexcept {
  plan.size = kHeaderSize;
  std::uint64_t mask = event.present_mask();
  while (mask) {
    const int i = std::countr_zero(mask);
    mask &= mask - 1;
    const std::string_view v = event.get(static_cast<Field>(i));
    if (v.size() > limits.omit_over[i]) {
      plan.omitted |= std::uint64_t{1} << i;  // over its CloudTrail limit: never copied
    } else {
      plan.copied |= std::uint64_t{1} << i;
      ++plan.copied_count;
      plan.size += 4 + kept(v, limits.keep_bytes[i]);
    }
  }
}

}  // namespace

void EncodeLimits::derive_fast_path() noexcept {
  std::uint32_t smallest = UINT32_MAX;
  for (std::size_t i = 0; i < kFieldCount; ++i) smallest = std::min({smallest, keep_bytes[i], omit_over[i]});
  // Sizes whose OR is below a power of two p are all < p; p - 1 <= smallest keeps them in every limit.
  unlimited_below = smallest == UINT32_MAX ? std::uint32_t{1} << 31 : std::bit_floor(smallest + 1);
}

EncodePlan plan_encoding(const Event& event, const EncodeLimits& limits) noexcept {
  EncodePlan plan;
  const std::uint64_t present = event.present_mask();
  // Fast path: one branch-free pass over every field, as a plain length-prefixed copy would size
  // it. Absent fields hold empty views (Event::set), so they add nothing; the OR of the sizes
  // bounds the largest, and below unlimited_below no field can be cut or omitted. Summing all
  // kFieldCount sizes unrolled is cheaper than visiting the ~20 present ones through the mask
  // (a data-dependent loop of bit scans).
  std::size_t total = 0;
  std::size_t size_bits = 0;
#pragma GCC unroll 64
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    const std::size_t n = event.get(static_cast<Field>(i)).size();
    total += n;
    size_bits |= n;
  }
#if defined(__GNUC__)
  // Keeps GCC from sinking the sum into the branch below, which holds all kFieldCount sizes live
  // across the OR chain and spills them (measured: more instructions than the masked walk).
  asm("" : "+r"(total));
#endif
  if (size_bits < limits.unlimited_below) {
    plan.copied = present;
    plan.copied_count = popcount64(present);
    plan.whole = true;
    plan.size = kHeaderSize + 4 * std::size_t{plan.copied_count} + total;
  } else {
    plan_with_limits(event, limits, plan);
  }
  for (const Resource& r : event.resources) {
    plan.size += 12 + r.arn.size() + r.account_id.size() + r.type.size();
  }
  return plan;
}

void encode_event(const Event& event, const EncodePlan& plan, const EncodeLimits& limits, std::int64_t event_time,
                  char* out) noexcept {
  EncodedHeader header;
  header.copied_mask = plan.copied;
  header.omitted_mask = plan.omitted;
  header.event_time = event.event_time == kTimeNotSet ? event_time : event.event_time;
  header.session_creation_time = event.session_creation_time;
  header.resource_count = static_cast<std::uint32_t>(event.resources.size());
  header.event_type = static_cast<std::uint8_t>(event.event_type);
  header.event_category = static_cast<std::uint8_t>(event.event_category);
  header.identity_type = static_cast<std::uint8_t>(event.identity_type);
  header.session_issuer_type = static_cast<std::uint8_t>(event.session_issuer_type);
  header.read_only = static_cast<std::uint8_t>(event.read_only);
  header.mfa_authenticated = static_cast<std::uint8_t>(event.mfa_authenticated);
  header.assumed_root = static_cast<std::uint8_t>(event.assumed_root);
  header.session_credential_from_console = event.session_credential_from_console ? 1 : 0;
  header.copied_count = plan.copied_count;
  std::memcpy(out, &header, kHeaderSize);

  char* lengths = out + kHeaderSize;
  char* resource_lengths = lengths + 4 * std::size_t{plan.copied_count};
  char* bytes = resource_lengths + 12 * event.resources.size();

  bytes = plan.whole ? copy_fields<true>(event, plan.copied, limits, lengths, bytes)
                     : copy_fields<false>(event, plan.copied, limits, lengths, bytes);
  for (const Resource& r : event.resources) {
    const std::string_view parts[3] = {r.arn, r.account_id, r.type};
    for (const std::string_view part : parts) {
      const std::uint32_t n = resource_length(part);
      std::memcpy(resource_lengths, &n, 4);
      resource_lengths += 4;
      if (n != kAbsentLength) {
        copy_bytes(bytes, part.data(), n);
        bytes += n;
      }
    }
  }
}

bool decode_event(const char* data, std::size_t size, DecodedEvent& out, std::vector<Resource>& resources) noexcept {
  if (size < kHeaderSize) return false;
  EncodedHeader header;
  std::memcpy(&header, data, kHeaderSize);
  Event& event = out.event;
  // The worker reuses one DecodedEvent: clearing only the fields the last record had is ~20 stores
  // instead of zeroing all kFieldCount views (~1 KB) per record. Every scalar is assigned below.
  for (std::uint64_t m = event.present_mask(); m != 0; m &= m - 1) {
    event.set(static_cast<Field>(std::countr_zero(m)), std::string_view{});
  }
  event.resources = {};
  out.omitted_mask = header.omitted_mask;
  event.event_time = header.event_time;
  event.session_creation_time = header.session_creation_time;
  event.event_type = static_cast<EventType>(header.event_type);
  event.event_category = static_cast<EventCategory>(header.event_category);
  event.identity_type = static_cast<IdentityType>(header.identity_type);
  event.session_issuer_type = static_cast<SessionIssuerType>(header.session_issuer_type);
  event.read_only = static_cast<Tristate>(header.read_only);
  event.mfa_authenticated = static_cast<Tristate>(header.mfa_authenticated);
  event.assumed_root = static_cast<Tristate>(header.assumed_root);
  event.session_credential_from_console = header.session_credential_from_console != 0;

  const std::size_t copied_count = header.copied_count;
  const std::size_t tables = kHeaderSize + 4 * copied_count + 12 * std::size_t{header.resource_count};
  if (tables > size) return false;
  const char* lengths = data + kHeaderSize;
  const char* resource_lengths = lengths + 4 * copied_count;
  const char* bytes = data + tables;
  const char* end = data + size;

  std::uint64_t mask = header.copied_mask;
  const char* const lengths_end = resource_lengths;
  while (mask) {
    const int i = std::countr_zero(mask);
    mask &= mask - 1;
    // A count that disagrees with the mask must not walk the length table past its end.
    if (i >= static_cast<int>(kFieldCount) || lengths == lengths_end) return false;
    std::uint32_t n;
    std::memcpy(&n, lengths, 4);
    lengths += 4;
    if (n > static_cast<std::size_t>(end - bytes)) return false;
    event.set(static_cast<Field>(i), std::string_view(bytes, n));
    bytes += n;
  }
  if (lengths != lengths_end) return false;
  resources.clear();
  for (std::uint32_t r = 0; r < header.resource_count; ++r) {
    std::string_view parts[3];
    for (auto& part : parts) {
      std::uint32_t n;
      std::memcpy(&n, resource_lengths, 4);
      resource_lengths += 4;
      if (n == kAbsentLength) continue;
      if (n > static_cast<std::size_t>(end - bytes)) return false;
      part = std::string_view(bytes, n);
      bytes += n;
    }
    resources.push_back(Resource{parts[0], parts[1], parts[2]});
  }
  event.resources = resources;
  return bytes == end;
}

}  // namespace trailkit::detail
