// The digest chain as a Recorder user sees it (cloudtrail-spec §4): contiguous windows, empty
// digests, chain links, signatures over the exact string to sign, restart, key rotation, crash
// recovery of undelivered digests, state loss, and the state-dir lock. Uses InMemoryDestination
// (a real component) and ManualClock; signatures are checked with the verifier that tests against
// python-rsa (tests/digest/crypto_test.cpp), and the end-to-end proof with the stock
// `aws cloudtrail validate-logs` is tests/integration/validate_logs_test.py.
#include "digest/trail_state.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/civil_time.hpp"
#include "compress/decompress.hpp"
#include "digest/crypto.hpp"
#include "digest/key_registry.hpp"
#include "digest/state_files.hpp"
#include "support/files.hpp"
#include "support/manual_clock.hpp"
#include "trailkit/in_memory_destination.hpp"
#include "trailkit/local_directory_destination.hpp"
#include "trailkit/recorder.hpp"

namespace trailkit {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr std::int64_t kStart = 1714557691;  // 2024-05-01T10:01:31Z: windows are not clock-aligned

struct Digest {
  std::string key;
  std::string raw;  // uncompressed bytes, as hashed
  json body;
  std::string signature;
  std::string algorithm;
};

std::string inflate(const std::string& bytes) {
  std::string out;
  const Status s = detail::decompress(bytes, out);
  EXPECT_TRUE(s) << s.message();
  return out;
}

std::string time_text(std::int64_t seconds) {
  char text[20];
  detail::format_event_time(seconds, text);
  return std::string(text, 20);
}

struct Fixture {
  testing::TempDir state{"trailkit-state"};
  std::shared_ptr<InMemoryDestination> destination = std::make_shared<InMemoryDestination>();
  std::shared_ptr<testing::ManualClock> clock = std::make_shared<testing::ManualClock>(kStart);
  std::vector<ErrorReport> errors;
  std::mutex errors_mutex;

  RecorderOptions options() {
    RecorderOptions o;
    o.account_id = "111122223333";
    o.region = "us-east-1";
    o.trail_name = "audit-trail";
    o.destination = destination;
    o.clock = clock;
    o.buffer_bytes = 1u << 20;
    o.state_dir = state.str();
    o.digest.enabled = true;
    o.digest.interval = 60s;
    o.error_handler = [this](const ErrorReport& r) {
      std::lock_guard lock(errors_mutex);
      errors.push_back(r);
    };
    return o;
  }

  // Digests in key order (= chronological: the end time is in the key).
  std::vector<Digest> digests() {
    std::vector<Digest> out;
    for (const auto& [key, bytes] : destination->objects()) {
      if (key.find("/CloudTrail-Digest/") == std::string::npos) continue;
      Digest d;
      d.key = key;
      d.raw = inflate(bytes);
      d.body = json::parse(d.raw);
      for (const auto& [name, value] : destination->metadata(key)) {
        if (name == "signature") d.signature = value;
        if (name == "signature-algorithm") d.algorithm = value;
      }
      out.push_back(std::move(d));
    }
    return out;
  }

  std::map<std::string, std::string> log_files() {
    std::map<std::string, std::string> out;
    for (const auto& [key, bytes] : destination->objects()) {
      if (key.find("/CloudTrail/") != std::string::npos) out[key] = bytes;
    }
    return out;
  }

  std::string public_key_der(const std::string& fingerprint) {
    auto registry = detail::KeyRegistry::load(detail::public_keys_path(state.str()));
    for (const auto& k : registry.keys()) {
      if (k.fingerprint == fingerprint) return k.der;
    }
    return {};
  }
};

Event event_at(std::int64_t time, const char* region = "us-east-1") {
  EventBuilder b("iam.amazonaws.com", "CreateUser");
  b.region(region).source_ip("203.0.113.10").request_parameters(R"({"userName":"bob"})").event_time(time);
  return b.build();
}

bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return condition();
}

