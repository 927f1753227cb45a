#include "simulated_service/simulated_service.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "common/civil_time.hpp"

namespace trailkit::examples {
namespace {

enum class Operation : std::uint8_t {
  kCreateUser,
  kGetUser,
  kListRoles,
  kPutRolePolicy,
  kAssumeRole,
  kGetObject,
  kPutObject,
  kListObjectsV2,
  kDescribeInstances,
  kRunInstances,
  kDecrypt,
  kGetItem,
  kPutItem,
  kConsoleLogin,
  kCount
};

constexpr std::string_view kOperationNames[] = {
    "CreateUser", "GetUser",           "ListRoles",    "PutRolePolicy", "AssumeRole",
    "GetObject",  "PutObject",         "ListObjectsV2", "DescribeInstances", "RunInstances",
    "Decrypt",    "GetItem",           "PutItem",      "ConsoleLogin"};
static_assert(std::size(kOperationNames) == static_cast<std::size_t>(Operation::kCount));

// Mix (in percent) close to a busy application account: S3 and DynamoDB data events dominate,
// IAM writes are rare (performance.md Appendix B uses the same shape).
constexpr std::uint8_t kOperationWeights[] = {2, 4, 3, 2, 10, 24, 10, 6, 6, 2, 10, 10, 6, 5};
static_assert(std::size(kOperationWeights) == static_cast<std::size_t>(Operation::kCount));

constexpr std::string_view kUserNames[] = {"alice",       "bob",     "carol.ng", "deploy-bot",
                                           "svc-metrics", "j.smith", "m.garcia", "ops-oncall"};
constexpr std::string_view kRoleNames[] = {"AppServerRole",     "DataPipelineRole", "LambdaExecutionRole",
                                           "CIDeployRole",      "ReadOnlyAuditRole", "AdminRole"};
constexpr std::string_view kBuckets[] = {"prod-data-lake-raw", "prod-app-assets", "logs-archive-central",
                                         "ml-training-sets", "customer-exports"};
constexpr std::string_view kObjectPrefixes[] = {"events", "raw/clickstream", "exports", "thumbnails",
                                                "models"};
constexpr std::string_view kObjectExtensions[] = {"json.gz", "parquet", "jpg", "csv"};
constexpr std::string_view kTables[] = {"Orders", "Sessions", "UserProfiles", "Inventory", "FeatureFlags"};
constexpr std::string_view kInstanceTypes[] = {"m6i.large", "c7g.xlarge", "t3.micro", "r6i.2xlarge"};
constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Realistic SDK user agents (performance.md Appendix B). S3 wraps the agent in [...] (spec §10.2b).
constexpr std::string_view kUserAgents[] = {
    "aws-sdk-java/2.20.162 Linux/5.10.198-187.748.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.8+7-LTS Java/17.0.8 "
    "vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/standard",
    "Boto3/1.28.57 md/Botocore#1.31.57 ua/2.0 os/linux#5.15.0-1047-aws md/arch#x86_64 lang/python#3.11.5 "
    "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.57",
    "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython "
    "cfg/retry-mode#standard md/installer#exe",
    "aws-sdk-go-v2/1.21.0 os/linux lang/go#1.21.1 md/GOOS#linux md/GOARCH#amd64",
    "Terraform/1.5.7 (+https://www.terraform.io) terraform-provider-aws/5.19.0 "
    "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.45.19 (go1.20.8; linux; amd64)",
    "aws-sdk-cpp/1.11.178 Linux/5.15.0 x86_64 GCC/11.4.0 md/aws-crt#0.24.1",
    "aws-sdk-go/1.44.327 (go1.20.7; linux; amd64)",
    "aws-sdk-nodejs/2.1502.0 linux/v18.18.2 exec-env/AWS_Lambda_nodejs18.x",
};
constexpr std::string_view kBrowserUserAgent =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 "
    "Safari/537.36";

constexpr std::string_view kUpperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr std::string_view kHex = "0123456789abcdef";
constexpr std::string_view kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr double kFailureRate = 0.04;
constexpr std::string_view kGlobalRegion = "us-east-1";

}  // namespace

// ---- population: built once, never changed ----

struct Session {
  std::string name;
  std::string principal_id;  // AROA...:<name>
  std::string arn;           // arn:aws:sts::<acct>:assumed-role/<role>/<name>
  std::string access_key;    // ASIA..., one per session
  std::int64_t phase = 0;    // sessions renew hourly at this offset (stable creationDate within the hour)
  bool mfa = false;
};

struct Role {
  std::string_view name;
  std::string id;   // AROA...
  std::string arn;  // arn:aws:iam::<acct>:role/<name>
  std::vector<Session> sessions;
};

struct User {
  std::string_view name;
  std::string id;          // AIDA...
  std::string access_key;  // AKIA...
  std::string arn;
};

struct SimulatedService::Population {
  std::string root_arn;
  std::string root_key;
  std::vector<User> users;
  std::vector<Role> roles;
  std::vector<std::string> private_ips;
  std::vector<std::string> public_ips;
  std::vector<std::string> instances;  // i-<17 hex>
  std::vector<std::string> kms_keys;   // key ids (UUIDs)
  std::vector<std::string> amis;
  std::vector<std::string> subnets;
  std::string vpc_endpoint;
};

// A fixed arena reset per call: the Event's views point here, so it must never reallocate.
// Writes past the end are dropped (the views stay valid); records are far below the size.
class SimulatedService::Scratch {
 public:
  Scratch() : data_(new char[kScratchBytes]) {}
  void reset() noexcept { size_ = 0; }
  std::size_t mark() const noexcept { return size_; }
  std::string_view since(std::size_t mark) const noexcept { return {data_.get() + mark, size_ - mark}; }
  std::size_t size() const noexcept { return size_; }

