#pragma once
// trailkit::Event — one CloudTrail management or data event (eventVersion 1.11 trail record).
//
// An Event is a *view*: every text field is a std::string_view into memory the caller owns, and
// nothing is copied until Recorder::emit() encodes it into the buffer. Building an Event therefore
// allocates nothing; the caller's strings must stay alive until emit() returns.
//
// Absent versus empty (spec §1.2, pitfall 7): a field whose string_view has a null data() pointer
// is *absent* and its key is not written (e.g. no `errorCode` on success, no `invokedBy` unless an
// AWS service made the call). An empty but non-null view (`""`) writes the key with an empty string
// (e.g. `"accessKeyId": ""`). `requestParameters` and `responseElements` are always written: absent
// means JSON `null`.
//
// JSON-valued fields (requestParameters, responseElements, additionalEventData,
// serviceEventDetails, edgeDeviceDetails, webIdFederationData.attributes) take raw JSON text. The
// worker validates and re-emits it compactly; invalid JSON, nesting deeper than the configured cap,
// or a value over its CloudTrail size limit (100 KB / 28 KB, spec §9.1) is replaced by the
// configurable omission marker and counted, never written broken.
//
// Thread contract: an Event is a plain value; build it on one thread, emit it from that thread.

#include <cstdint>
#include <span>
#include <string_view>

namespace trailkit {

/// `eventType` (spec §1.5). Insights events are produced by trailkit itself, not emitted.
enum class EventType : std::uint8_t {
  kAwsApiCall,
  kAwsServiceEvent,
  kAwsConsoleAction,
  kAwsConsoleSignIn,
  kAwsVpceEvent,
};

/// `eventCategory` (spec §1.2).
enum class EventCategory : std::uint8_t { kManagement, kData, kNetworkActivity };

/// `userIdentity.type` (spec §1.4).
enum class IdentityType : std::uint8_t {
  kUnknown,
  kRoot,
  kIAMUser,
  kAssumedRole,
  kRole,
  kFederatedUser,
  kDirectory,
  kAWSAccount,
  kAWSService,
  kIdentityCenterUser,
  kSAMLUser,
  kWebIdentityUser,
};

/// `userIdentity.sessionContext.sessionIssuer.type`; kNone means no sessionIssuer object.
enum class SessionIssuerType : std::uint8_t { kNone, kRoot, kIAMUser, kRole };

/// A boolean that can also be absent (readOnly, mfaAuthenticated, assumedRoot).
enum class Tristate : std::uint8_t { kAbsent, kFalse, kTrue };

/// The CloudTrail spelling of each enum value.
std::string_view to_string(EventType value) noexcept;
std::string_view to_string(EventCategory value) noexcept;
std::string_view to_string(IdentityType value) noexcept;
std::string_view to_string(SessionIssuerType value) noexcept;

/// One element of `resources`: `{"ARN": ..., "accountId": ..., "type": ...}` (key `ARN` in upper
/// case). An absent account_id omits the key, as on `AWS::S3::Object` entries.
struct Resource {
  std::string_view arn;
  std::string_view account_id;
  std::string_view type;
};

/// Every text field of a record. The order is the encoding order, not the JSON order.
enum class Field : std::uint8_t {
  // top level
  kEventVersion,
  kEventSource,
  kEventName,
  kAwsRegion,
  kSourceIpAddress,
  kUserAgent,
  kErrorCode,
  kErrorMessage,
  kRequestId,
  kEventId,
  kApiVersion,
  kRecipientAccountId,
  kSharedEventId,
  kVpcEndpointId,
  kVpcEndpointAccountId,
  // raw JSON values
  kRequestParameters,
  kResponseElements,
  kAdditionalEventData,
  kServiceEventDetails,
  kEdgeDeviceDetails,
  // addendum
  kAddendumReason,
  kAddendumUpdatedFields,
  kAddendumOriginalRequestId,
  kAddendumOriginalEventId,
  // tlsDetails
  kTlsVersion,
  kTlsCipherSuite,
  kTlsClientProvidedHostHeader,
  kTlsKeyExchange,
  // userIdentity
  kPrincipalId,
  kArn,
  kAccountId,
  kAccessKeyId,
  kUserName,
  kInvokedBy,
  kCredentialId,
  kIdentityProvider,
  // userIdentity.sessionContext
  kIssuerPrincipalId,
  kIssuerArn,
  kIssuerAccountId,
  kIssuerUserName,
  kWebIdFederatedProvider,
  kWebIdAttributes,  // raw JSON object
  kSourceIdentity,
  kEc2RoleDelivery,
  kSignInSessionArn,
  // userIdentity extras
  kInvokedByDelegateAccountId,
  kOnBehalfOfUserId,
  kOnBehalfOfIdentityStoreArn,
  kInScopeOfSourceArn,
  kInScopeOfSourceAccount,
  kInScopeOfIssuerType,
  kInScopeOfCredentialsIssuedTo,
  kInScopeOfCredentialsIssuedToVersion,
  kCount
};
inline constexpr std::size_t kFieldCount = static_cast<std::size_t>(Field::kCount);
static_assert(kFieldCount <= 64, "the presence mask is 64 bits");

/// True for the fields that carry raw JSON text rather than a string.
constexpr bool is_json_field(Field f) noexcept {
  return f == Field::kRequestParameters || f == Field::kResponseElements || f == Field::kAdditionalEventData ||
         f == Field::kServiceEventDetails || f == Field::kEdgeDeviceDetails || f == Field::kWebIdAttributes;
}

/// Sentinel for "no time given": eventTime is then taken from the recorder's clock at emit().
inline constexpr std::int64_t kTimeNotSet = INT64_MIN;

/// The event itself. Prefer EventBuilder to fill it; adapters may call set() field by field.
/// Text fields are kept behind set()/get() so a presence mask stays in step with them: emit()
/// then visits only the fields that are set (typically 20 of 53).
struct Event {
  /// Seconds since the Unix epoch (UTC) for `eventTime`; kTimeNotSet = now at emit().
  std::int64_t event_time = kTimeNotSet;
  /// `sessionContext.attributes.creationDate` in epoch seconds; kTimeNotSet = absent.
  std::int64_t session_creation_time = kTimeNotSet;
  std::span<const Resource> resources = {};
  EventType event_type = EventType::kAwsApiCall;
  EventCategory event_category = EventCategory::kManagement;
  IdentityType identity_type = IdentityType::kUnknown;
  SessionIssuerType session_issuer_type = SessionIssuerType::kNone;
  Tristate read_only = Tristate::kAbsent;
  Tristate mfa_authenticated = Tristate::kAbsent;  ///< written as the *string* "true"/"false"
  Tristate assumed_root = Tristate::kAbsent;       ///< written as the string "true"/"false"
  bool session_credential_from_console = false;    ///< written as "true" only when true