// Every digest: all §4.2 keys, its own location, the signature over the exact §4.3 string with the
// registered key, and each listed log file's SHA-256 of its uncompressed bytes.
void check_digest(Fixture& f, const Digest& d) {
  SCOPED_TRACE(d.key);
  for (const char* field :
       {"awsAccountId", "digestStartTime", "digestEndTime", "digestS3Bucket", "digestS3Object",
        "digestPublicKeyFingerprint", "digestSignatureAlgorithm", "newestEventTime", "oldestEventTime",
        "previousDigestS3Bucket", "previousDigestS3Object", "previousDigestHashValue", "previousDigestHashAlgorithm",
        "previousDigestSignature", "logFiles"}) {
    EXPECT_TRUE(d.body.contains(field)) << field;
  }
  EXPECT_EQ(d.body["digestS3Bucket"], "in-memory");
  EXPECT_EQ(d.body["digestS3Object"], d.key);
  EXPECT_EQ(d.body["digestSignatureAlgorithm"], "SHA256withRSA");
  EXPECT_EQ(d.algorithm, "SHA256withRSA");
  ASSERT_EQ(d.signature.size(), 512u);
  const std::string previous = d.body["previousDigestSignature"].is_null()
                                   ? std::string("null")
                                   : d.body["previousDigestSignature"].get<std::string>();
  const std::string to_sign = d.body["digestEndTime"].get<std::string>() + "\n" + "in-memory/" + d.key + "\n" +
                              detail::sha256_hex(d.raw) + "\n" + previous;
  const std::string der = f.public_key_der(d.body["digestPublicKeyFingerprint"].get<std::string>());
  ASSERT_FALSE(der.empty()) << "fingerprint not in public-keys.json";
  EXPECT_TRUE(detail::verify_signature(der, to_sign, *detail::from_hex(d.signature)));
  const auto logs = f.log_files();
  for (const json& file : d.body["logFiles"]) {
    auto it = logs.find(file["s3Object"].get<std::string>());
    ASSERT_NE(it, logs.end()) << file.dump();
    EXPECT_EQ(file["hashValue"], detail::sha256_hex(inflate(it->second)));
    EXPECT_EQ(file["hashAlgorithm"], "SHA-256");
    EXPECT_EQ(file["s3Bucket"], "in-memory");
  }
}

void check_links(const std::vector<Digest>& chain) {
  for (std::size_t i = 1; i < chain.size(); ++i) {
    SCOPED_TRACE(chain[i].key);
    EXPECT_EQ(chain[i].body["digestStartTime"], chain[i - 1].body["digestEndTime"]) << "windows must be contiguous";
    EXPECT_EQ(chain[i].body["previousDigestS3Object"], chain[i - 1].key);
    EXPECT_EQ(chain[i].body["previousDigestS3Bucket"], "in-memory");
    EXPECT_EQ(chain[i].body["previousDigestSignature"], chain[i - 1].signature);
    EXPECT_EQ(chain[i].body["previousDigestHashValue"], detail::sha256_hex(chain[i - 1].raw));
    EXPECT_EQ(chain[i].body["previousDigestHashAlgorithm"], "SHA-256");
  }
}

