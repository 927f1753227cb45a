// Crash and large-object delivery into the real moto_server (SigV4 checks on), verified with boto3.
//
// S3DeliveryCrashTest: the `trailkit demo` CLI emits and delivers into moto and is killed with
// SIGKILL at 20 random moments, then twice just after a file was committed to the spool and twice
// just after the spool dropped a delivered entry, all sharing one --state-dir. While the child runs
// and after each kill the spool's ready/ directory is read (read-only, from the entry headers):
// every entry there is a file whose commit had returned, i.e. one the recorder counted as written.
// A last run with the same state dir drains the spool.
// Then every object in the bucket must decompress to a whole CloudTrail document, the bucket must
// hold exactly one object per committed file (inotify counts the commits), every key seen in ready/
// must be in it, and no eventID may appear in two objects.
//
// S3MultipartTest: a 13 MiB object through S3Destination with 5 MiB parts lands byte-identical and
// as a 3-part multipart object.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "adapters/s3/support/moto_server.hpp"
#include "common/fast_random.hpp"
#include "deliver/spool.hpp"
#include "s3/s3_destination.hpp"
#include "s3/sigv4.hpp"
#include "support/files.hpp"

extern char** environ;

namespace trailkit::s3 {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using trailkit::testing::read_file;
using trailkit::testing::TempDir;

const std::string kHelper = std::string(TRAILKIT_SOURCE_DIR) + "/tests/adapters/s3/support/moto_helper.py";

// The moto server with an IAM user whose key is checked on every request (recipe B).
struct SignedMoto {
  testing::MotoServer moto;
  Credentials credentials;
  explicit SignedMoto(const std::string& bucket) {
    const json key = json::parse(testing::run_command("python3 " + kHelper + " setup " + moto.endpoint() + " " + bucket));
    credentials.access_key_id = key["AccessKeyId"];
    credentials.secret_access_key = key["SecretAccessKey"];
  }
  // Every object downloaded and decompressed by boto3; the helper fails on any partial or corrupt one.
  json list(const std::string& bucket) const {
    return json::parse(testing::run_command("python3 " + kHelper + " list " + moto.endpoint() + " " +
                                            credentials.access_key_id + " " + credentials.secret_access_key + " " +
                                            bucket));
  }
};

// The trailkit CLI beside this test binary: TRAILKIT_CLI_PATH when the build defines it, else
// <build>/trailkit next to <build>/tests/trailkit_adapter_tests.
std::string trailkit_cli_path() {
#ifdef TRAILKIT_CLI_PATH
  if (std::string defined = TRAILKIT_CLI_PATH; !defined.empty()) return defined;
#endif
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (error) return {};
  for (const fs::path& candidate : {self.parent_path().parent_path() / "trailkit", self.parent_path() / "trailkit"}) {
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

// One `trailkit demo` child. Credentials go through the environment (never argv); the test's own
// AWS_* variables and ~/.aws files are kept out so only the IAM key is used.
class DemoProcess {
 public:
  DemoProcess(const std::string& cli, const std::vector<std::string>& args, const Credentials& credentials,
              const fs::path& scratch, const fs::path& log) {
    std::vector<std::string> argv_text{cli, "demo"};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<std::string> env_text;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "AWS_", 4) != 0) env_text.emplace_back(*e);
    }
    env_text.push_back("AWS_ACCESS_KEY_ID=" + credentials.access_key_id);
    env_text.push_back("AWS_SECRET_ACCESS_KEY=" + credentials.secret_access_key);
    env_text.push_back("AWS_CONFIG_FILE=" + (scratch / "no-aws-config").string());
    env_text.push_back("AWS_SHARED_CREDENTIALS_FILE=" + (scratch / "no-aws-credentials").string());
    std::vector<char*> argv, envp;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int error = ::posix_spawn(&pid_, cli.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) throw std::runtime_error("posix_spawn " + cli + ": " + std::strerror(error));
  }
  ~DemoProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  DemoProcess(const DemoProcess&) = delete;
  DemoProcess& operator=(const DemoProcess&) = delete;

