#include "deliver/spool.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/fast_random.hpp"
#include "support/manual_clock.hpp"

#include "support/files.hpp"

namespace trailkit::detail {
namespace {

namespace fs = std::filesystem;
using Metadata = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view kKey =
    "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/"
    "111122223333_CloudTrail_us-east-1_20240501T1447Z_Ab12Cd34Ef56Gh78.json.gz";

using trailkit::testing::read_file;

using trailkit::testing::write_file;

std::vector<std::string> names_in(const fs::path& directory) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string hex_of(const unsigned char* digest, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xF];
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[32];
  EVP_Digest(bytes.data(), bytes.size(), digest, nullptr, EVP_sha256(), nullptr);
  return hex_of(digest, sizeof digest);
}

std::string random_bytes(FastRandom& random, std::size_t size) {
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(random.next() & 0xFF);
  return out;
}

// Reads an entry's payload the way the uploader will: through open_payload.
std::string read_payload(const Spool& spool, std::uint64_t id) {
  int fd = -1;
  std::uint64_t offset = 0, length = 0;
  const Status opened = spool.open_payload(id, fd, offset, length);
  EXPECT_TRUE(opened) << opened.message();
  if (!opened) return {};
  std::string out(length, '\0');
  std::size_t done = 0;
  while (done < length) {
    const ssize_t got = ::pread(fd, out.data() + done, length - done, static_cast<off_t>(offset + done));
    if (got <= 0) break;
    done += static_cast<std::size_t>(got);
  }
  ::close(fd);
  EXPECT_EQ(done, length);
  return out;
}

long resident_kib() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "trailkit-spool-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    sandbox_ = pattern;
    directory_ = sandbox_ / "state" / "spool";
  }
  void TearDown() override { fs::remove_all(sandbox_); }

  SpoolOptions options(bool fsync = true) const {
    SpoolOptions result;
    result.directory = directory_.string();
    result.fsync = fsync;
    result.clock = clock_;
    return result;
  }
  std::unique_ptr<Spool> open(std::vector<std::string>* problems = nullptr, bool fsync = true) {
    return Spool::open(options(fsync), problems);
  }
  static std::uint64_t commit(Spool& spool, std::string_view payload, std::string_view key = kKey,
                              Metadata metadata = {}) {
    Status status;
    auto writer = spool.begin(status);
    EXPECT_TRUE(status) << status.message();
    if (!writer) return 0;
    EXPECT_TRUE(writer->write(payload));
    const Status committed = writer->commit(key, std::move(metadata));
    EXPECT_TRUE(committed) << committed.message();
    return writer->id();
  }
  fs::path entry_path(std::uint64_t id) const { return directory_ / "ready" / (std::to_string(id) + ".entry"); }

  std::shared_ptr<testing::ManualClock> clock_ = std::make_shared<testing::ManualClock>(1714574820);
  fs::path sandbox_, directory_;
};

