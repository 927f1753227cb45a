// trailkit validate's core (validate/validator.hpp) over a local bucket directory: the stock
// validate-logs verdicts and output, and the chain/tail checks it does not make.
#include "validate/validator.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>

#include "support/digest_fixture.hpp"
#include "support/files.hpp"
#include "validate/local_object_store.hpp"

namespace trailkit::detail {
namespace {

namespace fs = std::filesystem;
using testing::DigestFixture;
using testing::DigestFixtureOptions;
using testing::TempDir;

struct Outcome {
  ValidateResult result;
  std::string out;
  std::string err;
};

// A fixture written to <tmp>/ct-bucket (objects + sidecars) and <tmp>/state.
class ChainDir {
 public:
  explicit ChainDir(DigestFixtureOptions options = {}, std::int64_t latest_digest_delivery = 0)
      : fixture(std::move(options)), bucket_dir(dir.path() / fixture.options().bucket), state_dir(dir.path() / "state") {
    fixture.write_bucket(bucket_dir);
    fixture.write_state(state_dir, latest_digest_delivery);
  }

  ValidateOptions options() const {
    ValidateOptions o;
    o.trail_arn = fixture.arn();
    o.start_time = fixture.first_start();
    o.end_time = fixture.last_end();
    o.bucket = fixture.options().bucket;
    o.prefix = fixture.options().prefix;
    o.verbose = true;
    if (auto status = read_trail_status(state_dir.string())) o.latest_digest_delivery_time = status->latest_digest_delivery_time;
    if (auto trail = read_trail_description(state_dir.string())) o.digest_interval_seconds = trail->digest_interval_seconds;
    return o;
  }

  Outcome run(const ValidateOptions& o) {
    LocalObjectStore store(bucket_dir.string(), fixture.options().bucket);
    RegistryKeySource keys(public_keys_path(state_dir.string()));
    std::ostringstream out, err;
    Outcome outcome;
    outcome.result = validate_digests(o, store, keys, out, err);
    outcome.out = out.str();
    outcome.err = err.str();
    return outcome;
  }
  Outcome run() { return run(options()); }

  fs::path object(const std::string& key) const { return bucket_dir / key; }
  fs::path sidecar(const std::string& key) const { return bucket_dir / ".trailkit-metadata" / (key + ".json"); }
  std::string uri(const std::string& key) const { return "s3://" + fixture.options().bucket + "/" + key; }