TEST(DigestChainTest, HourlyStyleWindowsEmptyDigestsAndLinks) {
  Fixture f;
  auto recorder = Recorder::create(f.options());
  ASSERT_EQ(recorder->emit(event_at(kStart - 30)), EmitStatus::kOk);
  ASSERT_EQ(recorder->emit(event_at(kStart - 10)), EmitStatus::kOk);
  ASSERT_TRUE(recorder->flush(5s));  // one log file, delivered in the first window
  f.clock->advance_seconds(60);
  ASSERT_TRUE(wait_for([&] { return recorder->stats().digests_written == 1; }));
  f.clock->advance_seconds(60);  // a window with no log file still gets its digest
  ASSERT_TRUE(wait_for([&] { return recorder->stats().digests_written == 2; }));
  ASSERT_EQ(recorder->emit(event_at(kStart + 100)), EmitStatus::kOk);
  ASSERT_TRUE(recorder->flush(5s));
  f.clock->advance_seconds(10);
  ASSERT_TRUE(recorder->shutdown(5s));  // the final digest covers up to the stop

  const auto chain = f.digests();
  ASSERT_EQ(chain.size(), 3u);
  for (const Digest& d : chain) check_digest(f, d);
  check_links(chain);
  // First digest: starting digest, exactly one interval, one log file with its event-time extremes.
  const json& first = chain[0].body;
  EXPECT_EQ(first["digestStartTime"], time_text(kStart));
  EXPECT_EQ(first["digestEndTime"], time_text(kStart + 60));
  for (const char* field : {"previousDigestS3Bucket", "previousDigestS3Object", "previousDigestHashValue",
                            "previousDigestHashAlgorithm", "previousDigestSignature"}) {
    EXPECT_TRUE(first[field].is_null()) << field;
  }
  ASSERT_EQ(first["logFiles"].size(), 1u);
  EXPECT_EQ(first["logFiles"][0]["oldestEventTime"], time_text(kStart - 30));
  EXPECT_EQ(first["logFiles"][0]["newestEventTime"], time_text(kStart - 10));
  EXPECT_EQ(first["oldestEventTime"], time_text(kStart - 30));
  // Second: empty window.
  EXPECT_EQ(chain[1].body["logFiles"], json::array());
  EXPECT_TRUE(chain[1].body["newestEventTime"].is_null());
  EXPECT_TRUE(chain[1].body["oldestEventTime"].is_null());
  EXPECT_EQ(chain[1].body["digestEndTime"], time_text(kStart + 120));
  // Third: the shutdown digest, ending at the stop.
  EXPECT_EQ(chain[2].body["logFiles"].size(), 1u);
  EXPECT_EQ(chain[2].key, "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/05/01/"
                          "111122223333_CloudTrail-Digest_us-east-1_audit-trail_us-east-1_20240501T100341Z.json.gz");
  // Every delivered log file is in exactly one digest.
  std::map<std::string, int> listed;
  for (const Digest& d : chain) {
    for (const json& file : d.body["logFiles"]) ++listed[file["s3Object"].get<std::string>()];
  }
  EXPECT_EQ(listed.size(), f.log_files().size());
  for (const auto& [key, count] : listed) EXPECT_EQ(count, 1) << key;
  // GetTrailStatus' source.
  const auto status = detail::read_trail_status(f.state.str());
  ASSERT_TRUE(status);
  EXPECT_FALSE(status->is_logging);
  EXPECT_EQ(status->latest_digest_delivery_time, kStart + 130);
  ASSERT_EQ(status->latest_digests.size(), 1u) << "the exact tail watermark";
  EXPECT_EQ(status->latest_digests[0].key, chain[2].key);
  EXPECT_EQ(status->latest_digests[0].end_time, kStart + 130);
  const auto trail = detail::read_trail_description(f.state.str());
  ASSERT_TRUE(trail);
  EXPECT_TRUE(trail->log_file_validation);
  EXPECT_EQ(trail->arn(), "arn:aws:cloudtrail:us-east-1:111122223333:trail/audit-trail");
}

TEST(DigestChainTest, EachRegionHasItsOwnChainUnderItsFolder) {
  Fixture f;
  auto recorder = Recorder::create(f.options());
  ASSERT_EQ(recorder->emit(event_at(kStart, "eu-west-1")), EmitStatus::kOk);
  ASSERT_TRUE(recorder->flush(5s));
  f.clock->advance_seconds(60);
  ASSERT_TRUE(wait_for([&] { return recorder->stats().digests_written == 2; }));
  ASSERT_TRUE(recorder->shutdown(5s));
  std::map<std::string, std::vector<Digest>> by_region;
  for (Digest& d : f.digests()) {
    check_digest(f, d);
    by_region[d.key.substr(0, d.key.find("/20"))].push_back(std::move(d));
  }
  ASSERT_EQ(by_region.size(), 2u);
  for (auto& [folder, chain] : by_region) check_links(chain);
  const auto& eu = by_region.at("AWSLogs/111122223333/CloudTrail-Digest/eu-west-1");
  EXPECT_NE(eu[0].key.find("_CloudTrail-Digest_eu-west-1_audit-trail_us-east-1_"), std::string::npos)
      << "digest names carry the region and the trail's home region";
  EXPECT_EQ(eu[0].body["logFiles"].size(), 1u);
}

TEST(DigestChainTest, RestartContinuesTheChainAndCatchesUpAfterDowntime) {
  Fixture f;
  {
    auto recorder = Recorder::create(f.options());
    f.clock->advance_seconds(60);
    ASSERT_TRUE(wait_for([&] { return recorder->stats().digests_written == 1; }));
    f.clock->advance_seconds(10);
    ASSERT_TRUE(recorder->shutdown(5s));
  }
  f.clock->advance_seconds(1000);  // down for many intervals
  {
    auto recorder = Recorder::create(f.options());
    ASSERT_TRUE(wait_for([&] { return recorder->stats().digests_written == 1; }))
        << "the overdue window is digested at start";
    ASSERT_EQ(recorder->emit(event_at(kStart + 1100)), EmitStatus::kOk);
    ASSERT_TRUE(recorder->flush(5s));
    f.clock->advance_seconds(60);
    ASSERT_TRUE(wait_for([&] { return recorder->stats().digests_written == 2; }));
    ASSERT_TRUE(recorder->shutdown(5s));
  }
  const auto chain = f.digests();
  ASSERT_EQ(chain.size(), 4u);
  for (const Digest& d : chain) check_digest(f, d);
  check_links(chain);  // one chain across the restart
  EXPECT_EQ(chain[2].body["digestStartTime"], time_text(kStart + 70));
  EXPECT_EQ(chain[2].body["digestEndTime"], time_text(kStart + 1070)) << "one catch-up window, not 16 empty ones";
  EXPECT_EQ(chain[3].body["digestEndTime"], time_text(kStart + 1130));
}