TEST_F(SpoolTest, CommittedEntryRoundTripsWithHashesAndIsRemovedAfterConfirmation) {
  auto spool = open();
  Status status;
  auto writer = spool->begin(status);
  ASSERT_TRUE(status) << status.message();
  EXPECT_EQ(names_in(directory_ / "ready").size(), 0u);  // nothing listed while writing
  ASSERT_TRUE(writer->write("hello "));
  ASSERT_TRUE(writer->write(""));
  ASSERT_TRUE(writer->write("world"));
  EXPECT_EQ(spool->ready_count(), 0u);
  ASSERT_TRUE(writer->commit(kKey, {{"x-amz-meta-a", "1"}, {"x-amz-meta-b", ""}}));
  EXPECT_EQ(writer->id(), 1u);

  const auto entries = spool->ready_entries(10);
  ASSERT_EQ(entries.size(), 1u);
  const SpoolEntryInfo& entry = entries[0];
  EXPECT_EQ(entry.id, 1u);
  EXPECT_EQ(entry.key, kKey);
  EXPECT_EQ(entry.metadata, (Metadata{{"x-amz-meta-a", "1"}, {"x-amz-meta-b", ""}}));
  EXPECT_EQ(entry.payload_size, 11u);
  EXPECT_EQ(entry.payload_sha256_hex, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
  EXPECT_EQ(entry.payload_md5_base64, "XrY7u+Ae7tCTyyK7j1rNww==");
  EXPECT_EQ(entry.created_epoch_seconds, 1714574820);
  EXPECT_EQ(spool->ready_count(), 1u);
  EXPECT_EQ(spool->ready_bytes(), 11u);
  EXPECT_EQ(spool->oldest_ready_time(), 1714574820);
  EXPECT_EQ(read_payload(*spool, 1), "hello world");
  EXPECT_TRUE(spool->verify_payload(1));
  EXPECT_EQ(names_in(directory_ / "tmp").size(), 0u);
  EXPECT_EQ(fs::file_size(entry_path(1)), kSpoolHeaderRegion + 11);
  EXPECT_EQ(fs::status(entry_path(1)).permissions() & fs::perms::others_read, fs::perms::none);

  // A second commit on a finished writer is refused; a write too.
  EXPECT_EQ(writer->commit(kKey, {}).kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(writer->write("x").kind(), ErrorKind::kInvalidArgument);

  ASSERT_TRUE(spool->remove(1));
  EXPECT_FALSE(fs::exists(entry_path(1)));
  EXPECT_EQ(spool->ready_count(), 0u);
  EXPECT_EQ(spool->ready_bytes(), 0u);
  EXPECT_EQ(spool->oldest_ready_time(), std::nullopt);
  EXPECT_EQ(spool->remove(1).kind(), ErrorKind::kInvalidArgument);
  int fd = -1;
  std::uint64_t offset = 0, length = 0;
  EXPECT_EQ(spool->open_payload(1, fd, offset, length).kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(spool->verify_payload(1).kind(), ErrorKind::kInvalidArgument);
}

TEST_F(SpoolTest, EmptyPayloadIsAValidEntry) {
  auto spool = open();
  const std::uint64_t id = commit(*spool, "");
  ASSERT_NE(id, 0u);
  spool.reset();
  std::vector<std::string> problems;
  spool = open(&problems);
  EXPECT_TRUE(problems.empty());
  ASSERT_EQ(spool->ready_count(), 1u);
  EXPECT_EQ(spool->ready_entries(1)[0].payload_sha256_hex, sha256_hex(""));
  EXPECT_TRUE(spool->verify_payload(id));
}

TEST_F(SpoolTest, EntriesSurviveReopenAndIdsKeepIncreasingEvenAfterTheSpoolDrained) {
  auto spool = open();
  const std::uint64_t a = commit(*spool, "first", "k/a", {{"m", "1"}});
  const std::uint64_t b = commit(*spool, "second", "k/b");
  clock_->advance_seconds(60);
  const std::uint64_t c = commit(*spool, "third", "k/c");
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  const auto before = spool->ready_entries(10);
  spool.reset();

  std::vector<std::string> problems;
  spool = open(&problems);
  EXPECT_TRUE(problems.empty()) << problems.front();
  const auto after = spool->ready_entries(10);
  ASSERT_EQ(after.size(), 3u);
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].id, before[i].id);
    EXPECT_EQ(after[i].key, before[i].key);
    EXPECT_EQ(after[i].metadata, before[i].metadata);
    EXPECT_EQ(after[i].payload_sha256_hex, before[i].payload_sha256_hex);
    EXPECT_EQ(after[i].payload_md5_base64, before[i].payload_md5_base64);
    EXPECT_EQ(after[i].created_epoch_seconds, before[i].created_epoch_seconds);
  }
  EXPECT_EQ(read_payload(*spool, b), "second");
  EXPECT_EQ(spool->ready_bytes(), 5u + 6u + 5u);
  EXPECT_EQ(spool->oldest_ready_time(), 1714574820);
  const std::uint64_t d = commit(*spool, "fourth");
  EXPECT_GT(d, c);

  // Drained: no entry is left to say which ids were used, the sequence file still does.
  for (const auto& entry : spool->ready_entries(10)) ASSERT_TRUE(spool->remove(entry.id));
  spool.reset();
  spool = open();
  EXPECT_EQ(spool->ready_count(), 0u);
  EXPECT_GT(commit(*spool, "fifth"), d);
}