  TempDir dir;
  DigestFixture fixture;
  fs::path bucket_dir;
  fs::path state_dir;
};

DigestFixtureOptions three_digests() {
  DigestFixtureOptions o;
  o.digests = 3;
  o.logs_per_digest = 2;
  o.empty_digests = {1};  // CloudTrail delivers a digest for an hour without log files
  return o;
}

TEST(ValidatorTest, ValidChainPrintsWhatValidateLogsPrints) {
  ChainDir s(three_digests());
  const Outcome r = s.run();
  const auto& d = s.fixture.digests();
  std::string expected = "Validating log files for trail " + s.fixture.arn() + " between 2026-11-01T10:01:31Z and " +
                         "2026-11-01T13:01:31Z\n\n";
  expected += "Digest file\t" + s.uri(d[2].key) + "\tvalid\n";
  for (const auto& log : d[2].log_keys) expected += "Log file\t" + s.uri(log) + "\tvalid\n";
  expected += "Digest file\t" + s.uri(d[1].key) + "\tvalid\n";
  expected += "Digest file\t" + s.uri(d[0].key) + "\tvalid\n";
  for (const auto& log : d[0].log_keys) expected += "Log file\t" + s.uri(log) + "\tvalid\n";
  expected += "\nResults requested for 2026-11-01T10:01:31Z to 2026-11-01T13:01:31Z\n"
              "Results found for 2026-11-01T10:01:31Z to 2026-11-01T13:01:31Z:\n"
              "\n3/3 digest files valid\n4/4 log files valid\n";
  EXPECT_EQ(r.out, expected);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.result.valid_digests, 3);
  EXPECT_EQ(r.result.valid_logs, 4);
  EXPECT_EQ(r.result.exit_code(), 0);
}

TEST(ValidatorTest, QuietRunPrintsOnlyHeaderAndSummary) {
  ChainDir s(three_digests());
  ValidateOptions o = s.options();
  o.verbose = false;
  const Outcome r = s.run(o);
  EXPECT_EQ(r.out, "Validating log files for trail " + s.fixture.arn() +
                       " between 2026-11-01T10:01:31Z and 2026-11-01T13:01:31Z\n\n"
                       "Results requested for 2026-11-01T10:01:31Z to 2026-11-01T13:01:31Z\n"
                       "Results found for 2026-11-01T10:01:31Z to 2026-11-01T13:01:31Z:\n"
                       "\n3/3 digest files valid\n4/4 log files valid\n");
  EXPECT_EQ(r.result.exit_code(), 0);
}

// In verbose runs an INVALID line that follows a "valid" line on stdout starts with an empty line
// on stderr: validate-logs' _write_status keeps one "last status was double spaced" flag for both.
TEST(ValidatorTest, ChangedLogFileFailsItsHash) {
  ChainDir s(three_digests());
  const std::string key = s.fixture.digests()[0].log_keys[1];
  // One byte of the log's JSON changed, recompressed as a well-formed gzip member.
  std::string json = testing::fixture_gunzip(testing::read_file(s.object(key)));
  json[json.find("GetObject")] = 'P';
  testing::write_file(s.object(key), testing::fixture_gzip(json));
  const Outcome r = s.run();
  EXPECT_EQ(r.err, "\nLog file\t" + s.uri(key) + "\tINVALID: hash value doesn't match\n\n");
  EXPECT_NE(r.out.find("\n3/3 digest files valid\n3/4 log files valid, 1/4 log files INVALID\n"), std::string::npos);
  EXPECT_EQ(r.result.exit_code(), 1);
}

TEST(ValidatorTest, CorruptCompressedLogIsInvalidFormatAndGarbageAfterMemberIsIgnored) {
  ChainDir s(three_digests());
  const auto& logs = s.fixture.digests()[2].log_keys;
  std::string corrupt = testing::read_file(s.object(logs[0]));
  corrupt[corrupt.size() - 6] ^= 0x55;  // CRC-32 no longer matches
  testing::write_file(s.object(logs[0]), corrupt);
  // validate-logs inflates the first gzip member only: what follows it is never read.
  testing::write_file(s.object(logs[1]), testing::read_file(s.object(logs[1])) + "trailing junk");
  const Outcome r = s.run();
  EXPECT_EQ(r.err, "\nLog file\t" + s.uri(logs[0]) + "\tINVALID: invalid format\n\n");
  EXPECT_EQ(r.result.valid_logs, 3);
  EXPECT_EQ(r.result.exit_code(), 1);
}

TEST(ValidatorTest, DeletedLogFileIsNotFound) {
  ChainDir s(three_digests());
  const std::string key = s.fixture.digests()[2].log_keys[0];
  fs::remove(s.object(key));
  const Outcome r = s.run();
  EXPECT_EQ(r.err, "\nLog file\t" + s.uri(key) + "\tINVALID: not found\n\n");
  EXPECT_NE(r.out.find("3/4 log files valid, 1/4 log files INVALID"), std::string::npos);
  EXPECT_EQ(r.result.exit_code(), 1);
}

TEST(ValidatorTest, DeletedMiddleDigestIsNotFoundAndTheWalkContinues) {
  ChainDir s(three_digests());
  const auto& d = s.fixture.digests();
  fs::remove(s.object(d[1].key));
  const Outcome r = s.run();
  EXPECT_EQ(r.err, "\nDigest file\t" + s.uri(d[1].key) + "\tINVALID: not found\n\n");
  EXPECT_NE(r.out.find("Digest file\t" + s.uri(d[0].key) + "\tvalid\n"), std::string::npos);
  EXPECT_NE(r.out.find("\n2/3 digest files valid, 1/3 digest files INVALID\n4/4 log files valid\n"), std::string::npos);
  EXPECT_EQ(r.result.exit_code(), 1);
}

TEST(ValidatorTest, ChangedSignatureFailsVerification) {
  ChainDir s(three_digests());
  const auto& d = s.fixture.digests();
  std::string meta = testing::read_file(s.sidecar(d[2].key));
  const std::size_t at = meta.find("\"signature\":\"") + 13;
  meta[at] = meta[at] == '0' ? '1' : '0';
  testing::write_file(s.sidecar(d[2].key), meta);
  const Outcome r = s.run();
  EXPECT_EQ(r.err, "Digest file\t" + s.uri(d[2].key) + "\tINVALID: signature verification failed\n\n");
  // The older digests still validate; the logs of the invalid digest are not checked.
  EXPECT_NE(r.out.find("\n2/3 digest files valid, 1/3 digest files INVALID\n2/2 log files valid\n"), std::string::npos);
  EXPECT_EQ(r.result.exit_code(), 1);
}

TEST(ValidatorTest, MissingSignatureMetadataFailsVerification) {
  ChainDir s(three_digests());
  const auto& d = s.fixture.digests();
  fs::remove(s.sidecar(d[0].key));
  const Outcome r = s.run();
  EXPECT_EQ(r.err, "\nDigest file\t" + s.uri(d[0].key) + "\tINVALID: signature verification failed\n\n");
  EXPECT_EQ(r.result.exit_code(), 1);
}

TEST(ValidatorTest, MovedDigestIsReported) {
  ChainDir s(three_digests());
  const auto& d = s.fixture.digests();
  // The newest digest copied to the key of a later time (and the original removed).
  const std::string moved = s.fixture.digest_key(d[2].end + 1);
  fs::rename(s.object(d[2].key), s.object(moved));
  fs::rename(s.sidecar(d[2].key), s.sidecar(moved));
  const Outcome r = s.run();
  EXPECT_EQ(r.err, "Digest file\t" + s.uri(moved) + "\tINVALID: has been moved from its original location\n\n");
  EXPECT_NE(r.out.find("2/3 digest files valid, 1/3 digest files INVALID"), std::string::npos);
  EXPECT_EQ(r.result.exit_code(), 1);
}

TEST(ValidatorTest, UnknownFingerprintIsReportedForEveryDigest) {
  ChainDir s(three_digests());
  KeyRegistry other;  // only a key that signed nothing
  other.activate(testing::fixture_key(1).fingerprint(), testing::fixture_key(1).public_key_der(), 1);
  other.save(public_keys_path(s.state_dir.string()));
  const Outcome r = s.run();
  std::string expected;
  for (int i = 2; i >= 0; --i) {
    expected += "Digest file\t" + s.uri(s.fixture.digests()[static_cast<std::size_t>(i)].key) +
                "\tINVALID: public key not found in region us-east-1 for fingerprint " +
                testing::fixture_key(0).fingerprint() + "\n\n";
  }
  EXPECT_EQ(r.err, expected);
  EXPECT_NE(r.out.find("No valid digests found in range\n\n0/3 digest files valid, 3/3 digest files INVALID\n"),
            std::string::npos);
  EXPECT_EQ(r.result.exit_code(), 1);
}

TEST(ValidatorTest, NoPublicKeysIsFatalLikeTheStockTool) {
  ChainDir s(three_digests());
  fs::remove(public_keys_path(s.state_dir.string()));
  const Outcome r = s.run();
  EXPECT_EQ(r.err, "\nNo public keys found between 2026-11-01T10:01:31Z and 2026-11-01T15:01:31Z\n");
  EXPECT_EQ(r.out.find("Results requested"), std::string::npos);
  EXPECT_TRUE(r.result.fatal);
  EXPECT_EQ(r.result.exit_code(), 1);
}

TEST(ValidatorTest, DeletedNewestDigestIsTailTruncation) {
  ChainDir s(three_digests());
  const auto& d = s.fixture.digests();
  fs::remove(s.object(d[2].key));
  ValidateOptions stock_only = s.options();
  stock_only.extra_checks = false;
  const Outcome stock = s.run(stock_only);
  // validate-logs cannot see it: the remaining chain is valid.
  EXPECT_EQ(stock.err, "");
  EXPECT_NE(stock.out.find("2/2 digest files valid\n2/2 log files valid\n"), std::string::npos);
  EXPECT_EQ(stock.result.exit_code(), 0);

  const Outcome r = s.run();
  EXPECT_EQ(r.out, stock.out + "\n1 digest chain check(s) beyond validate-logs FAILED (chain links, gaps, tail truncation)\n");
  EXPECT_EQ(r.err,
            "\nINVALID: digests missing after 2026-11-01T12:01:31Z: the newest digest found ends at 2026-11-01T12:01:31Z "
            "but digests were delivered until 2026-11-01T13:01:36Z (tail truncation)\n\n");
  EXPECT_EQ(r.result.extra_failures, 1);
  EXPECT_EQ(r.result.exit_code(), 1);
}

TEST(ValidatorTest, TailTruncationWithoutWatermarkUsesTheInterval) {
  ChainDir s(three_digests(), /*latest_digest_delivery=*/-1);  // no trail-status.json
  ValidateOptions o = s.options();
  ASSERT_FALSE(o.latest_digest_delivery_time);
  o.end_time = s.fixture.last_end() + 2 * 3600 + 300;  // two intervals + grace: still fine
  EXPECT_EQ(s.run(o).result.exit_code(), 0);
  o.end_time += 1;
  const Outcome r = s.run(o);
  EXPECT_NE(r.err.find("INVALID: digests missing after 2026-11-01T13:01:31Z: the newest digest found ends at "
                       "2026-11-01T13:01:31Z but a digest is due every 3600 s until 2026-11-01T15:06:32Z (tail truncation)"),
            std::string::npos);
  EXPECT_EQ(r.result.exit_code(), 1);
}

TEST(ValidatorTest, NoTailCheckWhenTheChainContinuesAfterTheRange) {
  // Logging stopped 3 h after digest 1 and started again (digest 2 starts a new chain).
  DigestFixtureOptions options = three_digests();
  options.chain_starts = {2};
  options.start_shift = {{2, 3 * 3600}};
  ChainDir s(options);
  ValidateOptions o = s.options();
  o.end_time = s.fixture.digests()[1].end + 1800;  // the range ends while logging was stopped
  ASSERT_GT(*o.latest_digest_delivery_time, o.end_time + 3600);
  const Outcome r = s.run(o);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.result.exit_code(), 0);
}

