// `trailkit validate` against S3 (moto_server, SigV4 checks on) side by side with the stock
// `aws cloudtrail validate-logs`: the same DigestFixture uploaded with boto3 (x-amz-meta-signature
// metadata), the same arguments, and the stock tool's public keys from a ListPublicKeys stub
// (validate_helper.py stub). Both must print the same lines and exit with the same code, for a valid
// chain and for three kinds of tampering.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "adapters/s3/support/moto_server.hpp"
#include "cli/commands.hpp"
#include "support/digest_fixture.hpp"
#include "support/files.hpp"

namespace trailkit::cli {
void add_validate_command(CLI::App& app, int& exit_code);
}

namespace trailkit::testing {
namespace {

namespace fs = std::filesystem;

const std::string kHelper = std::string(TRAILKIT_SOURCE_DIR) + "/tests/adapters/api/support/validate_helper.py";

// The ListPublicKeys stub, stopped by PID.
class KeyStub {
 public:
  explicit KeyStub(const std::string& keys_file) : port_(free_loopback_port()) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string port = std::to_string(port_);
      ::execlp("python3", "python3", kHelper.c_str(), "stub", port.c_str(), keys_file.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200 && !port_open(port_); ++i) ::usleep(50'000);
    if (!port_open(port_)) throw std::runtime_error("ListPublicKeys stub did not start");
  }
  ~KeyStub() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  KeyStub(const KeyStub&) = delete;
  KeyStub& operator=(const KeyStub&) = delete;
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  pid_t pid_ = -1;
};

struct ToolRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class ValidateS3Test : public ::testing::Test {
 protected:
  void SetUp() override {
    DigestFixtureOptions options;
    options.digests = 3;
    options.logs_per_digest = 2;
    options.empty_digests = {1};
    fixture_ = std::make_unique<DigestFixture>(options);
    fixture_->write_bucket(bucket_dir());
    write_file(dir_.path() / "keys.json", fixture_->list_public_keys_json());
    stub_ = std::make_unique<KeyStub>((dir_.path() / "keys.json").string());
    // moto's SigV4 check stays off (see validate_helper.py setup): it rejects every ListObjects with
    // "/" in Prefix or Marker, the stock tool's included. Requests are still signed by both tools.
    run_command("python3 " + kHelper + " setup " + moto_.endpoint() + " ct-bucket");
    helper("upload " + bucket_dir().string());
    // Both tools read S3 settings from the environment only (no ~/.aws), as a CI job would.
    environment_ = {{"AWS_ACCESS_KEY_ID", access_key_},
                    {"AWS_SECRET_ACCESS_KEY", secret_key_},
                    {"AWS_DEFAULT_REGION", "us-east-1"},
                    {"AWS_ENDPOINT_URL_S3", moto_.endpoint()},
                    {"AWS_CONFIG_FILE", (dir_.path() / "no-config").string()},
                    {"AWS_SHARED_CREDENTIALS_FILE", (dir_.path() / "no-credentials").string()}};
  }

  fs::path bucket_dir() const { return dir_.path() / "ct-bucket"; }

  void helper(const std::string& args) {
    run_command("python3 " + kHelper + " " + args.substr(0, args.find(' ')) + " " + moto_.endpoint() + " " +
                access_key_ + " " + secret_key_ + " ct-bucket " + args.substr(args.find(' ') + 1));
  }

  std::vector<std::string> arguments() const {
    return {"--trail-arn",  fixture_->arn(), "--start-time", "2026-11-01T10:01:31Z", "--end-time",
            "2026-11-01T13:01:31Z", "--s3-bucket", "ct-bucket", "--region", "us-east-1",
            "--endpoint-url", stub_->endpoint(), "--verbose"};
  }

  ToolRun stock() {
    std::string command = "env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_ENDPOINT_URL -u AWS_REGION";
    for (const auto& [name, value] : environment_) command += " " + name + "=" + value;
    command += " aws cloudtrail validate-logs";
    for (const std::string& a : arguments()) command += " '" + a + "'";
    const fs::path out = dir_.path() / "stock.out", err = dir_.path() / "stock.err";
    const int status = std::system((command + " >" + out.string() + " 2>" + err.string()).c_str());
    return ToolRun{WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(out), read_file(err)};
  }

