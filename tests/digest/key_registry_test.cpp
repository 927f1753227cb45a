// public-keys.json: what ListPublicKeys answers from, and what lets old digests verify after a rotation.
#include "digest/key_registry.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "digest/crypto.hpp"
#include "digest/test_helpers.hpp"
#include "support/files.hpp"

namespace trailkit::detail {
namespace {

using testing::error_message_of;
using testing::read_file;
using testing::TempDir;
using testing::write_file;

// Registry tests need distinct DERs with matching fingerprints, not real keys: any bytes will do.
struct FakeKey {
  std::string der;
  std::string fingerprint;
};
FakeKey fake_key(const std::string& seed) { return {"der-of-" + seed, md5_hex("der-of-" + seed)}; }

constexpr std::int64_t kT0 = 1714557600;  // 2024-05-01T10:00:00Z
constexpr std::int64_t kDay = 86400;

TEST(KeyRegistry, FirstActivationMakesTheKeyActive) {
  KeyRegistry registry;
  EXPECT_EQ(registry.active(), nullptr);
  const FakeKey a = fake_key("a");
  EXPECT_TRUE(registry.activate(a.fingerprint, a.der, kT0));
  ASSERT_NE(registry.active(), nullptr);
  EXPECT_EQ(registry.active()->fingerprint, a.fingerprint);
  EXPECT_EQ(registry.active()->der, a.der);
  EXPECT_EQ(registry.active()->validity_start, kT0);
  EXPECT_EQ(registry.active()->validity_end, std::nullopt);
  EXPECT_EQ(registry.keys().size(), 1u);
}

TEST(KeyRegistry, ActivatingTheActiveKeyAgainChangesNothing) {
  KeyRegistry registry;
  const FakeKey a = fake_key("a");
  registry.activate(a.fingerprint, a.der, kT0);
  EXPECT_FALSE(registry.activate(a.fingerprint, a.der, kT0 + kDay));
  ASSERT_EQ(registry.keys().size(), 1u);
  EXPECT_EQ(registry.keys()[0].validity_start, kT0);  // the window is not restarted
  EXPECT_EQ(registry.keys()[0].validity_end, std::nullopt);
}

TEST(KeyRegistry, RotationRetiresTheOldKeyAtNow) {
  KeyRegistry registry;
  const FakeKey a = fake_key("a");
  const FakeKey b = fake_key("b");
  registry.activate(a.fingerprint, a.der, kT0);
  EXPECT_TRUE(registry.activate(b.fingerprint, b.der, kT0 + 3 * kDay));
  ASSERT_EQ(registry.keys().size(), 2u);
  EXPECT_EQ(registry.keys()[0].fingerprint, a.fingerprint);
  EXPECT_EQ(registry.keys()[0].validity_end, kT0 + 3 * kDay);
  EXPECT_EQ(registry.keys()[1].fingerprint, b.fingerprint);
  EXPECT_EQ(registry.keys()[1].validity_start, kT0 + 3 * kDay);
  EXPECT_EQ(registry.active(), &registry.keys()[1]);

  // A retired key that comes back is a new window; the old one stays (digests it signed stay verifiable).
  EXPECT_TRUE(registry.activate(a.fingerprint, a.der, kT0 + 5 * kDay));
  ASSERT_EQ(registry.keys().size(), 3u);
  EXPECT_EQ(registry.keys()[1].validity_end, kT0 + 5 * kDay);
  EXPECT_EQ(registry.keys()[2].fingerprint, a.fingerprint);
  EXPECT_EQ(registry.keys()[2].validity_start, kT0 + 5 * kDay);
  EXPECT_EQ(registry.keys()[0].validity_end, kT0 + 3 * kDay);
}

TEST(KeyRegistry, ClockSteppingBackNeverGivesANegativeWindow) {
  KeyRegistry registry;
  const FakeKey a = fake_key("a");
  const FakeKey b = fake_key("b");
  registry.activate(a.fingerprint, a.der, kT0);
  registry.activate(b.fingerprint, b.der, kT0 - 60);
  EXPECT_GE(*registry.keys()[0].validity_end, registry.keys()[0].validity_start);
}

TEST(KeyRegistry, OverlappingIsInclusiveAtBothEdges) {
  KeyRegistry registry;
  const FakeKey a = fake_key("a");
  const FakeKey b = fake_key("b");
  registry.activate(a.fingerprint, a.der, 1000);
  registry.activate(b.fingerprint, b.der, 2000);  // a: [1000, 2000], b: [2000, active)

  auto fingerprints = [&](std::int64_t from, std::int64_t to) {
    std::vector<std::string> out;
    for (const PublicKeyRecord& key : registry.overlapping(from, to)) out.push_back(key.fingerprint);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(fingerprints(0, 999), V{});
  EXPECT_EQ(fingerprints(0, 1000), V{a.fingerprint});  // to == start of a
  EXPECT_EQ(fingerprints(1500, 1600), V{a.fingerprint});
  EXPECT_EQ(fingerprints(2000, 2000), (V{a.fingerprint, b.fingerprint}));  // from == end of a == start of b
  EXPECT_EQ(fingerprints(2001, 3000), V{b.fingerprint});
  EXPECT_EQ(fingerprints(1999, 1999), V{a.fingerprint});
  EXPECT_EQ(fingerprints(0, 1'000'000'000'000), (V{a.fingerprint, b.fingerprint}));
  EXPECT_EQ(fingerprints(5'000'000'000, 6'000'000'000), V{b.fingerprint});  // the active key never ends
  EXPECT_EQ(KeyRegistry().overlapping(0, 1'000'000'000'000).size(), 0u);
}

TEST(KeyRegistry, ReportedEndIsRetirementOrAtLeastThirtyDays) {
  const PublicKeyRecord retired{"f", "d", kT0, kT0 + 100};
  EXPECT_EQ(KeyRegistry::reported_end(retired, kT0 + 90 * kDay), kT0 + 100);
  const PublicKeyRecord active{"f", "d", kT0, std::nullopt};
  EXPECT_EQ(KeyRegistry::reported_end(active, kT0), kT0 + 2'592'000);  // AWS's 30-day windows
  EXPECT_EQ(KeyRegistry::reported_end(active, kT0 + 30 * kDay), kT0 + 30 * kDay);
  EXPECT_EQ(KeyRegistry::reported_end(active, kT0 + 45 * kDay), kT0 + 45 * kDay);  // never ends in the past
  EXPECT_EQ(KeyRegistry::kReportedValiditySeconds, 2'592'000);
}

TEST(KeyRegistryFile, MissingFileIsAnEmptyRegistry) {
  TempDir dir;
  EXPECT_TRUE(KeyRegistry::load(dir.str() + "/public-keys.json").keys().empty());
}

TEST(KeyRegistryFile, SaveLoadRoundTripWithTheDocumentedFormat) {
  TempDir dir;
  const std::string path = dir.str() + "/state/public-keys.json";
  const SigningKey real = SigningKey::generate();
  const FakeKey a = fake_key("a");
  KeyRegistry registry;
  registry.activate(a.fingerprint, a.der, kT0);
  registry.activate(real.fingerprint(), real.public_key_der(), kT0 + kDay);
  registry.save(path);

  EXPECT_EQ(read_file(path), "{\"version\":1,\"keys\":[{\"fingerprint\":\"" + a.fingerprint + "\",\"value\":\"" +
                                 base64_encode(a.der) +
                                 "\",\"validityStartTime\":1714557600,\"validityEndTime\":1714644000},"
                                 "{\"fingerprint\":\"" +
                                 real.fingerprint() + "\",\"value\":\"" + base64_encode(real.public_key_der()) +
                                 "\",\"validityStartTime\":1714644000,\"validityEndTime\":null}]}\n");

  const KeyRegistry back = KeyRegistry::load(path);
  ASSERT_EQ(back.keys().size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back.keys()[i].fingerprint, registry.keys()[i].fingerprint);
    EXPECT_EQ(back.keys()[i].der, registry.keys()[i].der);
    EXPECT_EQ(back.keys()[i].validity_start, registry.keys()[i].validity_start);
    EXPECT_EQ(back.keys()[i].validity_end, registry.keys()[i].validity_end);
  }
  ASSERT_NE(back.active(), nullptr);
  EXPECT_EQ(back.active()->fingerprint, real.fingerprint());
  EXPECT_TRUE(is_pkcs1_public_key(back.active()->der));
  // Loading and activating the same key is a no-op: a restart does not rewrite the file.
  KeyRegistry reloaded = KeyRegistry::load(path);
  EXPECT_FALSE(reloaded.activate(real.fingerprint(), real.public_key_der(), kT0 + 2 * kDay));
}

TEST(KeyRegistryFile, MalformedFilesAreErrorsNamingThePath) {
  TempDir dir;
  const std::string path = dir.str() + "/public-keys.json";
  const FakeKey a = fake_key("a");
  const FakeKey b = fake_key("b");
  auto entry = [](const FakeKey& key, const std::string& end) {
    return "{\"fingerprint\":\"" + key.fingerprint + "\",\"value\":\"" + base64_encode(key.der) +
           "\",\"validityStartTime\":1,\"validityEndTime\":" + end + "}";
  };
  const std::pair<std::string, const char*> cases[] = {
      {"", "not JSON"},
      {"{\"version\":1,\"keys\":[", "not JSON"},
      {"[]", "not a JSON object"},
      {"{\"keys\":[]}", "\"version\" must be 1"},
      {"{\"version\":2,\"keys\":[]}", "\"version\" must be 1"},
      {"{\"version\":1}", "\"keys\" is not an array"},
      {"{\"version\":1,\"keys\":[7]}", "keys[0] is not an object"},
      {"{\"version\":1,\"keys\":[{\"value\":\"\",\"validityStartTime\":1,\"validityEndTime\":null}]}",
       "keys[0].fingerprint"},
      {"{\"version\":1,\"keys\":[{\"fingerprint\":\"" + a.fingerprint +
           "\",\"value\":\"!!\",\"validityStartTime\":1,\"validityEndTime\":null}]}",
       "keys[0].value is not base64"},
      {"{\"version\":1,\"keys\":[{\"fingerprint\":\"" + b.fingerprint + "\",\"value\":\"" + base64_encode(a.der) +
           "\",\"validityStartTime\":1,\"validityEndTime\":null}]}",
       "keys[0].fingerprint is not the lower-case hex MD5"},
      {"{\"version\":1,\"keys\":[" + entry(a, "\"soon\"") + "]}", "keys[0].validityEndTime"},
      {"{\"version\":1,\"keys\":[" + entry(a, "2") + "," + entry(b, "2.5") + "]}", "keys[1].validityEndTime"},
      {"{\"version\":1,\"keys\":[" + entry(a, "null") + "," + entry(b, "null") + "]}", "more than one active key"},
  };
  for (const auto& [content, problem] : cases) {
    write_file(path, content);
    const std::string message = error_message_of([&] { KeyRegistry::load(path); });
    EXPECT_NE(message.find(path), std::string::npos) << content << " -> " << message;
    EXPECT_NE(message.find(problem), std::string::npos) << content << " -> " << message;
  }
  // The valid variant of the cases above loads (so the failures are about what each case changed).
  write_file(path, "{\"version\":1,\"keys\":[" + entry(a, "2") + "," + entry(b, "null") + "]}");
  EXPECT_EQ(KeyRegistry::load(path).keys().size(), 2u);
}

}  // namespace
}  // namespace trailkit::detail
