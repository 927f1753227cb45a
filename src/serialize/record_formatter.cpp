#include "serialize/record_formatter.hpp"

#include <bit>
#include <cstring>

#include "common/civil_time.hpp"
#include "common/uuid.hpp"
#include "serialize/json_escape.hpp"
#include "serialize/json_sanitize.hpp"

namespace trailkit::detail {
namespace {

constexpr std::uint64_t bit(Field f) noexcept { return std::uint64_t{1} << static_cast<unsigned>(f); }

template <typename... Fields>
constexpr std::uint64_t bits(Fields... fields) noexcept {
  return (bit(fields) | ...);
}

constexpr std::uint64_t kJsonFields = bits(Field::kRequestParameters, Field::kResponseElements,
                                           Field::kAdditionalEventData, Field::kServiceEventDetails,
                                           Field::kEdgeDeviceDetails, Field::kWebIdAttributes);

// Fields dropped, in this order, when a whole record exceeds FieldLimits::event_bytes. The order
// follows CloudTrail's documented truncation order for large events (spec §9.1).
constexpr Field kShedOrder[] = {Field::kEdgeDeviceDetails, Field::kAdditionalEventData, Field::kServiceEventDetails,
                                Field::kResponseElements, Field::kRequestParameters};

// Room for everything in a record that is not a string value or a JSON value: every key and punctuation mark
// (under 1,500 bytes even with every optional block), enum names, eventTime, eventID.
constexpr std::size_t kFixedRoom = 4096;
// Per string value: the encoders' slack, quotes and "...".
constexpr std::size_t kStringRoom = kJsonEscapeSlack + 8;
// Per resource: its keys and punctuation.
constexpr std::size_t kResourceRoom = 64;

// Worst case for one string value written through the cursor; longer strings go through JsonBuffer, which
// reserves chunk by chunk (a megabyte user agent must not reserve 6 MB).
constexpr std::size_t string_room(std::size_t size) noexcept {
  return (size <= kJsonStringChunk ? kJsonEscapeMaxExpansion * size : 0) + kStringRoom;
}

bool takes_management_flag(EventType type) noexcept {
  return type == EventType::kAwsApiCall || type == EventType::kAwsConsoleAction ||
         type == EventType::kAwsConsoleSignIn || type == EventType::kAwsServiceEvent;
}

}  // namespace

struct RecordFormatter::Cursor {
  JsonBuffer& out;
  std::size_t room;  // what the rest of the record can need, JSON values and long strings excepted
  char* d;

  Cursor(JsonBuffer& buffer, std::size_t record_room) : out(buffer), room(record_room), d(buffer.prepare(room)) {}