TEST_F(SpoolTest, IdsFollowCommitOrderAndEntriesAreListedOldestFirst) {
  auto spool = open();
  Status status;
  auto early = spool->begin(status);
  auto late = spool->begin(status);
  ASSERT_TRUE(early && late);
  ASSERT_TRUE(early->write("begun first"));
  ASSERT_TRUE(late->write("begun second"));
  ASSERT_TRUE(late->commit("late", {}));
  ASSERT_TRUE(early->commit("early", {}));
  EXPECT_LT(late->id(), early->id());
  for (int i = 0; i < 5; ++i) commit(*spool, "x", "more/" + std::to_string(i));

  const auto two = spool->ready_entries(2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].key, "late");
  EXPECT_EQ(two[1].key, "early");
  const auto all = spool->ready_entries(100);
  ASSERT_EQ(all.size(), 7u);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].id, all[i].id);
  EXPECT_EQ(all.back().key, "more/4");
}

TEST_F(SpoolTest, AbortAndDestructorDiscardTheTempFile) {
  auto spool = open();
  Status status;
  auto writer = spool->begin(status);
  ASSERT_TRUE(writer->write("discard me"));
  EXPECT_EQ(names_in(directory_ / "tmp").size(), 1u);
  writer->abort();
  writer->abort();  // idempotent
  EXPECT_EQ(names_in(directory_ / "tmp").size(), 0u);
  EXPECT_EQ(writer->commit(kKey, {}).kind(), ErrorKind::kInvalidArgument);
  {
    auto dropped = spool->begin(status);
    ASSERT_TRUE(dropped->write("dropped"));
  }
  EXPECT_EQ(names_in(directory_ / "tmp").size(), 0u);
  EXPECT_EQ(spool->ready_count(), 0u);
  EXPECT_EQ(names_in(directory_ / "ready").size(), 0u);
}

TEST_F(SpoolTest, KeyAndMetadataLimitsAreEnforcedAndTheWriterStaysUsable) {
  auto spool = open();
  Status status;
  auto writer = spool->begin(status);
  ASSERT_TRUE(writer->write("payload"));
  EXPECT_EQ(writer->commit("", {}).kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(writer->commit(std::string(1025, 'k'), {}).kind(), ErrorKind::kInvalidArgument);
  // 8 bytes of lengths + name + value per pair: 8 + 4 + 8181 = 8193 bytes.
  EXPECT_EQ(writer->commit("k", {{"name", std::string(8181, 'v')}}).kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(writer->id(), 0u);  // refused before an id was taken

  const std::string longest_key(1024, 'k');
  const Metadata largest = {{"name", std::string(8180, 'v')}};
  ASSERT_TRUE(writer->write(" more"));
  ASSERT_TRUE(writer->commit(longest_key, largest));
  writer.reset();  // a writer keeps the spool's directory (and its lock) open
  spool.reset();
  std::vector<std::string> problems;
  spool = open(&problems);
  EXPECT_TRUE(problems.empty());
  const auto entries = spool->ready_entries(1);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].key, longest_key);
  EXPECT_EQ(entries[0].metadata, largest);
  EXPECT_EQ(read_payload(*spool, entries[0].id), "payload more");
}

TEST_F(SpoolTest, OneSpoolPerDirectory) {
  auto spool = open();
  EXPECT_THROW(open(), std::runtime_error);
  spool.reset();
  EXPECT_NO_THROW(open());
}