  std::string_view get(Field f) const noexcept { return text_[static_cast<std::size_t>(f)]; }
  /// A view with a null data() pointer makes the field absent again.
  void set(Field f, std::string_view value) noexcept {
    const auto i = static_cast<std::size_t>(f);
    const bool present = value.data() != nullptr;
    // An absent field always holds an empty view, so emit() can sum every field's size without
    // looking at the presence mask.
    text_[i] = present ? value : std::string_view{};
    const std::uint64_t bit = std::uint64_t{1} << i;
    present_ = present ? (present_ | bit) : (present_ & ~bit);
  }
  bool has(Field f) const noexcept { return (present_ >> static_cast<std::size_t>(f)) & 1u; }
  /// Bit i set when Field(i) is present.
  std::uint64_t present_mask() const noexcept { return present_; }

 private:
  std::string_view text_[kFieldCount] = {};
  std::uint64_t present_ = 0;
};

/// Fluent, allocation-free way to fill an Event. Every setter stores a view; nothing is copied.
///
///   trailkit::Event event = trailkit::EventBuilder("iam.amazonaws.com", "CreateUser")
///       .region("us-east-1").source_ip("203.0.113.10").user_agent("aws-cli/2.15.30")
///       .iam_user("111122223333", "AIDAEXAMPLE", "alice", "AKIAEXAMPLE")
///       .request_parameters(R"({"userName":"bob"})").read_only(false).build();
///
/// Thread contract: a builder is used by one thread.
class EventBuilder {
 public:
  EventBuilder() = default;
  EventBuilder(std::string_view event_source, std::string_view event_name) {
    event_.set(Field::kEventSource, event_source);
    event_.set(Field::kEventName, event_name);
  }