  template <std::size_t N>
  void literal(const char (&s)[N]) noexcept {
    std::memcpy(d, s, N - 1);  // constant size: a few stores
    d += N - 1;
  }
  // `s` starts with the comma; it is skipped when !comma. The copy stays constant-sized (N - 1 bytes from s or
  // s + 1, the terminating NUL included in the latter); the extra byte is overwritten next.
  template <std::size_t N>
  void key(const char (&s)[N], bool comma) noexcept {
    const std::size_t skip = comma ? 0 : 1;
    std::memcpy(d, s + skip, N - 1);
    d += N - 1 - skip;
  }
  void put(char c) noexcept { *d++ = c; }
  // Short enum spellings only (bounded by kFixedRoom).
  void raw(std::string_view s) noexcept {
    std::memcpy(d, s.data(), s.size());
    d += s.size();
  }
  // Hands the buffer to a JsonBuffer writer (JSON values, long strings), then takes it back.
  JsonBuffer& release() noexcept {
    out.commit(static_cast<std::size_t>(d - (out.data() + out.size())));
    return out;
  }
  void resume() { d = out.prepare(room); }
  void finish() noexcept { release(); }
};

RecordFormatter::RecordFormatter(const FieldLimits& limits, std::string default_account_id,
                                 std::string default_region)
    : limits_(limits),
      default_account_id_(std::move(default_account_id)),
      default_region_(std::move(default_region)),
      defaults_room_(kFixedRoom + string_room(default_account_id_.size()) + string_room(default_region_.size())) {}

std::size_t RecordFormatter::record_room(const Event& e) const noexcept {
  // Usually the strings total under a chunk, so none is over one: then the bound is 6x their total plus the
  // per-string room for every field there could be, with one add per present field.
  std::size_t total = 0;
  for (std::uint64_t m = e.present_mask() & ~kJsonFields; m != 0; m &= m - 1) {
    total += e.get(static_cast<Field>(std::countr_zero(m))).size();
  }
  std::size_t room = defaults_room_ + kJsonEscapeMaxExpansion * total + kStringRoom * kFieldCount;
  if (total > kJsonStringChunk) {  // rare: a string may be over a chunk and go through JsonBuffer chunk by chunk
    room = defaults_room_;
    for (std::uint64_t m = e.present_mask() & ~kJsonFields; m != 0; m &= m - 1) {
      room += string_room(e.get(static_cast<Field>(std::countr_zero(m))).size());
    }
  }
  for (const Resource& r : e.resources) {
    room += kResourceRoom + string_room(r.arn.size()) + string_room(r.account_id.size()) + string_room(r.type.size());
  }
  return room;
}

void RecordFormatter::write_time(Cursor& c, TimeText& cache, std::int64_t epoch_seconds) noexcept {
  if (epoch_seconds != cache.epoch_seconds || !cache.valid) {
    format_event_time(epoch_seconds, cache.text);
    cache.epoch_seconds = epoch_seconds;
    cache.valid = true;
  }
  std::memcpy(c.d, cache.text, sizeof cache.text);
  c.d += sizeof cache.text;
}

[[gnu::always_inline]] inline void RecordFormatter::write_string(Cursor& c, std::string_view value) {
  if (char* const done = write_json_string_clean(c.d, value)) {
    c.d = done;
    return;
  }
  write_string_slow(c, value);
}

[[gnu::noinline]] void RecordFormatter::write_string_slow(Cursor& c, std::string_view value) {
  if (value.size() > kJsonStringChunk) {
    write_chunked(c, value);
    return;
  }
  std::size_t replacements = 0;
  c.d = write_json_string(c.d, value, &replacements);
  if (replacements != 0) ++counters_.sanitized;
}

[[gnu::noinline]] void RecordFormatter::write_chunked(Cursor& c, std::string_view value) {
  const std::size_t replacements = append_json_string(c.release(), value);
  c.resume();
  if (replacements != 0) ++counters_.sanitized;
}

[[gnu::always_inline]] inline void RecordFormatter::write_truncated(Cursor& c, std::string_view value) {
  // Under the limit it is an ordinary string (nothing cut, same bytes).
  if (value.size() <= limits_.truncate_bytes) {
    write_string(c, value);
  } else {
    write_truncated_slow(c, value);
  }
}

[[gnu::noinline]] void RecordFormatter::write_truncated_slow(Cursor& c, std::string_view value) {
  bool truncated = false;
  std::size_t replacements = 0;
  if (value.size() <= kJsonStringChunk) {
    c.d = write_json_string_truncated(c.d, value, limits_.truncate_bytes, &truncated, &replacements);
  } else {
    replacements = append_json_string_truncated(c.release(), value, limits_.truncate_bytes, &truncated);
    c.resume();
  }
  if (replacements != 0) ++counters_.sanitized;
  if (truncated) ++counters_.truncated;
}

void RecordFormatter::write_json(Cursor& c, const Event& event, Field field, std::uint64_t omit_mask,
                                 std::size_t limit) {
  const std::string_view raw = event.get(field);
  JsonBuffer& out = c.release();
  if ((omit_mask & bit(field)) != 0 || raw.size() > limit) {
    out.append(limits_.omitted_marker);
    ++counters_.omitted;
  } else {
    const RawJsonResult result = append_sanitized_json(out, raw, limits_.max_json_depth);
    if (result.status != RawJsonStatus::kOk) {
      out.append(limits_.omitted_marker);
      ++counters_.omitted;
    } else if (result.replacements != 0) {
      ++counters_.sanitized;
    }
  }
  c.resume();
}

template <std::size_t N>
[[gnu::always_inline]] inline void RecordFormatter::write_member(Cursor& c, const Event& e, Field field,
                                                                 const char (&key)[N], bool& comma, bool truncate) {
  if (!e.has(field)) return;
  c.key(key, comma);
  if (truncate) {
    write_truncated(c, e.get(field));
  } else {
    write_string(c, e.get(field));
  }
  comma = true;
}

template <std::size_t N, std::size_t... M>
void RecordFormatter::write_nested_object(Cursor& c, const Event& e, const char (&open)[N],
                                          NestedMember<M>... members) {
  if ((e.present_mask() & (bit(members.field) | ...)) == 0) return;
  c.literal(open);
  bool inner = false;
  (write_member(c, e, members.field, members.key, inner), ...);
  c.put('}');
}

void RecordFormatter::format(const DecodedEvent& record, JsonBuffer& out) {
  const std::size_t start = out.size();
  std::uint64_t omit_mask = record.omitted_mask;
  format_once(record, omit_mask, out);
  // Rare: the whole record is over the event limit. Shed JSON values until it fits.
  for (const Field f : kShedOrder) {
    if (out.size() - start <= limits_.event_bytes) return;
    if (!record.event.has(f) || (omit_mask & bit(f)) != 0) continue;
    omit_mask |= bit(f);
    out.truncate(start);
    format_once(record, omit_mask, out);
  }
}

void RecordFormatter::format_once(const DecodedEvent& record, std::uint64_t omit_mask, JsonBuffer& out) {
  const Event& e = record.event;
  Cursor c(out, record_room(e));
  bool comma = true;
  c.literal("{\"eventVersion\":");
  if (e.has(Field::kEventVersion)) {
    write_string(c, e.get(Field::kEventVersion));
  } else {
    c.literal("\"1.11\"");
  }
  c.literal(",\"userIdentity\":");
  write_user_identity(e, c);

  c.literal(",\"eventTime\":\"");
  write_time(c, event_time_text_, e.event_time);
  c.literal("\",\"eventSource\":");
  write_string(c, e.get(Field::kEventSource));
  c.literal(",\"eventName\":");
  write_string(c, e.get(Field::kEventName));
  c.literal(",\"awsRegion\":");
  write_string(c, region_of(e));
  write_member(c, e, Field::kSourceIpAddress, ",\"sourceIPAddress\":", comma);
  write_member(c, e, Field::kUserAgent, ",\"userAgent\":", comma, true);
  write_member(c, e, Field::kErrorCode, ",\"errorCode\":", comma, true);
  write_member(c, e, Field::kErrorMessage, ",\"errorMessage\":", comma, true);
  // Always present; JSON null when absent (spec §1.2).
  c.literal(",\"requestParameters\":");
  write_json_or_null(c, e, Field::kRequestParameters, omit_mask, limits_.large_json_bytes);
  c.literal(",\"responseElements\":");
  write_json_or_null(c, e, Field::kResponseElements, omit_mask, limits_.large_json_bytes);
  write_optional_json(c, e, Field::kAdditionalEventData, ",\"additionalEventData\":", omit_mask,
                      limits_.small_json_bytes);
  write_member(c, e, Field::kRequestId, ",\"requestID\":", comma, true);
  c.literal(",\"eventID\":");
  if (e.has(Field::kEventId)) {
    write_string(c, e.get(Field::kEventId));
  } else {
    c.d[0] = '"';
    format_uuid_v4(random_, c.d + 1);
    c.d[37] = '"';
    c.d += 38;
  }
  if (e.read_only == Tristate::kTrue) c.literal(",\"readOnly\":true");
  if (e.read_only == Tristate::kFalse) c.literal(",\"readOnly\":false");
  if (!e.resources.empty()) {
    c.literal(",\"resources\":[");
    bool first = true;
    for (const Resource& r : e.resources) {
      if (!first) c.put(',');
      first = false;
      // Key order as in real files: accountId, type, ARN (spec §10.2 (b)); `ARN` upper case. An absent
      // account_id (null view) omits its key.
      c.put('{');
      bool need_comma = false;
      if (r.account_id.data() != nullptr) {
        c.literal("\"accountId\":");
        write_string(c, r.account_id);
        need_comma = true;
      }
      if (r.type.data() != nullptr) {
        c.key(",\"type\":", need_comma);
        write_string(c, r.type);
        need_comma = true;
      }
      if (r.arn.data() != nullptr) {
        c.key(",\"ARN\":", need_comma);
        write_string(c, r.arn);
      }
      c.put('}');
    }
    c.put(']');
  }
  c.literal(",\"eventType\":\"");
  c.raw(to_string(e.event_type));
  c.put('"');
  write_member(c, e, Field::kApiVersion, ",\"apiVersion\":", comma);
  if (takes_management_flag(e.event_type)) {
    if (e.event_category == EventCategory::kManagement) {
      c.literal(",\"managementEvent\":true");
    } else {
      c.literal(",\"managementEvent\":false");
    }
  }
  c.literal(",\"recipientAccountId\":");
  write_string(c, account_of(e));
  write_member(c, e, Field::kSharedEventId, ",\"sharedEventID\":", comma);
  write_member(c, e, Field::kVpcEndpointId, ",\"vpcEndpointId\":", comma);
  write_member(c, e, Field::kVpcEndpointAccountId, ",\"vpcEndpointAccountId\":", comma);
  write_optional_json(c, e, Field::kServiceEventDetails, ",\"serviceEventDetails\":", omit_mask,
                      limits_.large_json_bytes);
  c.literal(",\"eventCategory\":\"");
  c.raw(to_string(e.event_category));
  c.put('"');
  // updatedFields, originalRequestID and originalEventID belong with reason UPDATED_DATA; the
  // caller decides (spec §1.2).
  write_nested_object(c, e, ",\"addendum\":{", NestedMember{Field::kAddendumReason, ",\"reason\":"},
                      NestedMember{Field::kAddendumUpdatedFields, ",\"updatedFields\":"},
                      NestedMember{Field::kAddendumOriginalRequestId, ",\"originalRequestID\":"},
                      NestedMember{Field::kAddendumOriginalEventId, ",\"originalEventID\":"});
  write_nested_object(c, e, ",\"tlsDetails\":{", NestedMember{Field::kTlsVersion, ",\"tlsVersion\":"},
                      NestedMember{Field::kTlsCipherSuite, ",\"cipherSuite\":"},
                      NestedMember{Field::kTlsClientProvidedHostHeader, ",\"clientProvidedHostHeader\":"},
                      NestedMember{Field::kTlsKeyExchange, ",\"keyExchange\":"});
  if (e.session_credential_from_console) c.literal(",\"sessionCredentialFromConsole\":\"true\"");
  write_optional_json(c, e, Field::kEdgeDeviceDetails, ",\"edgeDeviceDetails\":", omit_mask,
                      limits_.small_json_bytes);
  c.put('}');
  c.finish();
}

void RecordFormatter::write_json_or_null(Cursor& c, const Event& e, Field field, std::uint64_t omit_mask,
                                         std::size_t limit) {
  if (e.has(field) || (omit_mask & bit(field)) != 0) {
    write_json(c, e, field, omit_mask, limit);
  } else {
    c.literal("null");
  }
}

template <std::size_t N>
void RecordFormatter::write_optional_json(Cursor& c, const Event& e, Field field, const char (&key)[N],
                                          std::uint64_t omit_mask, std::size_t limit) {
  if (!e.has(field) && (omit_mask & bit(field)) == 0) return;
  c.literal(key);
  write_json(c, e, field, omit_mask, limit);
}

void RecordFormatter::write_user_identity(const Event& e, Cursor& c) {
  bool comma = true;
  c.literal("{\"type\":\"");
  c.raw(to_string(e.identity_type));
  c.put('"');
  write_member(c, e, Field::kPrincipalId, ",\"principalId\":", comma);
  write_member(c, e, Field::kArn, ",\"arn\":", comma);
  write_member(c, e, Field::kAccountId, ",\"accountId\":", comma);
  write_member(c, e, Field::kAccessKeyId, ",\"accessKeyId\":", comma);
  write_member(c, e, Field::kUserName, ",\"userName\":", comma);

  const bool has_web_identity = e.has(Field::kWebIdFederatedProvider) || e.has(Field::kWebIdAttributes);
  const bool has_attributes = e.session_creation_time != kTimeNotSet || e.mfa_authenticated != Tristate::kAbsent;
  const bool has_session = e.session_issuer_type != SessionIssuerType::kNone || has_web_identity || has_attributes ||
                           e.has(Field::kSourceIdentity) || e.has(Field::kEc2RoleDelivery) ||
                           e.assumed_root != Tristate::kAbsent || e.has(Field::kSignInSessionArn);
  if (has_session) {
    c.literal(",\"sessionContext\":{");
    bool need_comma = false;
    if (e.session_issuer_type != SessionIssuerType::kNone) {
      c.literal("\"sessionIssuer\":{\"type\":\"");
      c.raw(to_string(e.session_issuer_type));
      c.put('"');
      bool inner = true;
      write_member(c, e, Field::kIssuerPrincipalId, ",\"principalId\":", inner);
      write_member(c, e, Field::kIssuerArn, ",\"arn\":", inner);
      write_member(c, e, Field::kIssuerAccountId, ",\"accountId\":", inner);
      write_member(c, e, Field::kIssuerUserName, ",\"userName\":", inner);
      c.put('}');
      need_comma = true;
    }
    // Role sessions carry an empty webIdFederationData object in real files (spec §1.4).
    if (has_web_identity || e.identity_type == IdentityType::kAssumedRole) {
      if (need_comma) c.put(',');
      c.literal("\"webIdFederationData\":{");
      bool wrote = false;
      write_member(c, e, Field::kWebIdFederatedProvider, ",\"federatedProvider\":", wrote);
      if (e.has(Field::kWebIdAttributes)) {
        c.key(",\"attributes\":", wrote);
        write_json(c, e, Field::kWebIdAttributes, 0, limits_.small_json_bytes);
      }
      c.put('}');
      need_comma = true;
    }
    if (has_attributes) {
      if (need_comma) c.put(',');
      c.literal("\"attributes\":{");
      if (e.session_creation_time != kTimeNotSet) {
        c.literal("\"creationDate\":\"");
        write_time(c, creation_time_text_, e.session_creation_time);
        c.put('"');
        if (e.mfa_authenticated != Tristate::kAbsent) c.put(',');
      }
      // mfaAuthenticated is the *string* "true"/"false" (spec §0.3).
      if (e.mfa_authenticated == Tristate::kTrue) c.literal("\"mfaAuthenticated\":\"true\"");
      if (e.mfa_authenticated == Tristate::kFalse) c.literal("\"mfaAuthenticated\":\"false\"");
      c.put('}');
      need_comma = true;
    }
    write_member(c, e, Field::kSourceIdentity, ",\"sourceIdentity\":", need_comma);
    write_member(c, e, Field::kEc2RoleDelivery, ",\"ec2RoleDelivery\":", need_comma);
    if (e.assumed_root != Tristate::kAbsent) {
      c.key(",\"assumedRoot\":", need_comma);
      if (e.assumed_root == Tristate::kTrue) {
        c.literal("\"true\"");
      } else {
        c.literal("\"false\"");
      }
      need_comma = true;
    }
    write_member(c, e, Field::kSignInSessionArn, ",\"signInSessionArn\":", need_comma);
    c.put('}');
  }
  // invokedBy only when an AWS service made the call: CIS filters test `NOT EXISTS` (spec §1.4).
  write_member(c, e, Field::kInvokedBy, ",\"invokedBy\":", comma);
  write_nested_object(c, e, ",\"invokedByDelegate\":{",
                      NestedMember{Field::kInvokedByDelegateAccountId, ",\"accountId\":"});
  write_nested_object(c, e, ",\"onBehalfOf\":{", NestedMember{Field::kOnBehalfOfUserId, ",\"userId\":"},
                      NestedMember{Field::kOnBehalfOfIdentityStoreArn, ",\"identityStoreArn\":"});
  write_nested_object(c, e, ",\"inScopeOf\":{", NestedMember{Field::kInScopeOfSourceArn, ",\"sourceArn\":"},
                      NestedMember{Field::kInScopeOfSourceAccount, ",\"sourceAccount\":"},
                      NestedMember{Field::kInScopeOfIssuerType, ",\"issuerType\":"},
                      NestedMember{Field::kInScopeOfCredentialsIssuedTo, ",\"credentialsIssuedTo\":"},
                      NestedMember{Field::kInScopeOfCredentialsIssuedToVersion, ",\"credentialsIssuedToVersion\":"});
  write_member(c, e, Field::kCredentialId, ",\"credentialId\":", comma);
  write_member(c, e, Field::kIdentityProvider, ",\"identityProvider\":", comma);
  c.put('}');
}

}  // namespace trailkit::detail