TEST(ValidatorTest, WrongRegionFindsNoDigestsAndExitsZero) {
  ChainDir s(three_digests());
  ValidateOptions o = s.options();
  o.source_region = "us-west-2";
  const Outcome r = s.run(o);
  EXPECT_NE(r.out.find("Results requested for 2026-11-01T10:01:31Z to 2026-11-01T13:01:31Z\nNo digests found\n"),
            std::string::npos);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.result.exit_code(), 0);
}

TEST(ValidatorTest, AllDigestsDeletedWhileTheTrailDeliveredIsTailTruncation) {
  ChainDir s(three_digests());
  for (const auto& d : s.fixture.digests()) fs::remove(s.object(d.key));
  const Outcome r = s.run();
  EXPECT_NE(r.out.find("No digests found\n"), std::string::npos);
  EXPECT_NE(r.err.find("INVALID: no digests found between 2026-11-01T10:01:31Z and 2026-11-01T13:01:31Z but digests "
                       "were delivered until 2026-11-01T13:01:36Z (tail truncation)"),
            std::string::npos);
  EXPECT_EQ(r.result.exit_code(), 1);
}

TEST(ValidatorTest, NewChainInsideTheRangeIsAChainGap) {
  DigestFixtureOptions options = three_digests();
  options.chain_starts = {2};  // digest 2 does not link to digest 1
  options.start_shift = {{2, 600}};
  ChainDir s(options);
  const auto& d = s.fixture.digests();
  const Outcome r = s.run();
  // validate-logs only prints a notice (and exits 0 for this) ...
  EXPECT_NE(r.err.find("No log files were delivered by CloudTrail between 2026-11-01T12:01:31Z and "
                       "2026-11-01T12:11:31Z\n\n"),
            std::string::npos);
  EXPECT_NE(r.out.find("\n3/3 digest files valid\n4/4 log files valid\n"), std::string::npos);
  // ... we fail it.
  EXPECT_NE(r.err.find("Digest file\t" + s.uri(d[2].key) +
                       "\tINVALID: chain gap between 2026-11-01T12:01:31Z and 2026-11-01T12:11:31Z: the digest starts "
                       "a new chain (previousDigest* null) although an older digest exists: " +
                       s.uri(d[1].key)),
            std::string::npos);
  EXPECT_EQ(r.result.extra_failures, 1);
  EXPECT_EQ(r.result.exit_code(), 1);
}