TEST_F(SpoolTest, SetupErrorsNameThePath) {
  SpoolOptions empty;
  EXPECT_THROW(Spool::open(empty), std::invalid_argument);
  write_file(sandbox_ / "a-file", "not a directory");
  SpoolOptions blocked;
  blocked.directory = (sandbox_ / "a-file" / "spool").string();
  try {
    Spool::open(blocked);
    FAIL() << "opened a spool below a regular file";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find(blocked.directory), std::string::npos) << error.what();
  }
  // A symlink where ready/ should be is refused, not followed.
  fs::create_directories(directory_);
  fs::create_directory(sandbox_ / "elsewhere");
  fs::create_directory_symlink(sandbox_ / "elsewhere", directory_ / "ready");
  EXPECT_THROW(open(), std::runtime_error);
}

TEST_F(SpoolTest, LargePayloadStreamsWithFlatMemory) {
  auto spool = open();
  FastRandom random(7);
  std::string chunk = random_bytes(random, 1 << 20);
  EVP_MD_CTX* expected = EVP_MD_CTX_new();
  EVP_DigestInit_ex(expected, EVP_sha256(), nullptr);
  Status status;
  auto writer = spool->begin(status);
  ASSERT_TRUE(status);
  const long before_kib = resident_kib();
  for (int i = 0; i < 64; ++i) {
    chunk[0] = static_cast<char>(i);  // every MiB differs
    ASSERT_TRUE(writer->write(chunk));
    EVP_DigestUpdate(expected, chunk.data(), chunk.size());
  }
  ASSERT_TRUE(writer->commit(kKey, {}));
  ASSERT_TRUE(spool->verify_payload(writer->id()));
  const long growth_kib = resident_kib() - before_kib;
  unsigned char digest[32];
  EVP_DigestFinal_ex(expected, digest, nullptr);
  EVP_MD_CTX_free(expected);

  EXPECT_LT(growth_kib, 16 * 1024) << "64 MiB went through the spool; resident memory grew by " << growth_kib << " KiB";
  const auto entries = spool->ready_entries(1);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].payload_size, 64u << 20);
  EXPECT_EQ(entries[0].payload_sha256_hex, hex_of(digest, sizeof digest));
  EXPECT_EQ(fs::file_size(entry_path(entries[0].id)), kSpoolHeaderRegion + (64u << 20));
}

// RLIMIT_FSIZE makes a real short write followed by EFBIG (SIGXFSZ ignored). Runs in a child so the
// limit cannot leak into other tests. Exit codes name the failed check.
int failed_write_then_retry(const SpoolOptions& options) {
  ::signal(SIGXFSZ, SIG_IGN);
  rlimit original{};
  if (::getrlimit(RLIMIT_FSIZE, &original) != 0) return 10;
  auto spool = Spool::open(options);
  Status status;
  auto writer = spool->begin(status);
  if (!writer) return 11;
  const std::string first(1000, 'a'), second(1000, 'b');
  if (!writer->write(first)) return 12;
  rlimit limited = original;
  limited.rlim_cur = kSpoolHeaderRegion + 1500;
  if (::setrlimit(RLIMIT_FSIZE, &limited) != 0) return 13;
  const Status failed = writer->write(second);
  if (failed.is_ok() || failed.kind() != ErrorKind::kTransient) return 14;
  if (failed.message().find(".tmp") == std::string::npos) return 15;
  if (::setrlimit(RLIMIT_FSIZE, &original) != 0) return 16;
  if (!writer->write(second)) return 17;
  if (!writer->commit("k", {})) return 18;
  // The failed call was neither kept in the file nor in the hash.
  if (spool->ready_entries(1).at(0).payload_size != 2000) return 19;
  if (!spool->verify_payload(writer->id())) return 20;

  // A disk too small for the header region fails at begin, not inside commit, and leaves nothing.
  limited.rlim_cur = kSpoolHeaderRegion / 2;
  if (::setrlimit(RLIMIT_FSIZE, &limited) != 0) return 21;
  auto refused = spool->begin(status);
  if (refused || status.is_ok()) return 22;
  if (::setrlimit(RLIMIT_FSIZE, &original) != 0) return 23;
  for (const auto& entry : fs::directory_iterator(fs::path(options.directory) / "tmp")) {
    (void)entry;
    return 24;
  }
  return 0;
}