  bool running() {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return true;
    pid_ = -1;
    exit_status_ = status;
    return false;
  }
  // SIGKILL now; true if it was still running (it died from our signal).
  bool kill_now() {
    if (!running()) return false;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }
  // Exit code after a normal exit; -1 on a timeout (the child is then killed) or a signal.
  int wait_exit(std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill_now();
        return -1;
      }
      std::this_thread::sleep_for(20ms);
    }
    return WIFEXITED(exit_status_) ? WEXITSTATUS(exit_status_) : -1;
  }

 private:
  pid_t pid_ = -1;
  int exit_status_ = 0;
};

// The object key of a committed spool entry, read from its header (spool.hpp, entry format v1):
// magic at 0, header length H at 16, key length at 96, key at 100, CRC-32 at H. Empty when the
// file is not a whole committed entry, which ready/ must never hold.
std::string committed_entry_key(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string header(trailkit::detail::kSpoolHeaderRegion, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(header.size()))) return {};
  if (header.compare(0, 8, "TKSPOOL1") != 0) return {};
  const auto u32 = [&](std::size_t at) {
    std::uint32_t v = 0;
    std::memcpy(&v, header.data() + at, 4);
    return v;
  };
  const std::uint32_t header_length = u32(16), key_length = u32(96);
  if (header_length + 4 > header.size() || 100 + key_length > header_length) return {};
  std::uint64_t payload = 0;
  std::memcpy(&payload, header.data() + 40, 8);
  std::error_code error;
  if (fs::file_size(path, error) != trailkit::detail::kSpoolHeaderRegion + payload) return {};
  return header.substr(100, key_length);
}

