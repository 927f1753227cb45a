#include "digest/crypto.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace trailkit::detail {
namespace {

// Large enough for any sane PEM key (a 16384-bit PKCS#8 key is ~13 KB); stops reading /dev/zero-like files.
constexpr std::size_t kMaxKeyFileBytes = 1 << 20;
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 16384;

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct BioDeleter {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

// Fetched once: an explicit fetch avoids the implicit per-init lookup (and its lock) of EVP_sha256().
const EVP_MD* sha256_md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md != nullptr ? md : EVP_sha256();
}

// Never let a PEM loader prompt on the terminal for a passphrase: encrypted keys simply fail.
int refuse_password(char*, int, int, void*) { return -1; }

std::string errno_text(int err) { return std::strerror(err); }

// Wipes the secret text before the string's memory is released.
struct Cleanse {
  std::string& text;
  ~Cleanse() {
    if (!text.empty()) OPENSSL_cleanse(text.data(), text.size());
  }
};

std::string digest_hex(const EVP_MD* md, std::string_view bytes) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (md == nullptr || EVP_Digest(bytes.data(), bytes.size(), out, &n, md, nullptr) != 1) {
    ERR_clear_error();
    throw std::runtime_error("digest computation failed in OpenSSL");
  }
  return to_hex(std::string_view(reinterpret_cast<const char*>(out), n));
}

std::string public_der_of(EVP_PKEY* pkey) {
  // i2d_PublicKey of an RSA key is the PKCS#1 RSAPublicKey (not SubjectPublicKeyInfo).
  unsigned char* der = nullptr;
  const int n = i2d_PublicKey(pkey, &der);
  if (n <= 0 || der == nullptr) {
    ERR_clear_error();
    throw std::runtime_error("cannot encode the RSA public key as PKCS#1 DER");
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}



PkeyPtr parse_public_der(std::string_view der) {
  if (der.empty()) return nullptr;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* const end = p + der.size();
  PkeyPtr key(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size())));
  // Trailing bytes mean the input was something else (or corrupt): refuse rather than guess.
  if (!key || p != end) {
    ERR_clear_error();
    return nullptr;
  }
  return key;
}

}  // namespace

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 0x0F];
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>((hi << 4) | lo);
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                            (std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                            std::uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (rest == 2) v |= std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int padding = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[i + static_cast<std::size_t>(j)];
      if (c == '=') {
        // Padding only at the end of the last quantum, at most two characters.
        if (!last || j < 2) return std::nullopt;
        ++padding;
        v[j] = 0;
        continue;
      }
      if (padding > 0) return std::nullopt;  // data after '='
      v[j] = base64_value(static_cast<unsigned char>(c));
      if (v[j] < 0) return std::nullopt;
    }
    const std::uint32_t word = (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
                               (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    // Canonical encoding only: the bits dropped by padding must be zero (RFC 4648 §3.5).
    if (padding == 1 && (word & 0xFF) != 0) return std::nullopt;
    if (padding == 2 && (word & 0xFFFF) != 0) return std::nullopt;
    out.push_back(static_cast<char>((word >> 16) & 0xFF));
    if (padding < 2) out.push_back(static_cast<char>((word >> 8) & 0xFF));
    if (padding < 1) out.push_back(static_cast<char>(word & 0xFF));
  }
  return out;
}

// ---- Sha256

struct Sha256::State {
  MdCtxPtr ctx{EVP_MD_CTX_new()};
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  if (!state_->ctx || EVP_DigestInit_ex(state_->ctx.get(), sha256_md(), nullptr) != 1) {
    ERR_clear_error();
    throw std::runtime_error("cannot initialise SHA-256 in OpenSSL");
  }
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::string_view bytes) noexcept {
  // EVP_DigestUpdate on an initialised SHA-256 context cannot fail.
  EVP_DigestUpdate(state_->ctx.get(), bytes.data(), bytes.size());
}