TEST(ValidatorTest, LinkedDigestWithAHoleOrWrongHashFails) {
  DigestFixtureOptions options = three_digests();
  options.start_shift = {{1, 120}};   // digest 1 starts 2 min after digest 0 ended
  options.wrong_previous_hash = {2};  // digest 2's previousDigestHashValue is wrong
  ChainDir s(options);
  const auto& d = s.fixture.digests();
  ValidateOptions stock_only = s.options();
  stock_only.extra_checks = false;
  EXPECT_EQ(s.run(stock_only).result.exit_code(), 0);  // validate-logs checks neither
  const Outcome r = s.run();
  EXPECT_NE(r.err.find("Digest file\t" + s.uri(d[1].key) +
                       "\tINVALID: chain gap between 2026-11-01T11:01:31Z and 2026-11-01T11:03:31Z: its "
                       "digestStartTime is not the digestEndTime of the previous digest " +
                       s.uri(d[0].key)),
            std::string::npos);
  EXPECT_NE(r.err.find("Digest file\t" + s.uri(d[2].key) +
                       "\tINVALID: previousDigestHashValue does not match the SHA-256 of the previous digest " +
                       s.uri(d[1].key)),
            std::string::npos);
  EXPECT_EQ(r.result.extra_failures, 2);
  EXPECT_EQ(r.result.exit_code(), 1);
}

