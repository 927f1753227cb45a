#include "api/s3_object_store.hpp"

#include <chrono>
#include <thread>

namespace trailkit::api {
namespace {

constexpr std::size_t kMaxObjectBytes = std::size_t(256) << 20;

s3::S3ClientOptions with_large_bodies(s3::S3ClientOptions options) {
  options.http.max_response_body = std::max(options.http.max_response_body, kMaxObjectBytes);
  return options;
}

bool retryable(const Status& s) { return s.kind() == ErrorKind::kTransient || s.kind() == ErrorKind::kThrottled; }

template <typename Call>
Status with_retries(Call&& call) {
  static constexpr std::chrono::milliseconds kBackoff[] = {std::chrono::milliseconds(200), std::chrono::milliseconds(1000)};
  Status s = call();
  for (const auto wait : kBackoff) {
    if (s || !retryable(s)) break;
    std::this_thread::sleep_for(wait);
    s = call();
  }
  return s;
}

}  // namespace

S3ObjectStore::S3ObjectStore(s3::S3ClientOptions options) : client_(with_large_bodies(std::move(options))) {}

Status S3ObjectStore::list_page(const std::string& bucket, const std::string& prefix, const std::string& marker,
                                const std::string& delimiter, s3::S3Client::ListObjectsPage& page) {
  return with_retries([&] { return client_.list_objects(bucket, prefix, marker, delimiter, page); });
}

Status S3ObjectStore::list(const std::string& bucket, const std::string& prefix, const std::string& marker,
                           const std::function<bool(const std::string& key)>& visit) {
  std::string next = marker;
  while (true) {
    s3::S3Client::ListObjectsPage page;
    if (Status s = list_page(bucket, prefix, next, "", page); !s) return s;
    for (const std::string& key : page.keys) {
      if (!visit(key)) return Status::ok();
    }
    if (!page.is_truncated) return Status::ok();
    if (page.next_marker <= next) {
      return Status::error(ErrorKind::kPermanent, "ListObjects s3://" + bucket + "/" + prefix + " did not advance");
    }
    next = page.next_marker;
  }
}

Status S3ObjectStore::list_folders(const std::string& bucket, const std::string& prefix,
                                   std::vector<std::string>& folders) {
  folders.clear();
  std::string next;
  while (true) {
    s3::S3Client::ListObjectsPage page;
    if (Status s = list_page(bucket, prefix, next, "/", page); !s) return s;
    for (const std::string& p : page.common_prefixes) {
      if (p.size() > prefix.size() + 1 && p.starts_with(prefix)) folders.push_back(p.substr(prefix.size(), p.size() - prefix.size() - 1));
    }
    if (!page.is_truncated || page.next_marker <= next) return Status::ok();
    next = page.next_marker;
  }
}

detail::FetchOutcome S3ObjectStore::get(const std::string& bucket, const std::string& key, detail::StoredObject& out,
                                        std::string& error) {
  out = detail::StoredObject{};
  s3::Metadata metadata;
  s3::S3Reply reply;
  const Status s = with_retries([&] { return client_.get_object(bucket, key, out.body, metadata, &reply); });
  if (!s) {
    if (reply.error_code == "NoSuchKey") return detail::FetchOutcome::kNotFound;
    error = s.message();
    return detail::FetchOutcome::kFailed;
  }
  for (auto& [name, value] : metadata) out.metadata[name] = std::move(value);
  return detail::FetchOutcome::kFound;
}

}  // namespace trailkit::api
