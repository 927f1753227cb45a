// Crypto primitives of the digest chain, cross-checked against code nobody here wrote: NIST SHA-256
// vectors, RFC 4648 base64 vectors, AWS's published key/fingerprint pair, the openssl CLI, and
// python-rsa — the library `aws cloudtrail validate-logs` verifies signatures with.
#include "digest/crypto.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "digest/test_helpers.hpp"
#include "support/files.hpp"

namespace trailkit::detail {
namespace {

using testing::error_message_of;
using testing::read_file;
using testing::run_shell;
using testing::TempDir;
using testing::write_file;

// Generating RSA keys takes ~0.1-1 s; the tests share one.
const SigningKey& shared_key() {
  static const SigningKey key = SigningKey::generate();
  return key;
}

// ---- hex and base64

TEST(CryptoHex, RoundTripsEveryByteInLowerCase) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string hex = to_hex(all);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(hex.size() - 8), "fcfdfeff");  // lower case: validate-logs compares hashes exactly
  EXPECT_EQ(from_hex(hex), all);
}

TEST(CryptoHex, AcceptsUpperCaseAndRejectsMalformed) {
  EXPECT_EQ(from_hex("ABcd"), std::string("\xab\xcd"));
  EXPECT_EQ(from_hex(""), std::string());
  EXPECT_EQ(from_hex("abc"), std::nullopt);
  EXPECT_EQ(from_hex("zz"), std::nullopt);
  EXPECT_EQ(from_hex("0g"), std::nullopt);
}

TEST(CryptoBase64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), std::string(plain)) << encoded;
  }
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
  EXPECT_EQ(base64_decode("//4A"), std::string("\xff\xfe\x00", 3));
}

TEST(CryptoBase64, RejectsMalformedText) {
  EXPECT_EQ(base64_decode("Zg"), std::nullopt);        // padding required
  EXPECT_EQ(base64_decode("Zg=a"), std::nullopt);      // data after padding
  EXPECT_EQ(base64_decode("Z==="), std::nullopt);      // too much padding
  EXPECT_EQ(base64_decode("Zg==Zg=="), std::nullopt);  // padding in the middle
  EXPECT_EQ(base64_decode("Zm9v\n"), std::nullopt);    // no whitespace
  EXPECT_EQ(base64_decode("Zm-v"), std::nullopt);      // base64url alphabet is not standard base64
  EXPECT_EQ(base64_decode("Zh=="), std::nullopt);      // non-zero pad bits: not a canonical encoding
}

// ---- SHA-256 and MD5 known answers (FIPS 180-2 appendix B, RFC 1321 §A.5)

constexpr const char* kSha256Abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char* kSha256Empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kSha256MillionA = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

TEST(CryptoSha256, NistVectors) {
  EXPECT_EQ(sha256_hex("abc"), kSha256Abc);
  EXPECT_EQ(sha256_hex(""), kSha256Empty);
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), kSha256MillionA);
}

TEST(CryptoSha256, IncrementalInOddPiecesMatchesOneShot) {
  Sha256 hash;
  const std::string piece(997, 'a');
  const std::size_t sizes[] = {1, 63, 64, 65, 7, 997, 13};
  std::size_t done = 0;
  for (std::size_t i = 0; done < 1000000; ++i) {
    const std::size_t n = std::min(sizes[i % std::size(sizes)], 1000000 - done);
    hash.update(std::string_view(piece).substr(0, n));
    done += n;
  }
  EXPECT_EQ(hash.finish_hex(), kSha256MillionA);
  // finish_hex resets: the object is reusable without reset().
  EXPECT_EQ(hash.finish_hex(), kSha256Empty);
  hash.update("ab");
  hash.update("c");
  EXPECT_EQ(hash.finish_hex(), kSha256Abc);
  hash.update("garbage");
  hash.reset();
  hash.update("abc");
  EXPECT_EQ(hash.finish_hex(), kSha256Abc);
  Sha256 moved = std::move(hash);
  moved.update("abc");
  EXPECT_EQ(moved.finish_hex(), kSha256Abc);
}

