// The compress stage: every codec/level round-trips however the input is sliced, gzip is one
// member with the fixed header, output is deterministic, memory stays flat, and the stock CLI
// tools read what we write.

#include "compress/compressor.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zstd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/fast_random.hpp"
#include "compress/decompress.hpp"

namespace trailkit::detail {
namespace {

// CloudTrail-like JSON: repeated keys and vocabulary (compressible) mixed with random IDs
// (incompressible), so every codec exercises matches, literals and block boundaries.
std::string make_log_text(std::size_t size, std::uint64_t seed) {
  static constexpr const char* kEventNames[] = {"GetObject", "PutObject", "AssumeRole", "Decrypt", "GetItem",
                                                "SendMessage", "DescribeInstances", "ConsoleLogin"};
  static constexpr const char* kRegions[] = {"us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"};
  static constexpr char kHex[] = "0123456789abcdef";
  FastRandom random(seed);
  std::string text = "{\"Records\":[";
  text.reserve(size + 2048);
  while (text.size() < size) {
    const std::uint64_t r = random.next();
    text += "{\"eventVersion\":\"1.08\",\"eventTime\":\"2023-10-05T14:";
    text += std::to_string(10 + r % 50) + ":" + std::to_string(10 + (r >> 8) % 50);
    text += "Z\",\"eventName\":\"";
    text += kEventNames[(r >> 16) % std::size(kEventNames)];
    text += "\",\"awsRegion\":\"";
    text += kRegions[(r >> 24) % std::size(kRegions)];
    text += "\",\"eventID\":\"";
    for (int i = 0; i < 32; ++i) text += kHex[random.next() & 15];
    text += "\",\"readOnly\":";
    text += (r >> 32) & 1 ? "true" : "false";
    text += "},";
  }
  text.resize(size);
  return text;
}

// Compresses `input` as one stream, cutting it at the sizes `next_piece` returns, and drains
// the output buffer after every call the way the batch worker does.
template <class NextPiece>
std::string compress_pieces(Compressor& compressor, std::string_view input, NextPiece next_piece,
                            std::size_t* max_capacity = nullptr) {
  JsonBuffer out;
  std::string file;
  const auto drain = [&] {
    if (max_capacity) *max_capacity = std::max(*max_capacity, out.capacity());
    file.append(out.data(), out.size());
    out.clear();
  };
  EXPECT_TRUE(compressor.begin());
  while (!input.empty()) {
    const std::size_t piece = std::min(next_piece(), input.size());
    const Status status = compressor.update(input.substr(0, piece), out);
    EXPECT_TRUE(status) << status.message();
    drain();
    input.remove_prefix(piece);
  }
  const Status status = compressor.finish(out);
  EXPECT_TRUE(status) << status.message();
  drain();
  return file;
}

std::string compress_whole(Compressor& compressor, std::string_view input) {
  return compress_pieces(compressor, input, [&] { return input.size(); });
}

std::string decompressed(std::string_view file) {
  std::string out;
  const Status status = decompress(file, out);
  EXPECT_TRUE(status) << status.message();
  return out;
}

std::size_t zstd_frame_count(std::string_view file) {
  std::size_t frames = 0;
  while (!file.empty()) {
    const std::size_t size = ZSTD_findFrameCompressedSize(file.data(), file.size());
    if (ZSTD_isError(size)) return 0;
    ++frames;
    file.remove_prefix(size);
  }
  return frames;
}

struct Codec {
  Compression codec;
  GzipEngine engine;
  int level;
  bool is_gzip() const { return codec == Compression::kGzip; }
  CompressionOptions options() const {
    CompressionOptions options;
    options.codec = codec;
    options.gzip_engine = engine;
    options.level = level;
    return options;
  }
};

std::string codec_name(const testing::TestParamInfo<Codec>& info) {
  const Codec& c = info.param;
  const std::string name = c.codec == Compression::kZstd ? "zstd" : c.engine == GzipEngine::kIsal ? "isal" : "zlib";
  return name + "_level" + (c.level < 0 ? std::string("default") : std::to_string(c.level));
}

class CompressorTest : public testing::TestWithParam<Codec> {
 protected:
  std::unique_ptr<Compressor> make() const { return make_compressor(GetParam().options()); }
};

TEST_P(CompressorTest, RoundTripsRandomSizedPiecesIncludingEmptyAndTinyOnes) {
  const std::string input = make_log_text(3 << 20, 1);
  FastRandom random(7);
  auto compressor = make();
  const std::string file = compress_pieces(*compressor, input, [&]() -> std::size_t {
    switch (random.next() % 4) {
      case 0: return 0;                        // empty update
      case 1: return 1 + random.next() % 3;    // a few bytes
      default: return random.next() % 65536;   // up to 64 KiB
    }
  });
  EXPECT_EQ(decompressed(file), input);
  EXPECT_LT(file.size(), input.size() / 2) << "the text should compress";
}

TEST_P(CompressorTest, RoundTripsOneBytePiecesIntoTheSameBytesAsOneUpdate) {
  const std::string input = make_log_text(300 << 10, 2);
  auto compressor = make();
  const std::string file = compress_pieces(*compressor, input, [] { return std::size_t(1); });
  EXPECT_EQ(decompressed(file), input);
  EXPECT_EQ(file, compress_whole(*compressor, input));
}

TEST_P(CompressorTest, EmptyStreamIsAValidEmptyFile) {
  auto compressor = make();
  const std::string file = compress_whole(*compressor, "");
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(decompressed(file), "");
  if (GetParam().is_gzip()) {
    EXPECT_EQ(count_gzip_members(file), 1u);
  }
}

TEST_P(CompressorTest, GzipIsOneMemberWithTheFixedHeaderAndZstdOneCheckedFrame) {
  const std::string input = make_log_text(2 << 20, 3);
  auto compressor = make();
  const std::string file = compress_pieces(*compressor, input, [] { return std::size_t(100'000); });
  if (GetParam().is_gzip()) {
    EXPECT_EQ(detect_encoding(file), ContentEncoding::kGzip);
    // 1f 8b, deflate, no flags, MTIME 0, XFL 0, OS 0 ("FAT filesystem", like CloudTrail's files).
    EXPECT_EQ(file.substr(0, 10), std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x00", 10));
    EXPECT_EQ(count_gzip_members(file), 1u) << "validate-logs inflates only the first member";
    EXPECT_STREQ(compressor->suffix(), ".json.gz");
  } else {
    EXPECT_EQ(detect_encoding(file), ContentEncoding::kZstd);
    const auto descriptor = static_cast<unsigned char>(file[4]);
    EXPECT_TRUE(descriptor & 0x04) << "content checksum flag";
    EXPECT_EQ(zstd_frame_count(file), 1u);
    EXPECT_STREQ(compressor->suffix(), ".json.zst");
  }
}

// A retried file must be byte-identical (its digest hash is over the same records), even when
// the retry re-serializes the records and so cuts the input differently, on a fresh or a reused
// compressor, including one whose previous stream was abandoned without finish().
TEST_P(CompressorTest, IdenticalInputGivesIdenticalBytesHoweverCutAndOnReuse) {
  const std::string input = make_log_text(1 << 20, 4);
  const std::string other = make_log_text(300 << 10, 5);
  const auto random_pieces = [](std::uint64_t seed, std::size_t limit) {
    return [random = FastRandom(seed), limit]() mutable { return std::size_t(random.next() % limit); };
  };
  auto first = make();
  const std::string reference = compress_pieces(*first, input, random_pieces(11, 40'000));
  EXPECT_EQ(decompressed(compress_pieces(*first, other, random_pieces(12, 40'000))), other);
  JsonBuffer scratch;
  ASSERT_TRUE(first->begin());
  ASSERT_TRUE(first->update(other, scratch));
  EXPECT_EQ(compress_pieces(*first, input, random_pieces(11, 40'000)), reference) << "reuse after abandon";
  auto second = make();
  EXPECT_EQ(compress_pieces(*second, input, random_pieces(11, 40'000)), reference) << "fresh instance";
  EXPECT_EQ(compress_pieces(*second, input, random_pieces(13, 700'000)), reference) << "other cuts";
  EXPECT_EQ(compress_whole(*second, input), reference) << "one update";
  EXPECT_EQ(compress_pieces(*second, input, [] { return std::size_t(1) << 18; }), reference) << "256 KiB cuts";
}

TEST_P(CompressorTest, UpdateOrFinishWithoutBeginIsAnError) {
  auto compressor = make();
  JsonBuffer out;
  EXPECT_EQ(compressor->update("x", out).kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(compressor->finish(out).kind(), ErrorKind::kInvalidArgument);
  ASSERT_TRUE(compressor->begin());
  ASSERT_TRUE(compressor->finish(out));
  EXPECT_EQ(compressor->finish(out).kind(), ErrorKind::kInvalidArgument) << "a finished stream is closed";
  EXPECT_TRUE(out.size() > 0);
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, CompressorTest,
                         testing::Values(Codec{Compression::kGzip, GzipEngine::kIsal, 0},
                                         Codec{Compression::kGzip, GzipEngine::kIsal, 1},
                                         Codec{Compression::kGzip, GzipEngine::kIsal, 2},
                                         Codec{Compression::kGzip, GzipEngine::kIsal, 3},
                                         Codec{Compression::kGzip, GzipEngine::kZlib, 1},
                                         Codec{Compression::kGzip, GzipEngine::kZlib, -1},
                                         Codec{Compression::kGzip, GzipEngine::kZlib, 9},
                                         Codec{Compression::kZstd, GzipEngine::kIsal, -1},
                                         Codec{Compression::kZstd, GzipEngine::kIsal, 3},
                                         Codec{Compression::kZstd, GzipEngine::kIsal, 9}),
                         codec_name);

// 64 MiB in 1 MiB pieces: the round trip holds past every internal buffer size, and the output
// buffer the worker drains stays about one piece's worth, not the file's size.
class LargeStreamTest : public testing::TestWithParam<Codec> {};

TEST_P(LargeStreamTest, SixtyFourMebibytesInOneMebibytePiecesWithFlatMemory) {
  static const std::string input = make_log_text(64 << 20, 6);
  auto compressor = make_compressor(GetParam().options());
  std::size_t max_capacity = 0;
  const std::string file =
      compress_pieces(*compressor, input, [] { return std::size_t(1) << 20; }, &max_capacity);
  EXPECT_EQ(decompressed(file), input);
  if (GetParam().is_gzip()) {
    EXPECT_EQ(count_gzip_members(file), 1u);
  }
  EXPECT_LE(max_capacity, std::size_t(4) << 20) << "output buffer grew with the stream";
}

INSTANTIATE_TEST_SUITE_P(DefaultLevels, LargeStreamTest,
                         testing::Values(Codec{Compression::kGzip, GzipEngine::kIsal, -1},
                                         Codec{Compression::kGzip, GzipEngine::kZlib, 1},
                                         Codec{Compression::kZstd, GzipEngine::kIsal, -1}),
                         codec_name);

// The files must open with the stock tools an operator reaches for.
std::string run_and_read(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return "popen failed";
  char chunk[65536];
  std::size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) output.append(chunk, n);
  EXPECT_EQ(pclose(pipe), 0) << command;
  return output;
}

TEST(CompressorCliTest, GzipAndZstdCommandLineToolsReadOurFiles) {
  const std::string input = make_log_text(3 << 20, 8);
  const auto dir = std::filesystem::temp_directory_path() / ("trailkit_compress_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const Codec codecs[] = {{Compression::kGzip, GzipEngine::kIsal, 1},
                          {Compression::kGzip, GzipEngine::kZlib, 6},
                          {Compression::kZstd, GzipEngine::kIsal, 1}};
  for (const Codec& codec : codecs) {
    auto compressor = make_compressor(codec.options());
    const std::string file = compress_pieces(*compressor, input, [] { return std::size_t(77'777); });
    const auto path = dir / (std::string("file") + compressor->suffix());
    std::ofstream(path, std::ios::binary).write(file.data(), static_cast<std::streamsize>(file.size()));
    const std::string tool = codec.is_gzip() ? "gzip -dc " : "zstd -dcq ";
    EXPECT_EQ(run_and_read(tool + path.string()), input) << tool;
  }
  std::filesystem::remove_all(dir);
}

// zstd on compression threads (CompressionOptions::threads): one valid checked frame that the stock
// tool reads, for a stream large enough to be split into several jobs, reused across files, with
// the worker's output buffer still flat.
TEST(ZstdThreadsTest, ThreadedFramesRoundTripAndTheStockToolReadsThem) {
  static const std::string input = make_log_text(24 << 20, 11);
  const auto dir = std::filesystem::temp_directory_path() / ("trailkit_zstd_threads_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  for (const int threads : {1, 2}) {
    CompressionOptions options;
    options.codec = Compression::kZstd;
    options.threads = threads;
    auto compressor = make_compressor(options);
    for (int file_number = 0; file_number < 2; ++file_number) {
      std::size_t max_capacity = 0;
      const std::string file = compress_pieces(*compressor, input, [] { return std::size_t(1) << 20; }, &max_capacity);
      EXPECT_EQ(decompressed(file), input) << threads << " threads, file " << file_number;
      EXPECT_LE(max_capacity, std::size_t(8) << 20) << "output buffer grew with the stream";
      const auto path = dir / ("t" + std::to_string(threads) + ".json.zst");
      std::ofstream(path, std::ios::binary).write(file.data(), static_cast<std::streamsize>(file.size()));
      EXPECT_EQ(run_and_read("zstd -tq " + path.string() + " && echo ok"), "ok\n");
    }
  }
  std::filesystem::remove_all(dir);
}

TEST(CompressionOptionsTest, ValidateNamesTheFieldAndTheRule) {
  const auto message = [](Compression codec, GzipEngine engine, int level) -> std::string {
    CompressionOptions options;
    options.codec = codec;
    options.gzip_engine = engine;
    options.level = level;
    try {
      options.validate();
    } catch (const std::invalid_argument& error) {
      return error.what();
    }
    return "valid";
  };
  EXPECT_EQ(message(Compression::kGzip, GzipEngine::kIsal, 7).rfind("compression.level 7: ISA-L gzip levels are 0..3", 0), 0u);
  EXPECT_EQ(message(Compression::kGzip, GzipEngine::kIsal, -2).rfind("compression.level -2: ISA-L", 0), 0u);
  EXPECT_EQ(message(Compression::kGzip, GzipEngine::kZlib, 0).rfind("compression.level 0: zlib gzip levels are 1..9", 0), 0u);
  EXPECT_EQ(message(Compression::kZstd, GzipEngine::kIsal, 20).rfind("compression.level 20: zstd levels are 1..19", 0), 0u);
  EXPECT_EQ(message(static_cast<Compression>(9), GzipEngine::kIsal, -1).rfind("compression.codec 9:", 0), 0u);
  EXPECT_EQ(message(Compression::kGzip, static_cast<GzipEngine>(5), -1).rfind("compression.gzip_engine 5:", 0), 0u);
  for (int level : {-1, 0, 3}) EXPECT_EQ(message(Compression::kGzip, GzipEngine::kIsal, level), "valid");
  for (int level : {-1, 1, 9}) EXPECT_EQ(message(Compression::kGzip, GzipEngine::kZlib, level), "valid");
  for (int level : {-1, 1, 19}) EXPECT_EQ(message(Compression::kZstd, GzipEngine::kZlib, level), "valid");
  const auto threads_message = [](Compression codec, int threads) -> std::string {
    CompressionOptions options;
    options.codec = codec;
    options.threads = threads;
    try {
      options.validate();
    } catch (const std::invalid_argument& error) {
      return error.what();
    }
    return "valid";
  };
  EXPECT_EQ(threads_message(Compression::kZstd, 9).rfind("compression.threads 9: must be 0..8", 0), 0u);
  EXPECT_EQ(threads_message(Compression::kZstd, -1).rfind("compression.threads -1: must be 0..8", 0), 0u);
  EXPECT_EQ(threads_message(Compression::kGzip, 1).rfind("compression.threads 1: only zstd", 0), 0u);
  for (int threads : {0, 1, 8}) EXPECT_EQ(threads_message(Compression::kZstd, threads), "valid");
}

TEST(CompressionOptionsTest, FactoryValidatesAndResolvesDefaults) {
  CompressionOptions options;
  options.level = 4;
  EXPECT_THROW(make_compressor(options), std::invalid_argument);
  options.level = -1;
  EXPECT_EQ(resolved_level(options), 1);
  options.gzip_engine = GzipEngine::kZlib;
  EXPECT_EQ(resolved_level(options), 6);
  options.codec = Compression::kZstd;
  EXPECT_EQ(resolved_level(options), 1);
  EXPECT_STREQ(make_compressor(options)->suffix(), options.suffix());
}

TEST(CompressionOptionsTest, ParseCompressionTakesTheCliNames) {
  EXPECT_EQ(parse_compression("gzip"), Compression::kGzip);
  EXPECT_EQ(parse_compression("zstd"), Compression::kZstd);
  try {
    parse_compression("brotli");
    FAIL() << "accepted brotli";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(), "compression \"brotli\": must be \"gzip\" or \"zstd\"");
  }
}

}  // namespace
}  // namespace trailkit::detail