TEST(DigestChainTest, KeyRotationKeepsTheOldKeyAndTheChain) {
  Fixture f;
  {
    auto recorder = Recorder::create(f.options());
    f.clock->advance_seconds(60);
    ASSERT_TRUE(wait_for([&] { return recorder->stats().digests_written == 1; }));
    ASSERT_TRUE(recorder->shutdown(5s));
  }
  const std::string new_key = f.state.str() + "/rotated.pem";
  detail::SigningKey::generate(2048).save_file(new_key);
  f.clock->advance_seconds(5);
  {
    RecorderOptions o = f.options();
    o.digest.private_key_file = new_key;
    auto recorder = Recorder::create(o);
    f.clock->advance_seconds(60);
    ASSERT_TRUE(wait_for([&] { return recorder->stats().digests_written == 1; }));
    ASSERT_TRUE(recorder->shutdown(5s));
  }
  const auto chain = f.digests();
  ASSERT_EQ(chain.size(), 3u);
  for (const Digest& d : chain) check_digest(f, d);  // each verifies with its own registered key
  check_links(chain);
  EXPECT_NE(chain[0].body["digestPublicKeyFingerprint"], chain[1].body["digestPublicKeyFingerprint"]);
  EXPECT_EQ(chain[1].body["digestPublicKeyFingerprint"], chain[2].body["digestPublicKeyFingerprint"]);
  const auto registry = detail::KeyRegistry::load(detail::public_keys_path(f.state.str()));
  ASSERT_EQ(registry.keys().size(), 2u);
  EXPECT_EQ(registry.keys()[0].validity_end, kStart + 65) << "the old key is retired at the rotation";
  EXPECT_EQ(registry.keys()[1].validity_start, kStart + 65);
  EXPECT_EQ(registry.overlapping(kStart, kStart + 3600).size(), 2u);
}

TEST(DigestChainTest, UndeliveredDigestSurvivesARestart) {
  Fixture f;
  {
    auto recorder = Recorder::create(f.options());
    ASSERT_EQ(recorder->emit(event_at(kStart)), EmitStatus::kOk);
    ASSERT_TRUE(recorder->flush(5s));
    f.destination->set_unavailable(true);  // the bucket is down when the digest is due
    f.clock->advance_seconds(60);
    ASSERT_TRUE(wait_for([&] { return recorder->stats().digest_errors >= 1; }));
    recorder->shutdown(1s);
  }
  EXPECT_TRUE(f.digests().empty());
  f.destination->set_unavailable(false);
  f.clock->advance_seconds(5);
  {
    auto recorder = Recorder::create(f.options());  // delivers what the state file kept
    ASSERT_TRUE(recorder->shutdown(5s));
  }
  const auto chain = f.digests();
  ASSERT_EQ(chain.size(), 2u);
  for (const Digest& d : chain) check_digest(f, d);
  check_links(chain);
  EXPECT_EQ(chain[0].body["logFiles"].size(), 1u) << "the log file delivered before the outage is digested";
}

TEST(DigestChainTest, LostStateStartsANewChain) {
  Fixture f;
  {
    auto recorder = Recorder::create(f.options());
    f.clock->advance_seconds(60);
    ASSERT_TRUE(wait_for([&] { return recorder->stats().digests_written == 1; }));
    ASSERT_TRUE(recorder->shutdown(5s));
  }
  std::filesystem::remove_all(f.state.path() / "digest");
  f.clock->advance_seconds(5);
  {
    auto recorder = Recorder::create(f.options());
    f.clock->advance_seconds(5);
    ASSERT_TRUE(recorder->shutdown(5s));
  }
  const auto chain = f.digests();
  ASSERT_EQ(chain.size(), 2u);
  check_digest(f, chain[1]);
  EXPECT_TRUE(chain[1].body["previousDigestSignature"].is_null()) << "a new chain starts with five nulls";
  EXPECT_EQ(chain[1].body["digestStartTime"], time_text(kStart + 65));
}