TEST(CryptoMd5, Rfc1321Vectors) {
  EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(md5_hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
}

// ---- AWS's published public key (awscli examples/cloudtrail/list-public-keys.rst)

constexpr const char* kAwsExampleKey =
    "MIIBCgKCAQEAlSS3cl92HDycr/MTj0moOhas8habjrraXw+KzlWF0axSI2tcF+3iJ9BKQAVSKxGwxwu3m0wG3J+kUl1xboEcEPHYoIYMbgfSw7K"
    "GnuDKwkLzsQWhUJ0cIbOHASox1vv/5fNXkrHhGbDCHeVXm804c83nvHUEFYThr1PfyP/8HwrCtR3FX5OANtQCP61C1nJtSSkC8JSQUOrIP4CuwJ"
    "jc+4WGDk+BGH5m9iuiAKkipEHWmUl8/P7XpfpWQuk4h8g3pXZOrNXr08lbh4d39svj7UqdhvOXoBISp9t/EXYuePGEtBdrKD9Dz+VHwyUPtBQvY"
    "r9BnkF88qBnaPNhS44rzwIDAQAB";

TEST(CryptoAwsPublishedKey, FingerprintIsMd5OfTheDerInValue) {
  const std::optional<std::string> der = base64_decode(kAwsExampleKey);
  ASSERT_TRUE(der.has_value());
  EXPECT_EQ(md5_hex(*der), "7f3f401420072e50a65a141430817ab3");
  EXPECT_TRUE(is_pkcs1_public_key(*der));
  EXPECT_EQ(base64_encode(*der), kAwsExampleKey);
}

TEST(CryptoAwsPublishedKey, MatchesTheCopyShippedWithAwscli) {
  // Guards the constant above against a copy error: read the example file itself when awscli is installed.
  std::string text;
  if (run_shell("python3 -c \"import awscli,os;print(open(os.path.join(os.path.dirname(awscli.__file__),"
                "'examples','cloudtrail','list-public-keys.rst')).read())\"",
                &text) != 0) {
    GTEST_SKIP() << "awscli not installed";
  }
  EXPECT_NE(text.find(kAwsExampleKey), std::string::npos);
  EXPECT_NE(text.find("7f3f401420072e50a65a141430817ab3"), std::string::npos);
}

// ---- SigningKey

TEST(CryptoSigningKey, GeneratesA2048BitKeyWithPkcs1PublicDer) {
  const SigningKey& key = shared_key();
  EXPECT_EQ(key.bits(), 2048);
  EXPECT_TRUE(base64_encode(key.public_key_der()).starts_with("MIIBCgKCAQEA"));
  EXPECT_EQ(key.fingerprint(), md5_hex(key.public_key_der()));
  EXPECT_EQ(key.fingerprint().size(), 32u);
  EXPECT_TRUE(is_pkcs1_public_key(key.public_key_der()));
}

TEST(CryptoSigningKey, RefusesSmallKeys) {
  EXPECT_THROW(SigningKey::generate(1024), std::runtime_error);
  EXPECT_THROW(SigningKey::generate(0), std::runtime_error);
}

TEST(CryptoSigningKey, SignsAndVerifies) {
  const SigningKey& key = shared_key();
  const std::string message = "2024-05-01T11:01:31Z\nbucket/key\n" + std::string(kSha256Abc) + "\nnull";
  const std::string signature_hex = key.sign_hex(message);
  EXPECT_EQ(signature_hex.size(), 512u);
  EXPECT_EQ(signature_hex, to_hex(*from_hex(signature_hex)));  // lower case
  const std::string signature = *from_hex(signature_hex);
  EXPECT_TRUE(verify_signature(key.public_key_der(), message, signature));
  // PKCS#1 v1.5 is deterministic: the same message gives the same signature.
  EXPECT_EQ(key.sign_hex(message), signature_hex);

  EXPECT_FALSE(verify_signature(key.public_key_der(), message + " ", signature));
  std::string flipped = signature;
  flipped[100] = static_cast<char>(flipped[100] ^ 1);
  EXPECT_FALSE(verify_signature(key.public_key_der(), message, flipped));
  EXPECT_FALSE(verify_signature(key.public_key_der(), message, signature.substr(1)));
  EXPECT_FALSE(verify_signature("not a key", message, signature));
  EXPECT_FALSE(verify_signature("", message, signature));
  const SigningKey other = SigningKey::generate();
  EXPECT_FALSE(verify_signature(other.public_key_der(), message, signature));
}

TEST(CryptoSigningKey, SignsFromSeveralThreadsAtOnce) {
  const SigningKey& key = shared_key();
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string message = "thread " + std::to_string(t) + " message " + std::to_string(i);
        ok[static_cast<std::size_t>(t)] +=
            verify_signature(key.public_key_der(), message, *from_hex(key.sign_hex(message))) ? 1 : 0;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int count : ok) EXPECT_EQ(count, 20);
}

