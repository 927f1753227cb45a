// Tests for append_sanitized_json: caller-supplied requestParameters/responseElements JSON is embedded into a
// record only as valid, compact JSON, and a bad document never leaves half a value in the record buffer.

#include "serialize/json_sanitize.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/fast_random.hpp"
#include "guarded_page.hpp"

namespace trailkit::detail {
namespace {

constexpr std::string_view kPrefix = "{\"requestParameters\":";
constexpr int kDepth = 64;

struct Sanitized {
  RawJsonResult result;
  std::string out;  // what was appended after kPrefix (or the whole buffer if the prefix was damaged)
  bool prefix_intact;
};

Sanitized sanitize(std::string_view raw, int max_depth = kDepth) {
  JsonBuffer buffer;
  buffer.append(kPrefix);
  Sanitized s;
  s.result = append_sanitized_json(buffer, raw, max_depth);
  s.prefix_intact = buffer.view().substr(0, kPrefix.size()) == kPrefix;
  s.out = std::string(buffer.view().substr(s.prefix_intact ? kPrefix.size() : 0));
  return s;
}

// Exact expected output for documents whose compact form nlohmann reproduces byte for byte (integers only, no
// U+007F / U+2028 / U+2029, which we escape and nlohmann does not): ordered_json keeps the key order.
TEST(JsonSanitizeTest, CompactsLikeAJsonLibrary) {
  const char* const documents[] = {
      "{}",
      "[]",
      "  {\n  \"bucketName\" : \"my-bucket\",\n\t\"Host\": \"my-bucket.s3.amazonaws.com\" ,\r\n \"acl\": \"\"\n}  ",
      R"({"instancesSet":{"items":[{"imageId":"ami-0abc","minCount":1,"maxCount":-2}]},"dryRun":false,"x":null})",
      "[ [ ] , { } , [ [ 1 ] ] , true , false , null ]",
      R"({"k":"caf\u00e9 \u65e5\u672c \ud83d\ude00","esc":"a\"b\\c\nd\te\u0001\b\f\r"})",
      "\"top-level string\"",
      "123",
      "null",
  };
  for (const char* doc : documents) {
    SCOPED_TRACE(doc);
    const Sanitized s = sanitize(doc);
    ASSERT_EQ(s.result.status, RawJsonStatus::kOk) << s.result.error;
    EXPECT_EQ(s.result.replacements, 0u);
    EXPECT_TRUE(s.prefix_intact);
    EXPECT_EQ(s.out, nlohmann::ordered_json::parse(doc).dump());
  }
  // Unlike a DOM round-trip, duplicate keys are not merged: the document is passed on as the caller sent it.
  EXPECT_EQ(sanitize(R"({"dup":1, "dup":2})").out, R"({"dup":1,"dup":2})");
}

TEST(JsonSanitizeTest, RoundTripsValidDocuments) {
  const char* const documents[] = {
      R"({"a":[1,2.5,-0,1e10,1E-5,-12.75e+3,0.0],"b":{"c":{"d":[[],[{}]]}},"s":"\/path\/to"})",
      R"([1.5, "x", {"y": [true, {"z": null}]}, -1.0e308, 12345678901234567890])",
      "\"\\u2028\\u2029\\u007f\"",
      "\r\n\t 42 \r\n\t",
      "[\"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\", \"\xF0\x9F\x98\x80\"]",
  };
  for (const char* doc : documents) {
    SCOPED_TRACE(doc);
    const Sanitized s = sanitize(doc);
    ASSERT_EQ(s.result.status, RawJsonStatus::kOk) << s.result.error;
    EXPECT_EQ(nlohmann::json::parse(s.out), nlohmann::json::parse(doc));
    EXPECT_EQ(s.out.find_first_of(" \n\r\t"), std::string::npos);
  }
}

TEST(JsonSanitizeTest, NumbersAreCopiedVerbatim) {
  // No float round-trip: IDs beyond 2^53 and trailing zeros survive byte for byte.
  for (const char* number : {"1.50", "-0", "0.0e-0", "1E+2", "12345678901234567890123", "-9.000"}) {
    EXPECT_EQ(sanitize(number).out, number);
    EXPECT_EQ(sanitize(std::string("[") + number + "]").out, std::string("[") + number + "]");
  }
}