  // `trailkit validate` in process: the real CLI wiring, std::cout/std::cerr captured.
  ToolRun ours() {
    for (const auto& [name, value] : environment_) ::setenv(name.c_str(), value.c_str(), 1);
    for (const char* name : {"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION",
                             "AWS_ENDPOINT_URL_CLOUDTRAIL", "AWS_SESSION_TOKEN"}) {
      ::unsetenv(name);
    }
    CLI::App app;
    int exit_code = -1;
    cli::add_validate_command(app, exit_code);
    std::vector<std::string> args = arguments();
    args.insert(args.begin(), {"trailkit", "validate", "--state-dir", (dir_.path() / "no-state").string()});
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    std::ostringstream out, err;
    std::streambuf* old_out = std::cout.rdbuf(out.rdbuf());
    std::streambuf* old_err = std::cerr.rdbuf(err.rdbuf());
    try {
      app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (...) {
      std::cout.rdbuf(old_out);
      std::cerr.rdbuf(old_err);
      throw;
    }
    std::cout.rdbuf(old_out);
    std::cerr.rdbuf(old_err);
    return ToolRun{exit_code, out.str(), err.str()};
  }

  void expect_same(const ToolRun& stock_run, const ToolRun& our_run) {
    EXPECT_EQ(our_run.out, stock_run.out);
    EXPECT_EQ(our_run.err, stock_run.err);
    EXPECT_EQ(our_run.exit_code, stock_run.exit_code);
  }

  TempDir dir_{"trailkit-validate-s3"};
  MotoServer moto_;
  std::unique_ptr<DigestFixture> fixture_;
  std::unique_ptr<KeyStub> stub_;
  std::string access_key_ = "AKIAIOSFODNN7EXAMPLE";
  std::string secret_key_ = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  std::vector<std::pair<std::string, std::string>> environment_;
};

TEST_F(ValidateS3Test, ValidChainSameAsStock) {
  const ToolRun s = stock();
  EXPECT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.out.find("\n3/3 digest files valid\n4/4 log files valid\n"), std::string::npos) << s.out;
  expect_same(s, ours());
}

TEST_F(ValidateS3Test, ChangedLogFileSameAsStock) {
  const std::string key = fixture_->digests()[2].log_keys[0];
  std::string json = fixture_gunzip(read_file(bucket_dir() / key));
  json[json.find("GetObject")] = 'P';
  write_file(bucket_dir() / key, fixture_gzip(json));
  helper("upload " + bucket_dir().string());
  const ToolRun s = stock();
  EXPECT_EQ(s.exit_code, 1);
  EXPECT_NE(s.err.find("\tINVALID: hash value doesn't match"), std::string::npos) << s.err;
  expect_same(s, ours());
}

TEST_F(ValidateS3Test, DeletedMiddleDigestSameAsStock) {
  helper("delete " + fixture_->digests()[1].key);
  const ToolRun s = stock();
  EXPECT_EQ(s.exit_code, 1);
  EXPECT_NE(s.err.find("\tINVALID: not found"), std::string::npos) << s.err;
  expect_same(s, ours());
}

TEST_F(ValidateS3Test, ChangedSignatureSameAsStock) {
  const std::string key = fixture_->digests()[2].key;
  const fs::path sidecar = bucket_dir() / ".trailkit-metadata" / (key + ".json");
  std::string meta = read_file(sidecar);
  const std::size_t at = meta.find("\"signature\":\"") + 13;
  meta[at] = meta[at] == 'a' ? 'b' : 'a';
  write_file(sidecar, meta);
  helper("upload " + bucket_dir().string());
  const ToolRun s = stock();
  EXPECT_EQ(s.exit_code, 1);
  EXPECT_NE(s.err.find("\tINVALID: signature verification failed"), std::string::npos) << s.err;
  expect_same(s, ours());
}

}  // namespace
}  // namespace trailkit::testing
