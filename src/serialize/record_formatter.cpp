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
  if (e.has(Field::kSourceIpAddress)) {
    out.literal(",\"sourceIPAddress\":");
    write_string(out, e.get(Field::kSourceIpAddress));
  }
  if (e.has(Field::kUserAgent)) {
    out.literal(",\"userAgent\":");
    write_truncated(out, e.get(Field::kUserAgent));
  }
  if (e.has(Field::kErrorCode)) {
    out.literal(",\"errorCode\":");
    write_truncated(out, e.get(Field::kErrorCode));
  }
  if (e.has(Field::kErrorMessage)) {
    out.literal(",\"errorMessage\":");
    write_truncated(out, e.get(Field::kErrorMessage));
  }
  out.literal(",\"requestParameters\":");
  if (e.has(Field::kRequestParameters) || (omit_mask & bit(Field::kRequestParameters))) {
    write_json(out, e, Field::kRequestParameters, omit_mask, limits_.large_json_bytes);
  } else {
    out.literal("null");
  }
  out.literal(",\"responseElements\":");
  if (e.has(Field::kResponseElements) || (omit_mask & bit(Field::kResponseElements))) {
    write_json(out, e, Field::kResponseElements, omit_mask, limits_.large_json_bytes);
  } else {
    out.literal("null");
  }
  if (e.has(Field::kAdditionalEventData) || (omit_mask & bit(Field::kAdditionalEventData))) {
    out.literal(",\"additionalEventData\":");
    write_json(out, e, Field::kAdditionalEventData, omit_mask, limits_.small_json_bytes);
  }
  if (e.has(Field::kRequestId)) {
    out.literal(",\"requestID\":");
    write_truncated(out, e.get(Field::kRequestId));
  }
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
  if (e.read_only != Tristate::kAbsent) {
    if (e.read_only == Tristate::kTrue) {
      out.literal(",\"readOnly\":true");
    } else {
      out.literal(",\"readOnly\":false");
    }
  }
  if (!e.resources.empty()) {
    out.literal(",\"resources\":[");
    bool first = true;
    for (const Resource& r : e.resources) {
      if (!first) out.push_back(',');
      first = false;
      // Key order as in real files: accountId, type, ARN (spec §10.2 (b)); `ARN` upper case.
      out.push_back('{');
      bool need_comma = false;
      if (r.account_id.data() != nullptr) {
        out.literal("\"accountId\":");
        write_string(out, r.account_id);
        need_comma = true;
      }
      if (r.type.data() != nullptr) {
        if (need_comma) out.push_back(',');
        out.literal("\"type\":");
        write_string(out, r.type);
        need_comma = true;
      }
      if (r.arn.data() != nullptr) {
        if (need_comma) out.push_back(',');
        out.literal("\"ARN\":");
        write_string(out, r.arn);
      }
      out.push_back('}');
    }
    out.push_back(']');
  }
  out.literal(",\"eventType\":\"");
  out.append(to_string(e.event_type));
  out.push_back('"');
  if (e.has(Field::kApiVersion)) {
    out.literal(",\"apiVersion\":");
    write_string(out, e.get(Field::kApiVersion));
  }
  if (takes_management_flag(e.event_type)) {
    if (e.event_category == EventCategory::kManagement) {
      out.literal(",\"managementEvent\":true");
    } else {
      out.literal(",\"managementEvent\":false");
    }
  }
  out.literal(",\"recipientAccountId\":");
  write_string(out, account_of(e));
  if (e.has(Field::kSharedEventId)) {
    out.literal(",\"sharedEventID\":");
    write_string(out, e.get(Field::kSharedEventId));
  }
  if (e.has(Field::kVpcEndpointId)) {
    out.literal(",\"vpcEndpointId\":");
    write_string(out, e.get(Field::kVpcEndpointId));
  }
  if (e.has(Field::kVpcEndpointAccountId)) {
    out.literal(",\"vpcEndpointAccountId\":");
    write_string(out, e.get(Field::kVpcEndpointAccountId));
  }
  if (e.has(Field::kServiceEventDetails) || (omit_mask & bit(Field::kServiceEventDetails))) {
    out.literal(",\"serviceEventDetails\":");
    write_json(out, e, Field::kServiceEventDetails, omit_mask, limits_.large_json_bytes);
  }
  out.literal(",\"eventCategory\":\"");
  out.append(to_string(e.event_category));
  out.push_back('"');
  if (e.has(Field::kAddendumReason)) {
    out.literal(",\"addendum\":{\"reason\":");
    write_string(out, e.get(Field::kAddendumReason));
    if (e.has(Field::kAddendumUpdatedFields)) {
      out.literal(",\"updatedFields\":");
      write_string(out, e.get(Field::kAddendumUpdatedFields));
    }
    if (e.has(Field::kAddendumOriginalRequestId)) {
      out.literal(",\"originalRequestID\":");
      write_string(out, e.get(Field::kAddendumOriginalRequestId));
    }
    if (e.has(Field::kAddendumOriginalEventId)) {
      out.literal(",\"originalEventID\":");
      write_string(out, e.get(Field::kAddendumOriginalEventId));
    }
    out.push_back('}');
  }
  if (e.has(Field::kTlsVersion) || e.has(Field::kTlsCipherSuite) || e.has(Field::kTlsClientProvidedHostHeader) ||
      e.has(Field::kTlsKeyExchange)) {
    out.literal(",\"tlsDetails\":{");
    bool need_comma = false;
    const std::pair<Field, std::string_view> tls[] = {
        {Field::kTlsVersion, "\"tlsVersion\":"},
        {Field::kTlsCipherSuite, "\"cipherSuite\":"},
        {Field::kTlsClientProvidedHostHeader, "\"clientProvidedHostHeader\":"},
        {Field::kTlsKeyExchange, "\"keyExchange\":"}};
    for (const auto& [field, key] : tls) {
      if (!e.has(field)) continue;
      if (need_comma) out.push_back(',');
      out.append(key);
      write_string(out, e.get(field));
      need_comma = true;
    }
    out.push_back('}');
  }
  if (e.session_credential_from_console) out.literal(",\"sessionCredentialFromConsole\":\"true\"");
  if (e.has(Field::kEdgeDeviceDetails) || (omit_mask & bit(Field::kEdgeDeviceDetails))) {
    out.literal(",\"edgeDeviceDetails\":");
    write_json(out, e, Field::kEdgeDeviceDetails, omit_mask, limits_.small_json_bytes);
  }
  out.push_back('}');
}