TEST(S3DeliveryCrashTest, EverythingSealedBeforeASigkillIsDeliveredWholeAndOnce) {
  const std::string cli = trailkit_cli_path();
  if (cli.empty()) GTEST_SKIP() << "the trailkit CLI is not built beside this test binary";
  const std::string bucket = "crash-logs";
  SignedMoto moto(bucket);
  TempDir scratch("trailkit-s3crash");
  const fs::path state = scratch.path() / "state";
  const fs::path log = scratch.path() / "demo.log";
  const std::vector<std::string> common{"--destination", "s3://" + bucket + "/crash", "--endpoint-url",
                                        moto.moto.endpoint(), "--state-dir", state.string(), "--region",
                                        "us-east-1", "--no-digests"};
  const auto args = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), common.begin(), common.end());
    return extra;
  };

  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> kill_after_ms(300, 3000);

  // Every entry that ever appears in ready/ is a committed file: commit renames it there after the
  // fsync, and Spool::open promotes complete tmp/ leftovers the same way. inotify sees every such
  // rename, even of an entry removed again a millisecond later, so the test knows how many files were
  // committed over all runs. Entry ids (the names) are unique across restarts and every file has its
  // own key (a random part), so a correct spool delivers exactly that many objects. Keys are read from
  // the headers whenever the entry is still there.
  const fs::path ready = state / "spool" / "ready";
  fs::create_directories(ready);  // the spool adopts an existing directory; inotify needs it now
  const int watch = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ASSERT_GE(watch, 0);
  ASSERT_GE(::inotify_add_watch(watch, ready.c_str(), IN_MOVED_TO | IN_CREATE | IN_DELETE), 0);
  std::set<std::string> committed;            // entry names seen in ready/
  std::map<std::string, std::string> sealed;  // entry name -> object key, when read in time
  // Returns how many entries were newly committed, and how many removed, since the last call.
  const auto watch_ready = [&] {
    std::size_t fresh = 0, removed = 0;
    alignas(inotify_event) char buffer[64 * 1024];
    for (ssize_t n; (n = ::read(watch, buffer, sizeof buffer)) > 0;) {
      for (char* at = buffer; at < buffer + n;) {
        const auto* event = reinterpret_cast<const inotify_event*>(static_cast<void*>(at));
        EXPECT_FALSE(event->mask & IN_Q_OVERFLOW) << "inotify queue overflow: commits were missed";
        if (event->len > 0 && (event->mask & IN_DELETE)) ++removed;
        if (event->len > 0 && !(event->mask & IN_DELETE) && committed.insert(event->name).second) ++fresh;
        at += sizeof(inotify_event) + event->len;
      }
    }
    std::error_code ignored;
    for (const auto& file : fs::directory_iterator(ready, ignored)) {
      const std::string name = file.path().filename().string();
      if (sealed.count(name)) continue;
      const std::string key = committed_entry_key(file.path());
      if (!key.empty()) {
        sealed.emplace(name, key);
      } else if (fs::exists(file.path())) {  // else it was delivered and removed meanwhile
        ADD_FAILURE() << file.path() << " in ready/ is not a whole committed entry";
      }
    }
    return std::pair{fresh, removed};
  };
  int kills_with_backlog = 0, kills_mid_write = 0;
  // 20 kills at random moments, then 4 aimed at the riskiest ones: 2 right after a commit (the file
  // is only in the spool), 2 right after the spool dropped an entry (which it may only do once the
  // bucket confirmed it).
  constexpr int kRandomKills = 20, kKills = kRandomKills + 4;
  for (int round = 0; round < kKills; ++round) {
    {
      // Fast enough that files take a while to compress, spool and upload; 1 s rolls seal often.
      DemoProcess demo(cli, args({"--duration", "60", "--rate", "20000", "--threads", "2", "--roll-interval", "1"}),
                       moto.credentials, scratch.path(), log);
      const auto kill_at =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(round < kRandomKills ? kill_after_ms(random) : 5000);
      for (auto now = std::chrono::steady_clock::now(); now < kill_at; now = std::chrono::steady_clock::now()) {
        pollfd ready_event{watch, POLLIN, 0};
        ::poll(&ready_event, 1,
               static_cast<int>(std::min<std::int64_t>(
                   20, std::chrono::duration_cast<std::chrono::milliseconds>(kill_at - now).count() + 1)));
        const auto [fresh, removed] = watch_ready();
        if (round >= kRandomKills && (round % 2 == 0 ? fresh : removed) > 0) break;  // kill now
      }
      ASSERT_TRUE(demo.kill_now()) << "the demo exited before the kill in round " << round << ":\n" << read_file(log);
    }
    watch_ready();
    kills_with_backlog += !fs::is_empty(ready);
    for (const auto& file : fs::directory_iterator(state / "spool" / "tmp")) {
      if (file.file_size() > trailkit::detail::kSpoolHeaderRegion) {
        ++kills_mid_write;
        break;
      }
    }
  }

  // Drain: the same state dir, one event, and the demo waits until the bucket confirmed everything.
  {
    DemoProcess drain(cli, args({"--duration", "0.2", "--rate", "1", "--threads", "1", "--delivery-timeout", "30"}),
                      moto.credentials, scratch.path(), log);
    ASSERT_EQ(drain.wait_exit(60s), 0) << read_file(log);
  }
  EXPECT_TRUE(fs::is_empty(ready));
  watch_ready();  // the drain run's own file
  ::close(watch);
  // A crash may only quarantine uncommitted leftovers of tmp/, never a committed entry.
  for (const auto& file : fs::directory_iterator(state / "spool" / "quarantine")) {
    EXPECT_TRUE(file.path().filename().string().starts_with("uncommitted-")) << file.path();
  }

  const json objects = moto.list(bucket);  // throws if any object is partial, corrupt or not JSON
  std::set<std::string> keys;
  std::map<std::string, std::string> object_of_event;
  std::size_t records = 0;
  for (const auto& object : objects) {
    const std::string key = object["key"];
    keys.insert(key);
    EXPECT_TRUE(key.starts_with("crash/AWSLogs/111122223333/CloudTrail/us-east-1/")) << key;
    EXPECT_GT(object["records"].get<std::size_t>(), 0u) << key;
    for (const auto& id : object["event_ids"]) {
      ++records;
      const auto [it, inserted] = object_of_event.emplace(id.get<std::string>(), key);
      EXPECT_TRUE(inserted) << "eventID " << id << " is in both " << it->second << " and " << key;
    }
  }
  for (const auto& [name, key] : sealed) {
    EXPECT_TRUE(keys.count(key)) << "entry " << name << " was committed but never delivered: " << key;
  }
  EXPECT_EQ(keys.size(), committed.size()) << "objects in the bucket vs files committed to the spool";
  // Without any sealed file waiting at a kill the test would prove nothing about re-delivery.
  EXPECT_GT(kills_with_backlog, 0);
  std::printf("[ crash    ] seed %u: %d kills, %d with committed entries waiting, %d mid-write; %zu entries "
              "committed (%zu keys read); %zu objects, %zu records in the bucket\n",
              seed, kKills, kills_with_backlog, kills_mid_write, committed.size(), sealed.size(), keys.size(), records);
}