std::string Sha256::finish_hex() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(state_->ctx.get(), out, &n) != 1) {
    ERR_clear_error();
    throw std::runtime_error("SHA-256 finalisation failed in OpenSSL");
  }
  reset();
  return to_hex(std::string_view(reinterpret_cast<const char*>(out), n));
}

void Sha256::reset() noexcept { EVP_DigestInit_ex(state_->ctx.get(), sha256_md(), nullptr); }

std::string sha256_hex(std::string_view bytes) { return digest_hex(sha256_md(), bytes); }
std::string md5_hex(std::string_view bytes) { return digest_hex(EVP_md5(), bytes); }

// ---- SigningKey

SigningKey::SigningKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;
SigningKey::~SigningKey() = default;

namespace {

struct CheckedKey {
  std::string public_der;
  std::string fingerprint;
  int bits = 0;
};

// Checks the CloudTrail key rules (RSA, >= 2048 bits) and computes the public DER and fingerprint.
CheckedKey check_key(EVP_PKEY* pkey) {
  // RSA-PSS keys are a different type ("RSA-PSS") and cannot make PKCS#1 v1.5 signatures.
  if (EVP_PKEY_is_a(pkey, "RSA") != 1) {
    const char* type = EVP_PKEY_get0_type_name(pkey);
    throw std::runtime_error(std::string("not an RSA key (key type ") + (type != nullptr ? type : "unknown") +
                             "); CloudTrail digests are signed with RSA (SHA256withRSA)");
  }
  CheckedKey out;
  out.bits = EVP_PKEY_get_bits(pkey);
  if (out.bits < kMinRsaBits) {
    throw std::runtime_error("RSA key has " + std::to_string(out.bits) + " bits; at least " +
                             std::to_string(kMinRsaBits) + " are required");
  }
  out.public_der = public_der_of(pkey);
  out.fingerprint = md5_hex(out.public_der);
  return out;
}

}  // namespace

// Constructed only from a key that passed check_key, so every SigningKey is a usable CloudTrail key.
struct SigningKey::Impl {
  explicit Impl(PkeyPtr key) : checked(check_key(key.get())), pkey(std::move(key)) {}
  CheckedKey checked;
  PkeyPtr pkey;
};

SigningKey SigningKey::generate(int bits) {
  if (bits < kMinRsaBits || bits > kMaxRsaBits) {
    throw std::runtime_error("RSA key size " + std::to_string(bits) + " is outside " + std::to_string(kMinRsaBits) +
                             ".." + std::to_string(kMaxRsaBits) + " bits");
  }
  // EVP_PKEY_Q_keygen("RSA", bits) uses the default public exponent 65537.
  PkeyPtr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(bits)));
  if (!pkey) {
    ERR_clear_error();
    throw std::runtime_error("RSA key generation failed in OpenSSL");
  }
  return SigningKey(std::make_unique<Impl>(std::move(pkey)));
}

SigningKey SigningKey::from_pem(std::string_view pem) {
  if (pem.size() > kMaxKeyFileBytes) throw std::runtime_error("PEM text is too large to be a private key");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw std::runtime_error("out of memory reading a PEM key");
  // Accepts PKCS#8 "PRIVATE KEY" and traditional "RSA PRIVATE KEY"; encrypted keys fail (no prompt).
  PkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, &refuse_password, nullptr));
  if (!pkey) {
    ERR_clear_error();
    throw std::runtime_error(
        "not an unencrypted PEM private key (expected \"BEGIN PRIVATE KEY\" or \"BEGIN RSA PRIVATE KEY\")");
  }
  return SigningKey(std::make_unique<Impl>(std::move(pkey)));
}

