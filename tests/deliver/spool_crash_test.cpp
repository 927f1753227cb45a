// SIGKILL at random moments: a child process commits entries (worker thread) and removes them
// (uploader thread) in a loop and reports each step through a pipe; the parent kills it, reopens the
// spool, and checks that nothing the child was told is durable went missing, nothing removed came
// back, and nothing partial is listed. A process kill keeps the page cache, so this proves the
// commit/rename/recovery protocol, not the fsyncs (those need a power cut: F1's failpoint runs).

#include <fcntl.h>
#include <poll.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/fast_random.hpp"
#include "deliver/spool.hpp"

namespace trailkit::detail {
namespace {

namespace fs = std::filesystem;

constexpr int kKills = 20;

// One pipe record, written with a single write() (< PIPE_BUF, so never torn or interleaved).
struct Report {
  char kind;  // 'O' opened, 'C' committed (commit returned ok), 'P' about to remove, 'R' removed (returned ok)
  std::uint64_t id;
  char sha256_hex[64];
};

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[32];
  EVP_Digest(bytes.data(), bytes.size(), digest, nullptr, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char byte : digest) {
    out += kHex[byte >> 4];
    out += kHex[byte & 0xF];
  }
  return out;
}

void send(int fd, char kind, std::uint64_t id, const std::string& sha = std::string(64, '-')) {
  Report report{};
  report.kind = kind;
  report.id = id;
  std::memcpy(report.sha256_hex, sha.data(), sizeof report.sha256_hex);
  if (::write(fd, &report, sizeof report) != static_cast<ssize_t>(sizeof report)) ::_exit(5);
}

// Runs until killed. Exit codes (only on failure): 2 open threw, 3 begin/write failed, 4 commit
// failed, 6 a listed entry did not verify, 7 remove failed.
[[noreturn]] void run_child(const std::string& directory, int report_fd, std::uint64_t seed) {
  std::unique_ptr<Spool> spool;
  try {
    SpoolOptions options;
    options.directory = directory;
    spool = Spool::open(options);
  } catch (...) {
    ::_exit(2);
  }
  send(report_fd, 'O', 0);  // start-up (recovery included) is done: the parent's kill timer starts now
  std::thread uploader([&] {
    FastRandom random(seed ^ 0x5555);
    while (true) {
      spool->wait_for_ready(std::chrono::milliseconds(5));
      for (const auto& entry : spool->ready_entries(1 + random.next() % 3)) {
        if (!spool->verify_payload(entry.id)) ::_exit(6);
        if (random.next() % 2 == 0) continue;  // leave some for the parent to find
        send(report_fd, 'P', entry.id);
        if (!spool->remove(entry.id)) ::_exit(7);
        send(report_fd, 'R', entry.id);
      }
    }
  });
  FastRandom random(seed);
  std::string payload;
  for (std::uint64_t n = 0;; ++n) {
    Status status;
    auto writer = spool->begin(status);
    if (!writer) ::_exit(3);
    payload.clear();
    for (std::uint64_t chunks = 1 + random.next() % 4; chunks > 0; --chunks) {
      std::string chunk(random.next() % (64 * 1024), '\0');
      for (char& c : chunk) c = static_cast<char>(random.next());
      if (!writer->write(chunk)) ::_exit(3);
      payload += chunk;
    }
    if (!writer->commit("key/" + std::to_string(seed) + "/" + std::to_string(n), {{"n", std::to_string(n)}})) {
      ::_exit(4);
    }
    send(report_fd, 'C', writer->id(), sha256_hex(payload));
  }
}

TEST(SpoolCrashTest, SigkillNeverLosesACommittedEntryNorListsAPartialOne) {
  std::string pattern = (fs::temp_directory_path() / "trailkit-spool-crash-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const fs::path sandbox = pattern;
  const std::string directory = (sandbox / "spool").string();

  FastRandom random(0xC0FFEE);
  std::map<std::uint64_t, std::string> committed;  // id -> payload SHA-256, reported by a child
  std::set<std::uint64_t> remove_started, removed;
  std::uint64_t highest_id_before = 0;
  std::size_t recovered_temp_files = 0;
  for (int kill = 0; kill < kKills; ++kill) {
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(pipe_fds[0]);
      run_child(directory, pipe_fds[1], 1000 + static_cast<std::uint64_t>(kill));
    }
    ::close(pipe_fds[1]);
    // A failed ASSERT below returns early: the child must not outlive the test.
    struct KillOnEarlyReturn {
      pid_t pid;
      bool armed = true;
      ~KillOnEarlyReturn() {
        if (armed) {
          ::kill(pid, SIGKILL);
          ::waitpid(pid, nullptr, 0);
        }
      }
    } guard{child};
    Report report{};
    ASSERT_EQ(::read(pipe_fds[0], &report, sizeof report), static_cast<ssize_t>(sizeof report));
    ASSERT_EQ(report.kind, 'O');

    // When to kill. A fixed delay alone makes the test depend on the machine: under a loaded CI
    // run an fsync can take 100 ms, and 20 kills after 0-50 ms would see almost no commits. So each
    // round waits for a random point in the child's progress (start-up, the n-th commit, the first
    // removal), read from the pipe, and then a random extra delay.
    std::uint64_t previous_in_round = highest_id_before;
    const auto take = [&](const Report& r) {
      if (r.kind == 'C') {
        // Ids grow within a run and across restarts (the child commits from one thread).
        EXPECT_GT(r.id, previous_in_round) << "kill " << kill;
        previous_in_round = r.id;
        committed[r.id] = std::string(r.sha256_hex, sizeof r.sha256_hex);
      } else if (r.kind == 'P') {
        remove_started.insert(r.id);
      } else if (r.kind == 'R') {
        removed.insert(r.id);
      }
    };
    // 0: after start-up, 1-2: after the n-th commit, 3: after a removal; the first four rounds take each once.
    const int mode = kill < 4 ? kill : static_cast<int>(random.next() % 4);
    int commits_seen = 0;
    bool removal_seen = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while ((mode == 1 || mode == 2) ? commits_seen < mode : (mode == 3 && !removal_seen)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd readable{pipe_fds[0], POLLIN, 0};
      ASSERT_GT(::poll(&readable, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0))), 0)
          << "kill " << kill << ": the child made no progress for 60 s (mode " << mode << ")";
      ASSERT_EQ(::read(pipe_fds[0], &report, sizeof report), static_cast<ssize_t>(sizeof report))
          << "kill " << kill << ": the child stopped reporting (it exited by itself?)";
      take(report);
      if (report.kind == 'C') ++commits_seen;
      if (report.kind == 'R') removal_seen = true;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(random.next() % (mode == 0 ? 50'001 : 10'001)));
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int wait_status = 0;
    guard.armed = false;
    ASSERT_EQ(::waitpid(child, &wait_status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(wait_status)) << "the child stopped by itself with exit code "
                                          << (WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1);

    while (::read(pipe_fds[0], &report, sizeof report) == static_cast<ssize_t>(sizeof report)) take(report);
    ::close(pipe_fds[0]);

    std::vector<std::string> problems;
    auto spool = Spool::open(SpoolOptions{directory, true, nullptr}, &problems);
    for (const auto& problem : problems) {
      // The only acceptable problems are leftovers of the kill inside tmp/.
      EXPECT_NE(problem.find("/tmp/"), std::string::npos) << problem;
      ++recovered_temp_files;
    }
    const auto moved = std::count_if(problems.begin(), problems.end(),
                                     [](const std::string& p) { return p.find("moved to") != std::string::npos; });
    EXPECT_EQ(spool->quarantined_total(), static_cast<std::uint64_t>(moved));
    EXPECT_TRUE(fs::is_empty(fs::path(directory) / "tmp")) << "kill " << kill;

    const auto listed = spool->ready_entries(std::numeric_limits<std::size_t>::max());
    std::map<std::uint64_t, SpoolEntryInfo> by_id;
    for (const auto& entry : listed) {
      // Nothing partial is ever listed: every listed entry's payload matches its header.
      const Status verified = spool->verify_payload(entry.id);
      EXPECT_TRUE(verified) << "kill " << kill << ": " << verified.message();
      by_id.emplace(entry.id, entry);
      highest_id_before = std::max(highest_id_before, entry.id);
    }
    for (const auto& [id, sha] : committed) {
      highest_id_before = std::max(highest_id_before, id);
      if (remove_started.count(id) != 0) continue;  // may or may not have been deleted
      const auto found = by_id.find(id);
      ASSERT_NE(found, by_id.end()) << "kill " << kill << ": committed entry " << id << " was lost";
      EXPECT_EQ(found->second.payload_sha256_hex, sha) << "kill " << kill << ": entry " << id;
    }
    for (const std::uint64_t id : removed) {
      EXPECT_EQ(by_id.count(id), 0u) << "kill " << kill << ": removed entry " << id << " came back";
    }
  }
  // The kills must have landed while the child was working, or this proves nothing: rounds that wait
  // for commits and removals guarantee some of each whatever the machine's speed; almost every kill
  // lands while an entry is being written in tmp/ (a round killed right at start-up may not).
  EXPECT_GE(committed.size(), 5u);
  EXPECT_GT(removed.size(), 0u);
  EXPECT_GE(recovered_temp_files, static_cast<std::size_t>(kKills / 4));
  std::printf("[ info ] %zu entries committed, %zu removed, %zu tmp leftovers recovered over %d kills\n",
              committed.size(), removed.size(), recovered_temp_files, kKills);
  fs::remove_all(sandbox);
}

}  // namespace
}  // namespace trailkit::detail