  Scratch& operator<<(std::string_view s) noexcept {
    const std::size_t n = std::min(s.size(), kScratchBytes - size_);
    std::memcpy(data_.get() + size_, s.data(), n);
    size_ += n;
    return *this;
  }
  Scratch& number(std::uint64_t value, int min_digits = 1) noexcept {
    char digits[20];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0 || n < min_digits);
    while (n > 0 && size_ < kScratchBytes) data_[size_++] = digits[--n];
    return *this;
  }
  /// `count` characters drawn uniformly from `alphabet` (at most 64 characters). A power-of-two
  /// alphabet takes bit fields of a random word; others take eight draws per word (each 32-bit
  /// half yields four by multiply-shift, using 24 of its bits).
  Scratch& random_chars(detail::FastRandom& random, std::size_t count, std::string_view alphabet) noexcept {
    const std::uint64_t n = alphabet.size();
    count = std::min(count, kScratchBytes - size_);
    char* out = data_.get() + size_;  // a local pointer: stores through it cannot alias size_
    size_ += count;
    if ((n & (n - 1)) == 0) {  // hex, base64: plain bit fields, no dependency chain
      const int bits = std::countr_zero(n);
      const int per_word = 64 / bits;
      for (std::size_t i = 0; i < count;) {
        std::uint64_t word = random.next();
        for (int k = 0; k < per_word && i < count; ++k, ++i, word >>= bits) out[i] = alphabet[word & (n - 1)];
      }
      return *this;
    }
    for (std::size_t i = 0; i < count;) {
      const std::uint64_t word = random.next();
      for (std::uint64_t half : {word >> 32, word & std::uint64_t{0xFFFFFFFF}}) {
        for (int k = 0; k < 4 && i < count; ++k, ++i) {
          half *= n;
          out[i] = alphabet[static_cast<std::size_t>(half >> 32)];
          half &= std::uint64_t{0xFFFFFFFF};
        }
      }
    }
    return *this;
  }
  /// Lower-case UUIDv4 text, as AWS request ids are.
  Scratch& uuid(detail::FastRandom& random) noexcept {
    std::uint64_t hi = random.next();
    std::uint64_t lo = random.next();
    hi = (hi & ~0xF000ull) | 0x4000ull;                   // version 4
    lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;  // variant 10
    char text[36];
    int pos = 0;
    for (int i = 0; i < 32; ++i) {
      if (i == 8 || i == 12 || i == 16 || i == 20) text[pos++] = '-';
      const std::uint64_t word = i < 16 ? hi : lo;
      text[pos++] = kHex[(word >> (60 - 4 * (i % 16))) & 0xF];
    }
    return *this << std::string_view(text, sizeof text);
  }
  /// Java's `MMM d, yyyy, h:mm:ss a`, which IAM and STS use inside responseElements (spec §1.3).
  Scratch& java_date(std::int64_t epoch_seconds) noexcept {
    const detail::CivilTime t = detail::civil_from_epoch(epoch_seconds);
    const int hour12 = t.hour % 12 == 0 ? 12 : t.hour % 12;
    *this << kMonths[t.month - 1] << " ";
    number(static_cast<std::uint64_t>(t.day)) << ", ";
    number(static_cast<std::uint64_t>(t.year)) << ", ";
    number(static_cast<std::uint64_t>(hour12)) << ":";
    number(static_cast<std::uint64_t>(t.minute), 2) << ":";
    number(static_cast<std::uint64_t>(t.second), 2) << (t.hour < 12 ? " AM" : " PM");
    return *this;
  }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
};

// What one call needs across the identity, operation and failure steps.
struct SimulatedService::Call {
  Event* event = nullptr;
  Operation op = Operation::kGetObject;
  std::int64_t now = 0;  // epoch seconds the time-derived values are anchored to
  std::string_view region;
  std::string_view endpoint;     // tlsDetails.clientProvidedHostHeader
  std::string_view action;       // "s3:GetObject", for AccessDenied messages
  std::string_view target_arn;   // the resource named in AccessDenied messages
  std::string_view caller_arn;   // empty for AWSService callers
  std::string_view invoked_by;   // set when an AWS service made the call
  std::string_view source_ip;
  std::string_view tls_cipher;
  bool from_console = false;
};