TEST(JsonSanitizeTest, EscapesAreNormalised) {
  EXPECT_EQ(sanitize(R"("\u0041\/\u00e9\u00E9")").out, "\"A/\xC3\xA9\xC3\xA9\"");
  EXPECT_EQ(sanitize(R"("\ud83d\ude00")").out, "\"\xF0\x9F\x98\x80\"");
  EXPECT_EQ(sanitize(R"("\u000a\u0009\u001F\u0000\u007F\u2028\u2029")").out,
            R"("\n\t\u001f\u0000\u007f\u2028\u2029")");
  EXPECT_EQ(sanitize(R"("\u0022\u005c")").out, R"("\"\\")");
  // Raw bytes that are valid in input JSON but that we always escape.
  EXPECT_EQ(sanitize("\"a\x7F\xE2\x80\xA8\"").out, R"("a\u007f\u2028")");
  // Keys go through the same path.
  EXPECT_EQ(sanitize(R"({"\u006b\/": 1})").out, R"({"k/":1})");
}

TEST(JsonSanitizeTest, LoneSurrogatesAndInvalidUtf8BecomeReplacementCharacters) {
  const std::string fffd = "\xEF\xBF\xBD";
  struct Case {
    std::string raw, expected;
    std::size_t replacements;
  };
  const Case cases[] = {
      {R"("\ud800")", "\"" + fffd + "\"", 1},
      {R"("\udc00x")", "\"" + fffd + "x\"", 1},
      {R"("\ud800\u0041")", "\"" + fffd + "A\"", 1},
      {R"("\ud800\ud800\udc00")", "\"" + fffd + "\xF0\x90\x80\x80\"", 1},
      {R"("\udbff\udfff")", "\"\xF4\x8F\xBF\xBF\"", 0},
      {"\"a\xC0\xAF" "b\"", "\"a" + fffd + fffd + "b\"", 2},
      {"{\"k\xED\xA0\x80\":\"\xF0\x9F\x98\"}", "{\"k" + fffd + fffd + fffd + "\":\"" + fffd + "\"}", 4},
      // A truncated sequence right before an escape ends like a truncated sequence at the end of the string.
      {"\"\xE2\x82\\n\"", "\"" + fffd + "\\n\"", 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.raw);
    const Sanitized s = sanitize(c.raw);
    ASSERT_EQ(s.result.status, RawJsonStatus::kOk) << s.result.error;
    EXPECT_EQ(s.out, c.expected);
    EXPECT_EQ(s.result.replacements, c.replacements);
    EXPECT_TRUE(nlohmann::json::accept(s.out));
  }
}

TEST(JsonSanitizeTest, InvalidDocumentsLeaveOutputUnchanged) {
  const std::string_view documents[] = {
      "", "   ", "[1,2,]", "{\"a\":1,}", "[,]", "{,}", "[1 2]", "01", "[01]", "-01", "1.", "1.e5", ".5", "+1", "-",
      "1e", "1e+", "0x10", "{a:1}", "{'a':1}", "['a']", "{} x", "[1]]", "{\"a\":1}}", "1 2", "\"a\x01\"",
      "\"line\nbreak\"", "\"tab\there\"", std::string_view("\"nul\0\"", 6), "{\"a\":", "[1,", "\"abc", "\"abc\\",
      "\"\\u12", "\"\\u12G4\"", "\"\\x41\"", "\"\\ud800\\uZZZZ\"", "tru", "nul", "nulll", "truex", "True", "NaN",
      "Infinity", "-Infinity", "/*c*/1", "// c\n1", "\xEF\xBB\xBF{}", "{1:2}", "[\"a\":1]", "{\"a\":1]", "[1}",
      "{\"a\" 1}", "{\"a\"}", "{\"a\":}", "[\"a\",]", "]", "}", ":", ",", "[", "{", "{\"a\":1 \"b\":2}",
      std::string_view("[1]\0", 4),
  };
  for (const std::string_view doc : documents) {
    SCOPED_TRACE(std::string(doc));
    const Sanitized s = sanitize(doc);
    EXPECT_EQ(s.result.status, RawJsonStatus::kInvalid);
    EXPECT_NE(s.result.error, nullptr);
    EXPECT_LE(s.result.error_offset, doc.size());
    EXPECT_TRUE(s.prefix_intact);
    EXPECT_EQ(s.out, "");
  }
}

