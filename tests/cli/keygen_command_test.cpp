// `trailkit keygen`, driven in-process through CLI11 exactly as main() registers it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <vector>

#include "cli/commands.hpp"
#include "digest/crypto.hpp"
#include "support/files.hpp"

namespace trailkit::cli {
namespace {

using trailkit::testing::read_file;
using trailkit::testing::TempDir;

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

Result run_keygen(std::vector<std::string> args) {
  CLI::App app{"trailkit", "trailkit"};
  app.require_subcommand(1);
  Result result;
  add_keygen_command(app, result.exit_code);
  args.insert(args.begin(), "keygen");
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11's vector overload wants reverse order
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  try {
    app.parse(reversed);
  } catch (...) {
    ::testing::internal::GetCapturedStdout();  // end the capture before the next test starts one
    ::testing::internal::GetCapturedStderr();
    throw;
  }
  result.out = ::testing::internal::GetCapturedStdout();
  result.err = ::testing::internal::GetCapturedStderr();
  return result;
}

std::map<std::string, std::string> fields(const std::string& out) {
  std::map<std::string, std::string> map;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const auto colon = line.find(": ");
    if (colon != std::string::npos) map[line.substr(0, colon)] = line.substr(colon + 2);
  }
  return map;
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(KeygenCommand, WritesAPrivateKeyUnderTheStateDirAndPrintsItsFingerprint) {
  TempDir dir;
  const std::string state = dir.str() + "/state";
  const Result result = run_keygen({"--state-dir", state});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  const std::string key_path = state + "/keys/digest-key.pem";
  EXPECT_EQ(mode_of(key_path), 0600u);
  EXPECT_EQ(mode_of(state), 0700u);
  EXPECT_EQ(mode_of(state + "/keys"), 0700u);
  const auto printed = fields(result.out);
  const detail::SigningKey key = detail::SigningKey::load_file(key_path);
  EXPECT_EQ(printed.at("path"), key_path);
  EXPECT_EQ(printed.at("bits"), "2048");
  EXPECT_EQ(printed.at("fingerprint"), key.fingerprint());
  EXPECT_EQ(printed.at("public-key"), detail::base64_encode(key.public_key_der()));
  EXPECT_TRUE(printed.at("public-key").starts_with("MIIBCgKCAQEA"));
  EXPECT_EQ(result.out.find("PRIVATE"), std::string::npos);
}

TEST(KeygenCommand, NeverOverwritesAnExistingKey) {
  TempDir dir;
  const std::string out = dir.str() + "/k.pem";
  ASSERT_EQ(run_keygen({"--out", out}).exit_code, kExitOk);
  const std::string before = read_file(out);
  const Result again = run_keygen({"--out", out});
  EXPECT_EQ(again.exit_code, kExitFailure);
  EXPECT_NE(again.err.find(out), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(read_file(out), before);
  // A dangling symlink counts as existing: the key must not be written through it.
  std::filesystem::create_symlink(dir.path() / "target.pem", dir.path() / "link.pem");
  EXPECT_EQ(run_keygen({"--out", dir.str() + "/link.pem"}).exit_code, kExitFailure);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "target.pem"));
}

TEST(KeygenCommand, WritesThePublicKeyAsPkcs1PemThatOpensslReads) {
  TempDir dir;
  const std::string out = dir.str() + "/k.pem";
  const std::string pub = dir.str() + "/pub/k.pub.pem";
  const Result result = run_keygen({"--out", out, "--public-key-out", pub});
  ASSERT_EQ(result.exit_code, kExitOk) << result.err;
  EXPECT_TRUE(read_file(pub).starts_with("-----BEGIN RSA PUBLIC KEY-----\nMIIBCgKCAQEA"));
  const std::string der = dir.str() + "/pub.der";
  ASSERT_EQ(std::system(("openssl rsa -RSAPublicKey_in -in " + pub + " -RSAPublicKey_out -outform DER -out " + der +
                         " 2>/dev/null")
                            .c_str()),
            0);
  EXPECT_EQ(read_file(der), detail::SigningKey::load_file(out).public_key_der());
}

TEST(KeygenCommand, RefusesKeysSmallerThan2048Bits) {
  TempDir dir;
  EXPECT_THROW(run_keygen({"--out", dir.str() + "/k.pem", "--bits", "1024"}), CLI::ValidationError);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "k.pem"));
}

TEST(KeygenCommand, ReportsAnUncreatableDirectory) {
  TempDir dir;
  testing::write_file(dir.path() / "file", "x");
  const Result result = run_keygen({"--state-dir", dir.str() + "/file/state"});
  EXPECT_EQ(result.exit_code, kExitFailure);
  EXPECT_NE(result.err.find(dir.str() + "/file"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace trailkit::cli