namespace {

std::string random_text(detail::FastRandom& random, std::string_view prefix, std::size_t count,
                        std::string_view alphabet) {
  std::string text(prefix);
  for (std::size_t i = 0; i < count; ++i) {
    text += alphabet[static_cast<std::size_t>(((random.next() >> 32) * alphabet.size()) >> 32)];
  }
  return text;
}

std::string uuid_text(detail::FastRandom& random) {
  std::string text = random_text(random, "", 32, kHex);
  text[12] = '4';
  text[16] = kHex[8 + (text[16] & 3)];
  return text.substr(0, 8) + "-" + text.substr(8, 4) + "-" + text.substr(12, 4) + "-" + text.substr(16, 4) + "-" +
         text.substr(20);
}

}  // namespace

SimulatedService::SimulatedService(SimulatedServiceOptions options)
    : options_(std::move(options)),
      random_(options_.seed),
      population_(std::make_unique<Population>()),
      scratch_(std::make_unique<Scratch>()) {
  if (options_.regions.empty()) throw std::invalid_argument("SimulatedServiceOptions.regions must not be empty");
  Population& p = *population_;
  const std::string& account = options_.account_id;
  p.root_arn = "arn:aws:iam::" + account + ":root";
  p.root_key = random_text(random_, "AKIA", 16, kUpperAlnum);
  for (std::string_view name : kUserNames) {
    p.users.push_back(User{name, random_text(random_, "AIDA", 17, kUpperAlnum),
                           random_text(random_, "AKIA", 16, kUpperAlnum),
                           "arn:aws:iam::" + account + ":user/" + std::string(name)});
  }
  for (std::string_view name : kRoleNames) {
    Role role{name, random_text(random_, "AROA", 17, kUpperAlnum),
              "arn:aws:iam::" + account + ":role/" + std::string(name), {}};
    // Three sessions per role, named as real callers name them: an EC2 instance profile, a
    // botocore script and a person who switched role in the console.
    const std::string names[] = {
        random_text(random_, "i-0", 16, kHex),
        "botocore-session-" + std::to_string(1'700'000'000 + uniform(99'999'999)),
        std::string(kUserNames[uniform(std::size(kUserNames))]) + "@example.com"};
    for (const std::string& session_name : names) {
      Session session;
      session.name = session_name;
      session.principal_id = role.id + ":" + session_name;
      session.arn = "arn:aws:sts::" + account + ":assumed-role/" + std::string(name) + "/" + session_name;
      session.access_key = random_text(random_, "ASIA", 16, kUpperAlnum);
      session.phase = static_cast<std::int64_t>(uniform(3600));
      session.mfa = session_name.ends_with("@example.com");
      role.sessions.push_back(std::move(session));
    }
    p.roles.push_back(std::move(role));
  }
  for (int i = 0; i < 48; ++i) {
    p.private_ips.push_back("10." + std::to_string(uniform(40)) + "." + std::to_string(uniform(256)) + "." +
                            std::to_string(1 + uniform(254)));
  }
  constexpr std::uint64_t kPublicFirstOctets[] = {3, 18, 34, 52, 54, 35, 44, 203};
  for (int i = 0; i < 24; ++i) {
    p.public_ips.push_back(std::to_string(kPublicFirstOctets[uniform(std::size(kPublicFirstOctets))]) + "." +
                           std::to_string(uniform(256)) + "." + std::to_string(uniform(256)) + "." +
                           std::to_string(1 + uniform(254)));
  }
  for (int i = 0; i < 40; ++i) p.instances.push_back(random_text(random_, "i-0", 16, kHex));
  for (int i = 0; i < 4; ++i) p.kms_keys.push_back(uuid_text(random_));
  for (int i = 0; i < 3; ++i) p.amis.push_back(random_text(random_, "ami-0", 16, kHex));
  for (int i = 0; i < 4; ++i) p.subnets.push_back(random_text(random_, "subnet-0", 16, kHex));
  p.vpc_endpoint = random_text(random_, "vpce-0", 16, kHex);
}

SimulatedService::~SimulatedService() = default;

std::span<const std::string_view> SimulatedService::operation_names() noexcept { return kOperationNames; }

std::uint64_t SimulatedService::uniform(std::uint64_t bound) noexcept {
  return ((random_.next() >> 32) * bound) >> 32;  // Lemire's multiply-shift; bias is negligible here
}

bool SimulatedService::chance(double probability) noexcept {
  return static_cast<double>(random_.next() >> 11) * 0x1.0p-53 < probability;
}

std::string_view SimulatedService::next_call(Event& out, std::int64_t event_time_epoch_seconds) {
  out = Event{};
  scratch_->reset();
  Scratch& s = *scratch_;

  Call call;
  call.event = &out;
  if (event_time_epoch_seconds != kTimeNotSet) {
    call.now = event_time_epoch_seconds;
    out.event_time = event_time_epoch_seconds;
  } else {
    call.now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  }

  std::uint64_t roll = uniform(100);
  std::size_t index = 0;
  while (roll >= kOperationWeights[index]) roll -= kOperationWeights[index++];
  call.op = static_cast<Operation>(index);
  const std::string_view name = kOperationNames[index];
  out.set(Field::kEventName, name);

  const bool global = call.op <= Operation::kPutRolePolicy || call.op == Operation::kConsoleLogin;
  call.region = global ? kGlobalRegion : std::string_view(pick(options_.regions));
  out.set(Field::kAwsRegion, call.region);
  out.set(Field::kRecipientAccountId, options_.account_id);
  // eventVersion left unset: the SDK writes "1.11", valid for every field used here (spec §1.2).
  out.event_type = EventType::kAwsApiCall;
  out.event_category = EventCategory::kManagement;

  fill_identity(call);
  if (call.invoked_by.data() == nullptr) {
    const bool private_network = call.op != Operation::kConsoleLogin && chance(0.5);
    call.source_ip = private_network ? pick(population_->private_ips) : pick(population_->public_ips);
    const bool tls13 = chance(0.6);
    call.tls_cipher = tls13 ? "TLS_AES_128_GCM_SHA256" : "ECDHE-RSA-AES128-GCM-SHA256";
  } else {
    call.source_ip = call.invoked_by;
  }
  out.set(Field::kSourceIpAddress, call.source_ip);

  switch (call.op) {
    case Operation::kCreateUser:
    case Operation::kGetUser:
    case Operation::kListRoles:
    case Operation::kPutRolePolicy:
      serve_iam(call);
      break;
    case Operation::kAssumeRole:
      serve_sts(call);
      break;
    case Operation::kGetObject:
    case Operation::kPutObject:
    case Operation::kListObjectsV2:
      serve_s3(call);
      break;
    case Operation::kDescribeInstances:
    case Operation::kRunInstances:
      serve_ec2(call);
      break;
    case Operation::kDecrypt:
      serve_kms(call);
      break;
    case Operation::kGetItem:
    case Operation::kPutItem:
      serve_dynamodb(call);
      break;
    case Operation::kConsoleLogin:
    case Operation::kCount:
      serve_console_login(call);
      break;
  }

  // A service acting for the caller reports itself as source and agent, and CloudTrail has no
  // tlsDetails for it (spec §1.2 tlsDetails: "absent when an AWS service called on your behalf").
  if (call.invoked_by.data() != nullptr) {
    out.set(Field::kUserAgent, call.invoked_by);
  } else if (!out.has(Field::kUserAgent)) {
    const std::string_view agent = kUserAgents[uniform(std::size(kUserAgents))];
    if (out.get(Field::kEventSource) == "s3.amazonaws.com") {
      const std::size_t mark = s.mark();
      s << "[" << agent << "]";
      out.set(Field::kUserAgent, s.since(mark));
    } else {
      out.set(Field::kUserAgent, agent);
    }
  }
  if (call.invoked_by.data() == nullptr && call.op != Operation::kConsoleLogin) {
    const bool tls13 = call.tls_cipher == "TLS_AES_128_GCM_SHA256";
    out.set(Field::kTlsVersion, tls13 ? "TLSv1.3" : "TLSv1.2");
    out.set(Field::kTlsCipherSuite, call.tls_cipher);
    out.set(Field::kTlsClientProvidedHostHeader, call.endpoint);
    if (tls13 && chance(0.25)) out.set(Field::kTlsKeyExchange, "X25519");  // newer clients only
  }

  if (!out.has(Field::kRequestId)) {
    const std::size_t mark = s.mark();
    if (out.get(Field::kEventSource) == "s3.amazonaws.com") {
      s.random_chars(random_, 16, kUpperAlnum);  // S3 request ids: 16 upper-case alphanumerics
    } else {
      s.uuid(random_);
    }
    out.set(Field::kRequestId, s.since(mark));
  }

  if (chance(kFailureRate)) fail(call);
  return name;
}

void SimulatedService::fill_identity(Call& call) {
  Event& out = *call.event;
  Population& p = *population_;
  const std::string& account = options_.account_id;

  if (call.op == Operation::kConsoleLogin) {
    call.from_console = true;
    if (chance(0.1)) {
      out.identity_type = IdentityType::kRoot;
      out.set(Field::kPrincipalId, account);
      out.set(Field::kArn, p.root_arn);
      out.set(Field::kAccountId, account);
      out.set(Field::kAccessKeyId, "");
      call.caller_arn = p.root_arn;
    } else {
      const User& user = pick(p.users);
      out.identity_type = IdentityType::kIAMUser;
      out.set(Field::kPrincipalId, user.id);
      out.set(Field::kArn, user.arn);
      out.set(Field::kAccountId, account);
      out.set(Field::kUserName, user.name);
      call.caller_arn = user.arn;
    }
    return;
  }

  // A service acting with its own principal: only role assumption does this here (Lambda, EC2 and
  // ECS assume execution roles); CloudTrail writes {"type":"AWSService","invokedBy":...}.
  if (call.op == Operation::kAssumeRole && chance(0.35)) {
    constexpr std::string_view kServices[] = {"lambda.amazonaws.com", "ec2.amazonaws.com",
                                              "ecs-tasks.amazonaws.com"};
    call.invoked_by = kServices[uniform(std::size(kServices))];
    out.identity_type = IdentityType::kAWSService;
    out.set(Field::kInvokedBy, call.invoked_by);
    return;
  }

  const double who = static_cast<double>(uniform(1000)) / 1000.0;
  if (who < 0.5) {
    const Role& role = pick(p.roles);
    const Session& session = pick(role.sessions);
    out.identity_type = IdentityType::kAssumedRole;
    out.set(Field::kPrincipalId, session.principal_id);
    out.set(Field::kArn, session.arn);
    out.set(Field::kAccountId, account);
    out.set(Field::kAccessKeyId, session.access_key);
    out.session_issuer_type = SessionIssuerType::kRole;
    out.set(Field::kIssuerPrincipalId, role.id);
    out.set(Field::kIssuerArn, role.arn);
    out.set(Field::kIssuerAccountId, account);
    out.set(Field::kIssuerUserName, role.name);
    out.set(Field::kWebIdAttributes, "{}");  // real sessions carry "webIdFederationData":{}
    out.session_creation_time = call.now - (call.now + session.phase) % 3600;
    out.mfa_authenticated = session.mfa ? Tristate::kTrue : Tristate::kFalse;
    call.caller_arn = session.arn;
    // A service that acts with the caller's role session (S3 decrypting with KMS, Athena reading
    // S3, Auto Scaling launching instances) adds invokedBy to the session identity (spec §1.4).
    std::string_view via;
    if (call.op == Operation::kDecrypt) via = "s3.amazonaws.com";
    if (call.op == Operation::kGetObject) via = "athena.amazonaws.com";
    if (call.op == Operation::kRunInstances) via = "autoscaling.amazonaws.com";
    if (via.data() != nullptr && chance(0.4)) {
      call.invoked_by = via;
      out.set(Field::kInvokedBy, via);
    }
  } else if (who < 0.99) {
    const User& user = pick(p.users);
    out.identity_type = IdentityType::kIAMUser;
    out.set(Field::kPrincipalId, user.id);
    out.set(Field::kArn, user.arn);
    out.set(Field::kAccountId, account);
    out.set(Field::kAccessKeyId, user.access_key);
    out.set(Field::kUserName, user.name);
    call.caller_arn = user.arn;
  } else {
    out.identity_type = IdentityType::kRoot;
    out.set(Field::kPrincipalId, account);
    out.set(Field::kArn, p.root_arn);
    out.set(Field::kAccountId, account);
    out.set(Field::kAccessKeyId, p.root_key);
    call.caller_arn = p.root_arn;
  }
}

std::string_view SimulatedService::regional_endpoint(std::string_view service, std::string_view region) noexcept {
  const std::size_t mark = scratch_->mark();
  *scratch_ << service << "." << region << ".amazonaws.com";
  return scratch_->since(mark);
}

void SimulatedService::set_single_resource(Event& out, std::string_view arn, std::string_view type) noexcept {
  resources_[0] = Resource{arn, options_.account_id, type};
  out.resources = std::span<const Resource>(resources_.data(), 1);
}

void SimulatedService::serve_iam(Call& call) {
  Event& out = *call.event;
  Scratch& s = *scratch_;
  const std::string& account = options_.account_id;
  out.set(Field::kEventSource, "iam.amazonaws.com");
  call.endpoint = "iam.amazonaws.com";

  std::size_t mark = s.mark();
  switch (call.op) {
    case Operation::kCreateUser: {
      const std::size_t name_mark = s.mark();
      s << "user-";
      s.random_chars(random_, 6, kHex);
      const std::string_view user_name = s.since(name_mark);
      const std::size_t arn_mark = s.mark();
      s << "arn:aws:iam::" << account << ":user/" << user_name;
      call.target_arn = s.since(arn_mark);
      call.action = "iam:CreateUser";
      mark = s.mark();
      s << R"({"userName":")" << user_name << R"("})";
      out.set(Field::kRequestParameters, s.since(mark));
      mark = s.mark();
      s << R"({"user":{"path":"/","userName":")" << user_name << R"(","userId":"AIDA)";
      s.random_chars(random_, 17, kUpperAlnum) << R"(","arn":")" << call.target_arn << R"(","createDate":")";
      s.java_date(call.now) << R"("}})";
      out.set(Field::kResponseElements, s.since(mark));
      out.read_only = Tristate::kFalse;
      break;
    }
    case Operation::kGetUser: {
      const User& user = pick(population_->users);
      call.target_arn = user.arn;
      call.action = "iam:GetUser";
      s << R"({"userName":")" << user.name << R"("})";
      out.set(Field::kRequestParameters, s.since(mark));
      out.read_only = Tristate::kTrue;
      break;
    }
    case Operation::kListRoles: {
      const std::size_t arn_mark = s.mark();
      s << "arn:aws:iam::" << account << ":role/";
      call.target_arn = s.since(arn_mark);
      call.action = "iam:ListRoles";
      // The console lists without parameters; SDKs page with maxItems.
      if (chance(0.5)) {
        mark = s.mark();
        s << R"({"maxItems":100})";
        out.set(Field::kRequestParameters, s.since(mark));
      }
      out.read_only = Tristate::kTrue;
      break;
    }
    default: {  // PutRolePolicy
      const Role& role = pick(population_->roles);
      const std::string_view bucket = kBuckets[uniform(std::size(kBuckets))];
      call.target_arn = role.arn;
      call.action = "iam:PutRolePolicy";
      // policyDocument is a JSON *string* holding the pretty-printed policy, as IAM logs it.
      s << R"({"roleName":")" << role.name << R"(","policyName":"inline-)";
      s.random_chars(random_, 6, kHex);
      s << R"(","policyDocument":"{\n    \"Version\": \"2012-10-17\",\n    \"Statement\": [\n        {\n)"
        << R"(            \"Effect\": \"Allow\",\n            \"Action\": [\n                \"s3:GetObject\",\n)"
        << R"(                \"s3:ListBucket\"\n            ],\n            \"Resource\": [\n)"
        << R"(                \"arn:aws:s3:::)" << bucket << R"(\",\n                \"arn:aws:s3:::)" << bucket
        << R"(/*\"\n            ]\n        }\n    ]\n}"})";
      out.set(Field::kRequestParameters, s.since(mark));
      out.read_only = Tristate::kFalse;
      break;
    }
  }
}