  EventBuilder& set(Field f, std::string_view value) noexcept {
    event_.set(f, value);
    return *this;
  }
  EventBuilder& event_source(std::string_view v) noexcept { return set(Field::kEventSource, v); }
  EventBuilder& event_name(std::string_view v) noexcept { return set(Field::kEventName, v); }
  /// `awsRegion`; also the region folder of the log file. Defaults to RecorderOptions::region.
  EventBuilder& region(std::string_view v) noexcept { return set(Field::kAwsRegion, v); }
  EventBuilder& source_ip(std::string_view v) noexcept { return set(Field::kSourceIpAddress, v); }
  EventBuilder& user_agent(std::string_view v) noexcept { return set(Field::kUserAgent, v); }
  /// Marks the call as failed: `errorCode` and (optionally) `errorMessage`.
  EventBuilder& error(std::string_view code, std::string_view message = {}) noexcept {
    set(Field::kErrorCode, code);
    return set(Field::kErrorMessage, message);
  }
  EventBuilder& request_id(std::string_view v) noexcept { return set(Field::kRequestId, v); }
  /// `eventID`; generated (UUIDv4) on the worker when not given.
  EventBuilder& event_id(std::string_view v) noexcept { return set(Field::kEventId, v); }
  EventBuilder& api_version(std::string_view v) noexcept { return set(Field::kApiVersion, v); }
  /// `recipientAccountId`; also the account folder of the log file. Defaults to RecorderOptions::account_id.
  EventBuilder& recipient_account_id(std::string_view v) noexcept { return set(Field::kRecipientAccountId, v); }
  EventBuilder& shared_event_id(std::string_view v) noexcept { return set(Field::kSharedEventId, v); }
  EventBuilder& vpc_endpoint(std::string_view id, std::string_view account_id = {}) noexcept {
    set(Field::kVpcEndpointId, id);
    return set(Field::kVpcEndpointAccountId, account_id);
  }
  EventBuilder& event_version(std::string_view v) noexcept { return set(Field::kEventVersion, v); }

  /// Raw JSON text; absent means `null` for these two.
  EventBuilder& request_parameters(std::string_view json) noexcept { return set(Field::kRequestParameters, json); }
  EventBuilder& response_elements(std::string_view json) noexcept { return set(Field::kResponseElements, json); }
  EventBuilder& additional_event_data(std::string_view json) noexcept {
    return set(Field::kAdditionalEventData, json);
  }
  EventBuilder& service_event_details(std::string_view json) noexcept {
    return set(Field::kServiceEventDetails, json);
  }
  EventBuilder& edge_device_details(std::string_view json) noexcept { return set(Field::kEdgeDeviceDetails, json); }

  EventBuilder& event_time(std::int64_t epoch_seconds) noexcept {
    event_.event_time = epoch_seconds;
    return *this;
  }
  EventBuilder& type(EventType v) noexcept {
    event_.event_type = v;
    return *this;
  }
  EventBuilder& category(EventCategory v) noexcept {
    event_.event_category = v;
    return *this;
  }
  EventBuilder& read_only(bool v) noexcept {
    event_.read_only = v ? Tristate::kTrue : Tristate::kFalse;
    return *this;
  }
  EventBuilder& resources(std::span<const Resource> v) noexcept {
    event_.resources = v;
    return *this;
  }
  EventBuilder& session_credential_from_console(bool v) noexcept {
    event_.session_credential_from_console = v;
    return *this;
  }
  EventBuilder& tls(std::string_view version, std::string_view cipher_suite, std::string_view host_header,
                    std::string_view key_exchange = {}) noexcept {
    set(Field::kTlsVersion, version);
    set(Field::kTlsCipherSuite, cipher_suite);
    set(Field::kTlsClientProvidedHostHeader, host_header);
    return set(Field::kTlsKeyExchange, key_exchange);
  }
  /// `addendum`; reason is DELIVERY_DELAY, UPDATED_DATA or SERVICE_OUTAGE. The other three
  /// belong to UPDATED_DATA only.
  EventBuilder& addendum(std::string_view reason, std::string_view updated_fields = {},
                         std::string_view original_request_id = {}, std::string_view original_event_id = {}) noexcept {
    set(Field::kAddendumReason, reason);
    set(Field::kAddendumUpdatedFields, updated_fields);
    set(Field::kAddendumOriginalRequestId, original_request_id);
    return set(Field::kAddendumOriginalEventId, original_event_id);
  }

