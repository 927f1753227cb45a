// The buffer encoding: what emit() copies is exactly what the worker sees.
#include "emit/event_codec.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace trailkit::detail {
namespace {

EncodeLimits unlimited() {
  EncodeLimits limits;
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    limits.keep_bytes[i] = UINT32_MAX;
    limits.omit_over[i] = UINT32_MAX;
  }
  return limits;
}

DecodedEvent round_trip(const Event& event, const EncodeLimits& limits, std::vector<Resource>& resources,
                        std::string& storage, std::int64_t now = 1700000000) {
  const EncodePlan plan = plan_encoding(event, limits);
  storage.assign(plan.size, '\xAA');
  encode_event(event, plan, limits, now, storage.data());
  DecodedEvent decoded;
  EXPECT_TRUE(decode_event(storage.data(), storage.size(), decoded, resources));
  return decoded;
}

TEST(EventCodecTest, EveryFieldAndScalarSurvivesTheRoundTrip) {
  Event event;
  std::vector<std::string> values;
  for (std::size_t i = 0; i < kFieldCount; ++i) values.push_back("value-" + std::to_string(i) + std::string(i, 'x'));
  for (std::size_t i = 0; i < kFieldCount; ++i) event.set(static_cast<Field>(i), values[i]);
  event.set(Field::kAccessKeyId, "");  // empty but present
  const Resource resources[] = {{"arn:1", {}, "AWS::S3::Object"}, {"arn:2", "111122223333", {}}};
  event.resources = resources;
  event.event_time = 42;
  event.session_creation_time = 41;
  event.event_type = EventType::kAwsConsoleSignIn;
  event.event_category = EventCategory::kData;
  event.identity_type = IdentityType::kWebIdentityUser;
  event.session_issuer_type = SessionIssuerType::kIAMUser;
  event.read_only = Tristate::kFalse;
  event.mfa_authenticated = Tristate::kTrue;
  event.assumed_root = Tristate::kFalse;
  event.session_credential_from_console = true;

  std::vector<Resource> decoded_resources;
  std::string storage;
  const DecodedEvent d = round_trip(event, unlimited(), decoded_resources, storage);
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    ASSERT_TRUE(d.event.has(static_cast<Field>(i))) << i;
    EXPECT_EQ(d.event.get(static_cast<Field>(i)), event.get(static_cast<Field>(i))) << i;
  }
  EXPECT_EQ(d.omitted_mask, 0u);
  ASSERT_EQ(d.event.resources.size(), 2u);
  EXPECT_EQ(d.event.resources[0].arn, "arn:1");
  EXPECT_EQ(d.event.resources[0].account_id.data(), nullptr);  // absent stays absent
  EXPECT_EQ(d.event.resources[1].account_id, "111122223333");
  EXPECT_EQ(d.event.resources[1].type.data(), nullptr);
  EXPECT_EQ(d.event.event_time, 42);
  EXPECT_EQ(d.event.session_creation_time, 41);
  EXPECT_EQ(d.event.event_type, EventType::kAwsConsoleSignIn);
  EXPECT_EQ(d.event.event_category, EventCategory::kData);
  EXPECT_EQ(d.event.identity_type, IdentityType::kWebIdentityUser);
  EXPECT_EQ(d.event.session_issuer_type, SessionIssuerType::kIAMUser);
  EXPECT_EQ(d.event.read_only, Tristate::kFalse);
  EXPECT_EQ(d.event.mfa_authenticated, Tristate::kTrue);
  EXPECT_EQ(d.event.assumed_root, Tristate::kFalse);
  EXPECT_TRUE(d.event.session_credential_from_console);
}

TEST(EventCodecTest, AbsentFieldsCostNothingAndStayAbsent) {
  EventBuilder b("s3.amazonaws.com", "GetObject");
  std::vector<Resource> resources;
  std::string storage;
  const DecodedEvent d = round_trip(b.build(), unlimited(), resources, storage, 99);
  EXPECT_EQ(d.event.get(Field::kEventName), "GetObject");
  EXPECT_FALSE(d.event.has(Field::kErrorCode));
  EXPECT_FALSE(d.event.has(Field::kRequestParameters));
  EXPECT_EQ(d.event.event_time, 99);  // the emit-time clock reading fills a missing eventTime
  EXPECT_EQ(storage.size(), sizeof(EncodedHeader) + 2 * 4 + 16 + 9);
}