void SimulatedService::serve_sts(Call& call) {
  Event& out = *call.event;
  Scratch& s = *scratch_;
  const Role& role = pick(population_->roles);
  const Session& session = pick(role.sessions);
  const std::uint64_t duration = chance(0.7) ? 3600 : 900;
  out.set(Field::kEventSource, "sts.amazonaws.com");
  call.endpoint = regional_endpoint("sts", call.region);
  call.action = "sts:AssumeRole";
  call.target_arn = role.arn;

  std::size_t mark = s.mark();
  s << R"({"roleArn":")" << role.arn << R"(","roleSessionName":")" << session.name
    << R"(","durationSeconds":)";
  s.number(duration) << "}";
  out.set(Field::kRequestParameters, s.since(mark));
  // CloudTrail logs the issued access key id and token but never the secret access key.
  mark = s.mark();
  s << R"({"credentials":{"accessKeyId":")" << session.access_key << R"(","sessionToken":"IQoJb3JpZ2luX2Vj)";
  s.random_chars(random_, 40, kBase64) << R"(...","expiration":")";
  s.java_date(call.now + static_cast<std::int64_t>(duration)) << R"("},"assumedRoleUser":{"assumedRoleId":")"
                                                             << session.principal_id << R"(","arn":")"
                                                             << session.arn << R"("}})";
  out.set(Field::kResponseElements, s.since(mark));
  set_single_resource(out, role.arn, "AWS::IAM::Role");
  out.read_only = Tristate::kFalse;
}

