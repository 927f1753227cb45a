#include "deliver/local_directory.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "trailkit/local_directory_destination.hpp"

#include "support/files.hpp"

namespace trailkit::detail {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

constexpr std::string_view kKey =
    "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/"
    "111122223333_CloudTrail_us-east-1_20240501T1447Z_Ab12Cd34Ef56Gh78.json.gz";

using trailkit::testing::read_file;

std::vector<std::string> entries(const fs::path& directory) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A sandbox holding `root` (the destination) and `outside` (where nothing may ever land).
class LocalDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "trailkit-local-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    sandbox_ = pattern;
    root_ = sandbox_ / "root";
    outside_ = sandbox_ / "outside";
    fs::create_directory(outside_);
  }
  void TearDown() override { fs::remove_all(sandbox_); }

  LocalDirectoryOptions options(bool fsync = true) const {
    LocalDirectoryOptions result;
    result.root = root_.string();
    result.fsync = fsync;
    return result;
  }
  std::unique_ptr<ObjectWriter> begin(Destination& destination) {
    Status status;
    auto writer = destination.begin_object(status);
    EXPECT_TRUE(status.is_ok()) << status.message();
    EXPECT_NE(writer, nullptr);
    return writer;
  }
  std::vector<std::string> temp_files() const { return entries(root_ / kLocalTempDirectory); }

  fs::path sandbox_, root_, outside_;
};

