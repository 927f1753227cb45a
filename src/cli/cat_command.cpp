// `trailkit cat [--pretty] FILE...` — prints each record of CloudTrail log files.
// The codec is told by the magic bytes, not the file name, so a renamed file still reads.
// nlohmann::ordered_json keeps each record's key order as written (plain json would sort keys).

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "compress/decompress.hpp"

namespace trailkit::cli {
namespace {

struct CatArgs {
  bool pretty = false;
  std::vector<std::string> files;
};

// A CloudTrail file is at most 50 MB compressed; 4 GiB of JSON is far beyond any real one and
// stops a zip bomb before it takes the machine's memory.
constexpr std::size_t kMaxDecompressedBytes = std::size_t(4) << 30;

bool read_file(const std::string& path, std::string& out, std::string& reason) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) {
    reason = std::strerror(errno);
    return false;
  }
  out.clear();
  char chunk[1 << 16];
  std::size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, file.get())) > 0) out.append(chunk, n);
  if (std::ferror(file.get())) {
    reason = std::strerror(errno);  // e.g. "Is a directory"
    return false;
  }
  return true;
}

// Prints the records of one file; returns false with a reason when it cannot be read.
bool cat_file(const std::string& path, bool pretty, std::string& reason) {
  std::string compressed;
  if (!read_file(path, compressed, reason)) return false;
  if (detail::detect_encoding(compressed) == detail::ContentEncoding::kUnknown) {
    reason = "not a gzip or zstd file (unknown magic bytes)";
    return false;
  }
  std::string text;
  const Status status = detail::decompress(compressed, text, kMaxDecompressedBytes);
  if (!status.is_ok()) {
    reason = status.message();
    return false;
  }
  compressed = std::string();

  nlohmann::ordered_json body = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    reason = "not valid JSON";
    return false;
  }
  text = std::string();
  const auto records = body.find("Records");
  if (!body.is_object() || records == body.end() || !records->is_array()) {
    reason = "not a CloudTrail log file (no \"Records\" array)";
    return false;
  }
  std::string line;
  for (const auto& record : *records) {
    // Replace rather than throw on invalid UTF-8 so one bad string cannot hide a whole file.
    line = record.dump(pretty ? 2 : -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    line += '\n';
    if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size()) {
      reason = std::string("writing to standard output: ") + std::strerror(errno);
      return false;
    }
  }
  return true;
}

}  // namespace

void add_cat_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<CatArgs>();
  CLI::App* cat = app.add_subcommand("cat", "Print the records of .json.gz / .json.zst log files, one per line");
  cat->add_flag("--pretty", args->pretty, "Pretty-print each record (indent 2)");
  cat->add_option("files", args->files, "Log files to read")->required()->type_name("FILE");
  cat->callback([args, &exit_code] {
    exit_code = kExitOk;
    for (const std::string& path : args->files) {
      std::string reason;
      if (!cat_file(path, args->pretty, reason)) {
        std::fflush(stdout);  // keep the error after the records already printed
        std::fprintf(stderr, "trailkit cat: %s: %s\n", path.c_str(), reason.c_str());
        exit_code = kExitFailure;
      }
    }
    if (std::fflush(stdout) != 0) exit_code = kExitFailure;
  });
}

}  // namespace trailkit::cli