void SimulatedService::serve_s3(Call& call) {
  Event& out = *call.event;
  Scratch& s = *scratch_;
  const std::string_view bucket = kBuckets[uniform(std::size(kBuckets))];
  const bool is_list = call.op == Operation::kListObjectsV2;
  out.set(Field::kEventSource, "s3.amazonaws.com");
  out.event_category = EventCategory::kData;  // object-level calls are data events: managementEvent false

  std::size_t mark = s.mark();
  s << bucket << ".s3." << call.region << ".amazonaws.com";
  call.endpoint = s.since(mark);
  mark = s.mark();
  s << "arn:aws:s3:::" << bucket;
  const std::string_view bucket_arn = s.since(mark);

  std::string_view object_arn;
  mark = s.mark();
  s << R"({"bucketName":")" << bucket << R"(","Host":")" << call.endpoint << "\"";
  if (is_list) {
    s << R"(,"list-type":"2","prefix":"events/2024/)";
    s.number(1 + uniform(12), 2) << R"(/","max-keys":"1000","encoding-type":"url"})";
    out.set(Field::kRequestParameters, s.since(mark));
    call.target_arn = bucket_arn;
  } else {
    s << R"(,"key":")";
    const std::size_t key_mark = s.mark();
    s << kObjectPrefixes[uniform(std::size(kObjectPrefixes))] << "/2024/";
    s.number(1 + uniform(12), 2) << "/";
    s.number(1 + uniform(28), 2) << "/";
    s.random_chars(random_, 12, kHex) << "." << kObjectExtensions[uniform(std::size(kObjectExtensions))];
    const std::string_view key = s.since(key_mark);
    s << "\"}";
    out.set(Field::kRequestParameters, s.since(mark));
    mark = s.mark();
    s << bucket_arn << "/" << key;
    object_arn = s.since(mark);
    call.target_arn = object_arn;
  }

  const bool is_put = call.op == Operation::kPutObject;
  const std::uint64_t size = is_list ? 1000 + uniform(60'000) : 100 + uniform(20'000'000);
  if (is_put) {
    mark = s.mark();
    s << R"({"x-amz-server-side-encryption":"aws:kms","x-amz-server-side-encryption-aws-kms-key-id":"arn:aws:kms:)"
      << call.region << ":" << options_.account_id << ":key/" << pick(population_->kms_keys) << "\"}";
    out.set(Field::kResponseElements, s.since(mark));
  }

  mark = s.mark();
  s << R"({"SignatureVersion":"SigV4","CipherSuite":")"
    << (call.tls_cipher.empty() ? std::string_view("TLS_AES_128_GCM_SHA256") : call.tls_cipher)
    << R"(","bytesTransferredIn":)";
  s.number(is_put ? size : 0) << R"(,"AuthenticationMethod":"AuthHeader","x-amz-id-2":")";
  s.random_chars(random_, 76, kBase64) << R"(","bytesTransferredOut":)";
  s.number(is_put ? 0 : size) << "}";
  out.set(Field::kAdditionalEventData, s.since(mark));

  // The object entry has no accountId (spec §1.6); the bucket entry does.
  std::size_t count = 0;
  if (!is_list) resources_[count++] = Resource{object_arn, {}, "AWS::S3::Object"};
  resources_[count++] = Resource{bucket_arn, options_.account_id, "AWS::S3::Bucket"};
  out.resources = std::span<const Resource>(resources_.data(), count);
  out.read_only = is_put ? Tristate::kFalse : Tristate::kTrue;
  call.action = call.op == Operation::kGetObject ? "s3:GetObject" : is_put ? "s3:PutObject" : "s3:ListBucket";
  if (call.invoked_by.data() == nullptr && call.source_ip.starts_with("10.") && chance(0.5)) {
    out.set(Field::kVpcEndpointId, population_->vpc_endpoint);
  }
}