void RecordFormatter::write_user_identity(const Event& e, JsonBuffer& out) {
  out.literal("{\"type\":\"");
  out.append(to_string(e.identity_type));
  out.push_back('"');
  const std::pair<Field, std::string_view> basics[] = {{Field::kPrincipalId, ",\"principalId\":"},
                                                       {Field::kArn, ",\"arn\":"},
                                                       {Field::kAccountId, ",\"accountId\":"},
                                                       {Field::kAccessKeyId, ",\"accessKeyId\":"},
                                                       {Field::kUserName, ",\"userName\":"}};
  for (const auto& [field, key] : basics) {
    if (!e.has(field)) continue;
    out.append(key);
    write_string(out, e.get(field));
  }

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
      const std::pair<Field, std::string_view> issuer[] = {{Field::kIssuerPrincipalId, ",\"principalId\":"},
                                                           {Field::kIssuerArn, ",\"arn\":"},
                                                           {Field::kIssuerAccountId, ",\"accountId\":"},
                                                           {Field::kIssuerUserName, ",\"userName\":"}};
      for (const auto& [field, key] : issuer) {
        if (!e.has(field)) continue;
        out.append(key);
        write_string(out, e.get(field));
      }
      out.push_back('}');
      need_comma = true;
    }
    // Role sessions carry an empty webIdFederationData object in real files (spec §1.4).
    if (has_web_identity || e.identity_type == IdentityType::kAssumedRole) {
      if (need_comma) out.push_back(',');
      out.literal("\"webIdFederationData\":{");
      if (e.has(Field::kWebIdFederatedProvider)) {
        out.literal("\"federatedProvider\":");
        write_string(out, e.get(Field::kWebIdFederatedProvider));
        if (e.has(Field::kWebIdAttributes)) out.push_back(',');
      }
      if (e.has(Field::kWebIdAttributes)) {
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
    const std::pair<Field, std::string_view> extras[] = {{Field::kSourceIdentity, "\"sourceIdentity\":"},
                                                         {Field::kEc2RoleDelivery, "\"ec2RoleDelivery\":"}};
    for (const auto& [field, key] : extras) {
      if (!e.has(field)) continue;
      if (need_comma) out.push_back(',');
      out.append(key);
      write_string(out, e.get(field));
      need_comma = true;
    }
    if (e.assumed_root != Tristate::kAbsent) {
      if (need_comma) out.push_back(',');
      out.literal("\"assumedRoot\":");
      out.append(e.assumed_root == Tristate::kTrue ? std::string_view("\"true\"") : std::string_view("\"false\""));
      need_comma = true;
    }
    if (e.has(Field::kSignInSessionArn)) {
      if (need_comma) out.push_back(',');
      out.literal("\"signInSessionArn\":");
      write_string(out, e.get(Field::kSignInSessionArn));
    }
    out.push_back('}');
  }

  if (e.has(Field::kInvokedBy)) {
    out.literal(",\"invokedBy\":");
    write_string(out, e.get(Field::kInvokedBy));
  }
  if (e.has(Field::kInvokedByDelegateAccountId)) {
    out.literal(",\"invokedByDelegate\":{\"accountId\":");
    write_string(out, e.get(Field::kInvokedByDelegateAccountId));
    out.push_back('}');
  }
  if (e.has(Field::kOnBehalfOfUserId) || e.has(Field::kOnBehalfOfIdentityStoreArn)) {
    out.literal(",\"onBehalfOf\":{");
    if (e.has(Field::kOnBehalfOfUserId)) {
      out.literal("\"userId\":");
      write_string(out, e.get(Field::kOnBehalfOfUserId));
      if (e.has(Field::kOnBehalfOfIdentityStoreArn)) out.push_back(',');
    }
    if (e.has(Field::kOnBehalfOfIdentityStoreArn)) {
      out.literal("\"identityStoreArn\":");
      write_string(out, e.get(Field::kOnBehalfOfIdentityStoreArn));
    }
    out.push_back('}');
  }
  const std::pair<Field, std::string_view> scope[] = {
      {Field::kInScopeOfSourceArn, "\"sourceArn\":"},
      {Field::kInScopeOfSourceAccount, "\"sourceAccount\":"},
      {Field::kInScopeOfIssuerType, "\"issuerType\":"},
      {Field::kInScopeOfCredentialsIssuedTo, "\"credentialsIssuedTo\":"},
      {Field::kInScopeOfCredentialsIssuedToVersion, "\"credentialsIssuedToVersion\":"}};
  bool scope_open = false;
  for (const auto& [field, key] : scope) {
    if (!e.has(field)) continue;
    out.append(scope_open ? std::string_view(",") : std::string_view(",\"inScopeOf\":{"));
    scope_open = true;
    out.append(key);
    write_string(out, e.get(field));
  }
  if (scope_open) out.push_back('}');
  if (e.has(Field::kCredentialId)) {
    out.literal(",\"credentialId\":");
    write_string(out, e.get(Field::kCredentialId));
  }
  if (e.has(Field::kIdentityProvider)) {
    out.literal(",\"identityProvider\":");
    write_string(out, e.get(Field::kIdentityProvider));
  }
  out.push_back('}');
}

}  // namespace trailkit::detail