TEST(EventCodecTest, AFieldSetThenClearedAddsNothingToTheEncoding) {
  // plan_encoding sums every field's size without the presence mask: a cleared field must hold an
  // empty view, whatever it held before, or the reservation would be too large.
  EventBuilder b("s3.amazonaws.com", "GetObject");
  b.user_agent("a user agent that is set and then cleared").error("AccessDenied", "no");
  b.set(Field::kUserAgent, std::string_view{}).set(Field::kErrorMessage, std::string_view{});
  EXPECT_EQ(b.build().get(Field::kUserAgent).size(), 0u);
  const EncodePlan plan = plan_encoding(b.build(), unlimited());
  EXPECT_EQ(plan.copied_count, 3u);
  EXPECT_EQ(plan.size, sizeof(EncodedHeader) + 3 * 4 + 16 + 9 + 12);
  std::vector<Resource> resources;
  std::string storage;
  const DecodedEvent d = round_trip(b.build(), unlimited(), resources, storage);
  EXPECT_EQ(storage.size(), plan.size);
  EXPECT_FALSE(d.event.has(Field::kUserAgent));
  EXPECT_EQ(d.event.get(Field::kErrorCode), "AccessDenied");
}

TEST(EventCodecTest, OversizedJsonIsFlaggedNotCopiedAndLongStringsAreCappedForTruncation) {
  EncodeLimits limits = unlimited();
  limits.omit_over[static_cast<std::size_t>(Field::kRequestParameters)] = 100;
  limits.keep_bytes[static_cast<std::size_t>(Field::kUserAgent)] = 10;
  const std::string huge(1 << 20, 'x');
  EventBuilder b("s3.amazonaws.com", "PutObject");
  b.request_parameters(huge).user_agent("0123456789abcdef");
  std::vector<Resource> resources;
  std::string storage;
  const DecodedEvent d = round_trip(b.build(), limits, resources, storage);
  EXPECT_LT(storage.size(), 200u);  // the 1 MiB value was never copied
  EXPECT_FALSE(d.event.has(Field::kRequestParameters));
  EXPECT_EQ(d.omitted_mask, std::uint64_t{1} << static_cast<unsigned>(Field::kRequestParameters));
  EXPECT_EQ(d.event.get(Field::kUserAgent), "0123456789");
}

TEST(EventCodecTest, MalformedBytesAreRejectedNotTrusted) {
  EventBuilder b("s3.amazonaws.com", "GetObject");
  std::vector<Resource> resources;
  std::string storage;
  round_trip(b.build(), unlimited(), resources, storage);
  DecodedEvent d;
  EXPECT_FALSE(decode_event(storage.data(), storage.size() - 1, d, resources));
  EXPECT_FALSE(decode_event(storage.data(), 10, d, resources));
  std::string longer = storage + "junk";
  EXPECT_FALSE(decode_event(longer.data(), longer.size(), d, resources));
  // A field count that disagrees with the field mask, either way.
  EncodedHeader header;
  std::memcpy(&header, storage.data(), sizeof header);
  for (const std::uint32_t count : {header.copied_count - 1, header.copied_count + 1, 0u}) {
    std::string bad = storage;
    EncodedHeader changed = header;
    changed.copied_count = count;
    std::memcpy(bad.data(), &changed, sizeof changed);
    EXPECT_FALSE(decode_event(bad.data(), bad.size(), d, resources)) << "count " << count;
  }
  EXPECT_TRUE(decode_event(storage.data(), storage.size(), d, resources));
}

// plan_encoding skips the per-field limit lookups when every field is shorter than
// unlimited_below. That shortcut must encode byte for byte what the checked path encodes, for
// every field length around the copy-size classes (0..300) and around the limits themselves.
TEST(EventCodecTest, TheUnlimitedFastPathEncodesExactlyAsTheCheckedPath) {
  EncodeLimits checked = unlimited();
  checked.omit_over[static_cast<std::size_t>(Field::kRequestParameters)] = 100;
  checked.keep_bytes[static_cast<std::size_t>(Field::kUserAgent)] = 70;
  EncodeLimits fast = checked;
  fast.derive_fast_path();
  ASSERT_EQ(fast.unlimited_below, 64u);  // the largest power of two p with p - 1 <= 70 and <= 100
  EXPECT_EQ(checked.unlimited_below, 0u);  // never derived: always the checked path

  std::string text(400, '\0');
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>('!' + (i * 7) % 90);
  for (std::size_t n = 0; n <= 300; ++n) {
    SCOPED_TRACE(std::string("field length ").append(std::to_string(n)));
    Event event;
    event.set(Field::kEventSource, std::string_view(text).substr(0, n));
    event.set(Field::kUserAgent, std::string_view(text).substr(3, n));
    event.set(Field::kRequestParameters, std::string_view(text).substr(5, n / 2));
    event.set(Field::kEventName, "GetObject");
    const Resource resources[] = {{std::string_view(text).substr(1, n), "111122223333", {}}};
    event.resources = resources;
    const EncodePlan fast_plan = plan_encoding(event, fast);
    const EncodePlan checked_plan = plan_encoding(event, checked);
    EXPECT_EQ(fast_plan.whole, n < 64);
    EXPECT_FALSE(checked_plan.whole);
    ASSERT_EQ(fast_plan.size, checked_plan.size);
    EXPECT_EQ(fast_plan.copied, checked_plan.copied);
    EXPECT_EQ(fast_plan.omitted, checked_plan.omitted);
    EXPECT_EQ(fast_plan.copied_count, checked_plan.copied_count);
    std::string a(fast_plan.size, '\xAA');
    std::string b(checked_plan.size, '\x55');
    encode_event(event, fast_plan, fast, 7, a.data());
    encode_event(event, checked_plan, checked, 7, b.data());
    ASSERT_EQ(a, b);
    DecodedEvent d;
    std::vector<Resource> decoded_resources;
    ASSERT_TRUE(decode_event(a.data(), a.size(), d, decoded_resources));
    EXPECT_EQ(d.event.get(Field::kEventSource), std::string_view(text).substr(0, n));
    EXPECT_EQ(d.event.get(Field::kUserAgent), std::string_view(text).substr(3, std::min<std::size_t>(n, 70)));
    EXPECT_EQ(d.event.has(Field::kRequestParameters), n / 2 <= 100);
    ASSERT_EQ(decoded_resources.size(), 1u);
    EXPECT_EQ(decoded_resources[0].arn, std::string_view(text).substr(1, n));
  }
}