void SimulatedService::serve_ec2(Call& call) {
  Event& out = *call.event;
  Scratch& s = *scratch_;
  Population& p = *population_;
  out.set(Field::kEventSource, "ec2.amazonaws.com");
  call.endpoint = regional_endpoint("ec2", call.region);
  std::size_t mark = s.mark();
  s << "arn:aws:ec2:" << call.region << ":" << options_.account_id << ":instance/*";
  call.target_arn = s.since(mark);

  mark = s.mark();
  if (call.op == Operation::kDescribeInstances) {
    call.action = "ec2:DescribeInstances";
    s << R"({"instancesSet":{"items":[)";
    const std::uint64_t count = 1 + uniform(3);
    for (std::uint64_t i = 0; i < count; ++i) {
      s << (i ? "," : "") << R"({"instanceId":")" << pick(p.instances) << "\"}";
    }
    s << R"(]},"filterSet":{}})";
    out.set(Field::kRequestParameters, s.since(mark));
    out.read_only = Tristate::kTrue;
    return;
  }
  call.action = "ec2:RunInstances";
  const std::string_view ami = pick(p.amis);
  const std::string_view type = kInstanceTypes[uniform(std::size(kInstanceTypes))];
  s << R"({"instancesSet":{"items":[{"imageId":")" << ami << R"(","minCount":1,"maxCount":1}]},"instanceType":")"
    << type << R"(","blockDeviceMapping":{},"monitoring":{"enabled":false},"disableApiTermination":false,)"
    << R"("subnetId":")" << pick(p.subnets) << R"(","clientToken":")";
  s.uuid(random_) << "\"}";
  out.set(Field::kRequestParameters, s.since(mark));
  // EC2 repeats the request id inside responseElements.
  mark = s.mark();
  s.uuid(random_);
  const std::string_view request_id = s.since(mark);
  out.set(Field::kRequestId, request_id);
  mark = s.mark();
  s << R"({"requestId":")" << request_id << R"(","reservationId":"r-0)";
  s.random_chars(random_, 16, kHex) << R"(","ownerId":")" << options_.account_id
                                    << R"(","groupSet":{},"instancesSet":{"items":[{"instanceId":"i-0)";
  s.random_chars(random_, 16, kHex) << R"(","imageId":")" << ami
                                    << R"(","instanceState":{"code":0,"name":"pending"},"privateIpAddress":")"
                                    << pick(p.private_ips) << R"(","instanceType":")" << type << R"("}]}})";
  out.set(Field::kResponseElements, s.since(mark));
  out.read_only = Tristate::kFalse;
}