TEST(DigestChainTest, CorruptChainStateIsMovedAsideAndReported) {
  Fixture f;
  {
    auto recorder = Recorder::create(f.options());
    ASSERT_TRUE(recorder->shutdown(5s));
  }
  const auto state_file = f.state.path() / "digest" / "111122223333" / "us-east-1.json";
  testing::write_file(state_file, "{\"version\":1,\"windowSt");
  auto recorder = Recorder::create(f.options());
  ASSERT_TRUE(recorder->shutdown(5s));
  bool reported = false;
  for (const ErrorReport& r : f.errors) reported |= r.message.find("unreadable") != std::string::npos;
  EXPECT_TRUE(reported);
  bool kept = false;
  for (const auto& entry : std::filesystem::directory_iterator(state_file.parent_path())) {
    kept |= entry.path().filename().string().rfind("us-east-1.json.corrupt-", 0) == 0;
  }
  EXPECT_TRUE(kept) << "the unreadable state is kept for inspection, not deleted";
}

TEST(DigestChainTest, OneRecorderPerStateDir) {
  Fixture f;
  auto first = Recorder::create(f.options());
  try {
    Recorder::create(f.options());
    FAIL() << "a second recorder on the same state dir must be refused";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("in use by another recorder"), std::string::npos) << e.what();
  }
}

TEST(DigestChainTest, SigningKeyReadableByOthersIsRefusedUnlessAllowed) {
  Fixture f;
  const std::string key = f.state.str() + "/loose.pem";
  detail::SigningKey::generate(2048).save_file(key);
  ::chmod(key.c_str(), 0644);
  RecorderOptions o = f.options();
  o.digest.private_key_file = key;
  EXPECT_THROW(Recorder::create(o), std::runtime_error);
  o.digest.allow_insecure_key_permissions = true;
  auto recorder = Recorder::create(o);
  EXPECT_TRUE(recorder->shutdown(5s));
}

TEST(DigestChainTest, DigestsNeedAStateDir) {
  Fixture f;
  RecorderOptions o = f.options();
  o.state_dir.clear();
  try {
    Recorder::create(o);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("state_dir"), std::string::npos) << e.what();
  }
  o = f.options();
  o.digest.interval = 0s;
  EXPECT_THROW(Recorder::create(o), std::invalid_argument);
}

TEST(DigestChainTest, LocalDirectoryKeepsDigestMetadataInASidecar) {
  Fixture f;
  testing::TempDir root{"trail-bucket"};
  RecorderOptions o = f.options();
  o.destination = nullptr;
  o.local_directory.root = root.str();
  auto recorder = Recorder::create(o);
  ASSERT_EQ(recorder->emit(event_at(kStart)), EmitStatus::kOk);
  ASSERT_TRUE(recorder->shutdown(5s));
  int digests = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root.path() / "AWSLogs")) {
    const std::string key = std::filesystem::relative(entry.path(), root.path()).string();
    if (key.find("CloudTrail-Digest/") == std::string::npos || !entry.is_regular_file()) continue;
    ++digests;
    const json sidecar = json::parse(testing::read_file(root.path() / ".trailkit-metadata" / (key + ".json")));
    EXPECT_EQ(sidecar["signature-algorithm"], "SHA256withRSA");
    EXPECT_EQ(sidecar["signature"].get<std::string>().size(), 512u);
    const json body = json::parse(inflate(testing::read_file(entry.path())));
    EXPECT_EQ(body["digestS3Bucket"], root.path().filename().string()) << "the root plays the bucket";
    EXPECT_EQ(body["digestS3Object"], key);
    EXPECT_EQ(body["logFiles"].size(), 1u);
  }
  EXPECT_EQ(digests, 1);
}

TEST(DigestChainTest, DestinationWithoutMetadataSupportRefusesLoudly) {
  // A third-party Destination that only implements commit(key) must not silently drop signatures.
  struct Plain final : ObjectWriter {
    Status write(std::string_view) noexcept override { return Status::ok(); }
    Status commit(std::string_view) noexcept override { return Status::ok(); }
    void abort() noexcept override {}
  } writer;
  const Status s = writer.commit_with_metadata("k", ObjectMetadata{{"signature", "ab"}});
  EXPECT_EQ(s.kind(), ErrorKind::kInvalidArgument);
  EXPECT_TRUE(writer.commit_with_metadata("k", ObjectMetadata{}));
}

}  // namespace
}  // namespace trailkit
