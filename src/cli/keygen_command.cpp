// `trailkit keygen [--state-dir DIR] [--out FILE] [--public-key-out FILE] [--bits N]` — creates the RSA key
// that signs digest files (cloudtrail-spec §4.3) and prints what ListPublicKeys will publish for it.
// It never overwrites a key: digests signed by a lost key can no longer be verified.

#include <sys/stat.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "digest/crypto.hpp"
#include "digest/state_files.hpp"

namespace trailkit::cli {
namespace {

struct KeygenArgs {
  std::string state_dir = "./.trailkit";
  std::string out;             // "" = default_signing_key_path(state_dir)
  std::string public_key_out;  // "" = none
  int bits = 2048;
};

std::string parent_directory(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// PKCS#1 "RSA PUBLIC KEY" PEM: the same DER that ListPublicKeys carries in Value, wrapped at 64 columns
// (RFC 7468). `openssl rsa -RSAPublicKey_in -in FILE` reads it.
std::string public_key_pem(const std::string& der) {
  const std::string base64 = detail::base64_encode(der);
  std::string pem = "-----BEGIN RSA PUBLIC KEY-----\n";
  for (std::size_t i = 0; i < base64.size(); i += 64) pem.append(base64, i, 64).push_back('\n');
  pem += "-----END RSA PUBLIC KEY-----\n";
  return pem;
}

int run_keygen(const KeygenArgs& args) {
  const std::string out = args.out.empty() ? detail::default_signing_key_path(args.state_dir) : args.out;
  // Checked before the (slow) key generation for a quick answer; save_file's O_EXCL is what enforces it.
  struct stat st {};
  if (::lstat(out.c_str(), &st) == 0) {
    std::fprintf(stderr, "trailkit keygen: %s already exists; refusing to overwrite a digest signing key\n",
                 out.c_str());
    return kExitFailure;
  }
  try {
    detail::create_private_directories(parent_directory(out));
    const detail::SigningKey key = detail::SigningKey::generate(args.bits);
    key.save_file(out);
    std::printf("path: %s\nbits: %d\nfingerprint: %s\npublic-key: %s\n", out.c_str(), key.bits(),
                key.fingerprint().c_str(), detail::base64_encode(key.public_key_der()).c_str());
    if (!args.public_key_out.empty()) {
      detail::write_file_atomically(args.public_key_out, public_key_pem(key.public_key_der()), 0644);
      std::printf("public-key-pem: %s\n", args.public_key_out.c_str());
    }
  } catch (const std::exception& error) {
    std::fflush(stdout);
    // Messages from the digest code name paths and rules, never key material.
    std::fprintf(stderr, "trailkit keygen: %s\n", error.what());
    return kExitFailure;
  }
  return std::fflush(stdout) == 0 ? kExitOk : kExitFailure;
}

}  // namespace

void add_keygen_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<KeygenArgs>();
  CLI::App* keygen = app.add_subcommand(
      "keygen", "Create the RSA key that signs digest files (mode 0600, never overwrites) and print its fingerprint");
  keygen->add_option("--state-dir", args->state_dir, "State directory; the key goes to DIR/keys/digest-key.pem")
      ->type_name("DIR")
      ->capture_default_str();
  keygen->add_option("--out", args->out, "Write the private key here instead (PKCS#8 PEM)")->type_name("FILE");
  keygen
      ->add_option("--public-key-out", args->public_key_out,
                   "Also write the public key as PKCS#1 PEM (\"RSA PUBLIC KEY\") to FILE")
      ->type_name("FILE");
  keygen->add_option("--bits", args->bits, "RSA key size (CloudTrail uses 2048)")
      ->check(CLI::Range(2048, 16384))
      ->capture_default_str();
  keygen->callback([args, &exit_code] { exit_code = run_keygen(*args); });
}

}  // namespace trailkit::cli