void SimulatedService::serve_kms(Call& call) {
  Event& out = *call.event;
  Scratch& s = *scratch_;
  out.set(Field::kEventSource, "kms.amazonaws.com");
  call.endpoint = regional_endpoint("kms", call.region);
  std::size_t mark = s.mark();
  s << "arn:aws:kms:" << call.region << ":" << options_.account_id << ":key/" << pick(population_->kms_keys);
  const std::string_view key_arn = s.since(mark);
  call.target_arn = key_arn;
  call.action = "kms:Decrypt";

  mark = s.mark();
  s << R"({"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"aws:s3:arn":"arn:aws:s3:::)"
    << kBuckets[uniform(std::size(kBuckets))] << "/" << kObjectPrefixes[uniform(std::size(kObjectPrefixes))] << "/";
  s.random_chars(random_, 12, kHex) << R"("}})";
  out.set(Field::kRequestParameters, s.since(mark));
  set_single_resource(out, key_arn, "AWS::KMS::Key");
  out.read_only = Tristate::kTrue;
}

void SimulatedService::serve_dynamodb(Call& call) {
  Event& out = *call.event;
  Scratch& s = *scratch_;
  const std::string_view table = kTables[uniform(std::size(kTables))];
  const bool is_get = call.op == Operation::kGetItem;
  out.set(Field::kEventSource, "dynamodb.amazonaws.com");
  out.event_category = EventCategory::kData;  // item-level calls are data events
  call.endpoint = regional_endpoint("dynamodb", call.region);
  std::size_t mark = s.mark();
  s << "arn:aws:dynamodb:" << call.region << ":" << options_.account_id << ":table/" << table;
  const std::string_view table_arn = s.since(mark);
  call.target_arn = table_arn;
  call.action = is_get ? "dynamodb:GetItem" : "dynamodb:PutItem";

  // DynamoDB logs the key attributes only, never the item's other values.
  mark = s.mark();
  s << R"({"tableName":")" << table << R"(","key":{"pk":{"S":"USER#)";
  s.uuid(random_) << R"("},"sk":{"S":"ORDER#)";
  s.number(uniform(1'000'000'000)) << "\"}}";
  s << (is_get ? R"(,"consistentRead":false})" : R"(,"returnValues":"NONE"})");
  out.set(Field::kRequestParameters, s.since(mark));
  set_single_resource(out, table_arn, "AWS::DynamoDB::Table");
  out.read_only = is_get ? Tristate::kTrue : Tristate::kFalse;
  if (call.source_ip.starts_with("10.") && chance(0.5)) out.set(Field::kVpcEndpointId, population_->vpc_endpoint);
}

void SimulatedService::serve_console_login(Call& call) {
  Event& out = *call.event;
  Scratch& s = *scratch_;
  out.set(Field::kEventSource, "signin.amazonaws.com");
  out.event_type = EventType::kAwsConsoleSignIn;
  out.set(Field::kUserAgent, kBrowserUserAgent);
  call.endpoint = "signin.aws.amazon.com";
  call.action = "signin:ConsoleLogin";
  // requestParameters stays absent, which the recorder writes as null (spec §1.5).
  out.set(Field::kResponseElements, R"({"ConsoleLogin":"Success"})");
  const std::size_t mark = s.mark();
  const bool mfa = out.identity_type == IdentityType::kRoot || chance(0.7);
  s << R"({"LoginTo":"https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_)"
    << call.region << "_";
  s.random_chars(random_, 16, kHex) << R"(","MobileVersion":"No","MFAUsed":")" << (mfa ? "Yes" : "No") << "\"}";
  out.set(Field::kAdditionalEventData, s.since(mark));
  out.read_only = Tristate::kFalse;
}

void SimulatedService::fail(Call& call) {
  Event& out = *call.event;
  Scratch& s = *scratch_;
  if (call.op == Operation::kConsoleLogin) {
    // A failed sign-in has an errorMessage, no errorCode, and ConsoleLogin "Failure" (spec §1.5).
    out.set(Field::kErrorMessage, "Failed authentication");
    out.set(Field::kResponseElements, R"({"ConsoleLogin":"Failure"})");
    return;
  }
  out.set(Field::kResponseElements, {});  // failed calls return nothing: null
  const bool is_s3 = out.get(Field::kEventSource) == "s3.amazonaws.com";
  const std::uint64_t kind = uniform(10);
  if (call.op == Operation::kGetObject && kind < 5) {
    out.set(Field::kErrorCode, "NoSuchKey");
    out.set(Field::kErrorMessage, "The specified key does not exist.");
  } else if (kind < 8 && !call.caller_arn.empty()) {
    out.set(Field::kErrorCode, "AccessDenied");
    if (is_s3) {
      out.set(Field::kErrorMessage, "Access Denied");
    } else {
      const std::size_t mark = s.mark();
      s << "User: " << call.caller_arn << " is not authorized to perform: " << call.action
        << " on resource: " << call.target_arn << " because no identity-based policy allows the " << call.action
        << " action";
      out.set(Field::kErrorMessage, s.since(mark));
    }
  } else {
    out.set(Field::kErrorCode, "ThrottlingException");
    out.set(Field::kErrorMessage, "Rate exceeded");
  }
}

}  // namespace trailkit::examples