TEST(ValidatorTest, ZstdLogFilesValidate) {
  DigestFixtureOptions options = three_digests();
  options.zstd = true;
  ChainDir s(options);
  const Outcome r = s.run();
  EXPECT_NE(s.fixture.digests()[0].log_keys[0].find(".json.zst"), std::string::npos);
  EXPECT_NE(r.out.find("\n3/3 digest files valid\n4/4 log files valid\n"), std::string::npos);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.result.exit_code(), 0);
}

TEST(ValidatorTest, KeyRotationMidChainValidates) {
  DigestFixtureOptions options = three_digests();
  options.digests = 4;
  options.rotate_key_at = 2;
  ChainDir s(options);
  ASSERT_NE(s.fixture.digests()[1].signing_key, s.fixture.digests()[2].signing_key);
  const Outcome r = s.run();
  EXPECT_NE(r.out.find("\n4/4 digest files valid\n6/6 log files valid\n"), std::string::npos);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.result.exit_code(), 0);
}

TEST(ValidatorTest, BackfillDigestIsASecondChain) {
  DigestFixtureOptions options = three_digests();
  options.backfill_for = 1;
  ChainDir s(options);
  const Outcome r = s.run();
  EXPECT_NE(r.out.find("(backfill) Digest file\t" + s.uri(s.fixture.backfill_key()) + "\tvalid\n"), std::string::npos);
  EXPECT_NE(r.out.find("\n3/3 digest files valid\n1/1 backfill digest files valid\n5/5 log files valid\n"),
            std::string::npos);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.result.exit_code(), 0);

  // validate-logs requires backfill-generation-timestamp on a backfill digest.
  testing::write_file(s.sidecar(s.fixture.backfill_key()),
                      "{\"signature\":\"00\",\"signature-algorithm\":\"SHA256withRSA\"}");
  const Outcome bad = s.run();
  EXPECT_NE(bad.err.find("(backfill) Digest file\t" + s.uri(s.fixture.backfill_key()) + "\tINVALID: invalid format"),
            std::string::npos);
  EXPECT_EQ(bad.result.invalid_backfill_digests, 1);
  EXPECT_EQ(bad.result.exit_code(), 1);
}

TEST(ValidatorTest, PrefixAndStartInsideTheChain) {
  DigestFixtureOptions options = three_digests();
  options.prefix = "my/prefix";
  ChainDir s(options);
  ValidateOptions o = s.options();
  o.start_time = s.fixture.digests()[1].start + 1;  // digest 0 is outside, digest 1 ends after start
  o.verbose = false;
  const Outcome r = s.run(o);
  // The walk stops after the first digest that starts before --start-time.
  EXPECT_NE(r.out.find("Results found for 2026-11-01T11:01:32Z to 2026-11-01T13:01:31Z:\n\n2/2 digest files valid\n"
                       "2/2 log files valid\n"),
            std::string::npos);
  EXPECT_EQ(r.result.exit_code(), 0);
}

TEST(ValidatorTest, ProgressBarOnlyWhenAskedAndLong) {
  DigestFixtureOptions options;
  options.digests = 25;
  options.logs_per_digest = 0;
  ChainDir s(options);
  ValidateOptions o = s.options();
  o.verbose = false;
  const Outcome plain = s.run(o);
  EXPECT_EQ(plain.err, "");
  o.progress = true;
  const Outcome bar = s.run(o);
  EXPECT_NE(bar.err.find("\r["), std::string::npos);
  EXPECT_NE(bar.err.find("25/25 digests"), std::string::npos);
  EXPECT_TRUE(bar.err.ends_with("\r\033[K"));  // erased before the summary
  EXPECT_EQ(bar.out, plain.out);

  ChainDir small(three_digests());
  ValidateOptions short_run = small.options();
  short_run.progress = true;
  EXPECT_EQ(small.run(short_run).err, "");  // 3 digests in well under 2 s: no bar
}