TEST_F(SpoolTest, FailedWriteIsRolledBackFromFileAndHash) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(failed_write_then_retry(options(false)));
  int wait_status = 0;
  ASSERT_EQ(::waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFEXITED(wait_status));
  ASSERT_EQ(WEXITSTATUS(wait_status), 0) << "see the exit codes in failed_write_then_retry";
}

TEST_F(SpoolTest, BadEntriesAreQuarantinedAndGoodOnesKept) {
  auto spool = open();
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 9; ++i) ids.push_back(commit(*spool, "payload number " + std::to_string(i)));
  spool.reset();
  const auto path = [&](int index) { return entry_path(ids[static_cast<std::size_t>(index)]); };
  const auto original = read_file(path(0));

  fs::resize_file(path(0), kSpoolHeaderRegion / 2);              // truncated inside the header region
  std::string flipped = read_file(path(1));                      // flipped bit in the key (CRC)
  flipped[110] = static_cast<char>(flipped[110] ^ 0x10);
  write_file(path(1), flipped);
  std::string magic = read_file(path(2));
  magic[0] = 'X';
  write_file(path(2), magic);
  fs::resize_file(path(3), 0);                                   // zero-length
  fs::resize_file(path(4), fs::file_size(path(4)) - 1);          // payload shorter than recorded
  std::string longer = read_file(path(5)) + "tail";              // payload longer than recorded
  write_file(path(5), longer);
  fs::rename(path(6), entry_path(999));                          // header id differs from the name
  // Garbage names, a directory, a symlink and a FIFO under entry-like names.
  const fs::path ready = directory_ / "ready";
  write_file(ready / "notes.txt", "hello");
  write_file(ready / "0012.entry", original);
  write_file(ready / "12.entry.bak", original);
  write_file(ready / "bad\nname\x01.entry", original);
  fs::create_directory(ready / "500.entry");
  fs::create_symlink(path(7), ready / "501.entry");
  ASSERT_EQ(::mkfifo((ready / "502.entry").c_str(), 0600), 0);

  std::vector<std::string> problems;
  spool = open(&problems);
  EXPECT_EQ(problems.size(), 14u);
  EXPECT_EQ(spool->quarantined_total(), 14u);
  const auto entries = spool->ready_entries(100);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].id, ids[7]);
  EXPECT_EQ(entries[1].id, ids[8]);
  EXPECT_EQ(read_payload(*spool, ids[7]), "payload number 7");
  EXPECT_EQ(read_payload(*spool, ids[8]), "payload number 8");
  EXPECT_EQ(names_in(ready), (std::vector<std::string>{std::to_string(ids[7]) + ".entry",
                                                       std::to_string(ids[8]) + ".entry"}));
  const auto quarantined = names_in(directory_ / "quarantine");
  EXPECT_EQ(quarantined.size(), 28u);  // each file and its .reason
  EXPECT_NE(std::find(quarantined.begin(), quarantined.end(), "0012.entry"), quarantined.end());
  const std::string reason = read_file(directory_ / "quarantine" / (std::to_string(ids[1]) + ".entry.reason"));
  EXPECT_NE(reason.find("CRC"), std::string::npos) << reason;
  std::string all_problems;
  for (const auto& problem : problems) all_problems += problem + "\n";
  for (const char* expected : {"CRC", "bad magic", "empty file", "truncated or appended", "header names entry",
                               "unexpected file name", "not a regular file", "symlink or special file",
                               "bad\\x0aname\\x01.entry"}) {
    EXPECT_NE(all_problems.find(expected), std::string::npos) << expected << " missing in:\n" << all_problems;
  }
  // The quarantine is not re-examined: a second start is clean, and nothing was deleted.
  const std::uint64_t next = commit(*spool, "after");
  EXPECT_GT(next, 999u);  // the highest id seen, even in a bad entry, is never reused
  spool.reset();
  problems.clear();
  spool = open(&problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(spool->ready_count(), 3u);
  EXPECT_EQ(spool->quarantined_total(), 0u);
  EXPECT_EQ(read_file(directory_ / "quarantine" / "0012.entry"), original);
}