TEST(JsonSanitizeTest, ErrorNamesTheRuleAndOffset) {
  RawJsonResult r = sanitize("{\"a\" 1}").result;
  EXPECT_STREQ(r.error, "expected ':' after object key");
  EXPECT_EQ(r.error_offset, 5u);
  r = sanitize("[1,2,]").result;
  EXPECT_STREQ(r.error, "expected a value");
  EXPECT_EQ(r.error_offset, 5u);
  r = sanitize("{\"k\":\"a\nb\"}").result;
  EXPECT_EQ(r.error_offset, 7u);
  r = sanitize("[1] x").result;
  EXPECT_STREQ(r.error, "unexpected data after the JSON value");
  EXPECT_EQ(r.error_offset, 4u);
}

std::string nested(std::size_t depth, bool objects_too) {
  std::string open, close;
  for (std::size_t i = 0; i < depth; ++i) {
    if (objects_too && i % 3 == 1) {
      open += "{\"k\":";
      close += "}";
    } else {
      open += "[";
      close += "]";
    }
  }
  return open + "0" + std::string(close.rbegin(), close.rend());
}

TEST(JsonSanitizeTest, DepthLimitIsExact) {
  for (int max_depth : {0, 1, 5, 63, 64, 65, 200}) {
    SCOPED_TRACE(max_depth);
    const auto depth = static_cast<std::size_t>(max_depth);
    const std::string ok = nested(depth, true);
    const Sanitized fits = sanitize(ok, max_depth);
    ASSERT_EQ(fits.result.status, RawJsonStatus::kOk) << fits.result.error;
    EXPECT_EQ(nlohmann::json::parse(fits.out), nlohmann::json::parse(ok));
    const Sanitized deeper = sanitize(nested(depth + 1, true), max_depth);
    EXPECT_EQ(deeper.result.status, RawJsonStatus::kTooDeep);
    EXPECT_EQ(deeper.out, "");
  }
  EXPECT_EQ(sanitize("[]", -1).result.status, RawJsonStatus::kTooDeep);
  EXPECT_EQ(sanitize("7", 0).result.status, RawJsonStatus::kOk);
}

// The bit-stack must remember object vs array across its 64-bit words (and on the heap for huge limits).
TEST(JsonSanitizeTest, MismatchedClosersAreCaughtAtAnyDepth) {
  for (std::size_t depth : {2u, 63u, 64u, 65u, 130u, 5000u}) {
    SCOPED_TRACE(depth);
    std::string doc = nested(depth, true);
    const std::size_t last_object_close = doc.rfind('}');
    ASSERT_NE(last_object_close, std::string::npos);
    const Sanitized good = sanitize(doc, 10000);
    ASSERT_EQ(good.result.status, RawJsonStatus::kOk) << good.result.error;
    doc[last_object_close] = ']';
    EXPECT_EQ(sanitize(doc, 10000).result.status, RawJsonStatus::kInvalid);
  }
}

