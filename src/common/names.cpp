// CloudTrail spellings of the public enums (spec §1.4, §1.5).
#include "trailkit/event.hpp"
#include "trailkit/recorder.hpp"

namespace trailkit {

std::string_view to_string(EventType value) noexcept {
  switch (value) {
    case EventType::kAwsApiCall: return "AwsApiCall";
    case EventType::kAwsServiceEvent: return "AwsServiceEvent";
    case EventType::kAwsConsoleAction: return "AwsConsoleAction";
    case EventType::kAwsConsoleSignIn: return "AwsConsoleSignIn";
    case EventType::kAwsVpceEvent: return "AwsVpceEvent";  // singular, as in AWS samples (spec §1.5)
  }
  return "AwsApiCall";
}

std::string_view to_string(EventCategory value) noexcept {
  switch (value) {
    case EventCategory::kManagement: return "Management";
    case EventCategory::kData: return "Data";
    case EventCategory::kNetworkActivity: return "NetworkActivity";
  }
  return "Management";
}

std::string_view to_string(IdentityType value) noexcept {
  switch (value) {
    case IdentityType::kUnknown: return "Unknown";
    case IdentityType::kRoot: return "Root";
    case IdentityType::kIAMUser: return "IAMUser";
    case IdentityType::kAssumedRole: return "AssumedRole";
    case IdentityType::kRole: return "Role";
    case IdentityType::kFederatedUser: return "FederatedUser";
    case IdentityType::kDirectory: return "Directory";
    case IdentityType::kAWSAccount: return "AWSAccount";
    case IdentityType::kAWSService: return "AWSService";
    case IdentityType::kIdentityCenterUser: return "IdentityCenterUser";
    case IdentityType::kSAMLUser: return "SAMLUser";
    case IdentityType::kWebIdentityUser: return "WebIdentityUser";
  }
  return "Unknown";
}

std::string_view to_string(SessionIssuerType value) noexcept {
  switch (value) {
    case SessionIssuerType::kNone: return "";
    case SessionIssuerType::kRoot: return "Root";
    case SessionIssuerType::kIAMUser: return "IAMUser";
    case SessionIssuerType::kRole: return "Role";
  }
  return "";
}

std::string_view describe(EmitStatus status) noexcept {
  switch (status) {
    case EmitStatus::kOk: return "accepted";
    case EmitStatus::kDroppedFull: return "dropped: the event buffer is full (RecorderOptions::buffer_bytes)";
    case EmitStatus::kInvalidAccount:
      return "rejected: recipientAccountId (or RecorderOptions::account_id) must be exactly 12 decimal digits";
    case EmitStatus::kInvalidRegion:
      return "rejected: awsRegion (or RecorderOptions::region) must look like a region name, e.g. us-east-1";
    case EmitStatus::kTooLarge:
      return "rejected: the encoded event is larger than one buffer shard allows (buffer_bytes / shards / 8)";
    case EmitStatus::kClosed: return "refused: the recorder is shut down";
  }
  return "unknown";
}

}  // namespace trailkit
