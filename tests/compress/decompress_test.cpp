// decompress(): reads every gzip/zstd shape a consumer may meet, and refuses corrupt, truncated
// or oversized input with a message that says what is wrong.

#include "compress/decompress.hpp"

#include <gtest/gtest.h>

#include <string>

#include "compress/compressor.hpp"

namespace trailkit::detail {
namespace {

std::string compress(Compression codec, std::string_view input) {
  CompressionOptions options;
  options.codec = codec;
  auto compressor = make_compressor(options);
  JsonBuffer out;
  EXPECT_TRUE(compressor->begin());
  EXPECT_TRUE(compressor->update(input, out));
  EXPECT_TRUE(compressor->finish(out));
  return std::string(out.view());
}

std::string sample_text() {
  std::string text = "{\"Records\":[";
  for (int i = 0; i < 5000; ++i) {
    text += "{\"eventName\":\"GetObject\",\"eventID\":\"" + std::to_string(i * 2654435761u) + "\"},";
  }
  text.back() = ']';
  return text + "}";
}

Status try_decompress(std::string_view file, std::string& out, std::size_t max_output = std::size_t(1) << 34) {
  return decompress(file, out, max_output);
}

TEST(DetectEncodingTest, ReadsTheMagicBytes) {
  EXPECT_EQ(detect_encoding("\x1f\x8b\x08"), ContentEncoding::kGzip);
  EXPECT_EQ(detect_encoding("\x28\xb5\x2f\xfd\x00"), ContentEncoding::kZstd);
  EXPECT_EQ(detect_encoding("\x28\xb5\x2f"), ContentEncoding::kUnknown);
  EXPECT_EQ(detect_encoding("{\"Records\":[]}"), ContentEncoding::kUnknown);
  EXPECT_EQ(detect_encoding(""), ContentEncoding::kUnknown);
  EXPECT_EQ(detect_encoding("\x1f"), ContentEncoding::kUnknown);
}

TEST(DecompressTest, ConcatenatedGzipMembersReadLikeGunzip) {
  const std::string a = sample_text(), b = "second member";
  const std::string file = compress(Compression::kGzip, a) + compress(Compression::kGzip, b);
  std::string out;
  ASSERT_TRUE(try_decompress(file, out));
  EXPECT_EQ(out, a + b);
  EXPECT_EQ(count_gzip_members(file), 2u);
  EXPECT_EQ(count_gzip_members(compress(Compression::kGzip, a)), 1u);
  EXPECT_EQ(count_gzip_members(compress(Compression::kZstd, a)), 0u);
}

TEST(DecompressTest, ConcatenatedZstdFramesReadLikeZstdCat) {
  const std::string a = sample_text(), b = "second frame";
  std::string out;
  ASSERT_TRUE(try_decompress(compress(Compression::kZstd, a) + compress(Compression::kZstd, b), out));
  EXPECT_EQ(out, a + b);
}

TEST(DecompressTest, ReplacesWhateverTheOutputHeld) {
  std::string out = "stale";
  ASSERT_TRUE(try_decompress(compress(Compression::kGzip, "fresh"), out));
  EXPECT_EQ(out, "fresh");
}

TEST(DecompressTest, EveryTruncationIsAnError) {
  for (Compression codec : {Compression::kGzip, Compression::kZstd}) {
    const std::string file = compress(codec, sample_text());
    for (std::size_t keep = 0; keep < file.size(); keep += (keep < 64 || file.size() - keep < 64) ? 1 : 97) {
      std::string out;
      const Status status = try_decompress(std::string_view(file).substr(0, keep), out);
      EXPECT_FALSE(status) << "prefix of " << keep << " of " << file.size() << " bytes accepted";
      if (keep >= 32) {
        EXPECT_NE(status.message().find("truncated"), std::string::npos) << status.message();
      }
    }
  }
}

TEST(DecompressTest, GzipTrailerMismatchesAreNamed) {
  const std::string good = compress(Compression::kGzip, sample_text());
  std::string out;
  std::string bad_crc = good;
  bad_crc[bad_crc.size() - 8] ^= 0x01;
  Status status = try_decompress(bad_crc, out);
  EXPECT_NE(status.message().find("incorrect data check"), std::string::npos) << status.message();
  std::string bad_size = good;
  bad_size[bad_size.size() - 1] ^= 0x01;
  status = try_decompress(bad_size, out);
  EXPECT_NE(status.message().find("incorrect length check"), std::string::npos) << status.message();
}

TEST(DecompressTest, CorruptBodyBytesAreErrors) {
  for (Compression codec : {Compression::kGzip, Compression::kZstd}) {
    const std::string good = compress(codec, sample_text());
    for (std::size_t at = 12; at + 12 < good.size(); at += 61) {
      std::string bad = good;
      bad[at] = static_cast<char>(bad[at] ^ 0x5a);
      std::string out;
      EXPECT_FALSE(try_decompress(bad, out)) << "flip at byte " << at << " of " << good.size() << " went unnoticed";
    }
  }
}

TEST(DecompressTest, TrailingGarbageAfterTheLastMemberIsAnError) {
  std::string out;
  const Status gzip = try_decompress(compress(Compression::kGzip, "abc") + "junk", out);
  EXPECT_NE(gzip.message().find("trailing garbage"), std::string::npos) << gzip.message();
  EXPECT_FALSE(try_decompress(compress(Compression::kZstd, "abc") + "junk", out));
}

TEST(DecompressTest, OutputIsCappedAgainstZipBombs) {
  const std::string zeros(std::size_t(32) << 20, '\0');  // 32 MiB that compresses ~1000x
  for (Compression codec : {Compression::kGzip, Compression::kZstd}) {
    const std::string bomb = compress(codec, zeros);
    std::string out;
    const Status status = try_decompress(bomb, out, std::size_t(1) << 20);
    EXPECT_NE(status.message().find("exceeds the limit"), std::string::npos) << status.message();
    EXPECT_LE(out.size(), (std::size_t(1) << 20) + 1);
    EXPECT_TRUE(try_decompress(bomb, out, zeros.size())) << "exactly the limit is allowed";
    EXPECT_EQ(out.size(), zeros.size());
    EXPECT_FALSE(try_decompress(bomb, out, zeros.size() - 1));
  }
}

TEST(DecompressTest, UnknownOrEmptyInputIsAnError) {
  std::string out;
  EXPECT_NE(try_decompress("", out).message().find("empty"), std::string::npos);
  EXPECT_NE(try_decompress("{\"Records\":[]}", out).message().find("neither gzip"), std::string::npos);
}

}  // namespace
}  // namespace trailkit::detail