TEST_F(SpoolTest, CorruptPayloadIsCaughtByVerifyAndOpenPayloadAndCanBeQuarantined) {
  auto spool = open();
  const std::uint64_t flipped = commit(*spool, std::string(5000, 'p'));
  const std::uint64_t appended = commit(*spool, std::string(100, 'q'));
  const std::uint64_t good = commit(*spool, "fine");
  std::string bytes = read_file(entry_path(flipped));
  bytes[kSpoolHeaderRegion + 4321] = static_cast<char>(bytes[kSpoolHeaderRegion + 4321] ^ 0x01);
  write_file(entry_path(flipped), bytes);
  write_file(entry_path(appended), read_file(entry_path(appended)) + "x");

  const Status mismatch = spool->verify_payload(flipped);
  EXPECT_EQ(mismatch.kind(), ErrorKind::kPermanent);
  EXPECT_NE(mismatch.message().find("SHA-256"), std::string::npos) << mismatch.message();
  int fd = -1;
  std::uint64_t offset = 0, length = 0;
  EXPECT_EQ(spool->open_payload(appended, fd, offset, length).kind(), ErrorKind::kPermanent);
  EXPECT_EQ(fd, -1);
  EXPECT_TRUE(spool->verify_payload(good));

  ASSERT_TRUE(spool->quarantine(flipped, "BadDigest from the bucket"));
  ASSERT_TRUE(spool->quarantine(appended, "size changed"));
  EXPECT_EQ(spool->quarantined_total(), 2u);
  EXPECT_EQ(spool->ready_count(), 1u);
  EXPECT_EQ(spool->ready_bytes(), 4u);
  EXPECT_EQ(spool->quarantine(flipped, "again").kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(read_file(directory_ / "quarantine" / (std::to_string(flipped) + ".entry.reason")),
            "BadDigest from the bucket\n");
  EXPECT_EQ(read_file(directory_ / "quarantine" / (std::to_string(flipped) + ".entry")), bytes);
}

TEST_F(SpoolTest, PayloadFileStaysReadableAfterRemove) {
  auto spool = open();
  const std::uint64_t id = commit(*spool, "in flight");
  int fd = -1;
  std::uint64_t offset = 0, length = 0;
  ASSERT_TRUE(spool->open_payload(id, fd, offset, length));
  ASSERT_TRUE(spool->remove(id));
  std::string out(length, '\0');
  EXPECT_EQ(::pread(fd, out.data(), length, static_cast<off_t>(offset)), static_cast<ssize_t>(length));
  ::close(fd);
  EXPECT_EQ(out, "in flight");
}

TEST_F(SpoolTest, TempLeftoversArePromotedQuarantinedOrDeleted) {
  auto spool = open();
  const std::uint64_t complete = commit(*spool, "sealed but not renamed", "k/complete");
  const std::uint64_t damaged = commit(*spool, "sealed, then a bit flipped", "k/damaged");
  spool.reset();
  const fs::path tmp = directory_ / "tmp";
  // A crash between commit's fsync and its rename leaves a complete file in tmp/.
  fs::rename(entry_path(complete), tmp / "1.tmp");
  // A crash while writing: payload bytes but the header region still zero.
  write_file(tmp / "2.tmp", std::string(kSpoolHeaderRegion, '\0') + "partial gzip");
  // A crash right after begin: no payload byte.
  write_file(tmp / "3.tmp", std::string(kSpoolHeaderRegion, '\0'));
  write_file(tmp / "4.tmp", "");
  // Complete header, but a payload bit flipped: not trusted, not deleted.
  std::string flipped = read_file(entry_path(damaged));
  flipped.back() = static_cast<char>(flipped.back() ^ 0x40);
  write_file(tmp / "5.tmp", flipped);
  fs::remove(entry_path(damaged));

  std::vector<std::string> problems;
  spool = open(&problems);
  EXPECT_EQ(problems.size(), 5u);
  EXPECT_TRUE(names_in(tmp).empty());
  const auto entries = spool->ready_entries(10);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].id, complete);
  EXPECT_EQ(entries[0].key, "k/complete");
  EXPECT_EQ(read_payload(*spool, complete), "sealed but not renamed");
  EXPECT_EQ(spool->quarantined_total(), 2u);
  EXPECT_EQ(read_file(directory_ / "quarantine" / "uncommitted-2.tmp"),
            std::string(kSpoolHeaderRegion, '\0') + "partial gzip");
  EXPECT_EQ(read_file(directory_ / "quarantine" / "uncommitted-5.tmp"), flipped);
  EXPECT_GT(commit(*spool, "next"), damaged);
}