TEST(JsonSanitizeTest, HostileNestingFinishesFast) {
  const std::string brackets(100000, '[');
  const auto start = std::chrono::steady_clock::now();
  const Sanitized limited = sanitize(brackets, 512);
  EXPECT_EQ(limited.result.status, RawJsonStatus::kTooDeep);
  EXPECT_EQ(limited.result.error_offset, 512u);
  EXPECT_EQ(limited.out, "");
  // With a limit above the nesting the parser walks all of it (heap bit-stack) and reports the truncation.
  const Sanitized unlimited = sanitize(brackets, 1 << 30);
  EXPECT_EQ(unlimited.result.status, RawJsonStatus::kInvalid);
  EXPECT_EQ(unlimited.out, "");
  const Sanitized balanced = sanitize(brackets + std::string(100000, ']'), 100000);
  EXPECT_EQ(balanced.result.status, RawJsonStatus::kOk);
  EXPECT_EQ(balanced.out.size(), 200000u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(JsonSanitizeTest, MegabyteStringIsCopied) {
  std::string body;
  while (body.size() < (1u << 20)) body += "abcdefghij\\n\xC3\xA9\\u00e9\\\"0123456789";
  const std::string doc = "{\"big\":\"" + body + "\"}";
  const Sanitized s = sanitize(doc);
  ASSERT_EQ(s.result.status, RawJsonStatus::kOk) << s.result.error;
  EXPECT_EQ(nlohmann::json::parse(s.out), nlohmann::json::parse(doc));
  // An unterminated megabyte string is rejected and rolled back.
  const Sanitized cut = sanitize(doc.substr(0, doc.size() - 2));
  EXPECT_EQ(cut.result.status, RawJsonStatus::kInvalid);
  EXPECT_EQ(cut.out, "");
}

// Output can be 6x the input (raw U+007F -> "\u007f"); documents below and above the size where the sanitizer
// switches from one up-front reservation to per-token capacity checks must both get it right.
TEST(JsonSanitizeTest, WorstCaseExpansionOnBothSidesOfTheReservationLimit) {
  for (std::size_t size : {1000u, 65000u, 65536u, 70000u}) {
    SCOPED_TRACE(size);
    const std::string doc = "[\"" + std::string(size, '\x7F') + "\",\"\xC0\"]";
    std::string expected = "[\"";
    for (std::size_t i = 0; i < size; ++i) expected += "\\u007f";
    expected += "\",\"\xEF\xBF\xBD\"]";
    const Sanitized s = sanitize(doc);
    ASSERT_EQ(s.result.status, RawJsonStatus::kOk) << s.result.error;
    EXPECT_EQ(s.result.replacements, 1u);
    EXPECT_TRUE(s.prefix_intact);
    EXPECT_EQ(s.out, expected);
  }
}

// Differential fuzz against nlohmann (a strict RFC 8259 parser that also rejects invalid UTF-8 and lone
// surrogates): whatever nlohmann accepts we accept with the same value; whatever we accept without replacements
// nlohmann accepts; and our output, when we accept, is always valid JSON. nlohmann also refuses numbers that
// overflow a double ("1e999", out_of_range 406) although RFC 8259 allows them: such documents are judged only on
// the grammar of our output.
enum class Verdict { kValid, kInvalid, kNumberOverflow };

Verdict judge(std::string_view json, nlohmann::json* value) {
  // A raw NUL is never valid JSON (not whitespace, not allowed unescaped in strings), but nlohmann's lexer takes
  // it for the end of input, so it would accept "1\0garbage".
  if (json.find('\0') != std::string_view::npos) return Verdict::kInvalid;
  try {
    *value = nlohmann::json::parse(json);
    return Verdict::kValid;
  } catch (const nlohmann::json::parse_error&) {
    return Verdict::kInvalid;
  } catch (const nlohmann::json::out_of_range&) {
    return Verdict::kNumberOverflow;
  }
}

void check_against_reference(std::string_view raw) {
  const Sanitized s = sanitize(raw);
  ASSERT_TRUE(s.prefix_intact);
  nlohmann::json reference, ours;
  const Verdict reference_verdict = judge(raw, &reference);
  if (s.result.status != RawJsonStatus::kOk) {
    ASSERT_EQ(s.out, "");
    ASSERT_NE(reference_verdict, Verdict::kValid)
        << "rejected valid JSON: " << s.result.error << " at " << s.result.error_offset;
    return;
  }
  const Verdict our_verdict = judge(s.out, &ours);
  ASSERT_NE(our_verdict, Verdict::kInvalid) << s.out;
  if (s.result.replacements == 0) {
    ASSERT_NE(reference_verdict, Verdict::kInvalid) << "accepted invalid JSON";
  }
  if (reference_verdict == Verdict::kValid) {
    ASSERT_EQ(ours, reference);
  }
}

TEST(JsonSanitizeTest, FuzzRandomBytesAndMutatedDocuments) {
  FastRandom random(20240601);
  const std::string seeds[] = {
      R"({"bucketName":"logs","key":"a/b\u00e9.txt","versions":[1,-2.5e3,0],"flags":{"x":true,"y":null}})",
      R"([{"instanceId":"i-0123","tags":[{"key":"Name","value":"\ud83d\ude00 web"}]},"\\\"",[[]],{}])",
      "{\"policy\":\"{\\\"Version\\\":\\\"2012-10-17\\\"}\",\"caf\xC3\xA9\":\"\xE6\x97\xA5\"}",
  };
  const char alphabet[] = "{}[]:,\"\\ \n0123456789-+.eEtrufalsn/u\x01\x7F\x80\xC3\xE2\xED\xF0\xFF";
  int accepted = 0;
  for (int iteration = 0; iteration < 20000; ++iteration) {
    std::string raw;
    if (iteration % 2 == 0) {
      const std::size_t size = random.next() % 40;
      for (std::size_t i = 0; i < size; ++i) {
        const std::uint64_t r = random.next();
        raw.push_back(r % 8 == 0 ? static_cast<char>(r >> 8) : alphabet[(r >> 8) % (sizeof alphabet - 1)]);
      }
    } else {
      raw = seeds[random.next() % std::size(seeds)];
      const int mutations = 1 + static_cast<int>(random.next() % 3);
      for (int m = 0; m < mutations && !raw.empty(); ++m) {
        const std::size_t at = random.next() % raw.size();
        const char c = alphabet[random.next() % (sizeof alphabet - 1)];
        switch (random.next() % 3) {
          case 0: raw[at] = c; break;
          case 1: raw.insert(raw.begin() + static_cast<std::ptrdiff_t>(at), c); break;
          default: raw.erase(at, 1 + random.next() % 4); break;
        }
      }
    }
    SCOPED_TRACE(raw);
    check_against_reference(raw);
    if (HasFatalFailure()) return;
    accepted += sanitize(raw).result.status == RawJsonStatus::kOk;
  }
  EXPECT_GT(accepted, 1000);  // the mutations leave enough valid documents to test the accept path
}

