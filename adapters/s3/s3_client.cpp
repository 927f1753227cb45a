#include "s3/s3_client.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <stdexcept>

namespace trailkit::s3 {
namespace {

// The text between <tag> and </tag> in a small S3 XML reply ("" when absent).
std::string xml_value(const std::string& body, const std::string& tag) {
  const std::string open = "<" + tag + ">";
  const std::size_t start = body.find(open);
  if (start == std::string::npos) return {};
  const std::size_t from = start + open.size();
  const std::size_t end = body.find("</" + tag + ">", from);
  if (end == std::string::npos) return {};
  return body.substr(from, end - from);
}

// RFC 7231 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") -> epoch seconds; nullopt if unparsable.
std::optional<std::int64_t> parse_http_date(const std::string& value) {
  std::tm tm{};
  if (strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) == nullptr) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

// Decodes the five XML entities and numeric character references of S3 XML text.
std::string xml_unescape(const std::string& text) {
  if (text.find('&') == std::string::npos) return text;
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::size_t semi = text[i] == '&' ? text.find(';', i) : std::string::npos;
    if (semi == std::string::npos) {
      out.push_back(text[i]);
      continue;
    }
    const std::string entity = text.substr(i + 1, semi - i - 1);
    unsigned long code = 0;
    if (entity == "amp") code = '&';
    else if (entity == "lt") code = '<';
    else if (entity == "gt") code = '>';
    else if (entity == "quot") code = '"';
    else if (entity == "apos") code = '\'';
    else if (entity.size() > 1 && entity[0] == '#') {
      code = entity[1] == 'x' ? std::strtoul(entity.c_str() + 2, nullptr, 16) : std::strtoul(entity.c_str() + 1, nullptr, 10);
    }
    if (code == 0 || code > 0x10FFFF) {
      out.push_back(text[i]);
      continue;
    }
    if (code < 0x80) {  // UTF-8 encode
      out.push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (code >> 6)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (code >> 12)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (code >> 18)));
      out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
    i = semi;
  }
  return out;
}

// Every <inner> value inside each <outer> element of `body`, unescaped.
std::vector<std::string> xml_values_in(const std::string& body, const std::string& outer, const std::string& inner) {
  std::vector<std::string> values;
  const std::string open = "<" + outer + ">";
  const std::string close = "</" + outer + ">";
  for (std::size_t at = body.find(open); at != std::string::npos; at = body.find(open, at)) {
    const std::size_t end = body.find(close, at);
    if (end == std::string::npos) break;
    values.push_back(xml_unescape(xml_value(body.substr(at, end - at), inner)));
    at = end + close.size();
  }
  return values;
}

}  // namespace

