#include "validate/local_object_store.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

namespace trailkit::detail {
namespace {

namespace fs = std::filesystem;

// Keys that cannot name a file inside the root.
bool is_safe_key(const std::string& key) {
  if (key.empty() || key.front() == '/' || key.find('\0') != std::string::npos) return false;
  std::size_t from = 0;
  while (true) {
    const std::size_t slash = key.find('/', from);
    const std::string_view part = std::string_view(key).substr(from, slash == std::string::npos ? std::string::npos : slash - from);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string::npos) return true;
    from = slash + 1;
  }
}

// 0 on success, else errno.
int read_whole_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errno ? errno : ENOENT;
  std::error_code ec;
  if (fs::is_directory(path, ec)) return EISDIR;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return EIO;
  return 0;
}

}  // namespace

LocalObjectStore::LocalObjectStore(std::string root, std::string bucket)
    : root_(std::move(root)), bucket_(std::move(bucket)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

Status LocalObjectStore::list(const std::string& bucket, const std::string& prefix, const std::string& marker,
                              const std::function<bool(const std::string& key)>& visit) {
  if (bucket != bucket_) {
    return Status::error(ErrorKind::kPermanent, "bucket " + bucket + " is not the local directory " + root_ +
                                                    " (bucket " + bucket_ + ")");
  }
  // Walk only the deepest directory the prefix names, then filter and sort like ListObjects.
  const std::size_t slash = prefix.rfind('/');
  const std::string base = slash == std::string::npos ? "" : prefix.substr(0, slash);
  const fs::path start = base.empty() ? fs::path(root_) : fs::path(root_) / base;
  std::vector<std::string> keys;
  std::error_code ec;
  if (!fs::is_directory(start, ec)) return Status::ok();  // nothing under it
  fs::recursive_directory_iterator it(start, fs::directory_options::none, ec), end;
  if (ec) return Status::error(ErrorKind::kPermanent, "listing " + start.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return Status::error(ErrorKind::kPermanent, "listing " + start.string() + ": " + ec.message());
    const fs::path& path = it->path();
    std::string key = path.lexically_relative(root_).generic_string();
    if (it->is_directory(ec)) {
      if (key == kMetadataDirectory) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    if (key.starts_with(prefix) && key > marker) keys.push_back(std::move(key));
  }
  std::sort(keys.begin(), keys.end());  // std::string compares bytes as unsigned: S3's UTF-8 byte order
  for (const std::string& key : keys) {
    if (!visit(key)) break;
  }
  return Status::ok();
}

Status LocalObjectStore::list_folders(const std::string& bucket, const std::string& prefix,
                                      std::vector<std::string>& folders) {
  folders.clear();
  if (bucket != bucket_) return Status::error(ErrorKind::kPermanent, "bucket " + bucket + " is not " + bucket_);
  std::error_code ec;
  const fs::path dir = fs::path(root_) / prefix;
  if (!fs::is_directory(dir, ec)) return Status::ok();
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory(ec)) folders.push_back(entry.path().filename().string());
  }
  if (ec) return Status::error(ErrorKind::kPermanent, "listing " + dir.string() + ": " + ec.message());
  std::sort(folders.begin(), folders.end());
  return Status::ok();
}

FetchOutcome LocalObjectStore::get(const std::string& bucket, const std::string& key, StoredObject& out,
                                   std::string& error) {
  out = StoredObject{};
  if (bucket != bucket_ || !is_safe_key(key) || key.starts_with(std::string(kMetadataDirectory) + "/")) {
    return FetchOutcome::kNotFound;
  }
  const std::string path = root_ + "/" + key;
  errno = 0;
  const int rc = read_whole_file(path, out.body);
  if (rc == ENOENT || rc == ENOTDIR) return FetchOutcome::kNotFound;
  if (rc != 0) {
    error = "reading " + path + ": " + std::strerror(rc);
    return FetchOutcome::kFailed;
  }
  std::string sidecar;
  if (read_whole_file(root_ + "/" + kMetadataDirectory + "/" + key + ".json", sidecar) == 0) {
    const nlohmann::json meta = nlohmann::json::parse(sidecar, nullptr, false);
    if (!meta.is_discarded() && meta.is_object()) {
      for (const auto& [name, value] : meta.items()) {
        if (value.is_string()) {
          std::string lower = name;
          std::transform(lower.begin(), lower.end(), lower.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
          out.metadata[lower] = value.get<std::string>();
        }
      }
    }
  }
  return FetchOutcome::kFound;
}

}  // namespace trailkit::detail