TEST_F(SpoolTest, WaitForReadyWakesOnCommitAndOnWake) {
  auto spool = open(nullptr, false);
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(spool->wait_for_ready(std::chrono::milliseconds(20)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(20));

  std::thread waker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    spool->wake();
  });
  start = std::chrono::steady_clock::now();
  EXPECT_FALSE(spool->wait_for_ready(std::chrono::seconds(30)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  waker.join();

  std::thread committer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    commit(*spool, "ready now");
  });
  start = std::chrono::steady_clock::now();
  EXPECT_TRUE(spool->wait_for_ready(std::chrono::seconds(30)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  committer.join();
}

TEST_F(SpoolTest, WriterAndUploaderThreadsRunConcurrently) {
  auto spool = open(nullptr, false);
  constexpr int kEntries = 300;
  std::atomic<bool> done{false};
  std::set<std::string> delivered;
  std::thread uploader([&] {
    while (true) {
      const bool finished = done.load();
      spool->wait_for_ready(std::chrono::milliseconds(5));
      for (const auto& entry : spool->ready_entries(8)) {
        EXPECT_EQ(read_payload(*spool, entry.id), "payload of " + entry.key);
        delivered.insert(entry.key);
        EXPECT_TRUE(spool->remove(entry.id));
      }
      if (finished && spool->ready_count() == 0) break;
    }
  });
  for (int i = 0; i < kEntries; ++i) {
    const std::string key = "key/" + std::to_string(i);
    commit(*spool, "payload of " + key, key);
  }
  done = true;
  spool->wake();
  uploader.join();
  EXPECT_EQ(delivered.size(), static_cast<std::size_t>(kEntries));
  EXPECT_EQ(spool->ready_count(), 0u);
  EXPECT_EQ(spool->ready_bytes(), 0u);
  EXPECT_TRUE(names_in(directory_ / "ready").empty());
}

// 1,000 random corruptions of one random entry among four. Whatever changed, start-up never crashes,
// never lists an entry whose header or size changed, never loses one of the untouched entries, and a
// payload-only change is caught by verify_payload.
TEST_F(SpoolTest, RandomCorruptionNeverCrashesNorLosesAValidEntry) {
  // ~40 directory operations a round: on a VM disk with `discard` that is 17 s, on tmpfs 1 s. This
  // test is about framing, not durability, so it runs in /dev/shm when there is one.
  std::string pattern = "/dev/shm/trailkit-spool-XXXXXX";
  if (::mkdtemp(pattern.data()) != nullptr) {
    fs::remove_all(sandbox_);
    sandbox_ = pattern;
    directory_ = sandbox_ / "spool";
  }
  FastRandom random(20240501);
  const auto below = [&](std::uint64_t bound) { return bound == 0 ? 0 : random.next() % bound; };
  int quarantined_cases = 0, payload_cases = 0, harmless_cases = 0;
  for (int round = 0; round < 1000; ++round) {
    fs::remove_all(directory_);
    std::vector<SpoolEntryInfo> originals;
    {
      auto spool = open(nullptr, false);
      for (int i = 0; i < 4; ++i) {
        const std::string payload = random_bytes(random, below(4) == 0 ? 0 : below(3000));
        commit(*spool, payload, "key/" + std::to_string(round) + "/" + std::to_string(i),
               {{"m", std::to_string(i)}});
      }
      originals = spool->ready_entries(10);
    }
    ASSERT_EQ(originals.size(), 4u);
    const SpoolEntryInfo& victim = originals[below(4)];
    const fs::path victim_path = entry_path(victim.id);
    const std::string before = read_file(victim_path);
    std::string after = before;
    const std::size_t header_end = 4 + (static_cast<unsigned char>(before[16]) |
                                        static_cast<std::size_t>(static_cast<unsigned char>(before[17])) << 8);
    bool renamed = false;
    switch (below(6)) {
      case 0:  // one bit, mostly in the header
      case 1: {
        const std::size_t at = below(2) == 0 ? below(header_end) : below(after.size());
        after[at] = static_cast<char>(after[at] ^ (1 << below(8)));
        break;
      }
      case 2:  // several bits anywhere
        for (std::uint64_t n = 1 + below(8); n > 0; --n) {
          const std::size_t at = below(after.size());
          after[at] = static_cast<char>(after[at] ^ (1 << below(8)));
        }
        break;
      case 3:
        after.resize(below(after.size()));
        break;
      case 4: {
        const std::size_t from = below(after.size());
        const std::size_t length = 1 + below(after.size() - from);
        std::fill(after.begin() + static_cast<std::ptrdiff_t>(from),
                  after.begin() + static_cast<std::ptrdiff_t>(from + length), '\0');
        break;
      }
      default:
        if (below(2) == 0) {
          after += random_bytes(random, 1 + below(100));
        } else {
          renamed = true;
        }
    }
    write_file(victim_path, after);
    if (renamed) fs::rename(victim_path, directory_ / "ready" / ("x" + std::to_string(victim.id) + ".entry"));

    bool header_changed = after.size() < header_end, payload_changed = false;
    for (std::size_t i = 0; i < std::min(after.size(), before.size()); ++i) {
      if (after[i] == before[i]) continue;
      if (i < header_end) header_changed = true;
      if (i >= kSpoolHeaderRegion) payload_changed = true;
    }
    const bool must_quarantine = renamed || header_changed || after.size() != before.size();

    std::vector<std::string> problems;
    auto spool = open(&problems, false);
    const auto listed = spool->ready_entries(10);
    for (const auto& original : originals) {
      const bool is_victim = original.id == victim.id;
      const auto found = std::find_if(listed.begin(), listed.end(), [&](const auto& e) { return e.id == original.id; });
      if (is_victim && must_quarantine) {
        EXPECT_EQ(found, listed.end()) << "round " << round;
        continue;
      }
      ASSERT_NE(found, listed.end()) << "round " << round << ": a valid entry was lost";
      EXPECT_EQ(found->key, original.key);
      EXPECT_EQ(found->metadata, original.metadata);
      EXPECT_EQ(found->payload_sha256_hex, original.payload_sha256_hex);
      const Status verified = spool->verify_payload(original.id);
      if (is_victim && payload_changed) {
        EXPECT_EQ(verified.kind(), ErrorKind::kPermanent) << "round " << round;
      } else {
        EXPECT_TRUE(verified) << "round " << round << ": " << verified.message();
      }
    }
    EXPECT_EQ(spool->quarantined_total(), must_quarantine ? 1u : 0u) << "round " << round;
    EXPECT_EQ(problems.size(), must_quarantine ? 1u : 0u) << "round " << round;
    EXPECT_EQ(names_in(directory_ / "quarantine").size(), must_quarantine ? 2u : 0u) << "round " << round;
    if (must_quarantine) {
      ++quarantined_cases;
    } else if (payload_changed) {
      ++payload_cases;
    } else {
      ++harmless_cases;
    }
    if (::testing::Test::HasFailure()) break;
  }
  // The generator must have reached every branch, or the test proves less than it says.
  EXPECT_GT(quarantined_cases, 300);
  EXPECT_GT(payload_cases, 50);
  EXPECT_GT(harmless_cases, 10);
}

}  // namespace
}  // namespace trailkit::detail
