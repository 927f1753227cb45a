#pragma once
// The binary encoding of an Event inside the buffer ("encode on the hot path, format on the
// worker", as quill does). emit() copies the caller's field bytes once; the worker decodes the
// record in place into an Event whose views point into the ring, then formats JSON from it.
//
// Layout (all little-endian host order; the encoding never leaves the process):
//   EncodedHeader                      48 bytes
//   uint32 length[popcount(copied)]    one per copied text field, in Field order
//   uint32 resource_length[3 * resource_count]   ARN, accountId, type; kAbsentLength = absent
//   field bytes, then resource bytes, back to back
// A field is "copied" when present and not omitted at emit. JSON fields over their size limit
// are omitted at emit (their bytes are never copied, so a 100 MiB requestParameters costs nothing)
// and 1 KB-truncated fields are copied only up to limit + 4 bytes: enough for the worker to see
// that they must be cut.

#include <cstdint>
#include <cstring>
#include <vector>

#include "trailkit/event.hpp"

namespace trailkit::detail {

inline constexpr std::uint32_t kAbsentLength = 0xFFFFFFFFu;

struct EncodedHeader {
  std::uint64_t copied_mask;    // fields whose bytes follow
  std::uint64_t omitted_mask;   // JSON fields present but over their limit (write the marker)
  std::int64_t event_time;      // epoch seconds, always set
  std::int64_t session_creation_time;
  std::uint32_t resource_count;
  std::uint8_t event_type;
  std::uint8_t event_category;
  std::uint8_t identity_type;
  std::uint8_t session_issuer_type;
  std::uint8_t read_only;
  std::uint8_t mfa_authenticated;
  std::uint8_t assumed_root;
  std::uint8_t session_credential_from_console;
  std::uint32_t copied_count;   // popcount(copied_mask), so decoding needs no libgcc popcount call
};
static_assert(sizeof(EncodedHeader) == 48);

/// Per-field byte budgets applied at emit (derived once from FieldLimits).
struct EncodeLimits {
  std::uint32_t keep_bytes[kFieldCount];  // copy at most this many bytes of the field
  std::uint32_t omit_over[kFieldCount];   // omit (do not copy) when longer than this
  /// A power of two (or 0): when every present field is shorter than this, no limit above can
  /// apply, so plan_encoding skips the per-field lookups (the common case: fields of a few dozen
  /// bytes). Set by derive_fast_path(); 0 means "always check each field".
  std::uint32_t unlimited_below = 0;

  /// Sets unlimited_below from keep_bytes and omit_over. Call after changing either.
  void derive_fast_path() noexcept;
};

/// Which fields an encoding copies or omits, and its size: one pass over the fields, shared by
/// sizing and writing so the hot path walks them once.
struct EncodePlan {
  std::uint64_t copied = 0;
  std::uint64_t omitted = 0;
  std::size_t size = 0;  ///< bytes encode_event will write
  std::uint32_t copied_count = 0;  ///< popcount(copied), counted while planning (a generic x86-64
                                   ///< build has no POPCNT instruction: std::popcount is a libgcc call)
  bool whole = false;    ///< every copied field is copied whole (no keep_bytes cut applies)
};

/// Plans the encoding of `event`. Thread-safe, allocation-free.
EncodePlan plan_encoding(const Event& event, const EncodeLimits& limits) noexcept;

/// Writes the encoding planned by plan_encoding into `out` (plan.size bytes). `event_time` is the
/// value to store when the event has none. Thread-safe, allocation-free.
void encode_event(const Event& event, const EncodePlan& plan, const EncodeLimits& limits, std::int64_t event_time,
                  char* out) noexcept;

/// A decoded record: an Event viewing the encoded bytes, plus what was omitted at emit.
struct DecodedEvent {
  Event event;
  std::uint64_t omitted_mask = 0;
};

/// Decodes in place. `resources` receives the resource views (reused storage; worker only).
/// Returns false if the bytes are not a well-formed encoding (never expected; defensive).
bool decode_event(const char* data, std::size_t size, DecodedEvent& out, std::vector<Resource>& resources) noexcept;

}  // namespace trailkit::detail