  // ---- userIdentity ----
  EventBuilder& identity_type(IdentityType v) noexcept {
    event_.identity_type = v;
    return *this;
  }
  /// An IAM user: arn is built by the caller or passed here whole.
  EventBuilder& iam_user(std::string_view account_id, std::string_view principal_id, std::string_view arn,
                         std::string_view user_name, std::string_view access_key_id) noexcept {
    event_.identity_type = IdentityType::kIAMUser;
    set(Field::kAccountId, account_id);
    set(Field::kPrincipalId, principal_id);
    set(Field::kArn, arn);
    set(Field::kUserName, user_name);
    return set(Field::kAccessKeyId, access_key_id);
  }
  /// A role session (`AssumedRole`) with its sessionIssuer role.
  EventBuilder& assumed_role(std::string_view account_id, std::string_view principal_id, std::string_view arn,
                             std::string_view access_key_id, std::string_view role_id, std::string_view role_arn,
                             std::string_view role_name) noexcept {
    event_.identity_type = IdentityType::kAssumedRole;
    set(Field::kAccountId, account_id);
    set(Field::kPrincipalId, principal_id);
    set(Field::kArn, arn);
    set(Field::kAccessKeyId, access_key_id);
    return session_issuer(SessionIssuerType::kRole, role_id, role_arn, account_id, role_name);
  }
  /// An AWS service acting on its own (`AWSService` with `invokedBy`).
  EventBuilder& aws_service(std::string_view invoked_by) noexcept {
    event_.identity_type = IdentityType::kAWSService;
    return set(Field::kInvokedBy, invoked_by);
  }
  EventBuilder& principal(std::string_view principal_id, std::string_view arn, std::string_view account_id) noexcept {
    set(Field::kPrincipalId, principal_id);
    set(Field::kArn, arn);
    return set(Field::kAccountId, account_id);
  }
  EventBuilder& access_key_id(std::string_view v) noexcept { return set(Field::kAccessKeyId, v); }
  EventBuilder& user_name(std::string_view v) noexcept { return set(Field::kUserName, v); }
  /// Present only when an AWS service made the call (CIS filters test `invokedBy NOT EXISTS`).
  EventBuilder& invoked_by(std::string_view v) noexcept { return set(Field::kInvokedBy, v); }
  EventBuilder& session_issuer(SessionIssuerType issuer_type, std::string_view principal_id, std::string_view arn,
                               std::string_view account_id, std::string_view user_name) noexcept {
    event_.session_issuer_type = issuer_type;
    set(Field::kIssuerPrincipalId, principal_id);
    set(Field::kIssuerArn, arn);
    set(Field::kIssuerAccountId, account_id);
    return set(Field::kIssuerUserName, user_name);
  }
  /// `sessionContext.attributes`: creationDate (epoch seconds) and mfaAuthenticated.
  EventBuilder& session_attributes(std::int64_t creation_epoch_seconds, bool mfa_authenticated) noexcept {
    event_.session_creation_time = creation_epoch_seconds;
    event_.mfa_authenticated = mfa_authenticated ? Tristate::kTrue : Tristate::kFalse;
    return *this;
  }
  EventBuilder& web_identity(std::string_view federated_provider, std::string_view attributes_json = {}) noexcept {
    set(Field::kWebIdFederatedProvider, federated_provider);
    return set(Field::kWebIdAttributes, attributes_json);
  }
  EventBuilder& source_identity(std::string_view v) noexcept { return set(Field::kSourceIdentity, v); }
  EventBuilder& on_behalf_of(std::string_view user_id, std::string_view identity_store_arn) noexcept {
    set(Field::kOnBehalfOfUserId, user_id);
    return set(Field::kOnBehalfOfIdentityStoreArn, identity_store_arn);
  }

  const Event& build() const noexcept { return event_; }
  Event& event() noexcept { return event_; }

 private:
  Event event_;
};

}  // namespace trailkit