TEST_F(LocalDirectoryTest, CommitPublishesExactBytesOnlyAtCommit) {
  LocalDirectoryDestination destination(options());
  auto writer = begin(destination);
  ASSERT_TRUE(writer->write("hello "));
  ASSERT_TRUE(writer->write("world"));
  ASSERT_TRUE(writer->write(""));
  EXPECT_FALSE(fs::exists(root_ / kKey)) << "visible before commit";
  EXPECT_EQ(temp_files().size(), 1u);

  const Status committed = writer->commit(kKey);
  ASSERT_TRUE(committed) << committed.message();
  EXPECT_EQ(read_file(root_ / kKey), "hello world");
  EXPECT_TRUE(temp_files().empty());
  EXPECT_EQ(entries(root_), (std::vector<std::string>{".trailkit-tmp", "AWSLogs"}));

  const mode_t mask = ::umask(0);
  ::umask(mask);
  struct stat info {};
  ASSERT_EQ(::stat((root_ / kKey).c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0644 & ~mask);
}

TEST_F(LocalDirectoryTest, KeyWithoutDirectoryLandsInTheRoot) {
  LocalDirectoryDestination destination(options());
  auto writer = begin(destination);
  ASSERT_TRUE(writer->write("x"));
  ASSERT_TRUE(writer->commit("single.json.gz"));
  EXPECT_EQ(read_file(root_ / "single.json.gz"), "x");
}

TEST_F(LocalDirectoryTest, FactoryCreatesNestedRootAndDescribesIt) {
  LocalDirectoryOptions nested = options();
  nested.root = (root_ / "a" / "b").string();
  auto destination = make_local_directory_destination(nested);
  EXPECT_TRUE(fs::is_directory(root_ / "a" / "b" / ".trailkit-tmp"));
  EXPECT_EQ(destination->describe(), "file://" + fs::canonical(root_ / "a" / "b").string());
}

TEST_F(LocalDirectoryTest, AbortAndDestructorLeaveNothingBehind) {
  LocalDirectoryDestination destination(options());
  {
    auto writer = begin(destination);
    ASSERT_TRUE(writer->write("partial"));
    writer->abort();
    writer->abort();  // idempotent
    EXPECT_EQ(writer->write("more").kind(), ErrorKind::kInvalidArgument);
    EXPECT_EQ(writer->commit(kKey).kind(), ErrorKind::kInvalidArgument);
  }
  {
    auto writer = begin(destination);
    ASSERT_TRUE(writer->write("partial"));
  }  // destroyed uncommitted
  EXPECT_TRUE(temp_files().empty());
  EXPECT_EQ(entries(root_), (std::vector<std::string>{".trailkit-tmp"}));
}

TEST_F(LocalDirectoryTest, CommitIsFinal) {
  LocalDirectoryDestination destination(options());
  auto writer = begin(destination);
  ASSERT_TRUE(writer->write("once"));
  ASSERT_TRUE(writer->commit(kKey));
  EXPECT_EQ(writer->commit(kKey).kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(writer->write("again").kind(), ErrorKind::kInvalidArgument);
  writer->abort();  // must not delete the committed object
  EXPECT_EQ(read_file(root_ / kKey), "once");
}

TEST_F(LocalDirectoryTest, HostileKeysAreRefusedAndNothingLeavesTheRoot) {
  LocalDirectoryDestination destination(options());
  auto writer = begin(destination);
  ASSERT_TRUE(writer->write("payload"));
  for (const std::string& key :
       {""s, "/abs/x.json.gz"s, outside_.string() + "/x", "../outside/x"s, "../../etc/passwd"s, "a/../../outside/x"s, "AWSLogs/../../outside/x"s, "./x"s, "a/./x"s,
        "a//x"s, "a/"s, "a\\..\\x"s, "a\0b"s, "a\nb"s, "a\x1b[2Jb"s, ".trailkit-tmp/x"s, ".."s}) {
    const Status refused = writer->commit(key);
    EXPECT_EQ(refused.kind(), ErrorKind::kInvalidArgument) << key;
    EXPECT_TRUE(refused.message().starts_with("object key \"")) << refused.message();
  }
  EXPECT_TRUE(entries(outside_).empty());
  EXPECT_EQ(entries(sandbox_), (std::vector<std::string>{"outside", "root"}));
  EXPECT_EQ(entries(root_), (std::vector<std::string>{".trailkit-tmp"}));
  // A refused key does not spoil the writer.
  ASSERT_TRUE(writer->commit(kKey));
  EXPECT_EQ(read_file(root_ / kKey), "payload");
}

TEST_F(LocalDirectoryTest, SymlinkPlantedUnderTheRootIsNotFollowed) {
  LocalDirectoryDestination destination(options());
  fs::create_directory_symlink(outside_, root_ / "AWSLogs");
  auto writer = begin(destination);
  ASSERT_TRUE(writer->write("secret"));
  const Status refused = writer->commit(kKey);
  EXPECT_EQ(refused.kind(), ErrorKind::kPermanent);
  EXPECT_NE(refused.message().find("symlink"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find((root_ / "AWSLogs").string()), std::string::npos) << refused.message();
  EXPECT_TRUE(entries(outside_).empty());
}

TEST_F(LocalDirectoryTest, SymlinkDeeperInTheKeyIsNotFollowedEither) {
  LocalDirectoryDestination destination(options());
  fs::create_directories(root_ / "AWSLogs");
  fs::create_directory_symlink(outside_, root_ / "AWSLogs" / "111122223333");
  auto writer = begin(destination);
  ASSERT_TRUE(writer->write("secret"));
  EXPECT_EQ(writer->commit(kKey).kind(), ErrorKind::kPermanent);
  EXPECT_TRUE(entries(outside_).empty());
}

TEST_F(LocalDirectoryTest, SymlinkAtTheFinalNameIsNeitherFollowedNorReplaced) {
  LocalDirectoryDestination destination(options());
  fs::create_directories(root_ / "logs");
  fs::create_symlink(outside_ / "target", root_ / "logs" / "x.json.gz");
  auto writer = begin(destination);
  ASSERT_TRUE(writer->write("secret"));
  EXPECT_EQ(writer->commit("logs/x.json.gz").kind(), ErrorKind::kPermanent);
  EXPECT_TRUE(entries(outside_).empty());
  EXPECT_TRUE(fs::is_symlink(root_ / "logs" / "x.json.gz"));
}

TEST_F(LocalDirectoryTest, ExistingObjectIsNeverOverwritten) {
  LocalDirectoryDestination destination(options());
  auto first = begin(destination);
  ASSERT_TRUE(first->write("first"));
  ASSERT_TRUE(first->commit(kKey));

  auto second = begin(destination);
  ASSERT_TRUE(second->write("second"));
  const Status refused = second->commit(kKey);
  EXPECT_EQ(refused.kind(), ErrorKind::kPermanent);
  EXPECT_NE(refused.message().find(std::string(kKey)), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("already exists"), std::string::npos) << refused.message();
  second->abort();
  EXPECT_EQ(read_file(root_ / kKey), "first");
  EXPECT_TRUE(temp_files().empty());
}

TEST_F(LocalDirectoryTest, WorksWithFsyncOff) {
  LocalDirectoryDestination destination(options(/*fsync=*/false));
  auto writer = begin(destination);
  ASSERT_TRUE(writer->write("fast"));
  ASSERT_TRUE(writer->commit(kKey));
  EXPECT_EQ(read_file(root_ / kKey), "fast");
}

TEST_F(LocalDirectoryTest, WriterOutlivesItsDestination) {
  auto destination = std::make_unique<LocalDirectoryDestination>(options());
  auto writer = begin(*destination);
  destination.reset();
  ASSERT_TRUE(writer->write("late"));
  ASSERT_TRUE(writer->commit(kKey));
  EXPECT_EQ(read_file(root_ / kKey), "late");
}

TEST_F(LocalDirectoryTest, StaleTempFilesAreCountedNotDeleted) {
  fs::create_directories(root_ / ".trailkit-tmp");
  std::ofstream(root_ / ".trailkit-tmp" / "AAAAAAAAAAAAAAAA.tmp") << "crashed";
  std::ofstream(root_ / ".trailkit-tmp" / "BBBBBBBBBBBBBBBB.tmp") << "crashed";
  std::ofstream(root_ / ".trailkit-tmp" / "notes.txt") << "not ours";
  LocalDirectoryDestination destination(options());
  EXPECT_EQ(destination.stale_temp_files(), 2u);
  EXPECT_EQ(temp_files().size(), 3u);
  EXPECT_EQ(LocalDirectoryDestination(options()).stale_temp_files(), 2u);
}

TEST_F(LocalDirectoryTest, FreshRootHasNoStaleTempFiles) {
  EXPECT_EQ(LocalDirectoryDestination(options()).stale_temp_files(), 0u);
}

TEST_F(LocalDirectoryTest, BadOptionsAndUnusableRootsThrowAtSetup) {
  LocalDirectoryOptions empty;
  empty.root = "";
  EXPECT_THROW(empty.validate(), std::invalid_argument);
  EXPECT_THROW(make_local_directory_destination(empty), std::invalid_argument);

  LocalDirectoryOptions nul;
  nul.root = "trail\0data"s;
  try {
    nul.validate();
    ADD_FAILURE() << "NUL accepted";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("LocalDirectoryOptions.root"), std::string::npos) << error.what();
  }

  std::ofstream(sandbox_ / "plain-file") << "x";
  LocalDirectoryOptions under_file = options();
  under_file.root = (sandbox_ / "plain-file" / "root").string();
  try {
    make_local_directory_destination(under_file);
    ADD_FAILURE() << "root under a regular file accepted";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find(under_file.root), std::string::npos) << error.what();
  }

  // The temp directory itself must be a real directory, not a link out of the root.
  fs::create_directories(root_);
  fs::create_directory_symlink(outside_, root_ / ".trailkit-tmp");
  EXPECT_THROW(make_local_directory_destination(options()), std::runtime_error);
}

TEST(WriteAllAt, WritesAtTheOffsetAndReportsFailure) {
  char path[] = "/tmp/trailkit-write-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(write_all_at(fd, 0, "abcdef"), 0);
  EXPECT_EQ(write_all_at(fd, 3, "XY"), 0);
  EXPECT_EQ(read_file(path), "abcXYf");
  ::close(fd);

  const int read_only = ::open(path, O_RDONLY | O_CLOEXEC);
  ASSERT_GE(read_only, 0);
  EXPECT_EQ(write_all_at(read_only, 6, "more"), EBADF);
  ::close(read_only);
  EXPECT_EQ(read_file(path), "abcXYf");
  ::unlink(path);
}

// Forces a real short write followed by EFBIG: RLIMIT_FSIZE stops the file at 1500 bytes in the middle
// of a 1000-byte write that starts at 1000 (SIGXFSZ ignored, so write() fails instead of killing us).
// Runs in a child so the limit cannot leak into other tests. Exit codes name the failed check.
int failed_write_then_retry(const LocalDirectoryOptions& options, const std::string& key) {
  ::signal(SIGXFSZ, SIG_IGN);
  rlimit original{};
  if (::getrlimit(RLIMIT_FSIZE, &original) != 0) return 10;
  LocalDirectoryDestination destination(options);
  Status status;
  auto writer = destination.begin_object(status);
  if (!writer) return 11;
  const std::string first(1000, 'a'), second(1000, 'b');
  if (!writer->write(first)) return 12;

  rlimit limited = original;
  limited.rlim_cur = 1500;
  if (::setrlimit(RLIMIT_FSIZE, &limited) != 0) return 13;
  const Status failed = writer->write(second);
  if (failed.is_ok()) return 14;
  if (failed.kind() != ErrorKind::kTransient) return 15;
  if (failed.message().find(".tmp") == std::string::npos) return 16;
  if (failed.message().find("File too large") == std::string::npos) return 17;
  const fs::path temp_dir = fs::path(options.root) / kLocalTempDirectory;
  for (const auto& entry : fs::directory_iterator(temp_dir)) {
    if (entry.file_size() != 1000) return 18;  // the 500 bytes that got through were rolled back
  }
  if (::setrlimit(RLIMIT_FSIZE, &original) != 0) return 19;
  if (!writer->write(second)) return 20;
  if (!writer->commit(key)) return 21;
  return 0;
}

TEST_F(LocalDirectoryTest, FailedWriteIsRolledBackSoARetryDoesNotDuplicate) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(failed_write_then_retry(options(), std::string(kKey)));
  int wait_status = 0;
  ASSERT_EQ(::waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFEXITED(wait_status));
  ASSERT_EQ(WEXITSTATUS(wait_status), 0) << "see the exit codes in failed_write_then_retry";
  EXPECT_EQ(read_file(root_ / kKey), std::string(1000, 'a') + std::string(1000, 'b'));
}

}  // namespace
}  // namespace trailkit::detail
