#pragma once
// Crypto primitives of log-file integrity validation (cloudtrail-spec §4), on OpenSSL 3 EVP.
//
// CloudTrail's digest chain needs: SHA-256 (log files and digests, hashed *uncompressed*), RSASSA-
// PKCS1-v1_5 with SHA-256 over the string to sign, the public key as DER PKCS#1 `RSAPublicKey`
// (what validate-logs loads; SubjectPublicKeyInfo is refused there), and the fingerprint = lower-case
// hex MD5 of exactly those DER bytes (§4.5). Everything hex is lower case: validate-logs compares
// `hashValue` with exact string equality, so upper case fails (§4.7).
//
// Private keys never appear in messages, logs or exceptions; only paths and fingerprints do.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace trailkit::detail {

/// Lower-case hex of `bytes`. Thread contract: pure function.
std::string to_hex(std::string_view bytes);
/// Bytes of lower- or upper-case hex; nullopt for odd length or a non-hex character. Pure function.
std::optional<std::string> from_hex(std::string_view hex);
/// Standard base64 with padding (RFC 4648 §4), no line breaks. Pure function.
std::string base64_encode(std::string_view bytes);
/// Decodes standard base64 (padding required, no whitespace); nullopt when malformed. Pure function.
std::optional<std::string> base64_decode(std::string_view text);
/// The value (0..15) of one hex digit, either case; -1 for any other character. Pure function.
int hex_value(char c) noexcept;
/// The value (0..63) of one standard base64 alphabet character, -1 for any other. Pure function.
int base64_value(unsigned char c) noexcept;

/// Incremental SHA-256. Thread contract: one object per thread; any number of objects at once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view bytes) noexcept;
  /// Lower-case hex (64 characters) of everything updated since construction or reset(); then resets.
  std::string finish_hex();
  void reset() noexcept;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Lower-case hex SHA-256 / MD5 of `bytes`. Pure functions.
std::string sha256_hex(std::string_view bytes);
std::string md5_hex(std::string_view bytes);

/// An RSA private key used to sign digests. Thread contract: immutable after construction; sign_hex
/// may be called from several threads at once.
class SigningKey {
 public:
  /// Generates a fresh RSA key of `bits` (>= 2048) with exponent 65537. Throws std::runtime_error.
  static SigningKey generate(int bits = 2048);
  /// Loads a PEM private key (PKCS#8 "PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY", unencrypted).
  /// Refuses, with std::runtime_error naming the path and the rule:
  ///  - a file that is not a regular file (symlinks are followed, like ssh);
  ///  - a file readable or writable by group or others (mode & 077), unless
  ///    `allow_insecure_permissions` — OpenSSH's "UNPROTECTED PRIVATE KEY FILE" rule;
  ///  - a key that is not RSA or has fewer than 2048 bits; an unparsable file.
  static SigningKey load_file(const std::string& path, bool allow_insecure_permissions = false);
  /// Parses PEM text (same formats and key rules as load_file, no permission check).
  static SigningKey from_pem(std::string_view pem);

  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;
  ~SigningKey();

  /// Writes the key as PKCS#8 PEM to a new file created with mode 0600 (O_CREAT|O_EXCL: never
  /// overwrites; parent directories are not created), fsyncs it. Throws std::runtime_error naming
  /// the path (e.g. "already exists").
  void save_file(const std::string& path) const;
  /// PKCS#8 PEM text of the private key (for tests; never log it).
  std::string private_pem() const;

  /// DER of the public key as PKCS#1 RSAPublicKey (base64 of it starts "MIIBCgKCAQEA" for 2048 bits).
  const std::string& public_key_der() const noexcept;
  /// Lower-case hex MD5 of public_key_der() (32 characters): CloudTrail's digestPublicKeyFingerprint.
  const std::string& fingerprint() const noexcept;
  int bits() const noexcept;

  /// RSASSA-PKCS1-v1_5 with SHA-256 over `message`; lower-case hex (512 characters for 2048 bits).
  /// Throws std::runtime_error only if OpenSSL fails (out of memory).
  std::string sign_hex(std::string_view message) const;

 private:
  struct Impl;
  explicit SigningKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// True when `signature` (raw bytes, not hex) is a valid RSASSA-PKCS1-v1_5 SHA-256 signature of
/// `message` under the DER PKCS#1 RSAPublicKey `public_key_der`. False for a key that does not parse
/// as PKCS#1 DER. Thread contract: pure function.
bool verify_signature(std::string_view public_key_der, std::string_view message, std::string_view signature);
/// True when `public_key_der` parses as a DER PKCS#1 RSAPublicKey. Pure function.
bool is_pkcs1_public_key(std::string_view public_key_der);

}  // namespace trailkit::detail
