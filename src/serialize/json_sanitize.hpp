#pragma once
// Raw-JSON sanitizer: embeds caller-supplied JSON (requestParameters, responseElements, additionalEventData,
// serviceEventDetails) into a record without trusting it (worker thread only).
//
// Why not a DOM parser: these fields arrive as text from the API layer and are usually already compact and
// clean, so the job is "validate and copy", not "build a tree". A DOM (nlohmann) costs 10x more per byte
// (performance.md §D) and recursion lets a hostile client overflow the worker's stack with "[[[[...".

#include <cstddef>
#include <string_view>

#include "serialize/json_buffer.hpp"

namespace trailkit::detail {

enum class RawJsonStatus {
  kOk,       // `out` holds the sanitized value
  kInvalid,  // not one RFC 8259 JSON value; `out` unchanged
  kTooDeep,  // nesting deeper than max_depth; `out` unchanged
};

struct RawJsonResult {
  RawJsonStatus status = RawJsonStatus::kOk;
  std::size_t replacements = 0;  // U+FFFD substitutions made inside strings (invalid UTF-8, lone surrogates)
  std::size_t error_offset = 0;  // byte offset in the input where the problem was found
  const char* error = nullptr;   // static text naming the rule, e.g. "expected ':' after object key"
};

/// Parses `raw` as one JSON value (RFC 8259; leading/trailing whitespace allowed, nothing else after the value)
/// and appends it to `out` in compact form:
///  - insignificant whitespace is removed;
///  - strings (keys and values) are decoded (\uXXXX incl. surrogate pairs -> UTF-8; a lone surrogate escape
///    becomes U+FFFD) and re-emitted with exactly append_json_string's rules, so invalid UTF-8 becomes U+FFFD and
///    escapes come out normalised ("\u0041" -> "A", "\/" -> "/", "\u000a" -> "\n", U+2028 stays escaped);
///  - numbers are checked against the JSON grammar and copied verbatim (no float round-trip, so 64-bit IDs and
///    "1.50" survive byte-exact); true/false/null are copied.
/// Control characters inside strings, BOMs, comments, single quotes, NaN, trailing commas: rejected (kInvalid).
/// Containers nested deeper than `max_depth` (a value of depth == max_depth is fine; negative counts as 0):
/// kTooDeep. No recursion (explicit depth counter + object/array bit-stack), O(n) time; safe on hostile input.
/// On failure `out` is left byte-for-byte as it was on entry. Duplicate object keys are kept as they are.
/// Thread contract: reentrant, no shared state; `out` must not be used concurrently by another thread.
/// Never throws except std::bad_alloc from JsonBuffer growth.
/// Fast path: a document of up to 8 KB that is compact (no whitespace outside strings), printable ASCII and free
/// of backslashes is already in sanitized form; it is validated without re-emitting its strings and appended with
/// one copy. Every other document, and every invalid or too-deep one, takes the exact path below, so results
/// (bytes, status, error, error_offset, replacements) are those of append_sanitized_json_exact in all cases.
RawJsonResult append_sanitized_json(JsonBuffer& out, std::string_view raw, int max_depth);

/// The exact path alone (the parse-and-re-emit state machine): the oracle the fast path is tested against.
/// Same contract as append_sanitized_json. For tests and benches; production code calls append_sanitized_json.
RawJsonResult append_sanitized_json_exact(JsonBuffer& out, std::string_view raw, int max_depth);

}  // namespace trailkit::detail