// A document's last string is scanned with one 16-byte load that may extend past the document (never past its
// page). Documents ending right before an inaccessible page, and documents followed by bytes that would end or
// break a string ('"', '\\', control bytes), must give exactly the result of a standalone copy.
TEST(JsonSanitizeTest, SameResultAtPageEndsAndBeforeSpecialBytes) {
  const testing::GuardedPage guarded;
  ASSERT_TRUE(guarded.ok());
  char* const page_end = guarded.end();
  const std::string documents[] = {
      R"({"tableName":"Inventory","returnValues":"NONE"})", R"(["a","bc","\u00e9\n"])", R"("x")", R"("")",
      R"({"k":"v"})", R"({"k":"unterminated)", "{\"k\":\"caf\xC3\xA9\"}", "{\"k\":\"bad \xC3\"}", R"({"k":"a\)",
      "{\"k\":\"tab\there\"}", R"({"policy":"{\"Version\":\"2012-10-17\"}"} )"};
  for (const std::string& document : documents) {
    for (std::size_t trim = 0; trim <= document.size(); ++trim) {
      const std::string raw = document.substr(0, document.size() - trim);
      SCOPED_TRACE(raw);
      const Sanitized expected = sanitize(raw);
      char* const at_end = page_end - raw.size();
      std::memcpy(at_end, raw.data(), raw.size());
      char* const inside = guarded.begin() + 64;
      std::memcpy(inside, raw.data(), raw.size());
      std::memcpy(inside + raw.size(), "\"\\\n\"\"\"\"\"\"\"\"\"\"\"\"\"", 16);
      for (const char* placed : {static_cast<const char*>(at_end), static_cast<const char*>(inside)}) {
        const Sanitized got = sanitize(std::string_view(placed, raw.size()));
        EXPECT_EQ(got.out, expected.out);
        EXPECT_EQ(got.result.status, expected.result.status);
        EXPECT_EQ(got.result.error_offset, expected.result.error_offset);
        EXPECT_EQ(got.result.replacements, expected.result.replacements);
      }
    }
  }
}

// append_sanitized_json copies compact, printable-ASCII, escape-free documents after a validation-only walk and
// sends everything else to the exact parser (append_sanitized_json_exact). Whatever the document, the two must
// agree on every observable: bytes appended, status, error text, error offset, replacements.
void expect_same_as_exact(std::string_view raw, int max_depth = kDepth) {
  JsonBuffer fast;
  fast.append(kPrefix);
  JsonBuffer exact;
  exact.append(kPrefix);
  const RawJsonResult f = append_sanitized_json(fast, raw, max_depth);
  const RawJsonResult e = append_sanitized_json_exact(exact, raw, max_depth);
  ASSERT_EQ(fast.view(), exact.view());
  ASSERT_EQ(f.status, e.status);
  ASSERT_EQ(f.replacements, e.replacements);
  ASSERT_EQ(f.error_offset, e.error_offset);
  ASSERT_EQ(f.error == nullptr, e.error == nullptr);
  if (f.error != nullptr) {
    ASSERT_STREQ(f.error, e.error);
  }
}