bool digest_file_range(int fd, std::uint64_t offset, std::uint64_t length, std::string& sha256_hex,
                       std::string& md5_b64) {
  EVP_MD_CTX* sha = EVP_MD_CTX_new();
  EVP_MD_CTX* md5 = EVP_MD_CTX_new();
  bool ok = sha && md5 && EVP_DigestInit_ex(sha, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestInit_ex(md5, EVP_md5(), nullptr) == 1;
  std::string buffer(1 << 20, '\0');
  while (ok && length > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(length, buffer.size()));
    const ssize_t got = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
    if (got <= 0) {
      ok = false;
      break;
    }
    EVP_DigestUpdate(sha, buffer.data(), static_cast<std::size_t>(got));
    EVP_DigestUpdate(md5, buffer.data(), static_cast<std::size_t>(got));
    offset += static_cast<std::uint64_t>(got);
    length -= static_cast<std::uint64_t>(got);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (ok && EVP_DigestFinal_ex(sha, digest, &size) == 1) {
    static constexpr char kHex[] = "0123456789abcdef";
    sha256_hex.clear();
    for (unsigned i = 0; i < size; ++i) {
      sha256_hex.push_back(kHex[digest[i] >> 4]);
      sha256_hex.push_back(kHex[digest[i] & 15]);
    }
  } else {
    ok = false;
  }
  if (ok && EVP_DigestFinal_ex(md5, digest, &size) == 1) {
    unsigned char b64[64];
    const int n = EVP_EncodeBlock(b64, digest, static_cast<int>(size));
    md5_b64.assign(reinterpret_cast<const char*>(b64), static_cast<std::size_t>(n));
  } else {
    ok = false;
  }
  EVP_MD_CTX_free(sha);
  EVP_MD_CTX_free(md5);
  return ok;
}

struct S3Client::Call {
  std::string method;
  std::string bucket;
  std::string key;
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;                    // small XML bodies
  std::optional<FileRange> file_body;  // object bytes
  std::string payload_sha256_hex;
  HttpResponse response;
};

S3Client::S3Client(S3ClientOptions options) : options_(std::move(options)) {
  if (options_.settings.credentials.empty()) {
    throw std::invalid_argument("S3 credentials are empty: set them explicitly, in the environment or in ~/.aws");
  }
  if (!options_.clock) options_.clock = system_clock();
  const std::string& sse = options_.server_side_encryption;
  if (!sse.empty() && sse != "AES256" && sse != "aws:kms") {
    throw std::invalid_argument("server_side_encryption \"" + sse + "\": must be \"\", \"AES256\" or \"aws:kms\"");
  }
  if (sse != "aws:kms" && !options_.kms_key_id.empty()) {
    throw std::invalid_argument("kms_key_id is set but server_side_encryption is not \"aws:kms\"");
  }
  endpoint_ = parse_endpoint(effective_endpoint_url(options_.settings));
}

S3Client::~S3Client() = default;

ErrorKind S3Client::classify(int http_status, const std::string& code) noexcept {
  if (code == "SlowDown" || code == "Throttling" || code == "ThrottlingException" || code == "RequestLimitExceeded" ||
      code == "TooManyRequestsException" || http_status == 429 || http_status == 503) {
    return ErrorKind::kThrottled;
  }
  // A body altered in transit (BadDigest, XAmzContentSHA256Mismatch) is worth resending soon; the
  // destination checks the spooled bytes first and quarantines them if they are what changed.
  if (code == "RequestTimeTooSkewed" || code == "RequestTimeout" || code == "BadDigest" ||
      code == "XAmzContentSHA256Mismatch" || code == "InternalError" ||
      code == "ExpiredToken" || http_status >= 500 || http_status == 408) {
    return ErrorKind::kTransient;
  }
  return ErrorKind::kPermanent;  // 403 AccessDenied/SignatureDoesNotMatch, 404 NoSuchBucket, 400 others
}

HttpClient& S3Client::client_for(const std::string& bucket) {
  const bool virtual_hosted = !options_.settings.path_style;
  if (!client_ || (virtual_hosted && bucket != bucket_of_client_)) {
    HttpEndpoint endpoint{endpoint_.scheme, virtual_hosted ? bucket + "." + endpoint_.host : endpoint_.host,
                          endpoint_.port};
    client_ = std::make_unique<HttpClient>(std::move(endpoint), options_.http);
    bucket_of_client_ = bucket;
  }
  return *client_;
}

Status S3Client::execute(Call& call, S3Reply* reply) noexcept {
  try {
    HttpClient& client = client_for(call.bucket);
    const bool path_style = options_.settings.path_style;
    SigningRequest request;
    request.method = call.method;
    request.path = endpoint_.base_path + (path_style ? "/" + call.bucket : std::string()) + "/" + call.key;
    request.query = call.query;
    const HttpEndpoint endpoint{endpoint_.scheme, path_style ? endpoint_.host : call.bucket + "." + endpoint_.host,
                                endpoint_.port};
    request.headers = call.headers;
    request.headers.emplace_back("host", host_header_value(endpoint));
    request.payload_hash = call.payload_sha256_hex;
    SigningParams params;
    params.region = options_.settings.region;
    params.service = "s3";
    params.time = options_.clock->wall_now_ns() / 1'000'000'000 + clock_offset_;
    params.s3_rules = true;
    const SignedRequest signed_request = sign(request, options_.settings.credentials, params);

    HttpRequest http;
    http.method = call.method;
    http.target = signed_request.encoded_path;
    if (!signed_request.encoded_query.empty()) http.target += "?" + signed_request.encoded_query;
    http.headers = call.headers;
    for (const auto& h : signed_request.added_headers) http.headers.push_back(h);
    http.headers.emplace_back("Authorization", signed_request.authorization);
    http.body = call.body;
    http.file_body = call.file_body;

    call.response = HttpResponse{};
    Status status = client.send(http, call.response);
    if (reply) *reply = S3Reply{call.response.status, {}, call.response.header("etag").value_or("")};
    if (!status) return status;
    const int code = call.response.status;
    if (code >= 200 && code < 300) return Status::ok();

    const std::string error_code = xml_value(call.response.body, "Code");
    const std::string message = xml_value(call.response.body, "Message");
    if (reply) reply->error_code = error_code;
    if (error_code == "RequestTimeTooSkewed") {
      // Adopt the server's clock (aws-sdk-cpp's enableClockSkewAdjustment) so the retry succeeds.
      if (auto server = parse_http_date(call.response.header("date").value_or(""))) {
        clock_offset_ = *server - options_.clock->wall_now_ns() / 1'000'000'000;
      }
    }
    return Status::error(classify(code, error_code), call.method + " s3://" + call.bucket + "/" + call.key +
                                                         ": HTTP " + std::to_string(code) +
                                                         (error_code.empty() ? "" : " " + error_code) +
                                                         (message.empty() ? "" : ": " + message));
  } catch (const std::exception& e) {
    return Status::error(ErrorKind::kPermanent, std::string("S3 request could not be made: ") + e.what());
  }
}

Status S3Client::put_object(const std::string& bucket, const std::string& key, const ObjectBody& body,
                            const Metadata& metadata, S3Reply* reply) noexcept {
  Call call;
  call.method = "PUT";
  call.bucket = bucket;
  call.key = key;
  call.headers.emplace_back("content-type", "application/json");
  if (!body.md5_base64.empty()) call.headers.emplace_back("content-md5", body.md5_base64);
  if (!options_.server_side_encryption.empty()) {
    call.headers.emplace_back("x-amz-server-side-encryption", options_.server_side_encryption);
    if (!options_.kms_key_id.empty()) {
      call.headers.emplace_back("x-amz-server-side-encryption-aws-kms-key-id", options_.kms_key_id);
    }
  }
  for (const auto& [name, value] : metadata) call.headers.emplace_back("x-amz-meta-" + name, value);
  call.file_body = FileRange{body.fd, body.offset, body.length};
  call.payload_sha256_hex = body.sha256_hex;
  return execute(call, reply);
}

Status S3Client::abort_multipart(const std::string& bucket, const std::string& key,
                                 const std::string& upload_id) noexcept {
  Call call;
  call.method = "DELETE";
  call.bucket = bucket;
  call.key = key;
  call.query = {{"uploadId", upload_id}};
  call.payload_sha256_hex = sha256_hex("");
  return execute(call, nullptr);
}

Status S3Client::put_object_multipart(const std::string& bucket, const std::string& key, const ObjectBody& body,
                                      const Metadata& metadata, std::uint64_t part_size, S3Reply* reply) noexcept {
  if (part_size < (5u << 20)) return Status::error(ErrorKind::kInvalidArgument, "part_size must be at least 5 MiB");
  Call create;
  create.method = "POST";
  create.bucket = bucket;
  create.key = key;
  create.query = {{"uploads", ""}};
  create.headers.emplace_back("content-type", "application/json");
  if (!options_.server_side_encryption.empty()) {
    create.headers.emplace_back("x-amz-server-side-encryption", options_.server_side_encryption);
    if (!options_.kms_key_id.empty()) {
      create.headers.emplace_back("x-amz-server-side-encryption-aws-kms-key-id", options_.kms_key_id);
    }
  }
  for (const auto& [name, value] : metadata) create.headers.emplace_back("x-amz-meta-" + name, value);
  create.payload_sha256_hex = sha256_hex("");
  if (Status s = execute(create, reply); !s) return s;
  const std::string upload_id = xml_value(create.response.body, "UploadId");
  if (upload_id.empty()) {
    return Status::error(ErrorKind::kTransient, "CreateMultipartUpload s3://" + bucket + "/" + key + " returned no UploadId");
  }

  std::string complete = "<CompleteMultipartUpload>";
  std::uint64_t done = 0;
  for (int part = 1; done < body.length; ++part) {
    const std::uint64_t length = std::min<std::uint64_t>(part_size, body.length - done);
    Call upload;
    upload.method = "PUT";
    upload.bucket = bucket;
    upload.key = key;
    upload.query = {{"partNumber", std::to_string(part)}, {"uploadId", upload_id}};
    std::string md5;
    if (!digest_file_range(body.fd, body.offset + done, length, upload.payload_sha256_hex, md5)) {
      abort_multipart(bucket, key, upload_id);
      return Status::error(ErrorKind::kTransient, "reading part " + std::to_string(part) + " of the spooled file failed");
    }
    upload.headers.emplace_back("content-md5", md5);
    upload.file_body = FileRange{body.fd, body.offset + done, length};
    S3Reply part_reply;
    if (Status s = execute(upload, &part_reply); !s) {
      abort_multipart(bucket, key, upload_id);  // no orphaned parts are left billing
      if (reply) *reply = part_reply;
      return s;
    }
    complete += "<Part><PartNumber>" + std::to_string(part) + "</PartNumber><ETag>" + part_reply.etag + "</ETag></Part>";
    done += length;
  }
  complete += "</CompleteMultipartUpload>";
  Call finish;
  finish.method = "POST";
  finish.bucket = bucket;
  finish.key = key;
  finish.query = {{"uploadId", upload_id}};
  finish.headers.emplace_back("content-type", "application/xml");
  finish.body = complete;
  finish.payload_sha256_hex = sha256_hex(complete);
  Status s = execute(finish, reply);
  // CompleteMultipartUpload can fail with HTTP 200 and an <Error> body.
  if (s && finish.response.body.find("<Error>") != std::string::npos) {
    const std::string code = xml_value(finish.response.body, "Code");
    s = Status::error(classify(500, code), "CompleteMultipartUpload s3://" + bucket + "/" + key + " failed: " + code);
  }
  if (!s) abort_multipart(bucket, key, upload_id);
  return s;
}

Status S3Client::get_object(const std::string& bucket, const std::string& key, std::string& body, Metadata& metadata,
                            S3Reply* reply) noexcept {
  Call call;
  call.method = "GET";
  call.bucket = bucket;
  call.key = key;
  call.payload_sha256_hex = sha256_hex("");
  S3Reply local;
  Status s = execute(call, reply ? reply : &local);
  metadata.clear();
  if (!s) return s;
  body = std::move(call.response.body);
  static constexpr std::string_view kPrefix = "x-amz-meta-";
  for (const auto& [name, value] : call.response.headers) {
    if (name.size() <= kPrefix.size()) continue;
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.compare(0, kPrefix.size(), kPrefix) == 0) metadata.emplace_back(lower.substr(kPrefix.size()), value);
  }
  return s;
}