SigningKey SigningKey::load_file(const std::string& path, bool allow_insecure_permissions) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw std::runtime_error("cannot open digest signing key " + path + ": " + errno_text(errno));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  // fstat of the opened descriptor, not stat of the path: no window to swap the file in between.
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    throw std::runtime_error("cannot stat digest signing key " + path + ": " + errno_text(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    throw std::runtime_error("digest signing key " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0 && !allow_insecure_permissions) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw std::runtime_error("digest signing key " + path + " is readable or writable by group or others (mode " +
                             mode + "); chmod 600 it, or allow insecure key permissions explicitly");
  }
  std::string text;
  Cleanse wipe{text};
  char chunk[4096];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      OPENSSL_cleanse(chunk, sizeof chunk);
      throw std::runtime_error("cannot read digest signing key " + path + ": " + errno_text(err));
    }
    if (n == 0) break;
    text.append(chunk, static_cast<std::size_t>(n));
    if (text.size() > kMaxKeyFileBytes) {
      OPENSSL_cleanse(chunk, sizeof chunk);
      throw std::runtime_error("digest signing key " + path + " is larger than 1 MiB; not a PEM key");
    }
  }
  OPENSSL_cleanse(chunk, sizeof chunk);
  try {
    return from_pem(text);
  } catch (const std::runtime_error& e) {
    // from_pem's messages never contain key bytes, only the rule that failed.
    throw std::runtime_error("digest signing key " + path + ": " + e.what());
  }
}

std::string SigningKey::private_pem() const {
  BioPtr bio(BIO_new(BIO_s_secmem()));  // cleared when freed
  // PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY") in OpenSSL 3.
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), impl_->pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    ERR_clear_error();
    throw std::runtime_error("cannot encode the private key as PEM");
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  std::string out(data, static_cast<std::size_t>(n));
  OPENSSL_cleanse(data, static_cast<std::size_t>(n));
  return out;
}

void SigningKey::save_file(const std::string& path) const {
  std::string pem = private_pem();
  Cleanse wipe{pem};
  // O_EXCL: never replace an existing key (digests it signed would become unverifiable if it were lost);
  // O_NOFOLLOW: a planted symlink cannot redirect the secret elsewhere.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    const int err = errno;
    if (err == EEXIST) throw std::runtime_error("cannot write digest signing key " + path + ": already exists");
    throw std::runtime_error("cannot create digest signing key " + path + ": " + errno_text(err));
  }
  auto fail = [&](const char* what, int err) {
    ::close(fd);
    ::unlink(path.c_str());
    throw std::runtime_error(std::string("cannot ") + what + " digest signing key " + path + ": " + errno_text(err));
  };
  std::size_t done = 0;
  while (done < pem.size()) {
    const ssize_t n = ::write(fd, pem.data() + done, pem.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync", errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(path.c_str());
    throw std::runtime_error("cannot close digest signing key " + path + ": " + errno_text(err));
  }
  // Make the new directory entry durable too; best effort (some filesystems refuse fsync on a directory).
  const std::size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

const std::string& SigningKey::public_key_der() const noexcept { return impl_->checked.public_der; }
const std::string& SigningKey::fingerprint() const noexcept { return impl_->checked.fingerprint; }
int SigningKey::bits() const noexcept { return impl_->checked.bits; }

std::string SigningKey::sign_hex(std::string_view message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  std::size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, sha256_md(), nullptr, impl_->pkey.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1) {
    ERR_clear_error();
    throw std::runtime_error("RSA signing failed in OpenSSL");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    ERR_clear_error();
    throw std::runtime_error("RSA signing failed in OpenSSL");
  }
  signature.resize(length);
  return to_hex(signature);
}

bool verify_signature(std::string_view public_key_der, std::string_view message, std::string_view signature) {
  PkeyPtr key = parse_public_der(public_key_der);
  if (!key) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), &pctx, sha256_md(), nullptr, key.get()) == 1 &&
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  ERR_clear_error();  // a bad signature leaves errors on the queue; they are this function's answer, not news
  return ok;
}

bool is_pkcs1_public_key(std::string_view public_key_der) { return parse_public_der(public_key_der) != nullptr; }

int base64_value(unsigned char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace trailkit::detail