// Random compact documents in the fast path's alphabet (so most of them take it), nested up to `depth`.
void random_value(FastRandom& random, std::string& out, int depth) {
  static const char* const kScalars[] = {"0",     "-0",   "12",   "-3.25", "1e5",  "2E-3", "1.5e+10", "true",
                                         "false", "null", "\"\"", "\"a\"", "\"arn:aws:s3:::b/k ey\"", "9007199254740993"};
  const std::uint64_t r = random.next();
  if (depth <= 0 || r % 3 == 0) {
    out += kScalars[(r >> 8) % std::size(kScalars)];
    return;
  }
  const bool object = (r >> 4) % 2 == 0;
  out += object ? '{' : '[';
  const std::size_t members = (r >> 16) % 4;
  for (std::size_t i = 0; i < members; ++i) {
    if (i > 0) out += ',';
    if (object) {
      out += '"';
      out += static_cast<char>('a' + random.next() % 26);
      out += "Key\":";
    }
    random_value(random, out, depth - 1);
  }
  out += object ? '}' : ']';
}

TEST(JsonSanitizeTest, FastPathMatchesTheExactParser) {
  FastRandom random(424242);
  const char alphabet[] = "{}[]:,\"\\ \t\n0123456789-+.eEtrufalsn/u\x01\x7F\x80\xC3\xE2\xFF";
  int fast_candidates = 0;
  for (int iteration = 0; iteration < 30000; ++iteration) {
    std::string raw;
    random_value(random, raw, 1 + static_cast<int>(random.next() % 6));
    const std::uint64_t r = random.next();
    switch (r % 6) {
      case 0:
        break;  // valid, compact
      case 1:   // one byte replaced by any byte value
        raw[random.next() % raw.size()] = static_cast<char>(random.next() >> 8);
        break;
      case 2:  // one syntax-ish byte inserted
        raw.insert(raw.begin() + static_cast<std::ptrdiff_t>(random.next() % (raw.size() + 1)),
                   alphabet[random.next() % (sizeof alphabet - 1)]);
        break;
      case 3:  // truncated
        raw.resize(random.next() % (raw.size() + 1));
        break;
      case 4:  // bytes erased
        raw.erase(random.next() % raw.size(), 1 + random.next() % 3);
        break;
      default:  // trailing garbage or whitespace
        raw += alphabet[random.next() % (sizeof alphabet - 1)];
        break;
    }
    fast_candidates += raw.find_first_of(" \t\n\r\\\x7F") == std::string::npos;
    SCOPED_TRACE(raw);
    // Depth limits around the document's nesting, including 0, negative and the 64-level register stack.
    const int max_depth = static_cast<int>(random.next() % 9) - 1;
    expect_same_as_exact(raw, kDepth);
    if (HasFatalFailure()) return;
    expect_same_as_exact(raw, max_depth);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(fast_candidates, 10000);
}

TEST(JsonSanitizeTest, FastPathMatchesTheExactParserOnEdgeCases) {
  const std::string_view documents[] = {
      "", "{}", "[]", "\"\"", "0", "-", "01", "1.", "1e", "-0.0e-0", "tru", "true", "nul", "fals", "[1,]", "{\"a\"}",
      "{\"a\":}", "{\"a\":1,}", "{\"a\" :1}", "{\"a\": 1}", " {}", "{} ", "[1] 2", "\"abc", "\"a\\n\"", "[\"a\",\"b]",
      "{\"k\":\"v\"}}", "[[[]]", "]", "{\"a\":1]", "[1}", "\"\x7F\"", "\"\xC3\xA9\"", "\"\xE2\x80\xA8\"", "\"\xFF\"",
      std::string_view("\"\0\"", 3), std::string_view("[0]\0", 4), "\"tab\there\"", "{\"a\":[1,2,{\"b\":null}],\"c\":\"d e\"}",
  };
  for (const std::string_view doc : documents) {
    SCOPED_TRACE(std::string(doc));
    for (int max_depth : {-1, 0, 1, 2, 64}) {
      expect_same_as_exact(doc, max_depth);
      if (HasFatalFailure()) return;
    }
  }
  // Nesting at and around the 64 levels the fast path handles itself, with limits on both sides.
  for (std::size_t depth : {1u, 62u, 63u, 64u, 65u, 66u, 200u}) {
    for (int max_depth : {0, 63, 64, 65, 1000}) {
      SCOPED_TRACE(::testing::Message() << depth << " / " << max_depth);
      expect_same_as_exact(nested(depth, true), max_depth);
      expect_same_as_exact(nested(depth, false), max_depth);
      std::string mismatched = nested(depth, true);
      if (const std::size_t at = mismatched.rfind('}'); at != std::string::npos) mismatched[at] = ']';
      expect_same_as_exact(mismatched, max_depth);
      if (HasFatalFailure()) return;
    }
  }
  // Every byte value at every position of a small compact document, and around the fast path's 8 KB size limit.
  const std::string base = R"({"k":["v",1,true],"s":"x y"})";
  for (std::size_t at = 0; at < base.size(); ++at) {
    for (int byte = 0; byte < 256; ++byte) {
      std::string raw = base;
      raw[at] = static_cast<char>(byte);
      SCOPED_TRACE(raw);
      expect_same_as_exact(raw);
      if (HasFatalFailure()) return;
    }
  }
  for (std::size_t size : {8190u, 8191u, 8192u, 8193u, 8194u}) {
    const std::string raw = "[\"" + std::string(size - 4, 'a') + "\"]";
    ASSERT_EQ(raw.size(), size);
    expect_same_as_exact(raw);
    expect_same_as_exact(raw.substr(0, size - 1));
  }
}

// The fast path's pre-scan reads 16-byte blocks; a document shorter than 16 bytes is read with one block that may
// extend past it (never past its page). Documents of every length 0..300 ending right before an inaccessible page,
// and followed by bytes that would change the verdict, must give exactly the exact parser's result.
TEST(JsonSanitizeTest, FastPathAtPageEndsAndBeforeSpecialBytes) {
  const testing::GuardedPage guarded;
  ASSERT_TRUE(guarded.ok());
  FastRandom random(99);
  for (std::size_t size = 0; size <= 300; ++size) {
    for (int round = 0; round < 6; ++round) {
      std::string raw;
      while (raw.size() < size) random_value(random, raw, 3);
      raw.resize(size);  // usually cut mid-document: invalid, which must match too
      if (round == 1 && size >= 2) {
        raw.assign(size, '1');
        raw.front() = '[';
        raw.back() = ']';
      }
      if (round == 2 && size >= 2) {
        raw.assign(size, 'a');
        raw.front() = raw.back() = '"';
      }
      if (round == 3 && size >= 1) raw[random.next() % size] = static_cast<char>(random.next() >> 8);
      SCOPED_TRACE(raw);
      char* const at_end = guarded.end() - size;
      std::memcpy(at_end, raw.data(), size);
      expect_same_as_exact(std::string_view(at_end, size));
      if (HasFatalFailure()) return;
      char* const inside = guarded.begin() + 64;
      std::memcpy(inside, raw.data(), size);
      std::memcpy(inside + size, "\" \\\x01\x7F\"\"\"\"\"\"\"\"\"\"\"\"", 16);
      expect_same_as_exact(std::string_view(inside, size));
      if (HasFatalFailure()) return;
    }
  }
}

// The fast path finds each string's end by consuming the document's quote bitmap in order, 64 bytes per word, with
// a sentinel word after the last one. Strings and keys of every length around the word boundaries, cut short, and
// stray quotes where no string can start must give exactly the exact parser's result.
TEST(JsonSanitizeTest, FastPathQuoteSearchAcrossWordBoundaries) {
  for (std::size_t k = 0; k <= 70; ++k) {
    for (std::size_t m = 0; m <= 70; ++m) {
      const std::string array = "[\"" + std::string(k, 'a') + "\",\"" + std::string(m, 'b') + "\"]";
      const std::string object = "{\"" + std::string(k, 'k') + "\":\"" + std::string(m, 'v') + "\",\"\":\"\"}";
      for (const std::string& doc : {array, object}) {
        SCOPED_TRACE(doc);
        expect_same_as_exact(doc);
        expect_same_as_exact(std::string_view(doc).substr(0, doc.size() - 1));
        expect_same_as_exact(std::string_view(doc).substr(0, doc.size() - 2));
        expect_same_as_exact(std::string_view(doc).substr(1));
        if (HasFatalFailure()) return;
      }
    }
  }
  // A stray quote inserted at, or one quote removed from, every position of a document spanning three words.
  const std::string base = R"({"bucketName":"prod-data-lake-raw","Host":"prod-data-lake-raw.s3.us-east-1.amazonaws.com",)"
                           R"("key":["exports/2024/08/27/4bd416d64a4e.parquet",12,true,null,"",{"":""}],"n":-1.5})";
  for (std::size_t at = 0; at <= base.size(); ++at) {
    std::string inserted = base;
    inserted.insert(at, 1, '"');
    SCOPED_TRACE(inserted);
    expect_same_as_exact(inserted);
    if (at < base.size() && base[at] == '"') {
      std::string removed = base;
      removed.erase(at, 1);
      expect_same_as_exact(removed);
    }
    if (HasFatalFailure()) return;
  }
}

// The fast path scans plain integers itself and hands fractions and exponents to the exact number grammar.
TEST(JsonSanitizeTest, FastPathNumbersMatchTheExactParser) {
  const std::string_view numbers[] = {"0",   "7",    "12",  "1234567890123456789012345678901234567890", "-1", "1.5",
                                      "12.", "12e",  "12E", "12e+",  "12e5", "12E-5", "1.e5", "12x", "12.5.5", "1e5e5",
                                      "12-", "12+",  "00",  "012",   "-",    "1-2",   "9.",   "9e",  "19E+0",  "1.0e-0"};
  const std::string_view contexts[][2] = {{"", ""},        {"[", "]"},       {"[", ",1]"},  {"{\"a\":", "}"},
                                          {"{\"a\":", ",\"b\":2}"}, {"[", ""}, {"[1,", "]"}, {"[[", "]]"}};
  for (const std::string_view number : numbers) {
    for (const auto& context : contexts) {
      std::string doc(context[0]);
      doc += number;
      doc += context[1];
      SCOPED_TRACE(doc);
      expect_same_as_exact(doc);
      if (HasFatalFailure()) return;
    }
    for (int byte = 0; byte < 256; ++byte) {
      std::string doc = "[";  // built by appends: GCC 12 warns (-Wrestrict) on "[" + std::string(...)
      doc += number;
      doc += static_cast<char>(byte);
      doc += ']';
      SCOPED_TRACE(doc);
      expect_same_as_exact(doc);
      if (HasFatalFailure()) return;
    }
  }
}

// The fast path keeps the kinds of the open containers in one 64-bit register (shifted in on open, out on close).
// Random object/array paths up to and past 64 levels, closed with members of the right kind, or at one random
// level with a member, a closer or both of the other kind (what a walk that lost track of the kind would accept),
// must give exactly the exact parser's result.
TEST(JsonSanitizeTest, FastPathMixedNestingMatchesTheExactParser) {
  FastRandom random(6464);
  for (std::size_t depth : {1u, 2u, 3u, 31u, 32u, 33u, 62u, 63u, 64u, 65u}) {
    for (int round = 0; round < 80; ++round) {
      std::vector<bool> objects(depth);
      for (std::size_t i = 0; i < depth; ++i) objects[i] = random.next() % 2 == 0;
      const int mode = round % 4;  // 0: all right; 1: wrong member; 2: wrong closer; 3: both wrong
      const std::size_t wrong_level = mode == 0 ? depth : random.next() % depth;
      std::string doc;
      for (std::size_t i = 0; i < depth; ++i) doc += objects[i] ? "{\"k\":" : "[";
      doc += "0";
      for (std::size_t i = depth; i-- > 0;) {
        const bool swap_member = i == wrong_level && (mode & 1) != 0;
        const bool swap_closer = i == wrong_level && (mode & 2) != 0;
        doc += objects[i] != swap_member ? ",\"z\":1" : ",1";
        doc += objects[i] != swap_closer ? '}' : ']';
      }
      SCOPED_TRACE(doc);
      for (const int max_depth : {64, 65, static_cast<int>(depth), static_cast<int>(depth) - 1}) {
        expect_same_as_exact(doc, max_depth);
        if (HasFatalFailure()) return;
      }
      if (mode == 0) {
        // The builder itself: a document without a wrong member is valid.
        JsonBuffer out;
        EXPECT_EQ(append_sanitized_json(out, doc, 100).status, RawJsonStatus::kOk);
        EXPECT_EQ(out.view(), doc);
      }
    }
  }
}

}  // namespace
}  // namespace trailkit::detail