Status S3Client::list_objects(const std::string& bucket, const std::string& prefix, const std::string& marker,
                              const std::string& delimiter, ListObjectsPage& page, S3Reply* reply) noexcept {
  Call call;
  call.method = "GET";
  call.bucket = bucket;
  if (!delimiter.empty()) call.query.emplace_back("delimiter", delimiter);
  if (!marker.empty()) call.query.emplace_back("marker", marker);
  call.query.emplace_back("prefix", prefix);
  call.payload_sha256_hex = sha256_hex("");
  page = ListObjectsPage{};
  Status s = execute(call, reply);
  if (!s) return s;
  try {
    const std::string& xml = call.response.body;
    page.keys = xml_values_in(xml, "Contents", "Key");
    page.common_prefixes = xml_values_in(xml, "CommonPrefixes", "Prefix");
    page.is_truncated = xml_value(xml, "IsTruncated") == "true";
    page.next_marker = xml_unescape(xml_value(xml, "NextMarker"));
    if (page.is_truncated && page.next_marker.empty()) {
      // Without a delimiter S3 omits NextMarker: continue after the greatest key or prefix returned.
      const std::string last_key = page.keys.empty() ? "" : page.keys.back();
      const std::string last_prefix = page.common_prefixes.empty() ? "" : page.common_prefixes.back();
      page.next_marker = std::max(last_key, last_prefix);
      if (page.next_marker.empty()) {
        return Status::error(ErrorKind::kTransient, "ListObjects s3://" + bucket + "/" + prefix +
                                                        ": truncated reply without keys or NextMarker");
      }
    }
  } catch (const std::exception& e) {
    return Status::error(ErrorKind::kTransient, std::string("ListObjects reply could not be read: ") + e.what());
  }
  return s;
}

}  // namespace trailkit::s3