TEST(CryptoSigningKey, RejectsTrailingBytesAndSubjectPublicKeyInfo) {
  const SigningKey& key = shared_key();
  EXPECT_FALSE(is_pkcs1_public_key(key.public_key_der() + std::string(1, '\0')));
  EXPECT_FALSE(is_pkcs1_public_key(key.public_key_der().substr(0, 100)));
  EXPECT_FALSE(is_pkcs1_public_key(""));
  // The SPKI form (`MIIBIjANBgkqh...`) is what validate-logs refuses: ours must refuse it too.
  TempDir dir;
  const std::string pem = dir.str() + "/k.pem";
  write_file(pem, key.private_pem());
  ASSERT_EQ(run_shell("openssl pkey -in " + pem + " -pubout -outform DER -out " + dir.str() + "/spki.der"), 0);
  const std::string spki = read_file(dir.path() / "spki.der");
  EXPECT_TRUE(base64_encode(spki).starts_with("MIIBIjANBgkqh"));
  EXPECT_FALSE(is_pkcs1_public_key(spki));
  EXPECT_FALSE(verify_signature(spki, "m", *from_hex(key.sign_hex("m"))));
}

TEST(CryptoSigningKey, PrivatePemIsPkcs8AndRoundTrips) {
  const SigningKey& key = shared_key();
  const std::string pem = key.private_pem();
  EXPECT_TRUE(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
  const SigningKey copy = SigningKey::from_pem(pem);
  EXPECT_EQ(copy.fingerprint(), key.fingerprint());
  EXPECT_TRUE(verify_signature(key.public_key_der(), "x", *from_hex(copy.sign_hex("x"))));
}

TEST(CryptoSigningKey, FromPemRejectsGarbageWithoutEchoingIt) {
  const std::string message =
      error_message_of([] { SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nSECRETSTUFF\n"); });
  EXPECT_NE(message.find("not an unencrypted PEM private key"), std::string::npos) << message;
  EXPECT_EQ(message.find("SECRETSTUFF"), std::string::npos) << message;
  EXPECT_THROW(SigningKey::from_pem(""), std::runtime_error);
}

// ---- cross-checks with the openssl CLI

class CryptoOpensslCrossCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    if (run_shell("openssl version") != 0) GTEST_SKIP() << "openssl CLI not installed";
  }
  TempDir dir_;
  std::string path(const std::string& name) const { return dir_.str() + "/" + name; }
};

TEST_F(CryptoOpensslCrossCheck, PublicDerIsWhatOpensslCallsRSAPublicKey) {
  const SigningKey& key = shared_key();
  write_file(path("k.pem"), key.private_pem());
  ASSERT_EQ(run_shell("openssl rsa -in " + path("k.pem") + " -RSAPublicKey_out -outform DER -out " + path("pub.der")),
            0);
  EXPECT_EQ(read_file(path("pub.der")), key.public_key_der());
  write_file(path("ours.der"), key.public_key_der());
  std::string text;
  EXPECT_EQ(
      run_shell("openssl rsa -pubin -RSAPublicKey_in -inform DER -in " + path("ours.der") + " -noout -text", &text), 0)
      << text;
  EXPECT_NE(text.find("Public-Key: (2048 bit)"), std::string::npos) << text;
  EXPECT_NE(text.find("Exponent: 65537"), std::string::npos) << text;
}

TEST_F(CryptoOpensslCrossCheck, VerifiesSignaturesMadeByOpensslDgst) {
  const SigningKey& key = shared_key();
  write_file(path("k.pem"), key.private_pem());
  const std::string message = "2024-05-01T11:01:31Z\nct-bucket/some/key.json.gz\n" + std::string(kSha256Abc) + "\nnull";
  write_file(path("msg"), message);
  ASSERT_EQ(run_shell("openssl dgst -sha256 -sign " + path("k.pem") + " -out " + path("sig") + " " + path("msg")), 0);
  const std::string signature = read_file(path("sig"));
  EXPECT_TRUE(verify_signature(key.public_key_der(), message, signature));
  EXPECT_EQ(to_hex(signature), key.sign_hex(message));  // deterministic padding: byte-identical
  // And openssl verifies ours.
  write_file(path("oursig"), *from_hex(key.sign_hex(message)));
  ASSERT_EQ(run_shell("openssl pkey -in " + path("k.pem") + " -pubout -out " + path("pub.pem")), 0);
  std::string out;
  EXPECT_EQ(
      run_shell("openssl dgst -sha256 -verify " + path("pub.pem") + " -signature " + path("oursig") + " " + path("msg"),
                &out),
      0)
      << out;
}

// ---- python-rsa: exactly what validate-logs does (rsa.PublicKey.load_pkcs1(der, 'DER'); rsa.verify)

TEST_F(CryptoOpensslCrossCheck, PythonRsaVerifiesOurSignatureLikeValidateLogs) {
  if (run_shell("python3 -c 'import rsa'") != 0) GTEST_SKIP() << "python-rsa not installed";
  const SigningKey& key = shared_key();
  const std::string message = "2024-05-01T11:01:31Z\nct-bucket/k\n" + std::string(kSha256Empty) + "\nnull";
  write_file(path("pub.b64"), base64_encode(key.public_key_der()));
  write_file(path("msg"), message);
  write_file(path("sig.hex"), key.sign_hex(message));
  const std::string script =
      "import base64,binascii,rsa,sys\n"
      "d=sys.argv[1]\n"
      "key=rsa.PublicKey.load_pkcs1(base64.b64decode(open(d+'/pub.b64').read()),format='DER')\n"
      "sig=binascii.unhexlify(open(d+'/sig.hex').read())\n"
      "print(rsa.verify(open(d+'/msg','rb').read(),sig,key))\n";
  write_file(path("verify.py"), script);
  std::string out;
  EXPECT_EQ(run_shell("python3 " + path("verify.py") + " " + dir_.str(), &out), 0) << out;
  EXPECT_EQ(out, "SHA-256\n");
  // A changed message must fail there too, or the check above proves nothing.
  write_file(path("msg"), message + "x");
  EXPECT_NE(run_shell("python3 " + path("verify.py") + " " + dir_.str(), &out), 0) << out;
  EXPECT_NE(out.find("VerificationError"), std::string::npos) << out;
}

// ---- key files

TEST_F(CryptoOpensslCrossCheck, SaveFileCreates0600AndNeverOverwrites) {
  const SigningKey& key = shared_key();
  const std::string file = path("digest-key.pem");
  key.save_file(file);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(SigningKey::load_file(file).fingerprint(), key.fingerprint());
  EXPECT_EQ(run_shell("openssl pkey -in " + file + " -noout"), 0);

  const SigningKey other = SigningKey::generate();
  const std::string message = error_message_of([&] { other.save_file(file); });
  EXPECT_NE(message.find(file), std::string::npos) << message;
  EXPECT_NE(message.find("already exists"), std::string::npos) << message;
  EXPECT_EQ(SigningKey::load_file(file).fingerprint(), key.fingerprint());  // untouched

  // A planted (dangling) symlink must not redirect the key elsewhere.
  std::filesystem::create_symlink(path("elsewhere.pem"), path("link.pem"));
  EXPECT_THROW(key.save_file(path("link.pem")), std::runtime_error);
  EXPECT_FALSE(std::filesystem::exists(path("elsewhere.pem")));
  // Parent directories are not created.
  const std::string nested = error_message_of([&] { key.save_file(path("missing/dir/k.pem")); });
  EXPECT_NE(nested.find(path("missing/dir/k.pem")), std::string::npos) << nested;
}

TEST_F(CryptoOpensslCrossCheck, LoadFileRefusesGroupOrWorldAccessibleKeys) {
  const SigningKey& key = shared_key();
  const std::string file = path("k.pem");
  key.save_file(file);
  ASSERT_EQ(::chmod(file.c_str(), 0644), 0);
  const std::string message = error_message_of([&] { SigningKey::load_file(file); });
  EXPECT_EQ(message, "digest signing key " + file +
                         " is readable or writable by group or others (mode 0644); chmod 600 it, or allow insecure "
                         "key permissions explicitly");
  EXPECT_EQ(message.find("PRIVATE"), std::string::npos);
  EXPECT_EQ(SigningKey::load_file(file, /*allow_insecure_permissions=*/true).fingerprint(), key.fingerprint());
  for (const unsigned mode : {0640u, 0604u, 0620u, 0602u}) {
    ASSERT_EQ(::chmod(file.c_str(), mode), 0);
    EXPECT_THROW(SigningKey::load_file(file), std::runtime_error) << std::oct << mode;
  }
  for (const unsigned mode : {0600u, 0400u}) {
    ASSERT_EQ(::chmod(file.c_str(), mode), 0);
    EXPECT_EQ(SigningKey::load_file(file).fingerprint(), key.fingerprint()) << std::oct << mode;
  }
  // Symlinks are followed (like ssh); the target's mode is what counts.
  std::filesystem::create_symlink(file, path("link.pem"));
  EXPECT_EQ(SigningKey::load_file(path("link.pem")).fingerprint(), key.fingerprint());
}

TEST_F(CryptoOpensslCrossCheck, LoadFileNamesThePathForMissingFilesAndDirectories) {
  std::string message = error_message_of([&] { SigningKey::load_file(path("absent.pem")); });
  EXPECT_NE(message.find(path("absent.pem")), std::string::npos) << message;
  EXPECT_NE(message.find("No such file"), std::string::npos) << message;
  message = error_message_of([&] { SigningKey::load_file(dir_.str()); });
  EXPECT_NE(message.find("not a regular file"), std::string::npos) << message;
  EXPECT_NE(message.find(dir_.str()), std::string::npos) << message;
}

TEST_F(CryptoOpensslCrossCheck, LoadFileAcceptsTraditionalRsaPrivateKey) {
  const std::string file = path("trad.pem");
  ASSERT_EQ(run_shell("openssl genrsa -traditional -out " + file + " 2048"), 0);
  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
  ASSERT_TRUE(read_file(file).starts_with("-----BEGIN RSA PRIVATE KEY-----"));
  const SigningKey key = SigningKey::load_file(file);
  ASSERT_EQ(run_shell("openssl rsa -in " + file + " -RSAPublicKey_out -outform DER -out " + path("pub.der")), 0);
  EXPECT_EQ(key.public_key_der(), read_file(path("pub.der")));
  EXPECT_EQ(key.fingerprint(), md5_hex(read_file(path("pub.der"))));
}

TEST_F(CryptoOpensslCrossCheck, LoadFileRefusesNonRsaSmallAndEncryptedKeys) {
  struct Case {
    const char* name;
    const char* command;
    const char* expected;
  };
  const Case cases[] = {
      {"ec.pem", "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ",
       "not an RSA key (key type EC)"},
      {"pss.pem", "openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -out ", "not an RSA key"},
      {"small.pem", "openssl genrsa -out $F 1024 #", "RSA key has 1024 bits; at least 2048 are required"},
      {"enc.pem", "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -aes256 -pass pass:secret -out ",
       "not an unencrypted PEM private key"},
  };
  for (const Case& c : cases) {
    const std::string file = path(c.name);
    std::string command = c.command;
    if (const auto at = command.find("$F"); at != std::string::npos) {
      command.replace(at, 2, file);
    } else {
      command += file;
    }
    ASSERT_EQ(run_shell(command), 0) << command;
    ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
    const std::string message = error_message_of([&] { SigningKey::load_file(file); });
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.name << ": " << message;
    EXPECT_NE(message.find(file), std::string::npos) << c.name << ": " << message;
  }
}

}  // namespace
}  // namespace trailkit::detail
