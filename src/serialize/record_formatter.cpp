#include "serialize/record_formatter.hpp"

#include "common/civil_time.hpp"
#include "common/uuid.hpp"
#include "serialize/json_escape.hpp"
#include "serialize/json_sanitize.hpp"

namespace trailkit::detail {
namespace {

constexpr std::uint64_t bit(Field f) noexcept { return std::uint64_t{1} << static_cast<unsigned>(f); }

// Fields dropped, in this order, when a whole record exceeds FieldLimits::event_bytes. The order
// follows CloudTrail's documented truncation order for large events (spec §9.1).
constexpr Field kShedOrder[] = {Field::kEdgeDeviceDetails, Field::kAdditionalEventData, Field::kServiceEventDetails,
                                Field::kResponseElements, Field::kRequestParameters};

bool takes_management_flag(EventType type) noexcept {
  return type == EventType::kAwsApiCall || type == EventType::kAwsConsoleAction ||
         type == EventType::kAwsConsoleSignIn || type == EventType::kAwsServiceEvent;
}

}  // namespace

RecordFormatter::RecordFormatter(const FieldLimits& limits, std::string default_account_id,
                                 std::string default_region)
    : limits_(limits), default_account_id_(std::move(default_account_id)), default_region_(std::move(default_region)) {}

void RecordFormatter::write_string(JsonBuffer& out, std::string_view value) {
  if (append_json_string(out, value) != 0) ++counters_.sanitized;
}

void RecordFormatter::write_truncated(JsonBuffer& out, std::string_view value) {
  bool truncated = false;
  if (append_json_string_truncated(out, value, limits_.truncate_bytes, &truncated) != 0) ++counters_.sanitized;
  if (truncated) ++counters_.truncated;
}

void RecordFormatter::write_json(JsonBuffer& out, const Event& event, Field field, std::uint64_t omit_mask,
                                 std::size_t limit) {
  const std::string_view raw = event.get(field);
  if ((omit_mask & bit(field)) != 0 || raw.size() > limit) {
    out.append(limits_.omitted_marker);
    ++counters_.omitted;
    return;
  }
  const RawJsonResult result = append_sanitized_json(out, raw, limits_.max_json_depth);
  if (result.status != RawJsonStatus::kOk) {
    out.append(limits_.omitted_marker);
    ++counters_.omitted;
    return;
  }
  if (result.replacements != 0) ++counters_.sanitized;
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

bool RecordFormatter::write_members(JsonBuffer& out, const Event& e, std::initializer_list<Member> members,
                                    bool need_comma) {
  for (const Member& m : members) {
    if (!e.has(m.field)) continue;
    if (need_comma) out.push_back(',');
    out.push_back('"');
    out.append(m.key);
    out.literal("\":");
    if (m.truncate) {
      write_truncated(out, e.get(m.field));
    } else {
      write_string(out, e.get(m.field));
    }
    need_comma = true;
  }
  return need_comma;
}

bool RecordFormatter::write_object(JsonBuffer& out, const Event& e, std::string_view key,
                                   std::initializer_list<Member> members, bool need_comma) {
  bool any = false;
  for (const Member& m : members) any = any || e.has(m.field);
  if (!any) return need_comma;
  if (need_comma) out.push_back(',');
  out.push_back('"');
  out.append(key);
  out.literal("\":{");
  write_members(out, e, members, false);
  out.push_back('}');
  return true;
}

void RecordFormatter::format_once(const DecodedEvent& record, std::uint64_t omit_mask, JsonBuffer& out) {
  const Event& e = record.event;
  out.literal("{\"eventVersion\":");
  if (e.has(Field::kEventVersion)) {
    write_string(out, e.get(Field::kEventVersion));
  } else {
    out.literal("\"1.11\"");
  }
  out.literal(",\"userIdentity\":");
  write_user_identity(e, out);

  out.literal(",\"eventTime\":\"");
  format_event_time(e.event_time, out.prepare(20));
  out.commit(20);
  out.literal("\",\"eventSource\":");
  write_string(out, e.get(Field::kEventSource));
  out.literal(",\"eventName\":");
  write_string(out, e.get(Field::kEventName));
  out.literal(",\"awsRegion\":");
  write_string(out, region_of(e));
  write_members(out, e,
                {{Field::kSourceIpAddress, "sourceIPAddress"},
                 {Field::kUserAgent, "userAgent", true},
                 {Field::kErrorCode, "errorCode", true},
                 {Field::kErrorMessage, "errorMessage", true}},
                true);
  // Always present; JSON null when absent (spec §1.2).
  out.literal(",\"requestParameters\":");
  write_json_or_null(out, e, Field::kRequestParameters, omit_mask, limits_.large_json_bytes);
  out.literal(",\"responseElements\":");
  write_json_or_null(out, e, Field::kResponseElements, omit_mask, limits_.large_json_bytes);
  write_optional_json(out, e, Field::kAdditionalEventData, "additionalEventData", omit_mask, limits_.small_json_bytes);
  write_members(out, e, {{Field::kRequestId, "requestID", true}}, true);
  out.literal(",\"eventID\":");
  if (e.has(Field::kEventId)) {
    write_string(out, e.get(Field::kEventId));
  } else {
    char* p = out.prepare(38);
    p[0] = '"';
    format_uuid_v4(random_, p + 1);
    p[37] = '"';
    out.commit(38);
  }
  if (e.read_only == Tristate::kTrue) out.literal(",\"readOnly\":true");
  if (e.read_only == Tristate::kFalse) out.literal(",\"readOnly\":false");
  if (!e.resources.empty()) {
    out.literal(",\"resources\":[");
    bool first = true;
    for (const Resource& r : e.resources) {
      if (!first) out.push_back(',');
      first = false;
      // Key order as in real files: accountId, type, ARN (spec §10.2 (b)); `ARN` upper case.
      out.push_back('{');
      bool need_comma = false;
      const std::pair<std::string_view, std::string_view> parts[] = {
          {"\"accountId\":", r.account_id}, {"\"type\":", r.type}, {"\"ARN\":", r.arn}};
      for (const auto& [key, value] : parts) {
        if (value.data() == nullptr) continue;
        if (need_comma) out.push_back(',');
        out.append(key);
        write_string(out, value);
        need_comma = true;
      }
      out.push_back('}');
    }
    out.push_back(']');
  }
  out.literal(",\"eventType\":\"");
  out.append(to_string(e.event_type));
  out.push_back('"');
  write_members(out, e, {{Field::kApiVersion, "apiVersion"}}, true);
  if (takes_management_flag(e.event_type)) {
    if (e.event_category == EventCategory::kManagement) {
      out.literal(",\"managementEvent\":true");
    } else {
      out.literal(",\"managementEvent\":false");
    }
  }
  out.literal(",\"recipientAccountId\":");
  write_string(out, account_of(e));
  write_members(out, e,
                {{Field::kSharedEventId, "sharedEventID"},
                 {Field::kVpcEndpointId, "vpcEndpointId"},
                 {Field::kVpcEndpointAccountId, "vpcEndpointAccountId"}},
                true);
  write_optional_json(out, e, Field::kServiceEventDetails, "serviceEventDetails", omit_mask, limits_.large_json_bytes);
  out.literal(",\"eventCategory\":\"");
  out.append(to_string(e.event_category));
  out.push_back('"');
  // updatedFields, originalRequestID and originalEventID belong with reason UPDATED_DATA; the
  // caller decides (spec §1.2).
  write_object(out, e, "addendum",
               {{Field::kAddendumReason, "reason"},
                {Field::kAddendumUpdatedFields, "updatedFields"},
                {Field::kAddendumOriginalRequestId, "originalRequestID"},
                {Field::kAddendumOriginalEventId, "originalEventID"}},
               true);
  write_object(out, e, "tlsDetails",
               {{Field::kTlsVersion, "tlsVersion"},
                {Field::kTlsCipherSuite, "cipherSuite"},
                {Field::kTlsClientProvidedHostHeader, "clientProvidedHostHeader"},
                {Field::kTlsKeyExchange, "keyExchange"}},
               true);
  if (e.session_credential_from_console) out.literal(",\"sessionCredentialFromConsole\":\"true\"");
  write_optional_json(out, e, Field::kEdgeDeviceDetails, "edgeDeviceDetails", omit_mask, limits_.small_json_bytes);
  out.push_back('}');
}

void RecordFormatter::write_json_or_null(JsonBuffer& out, const Event& e, Field field, std::uint64_t omit_mask,
                                         std::size_t limit) {
  if (e.has(field) || (omit_mask & bit(field)) != 0) {
    write_json(out, e, field, omit_mask, limit);
  } else {
    out.literal("null");
  }
}

void RecordFormatter::write_optional_json(JsonBuffer& out, const Event& e, Field field, std::string_view key,
                                          std::uint64_t omit_mask, std::size_t limit) {
  if (!e.has(field) && (omit_mask & bit(field)) == 0) return;
  out.literal(",\"");
  out.append(key);
  out.literal("\":");
  write_json(out, e, field, omit_mask, limit);
}

void RecordFormatter::write_user_identity(const Event& e, JsonBuffer& out) {
  out.literal("{\"type\":\"");
  out.append(to_string(e.identity_type));
  out.push_back('"');
  write_members(out, e,
                {{Field::kPrincipalId, "principalId"},
                 {Field::kArn, "arn"},
                 {Field::kAccountId, "accountId"},
                 {Field::kAccessKeyId, "accessKeyId"},
                 {Field::kUserName, "userName"}},
                true);

  const bool has_web_identity = e.has(Field::kWebIdFederatedProvider) || e.has(Field::kWebIdAttributes);
  const bool has_attributes = e.session_creation_time != kTimeNotSet || e.mfa_authenticated != Tristate::kAbsent;
  const bool has_session = e.session_issuer_type != SessionIssuerType::kNone || has_web_identity || has_attributes ||
                           e.has(Field::kSourceIdentity) || e.has(Field::kEc2RoleDelivery) ||
                           e.assumed_root != Tristate::kAbsent || e.has(Field::kSignInSessionArn);
  if (has_session) {
    out.literal(",\"sessionContext\":{");
    bool need_comma = false;
    if (e.session_issuer_type != SessionIssuerType::kNone) {
      out.literal("\"sessionIssuer\":{\"type\":\"");
      out.append(to_string(e.session_issuer_type));
      out.push_back('"');
      write_members(out, e,
                    {{Field::kIssuerPrincipalId, "principalId"},
                     {Field::kIssuerArn, "arn"},
                     {Field::kIssuerAccountId, "accountId"},
                     {Field::kIssuerUserName, "userName"}},
                    true);
      out.push_back('}');
      need_comma = true;
    }
    // Role sessions carry an empty webIdFederationData object in real files (spec §1.4).
    if (has_web_identity || e.identity_type == IdentityType::kAssumedRole) {
      if (need_comma) out.push_back(',');
      out.literal("\"webIdFederationData\":{");
      const bool wrote = write_members(out, e, {{Field::kWebIdFederatedProvider, "federatedProvider"}}, false);
      if (e.has(Field::kWebIdAttributes)) {
        if (wrote) out.push_back(',');
        out.literal("\"attributes\":");
        write_json(out, e, Field::kWebIdAttributes, 0, limits_.small_json_bytes);
      }
      out.push_back('}');
      need_comma = true;
    }
    if (has_attributes) {
      if (need_comma) out.push_back(',');
      out.literal("\"attributes\":{");
      if (e.session_creation_time != kTimeNotSet) {
        out.literal("\"creationDate\":\"");
        format_event_time(e.session_creation_time, out.prepare(20));
        out.commit(20);
        out.push_back('"');
        if (e.mfa_authenticated != Tristate::kAbsent) out.push_back(',');
      }
      // mfaAuthenticated is the *string* "true"/"false" (spec §0.3).
      if (e.mfa_authenticated == Tristate::kTrue) out.literal("\"mfaAuthenticated\":\"true\"");
      if (e.mfa_authenticated == Tristate::kFalse) out.literal("\"mfaAuthenticated\":\"false\"");
      out.push_back('}');
      need_comma = true;
    }
    need_comma = write_members(out, e,
                               {{Field::kSourceIdentity, "sourceIdentity"}, {Field::kEc2RoleDelivery, "ec2RoleDelivery"}},
                               need_comma);
    if (e.assumed_root != Tristate::kAbsent) {
      if (need_comma) out.push_back(',');
      out.literal("\"assumedRoot\":");
      out.append(e.assumed_root == Tristate::kTrue ? std::string_view("\"true\"") : std::string_view("\"false\""));
      need_comma = true;
    }
    write_members(out, e, {{Field::kSignInSessionArn, "signInSessionArn"}}, need_comma);
    out.push_back('}');
  }
  // invokedBy only when an AWS service made the call: CIS filters test `NOT EXISTS` (spec §1.4).
  write_members(out, e, {{Field::kInvokedBy, "invokedBy"}}, true);
  write_object(out, e, "invokedByDelegate", {{Field::kInvokedByDelegateAccountId, "accountId"}}, true);
  write_object(out, e, "onBehalfOf",
               {{Field::kOnBehalfOfUserId, "userId"}, {Field::kOnBehalfOfIdentityStoreArn, "identityStoreArn"}}, true);
  write_object(out, e, "inScopeOf",
               {{Field::kInScopeOfSourceArn, "sourceArn"},
                {Field::kInScopeOfSourceAccount, "sourceAccount"},
                {Field::kInScopeOfIssuerType, "issuerType"},
                {Field::kInScopeOfCredentialsIssuedTo, "credentialsIssuedTo"},
                {Field::kInScopeOfCredentialsIssuedToVersion, "credentialsIssuedToVersion"}},
               true);
  write_members(out, e, {{Field::kCredentialId, "credentialId"}, {Field::kIdentityProvider, "identityProvider"}}, true);
  out.push_back('}');
}

}  // namespace trailkit::detail