TEST(S3MultipartTest, ObjectAboveTheThresholdIsUploadedInPartsByteIdentical) {
  const std::string bucket = "multipart-logs";
  SignedMoto moto(bucket);
  TempDir scratch("trailkit-s3crash");
  S3DestinationOptions options;
  options.bucket = bucket;
  options.state_dir = (scratch.path() / "state").string();
  options.settings.endpoint_url = moto.moto.endpoint();
  options.settings.credentials = moto.credentials;
  options.settings.region = "us-east-1";
  options.multipart_threshold = 5u << 20;
  options.part_size = 5u << 20;
  options.error_handler = [](const ErrorReport&) {};
  auto destination = S3Destination::create(options);

  // 13 MiB of incompressible bytes: parts of 5 + 5 + 3 MiB, written in uneven pieces.
  std::string bytes(13u << 20, '\0');
  trailkit::detail::FastRandom random(42);
  for (std::size_t i = 0; i + 8 <= bytes.size(); i += 8) {
    const std::uint64_t word = random.next();
    std::memcpy(bytes.data() + i, &word, 8);
  }
  const std::string key = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/big file.json.gz";
  Status status;
  auto writer = destination->begin_object(status);
  ASSERT_TRUE(writer) << status.message();
  for (std::size_t at = 0, piece = 1000003; at < bytes.size(); at += piece) {
    ASSERT_TRUE(writer->write(std::string_view(bytes).substr(at, piece)));
  }
  ASSERT_TRUE(writer->commit(key));
  ASSERT_TRUE(destination->wait_until_delivered(60s)) << destination->status().latest_delivery_error;
  EXPECT_EQ(destination->status().delivered_bytes, bytes.size());
  destination->shutdown(10s);

  const std::string script =
      "import boto3, hashlib, json, sys\n"
      "s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id=sys.argv[2], "
      "aws_secret_access_key=sys.argv[3])\n"
      "o = s3.get_object(Bucket=sys.argv[4], Key=sys.argv[5])\n"
      "body = o['Body'].read()\n"
      "h = s3.head_object(Bucket=sys.argv[4], Key=sys.argv[5], PartNumber=1)\n"
      "print(json.dumps({'sha256': hashlib.sha256(body).hexdigest(), 'size': len(body), 'etag': o['ETag'], "
      "'parts': h.get('PartsCount', 0), 'content_type': o.get('ContentType', '')}))\n";
  const fs::path script_path = scratch.path() / "get_object.py";
  trailkit::testing::write_file(script_path, script);
  const json got = json::parse(testing::run_command("python3 " + script_path.string() + " " + moto.moto.endpoint() +
                                                    " " + moto.credentials.access_key_id + " " +
                                                    moto.credentials.secret_access_key + " " + bucket + " '" + key +
                                                    "'"));
  EXPECT_EQ(got["size"], bytes.size());
  EXPECT_EQ(got["sha256"], sha256_hex(bytes));
  EXPECT_TRUE(got["etag"].get<std::string>().ends_with("-3\"")) << got["etag"];
  EXPECT_EQ(got["parts"], 3);
  EXPECT_EQ(got["content_type"], "application/json");
}

}  // namespace
}  // namespace trailkit::s3
