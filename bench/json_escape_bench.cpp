// JSON string writer and raw-JSON sanitizer throughput, each beside the naive nlohmann way of doing the same job.
// Target (performance.md §C.7/§E3c): the whole record serializer at >= 2.7 GB/s, so clean ASCII strings must go at
// close to memcpy speed, and requestParameters sanitizing at >= 1 GB/s. Bytes/s counts INPUT bytes.

#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>
#include <string>

#include "serialize/json_escape.hpp"
#include "serialize/json_sanitize.hpp"

namespace trailkit::detail {
namespace {

std::string ascii_text(std::size_t size) {
  // A user agent / ARN-like mix of letters, digits and punctuation; nothing to escape.
  const std::string pattern = "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 arn:aws:iam::123456789012:role/Admin-";
  std::string s;
  while (s.size() < size) s += pattern;
  s.resize(size);
  return s;
}

std::string utf8_text() {
  // ~1 KB of mixed Japanese, accented Latin and emoji (object keys, tag values in user languages).
  const std::string pattern = "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE3\x82\xBF\xE3\x82\xB0 caf\xC3\xA9 "
                              "\xC3\xBC\x62\x65r \xF0\x9F\x98\x80 \xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 ";
  std::string s;
  while (s.size() < 1000) s += pattern;
  return s;
}

// ~300 B compact requestParameters of an EC2 RunInstances call, as the API layer hands it over.
const std::string kRequestParameters =
    R"({"instancesSet":{"items":[{"imageId":"ami-0abcdef1234567890","minCount":1,"maxCount":1}]},)"
    R"("instanceType":"t3.micro","blockDeviceMapping":{},"monitoring":{"enabled":false},)"
    R"("disableApiTermination":false,"clientToken":"a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",)"
    R"("tagSpecificationSet":{"items":[{"resourceType":"instance","tags":[{"key":"Name","value":"web-1"}]}]}})";

void escape_ours(benchmark::State& state, const std::string& input) {
  JsonBuffer out(8 * input.size() + 64);
  for (auto _ : state) {
    out.clear();
    append_json_string(out, input);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
}

void escape_nlohmann(benchmark::State& state, const std::string& input) {
  for (auto _ : state) {
    std::string dumped = nlohmann::json(input).dump();
    benchmark::DoNotOptimize(dumped.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
}

void memcpy_floor(benchmark::State& state, const std::string& input) {
  JsonBuffer out(input.size() + 64);
  for (auto _ : state) {
    out.clear();
    out.append(input);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
}

void BM_AppendJsonString_Ascii(benchmark::State& state) {
  escape_ours(state, ascii_text(static_cast<std::size_t>(state.range(0))));
}
void BM_NlohmannDump_Ascii(benchmark::State& state) {
  escape_nlohmann(state, ascii_text(static_cast<std::size_t>(state.range(0))));
}
void BM_MemcpyFloor_Ascii(benchmark::State& state) {
  memcpy_floor(state, ascii_text(static_cast<std::size_t>(state.range(0))));
}
BENCHMARK(BM_AppendJsonString_Ascii)->Arg(64)->Arg(1024);
BENCHMARK(BM_NlohmannDump_Ascii)->Arg(64)->Arg(1024);
BENCHMARK(BM_MemcpyFloor_Ascii)->Arg(64)->Arg(1024);

void BM_AppendJsonString_Utf8(benchmark::State& state) { escape_ours(state, utf8_text()); }
void BM_NlohmannDump_Utf8(benchmark::State& state) { escape_nlohmann(state, utf8_text()); }
BENCHMARK(BM_AppendJsonString_Utf8);
BENCHMARK(BM_NlohmannDump_Utf8);

void BM_AppendSanitizedJson_RequestParameters(benchmark::State& state) {
  JsonBuffer out(4096);
  for (auto _ : state) {
    out.clear();
    const RawJsonResult result = append_sanitized_json(out, kRequestParameters, 64);
    benchmark::DoNotOptimize(result);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kRequestParameters.size()));
}
void BM_NlohmannParseDump_RequestParameters(benchmark::State& state) {
  for (auto _ : state) {
    std::string dumped = nlohmann::json::parse(kRequestParameters).dump();
    benchmark::DoNotOptimize(dumped.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kRequestParameters.size()));
}
BENCHMARK(BM_AppendSanitizedJson_RequestParameters);
BENCHMARK(BM_NlohmannParseDump_RequestParameters);

}  // namespace
}  // namespace trailkit::detail

BENCHMARK_MAIN();