TEST(ValidatorTest, LocalStoreRefusesKeysOutsideTheDirectory) {
  TempDir dir;
  testing::write_file(dir.path() / "secret", "x");
  fs::create_directories(dir.path() / "b");
  LocalObjectStore store((dir.path() / "b").string(), "b");
  StoredObject object;
  std::string error;
  EXPECT_EQ(store.get("b", "../secret", object, error), FetchOutcome::kNotFound);
  EXPECT_EQ(store.get("b", "/etc/passwd", object, error), FetchOutcome::kNotFound);
  EXPECT_EQ(store.get("other", "secret", object, error), FetchOutcome::kNotFound);
}

TEST(ValidatorTest, LocalStoreListsInByteOrderAfterTheMarker) {
  TempDir dir;
  for (const char* key : {"p/a/2", "p/a/10", "p/b", "p/a/1", "q/x", ".trailkit-metadata/p/a/1.json"}) {
    fs::create_directories((dir.path() / key).parent_path());
    testing::write_file(dir.path() / key, "x");
  }
  LocalObjectStore store(dir.str(), "b");
  std::vector<std::string> keys;
  ASSERT_TRUE(store.list("b", "p/", "p/a/1", [&](const std::string& k) {
    keys.push_back(k);
    return true;
  }));
  EXPECT_EQ(keys, (std::vector<std::string>{"p/a/10", "p/a/2", "p/b"}));
  std::vector<std::string> folders;
  ASSERT_TRUE(store.list_folders("b", "p/", folders));
  EXPECT_EQ(folders, std::vector<std::string>{"a"});
}

TEST(ValidatorTest, TimeTextLikeTheStockParser) {
  EXPECT_EQ(parse_time_text("2026-11-21T10:00:00Z"), 1795255200);
  EXPECT_EQ(parse_time_text("2026-11-21T10:00Z"), 1795255200);
  EXPECT_EQ(parse_time_text("2026-11-21 10:00:00"), 1795255200);
  EXPECT_EQ(parse_time_text("2026-11-21T10:00:00.7Z"), 1795255200);
  EXPECT_EQ(parse_time_text("20261121T100000Z"), 1795255200);
  EXPECT_EQ(parse_time_text("2026-11-21"), 1795219200);
  EXPECT_EQ(parse_time_text("20261121"), 1795219200);
  EXPECT_EQ(parse_time_text("1795255200"), 1795255200);  // epoch seconds: our extension
  // normalize_date() replaces the zone instead of converting: the stock tool ignores offsets.
  EXPECT_EQ(parse_time_text("2026-11-21T10:00:00+02:00"), 1795255200);
  EXPECT_FALSE(parse_time_text("bogus"));
  EXPECT_FALSE(parse_time_text("2026-02-30"));
  EXPECT_FALSE(parse_time_text("2026-11-21T25:00:00Z"));
  EXPECT_EQ(format_display_time(1795255200), "2026-11-21T10:00:00Z");
}

TEST(ValidatorTest, TrailArnPatternOfTheStockTool) {
  EXPECT_TRUE(is_valid_trail_arn("arn:aws:cloudtrail:us-east-1:123456789012:trail/foo"));
  EXPECT_FALSE(is_valid_trail_arn("arn:aws:cloudtrail:us-east-1:12345678901:trail/foo"));
  EXPECT_FALSE(is_valid_trail_arn("my-trail"));
  EXPECT_TRUE(is_valid_trail_arn("arn:aws-cn:cloudtrail:cn-north-1:123456789012:trail/a:b"));
  EXPECT_TRUE(is_valid_trail_arn("arn:x:cloudtrail:y:z:123456789012:trail/t"));  // '.+' spans colons
  EXPECT_FALSE(is_valid_trail_arn("arn::cloudtrail:us-east-1:123456789012:trail/t"));
  EXPECT_FALSE(is_valid_trail_arn("arn:aws:cloudtrail:us-east-1:123456789012:trail/"));
}

}  // namespace
}  // namespace trailkit::detail