TEST(EventCodecTest, DerivedFastPathBoundIsSafeForExtremeLimits) {
  EncodeLimits limits = unlimited();
  limits.derive_fast_path();
  EXPECT_EQ(limits.unlimited_below, 1u << 31);
  limits.keep_bytes[static_cast<std::size_t>(Field::kErrorCode)] = 0;
  limits.derive_fast_path();
  EXPECT_EQ(limits.unlimited_below, 1u);  // only empty fields skip the checks
  Event event;
  event.set(Field::kErrorCode, "AccessDenied");
  const EncodePlan plan = plan_encoding(event, limits);
  EXPECT_FALSE(plan.whole);
  std::string storage(plan.size, '\0');
  encode_event(event, plan, limits, 1, storage.data());
  DecodedEvent d;
  std::vector<Resource> resources;
  ASSERT_TRUE(decode_event(storage.data(), storage.size(), d, resources));
  EXPECT_EQ(d.event.get(Field::kErrorCode), "");
}

// The worker decodes every record into one reused DecodedEvent: nothing of a previous record's
// fields, scalars or resources may show through in the next.
TEST(EventCodecTest, AReusedDecodedEventKeepsNothingOfThePreviousRecord) {
  Event rich;
  std::vector<std::string> values;
  for (std::size_t i = 0; i < kFieldCount; ++i) values.push_back(std::string("v").append(std::to_string(i)));
  for (std::size_t i = 0; i < kFieldCount; ++i) rich.set(static_cast<Field>(i), values[i]);
  const Resource rich_resources[] = {{"arn:1", "111122223333", "AWS::S3::Object"}};
  rich.resources = rich_resources;
  rich.read_only = Tristate::kTrue;
  rich.session_credential_from_console = true;
  rich.session_creation_time = 5;
  const Event sparse = EventBuilder("s3.amazonaws.com", "GetObject").build();

  std::string rich_bytes, sparse_bytes;
  for (const auto& [event, bytes] : {std::pair<const Event*, std::string*>{&rich, &rich_bytes}, std::pair<const Event*, std::string*>{&sparse, &sparse_bytes}}) {
    const EncodePlan plan = plan_encoding(*event, unlimited());
    bytes->assign(plan.size, '\0');
    encode_event(*event, plan, unlimited(), 9, bytes->data());
  }
  DecodedEvent reused;
  std::vector<Resource> resources;
  ASSERT_TRUE(decode_event(rich_bytes.data(), rich_bytes.size(), reused, resources));
  ASSERT_EQ(reused.event.present_mask(), rich.present_mask());
  ASSERT_TRUE(decode_event(sparse_bytes.data(), sparse_bytes.size(), reused, resources));
  EXPECT_EQ(reused.event.present_mask(), sparse.present_mask());
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    EXPECT_EQ(reused.event.get(static_cast<Field>(i)).data() == nullptr, !sparse.has(static_cast<Field>(i))) << i;
  }
  EXPECT_TRUE(reused.event.resources.empty());
  EXPECT_EQ(reused.event.read_only, Tristate::kAbsent);
  EXPECT_FALSE(reused.event.session_credential_from_console);
  EXPECT_EQ(reused.event.session_creation_time, kTimeNotSet);
}

}  // namespace
}  // namespace trailkit::detail
