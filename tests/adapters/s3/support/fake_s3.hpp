#pragma once
// FakeS3 — a small S3 stand-in for the fault tests, on top of TestHttpServer: path-style PutObject
// into one bucket, stored in memory, with faults injected per request the way S3 answers them
// (aws-c-s3's canned mock S3, STYLE.md habit 8).
//
// What it checks like S3 does, so a client that gets them wrong fails the tests:
//   * the bucket exists (else 404 NoSuchBucket);
//   * x-amz-date is within 15 minutes of the server's clock (else 403 RequestTimeTooSkewed with the
//     server's Date header, which is what the client adjusts to); the server clock can be offset;
//   * Content-MD5 matches the body received (else 400 BadDigest), then x-amz-content-sha256 does
//     (else 400 XAmzContentSHA256Mismatch).
// A request that fails any check or gets a fault stores nothing. Per key it keeps the last bytes
// stored, how many PUTs succeeded and the distinct SHA-256s stored, so a test can prove "delivered
// exactly once, same bytes". Multipart calls are answered 501 NotImplemented: the fault tests use
// objects far below the multipart threshold, and a client that went multipart would be noticed.
//
// Also here: TcpRelay, a front door on a fixed port that can be taken down (connection refused,
// open connections reset) and brought back on the same port — "the endpoint is down, then up" for
// a client that was configured with one URL.
//
// Thread contract: every public member of both classes is thread-safe.

#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "adapters/s3/support/test_http_server.hpp"

namespace trailkit::s3::testing {

/// A fault the fake injects into one request instead of serving it.
enum class FakeS3Fault {
  kNone,
  kInternalError,         ///< 500 InternalError
  kSlowDown,              ///< 503 SlowDown
  kAccessDenied,          ///< 403 AccessDenied
  kNoSuchBucket,          ///< 404 NoSuchBucket
  kRequestTimeTooSkewed,  ///< 403 RequestTimeTooSkewed with the server's Date header
  kStall,                 ///< read the request, store nothing, answer nothing for `stall_for`
};

/// One request the fake's handler saw (requests cut off by a body fault never reach it).
/// Thread contract: plain value type.
struct FakeS3Attempt {
  std::string method;
  std::string key;  ///< decoded object key
  std::size_t attempt = 0;  ///< 1-based count of requests for this key, this one included
  std::chrono::steady_clock::time_point time;
  std::string amz_date;  ///< the x-amz-date header as sent ("" if missing)
  FakeS3Fault fault = FakeS3Fault::kNone;  ///< injected by the plan (kNone: served or failed a check)
  int status = 0;                          ///< the HTTP status answered; 0 for a stall
  std::string error_code;                  ///< S3 <Code> answered, "" on success
};

/// One stored object. Thread contract: plain value type.
struct FakeS3Object {
  std::string bytes;  ///< what the last successful PUT stored
  std::size_t put_successes = 0;
  std::set<std::string> distinct_sha256;  ///< of every successful PUT's body; > 1 = different bytes under one key
  std::string content_type;
};

/// Settings of a FakeS3. Thread contract: plain value type.
struct FakeS3Options {
  std::string bucket = "audit-logs";
  std::chrono::milliseconds stall_for{10000};  ///< how long kStall withholds the reply (stop() cuts it short)
  /// false: ignore Content-MD5, so only x-amz-content-sha256 catches altered bytes (as when the
  /// client sends no MD5, e.g. under FIPS).
  bool check_content_md5 = true;
};

class FakeS3 {
 public:
  /// Decides the fault of each request from its method, decoded key and 1-based attempt number for
  /// that key. Called on connection threads, one call at a time (under the fake's lock).
  using FaultPlan = std::function<FakeS3Fault(const std::string& method, const std::string& key, std::size_t attempt)>;

  explicit FakeS3(FakeS3Options options = {}) : options_(std::move(options)) {
    server_.set_handler([this](const ReceivedRequest& request) { return handle(request); });
  }

  std::uint16_t port() const { return server_.port(); }
  std::string endpoint_url() const { return "http://127.0.0.1:" + std::to_string(server_.port()); }
  /// The underlying server: its request log, push() for body faults (reset mid-body), stop().
  TestHttpServer& server() { return server_; }

  void set_fault_plan(FaultPlan plan) {
    std::lock_guard lock(mutex_);
    plan_ = std::move(plan);
  }
  /// Every request gets `fault` from now on (kNone: none), replacing the plan.
  void fail_every_request(FakeS3Fault fault) {
    if (fault == FakeS3Fault::kNone) {
      set_fault_plan(nullptr);
    } else {
      set_fault_plan([fault](const std::string&, const std::string&, std::size_t) { return fault; });
    }
  }
  /// The server's clock runs this many seconds ahead of the system clock (negative: behind).
  void set_server_clock_offset(std::int64_t seconds) {
    std::lock_guard lock(mutex_);
    clock_offset_seconds_ = seconds;
  }
  /// The next `count` requests (whatever they are) are reset (RST) after `after_body_bytes` bytes
  /// of their body were read: a connection reset mid-upload.
  void reset_next_requests(std::size_t count, std::uint64_t after_body_bytes) {
    for (std::size_t i = 0; i < count; ++i) {
      ScriptedReply reply;
      reply.request_body_limit = after_body_bytes;
      server_.push(reply);
    }
  }

  std::map<std::string, FakeS3Object> objects() const {
    std::lock_guard lock(mutex_);
    return objects_;
  }
  std::vector<FakeS3Attempt> attempts() const {
    std::lock_guard lock(mutex_);
    return attempts_;
  }
  /// Requests answered with a fault from the plan.
  std::size_t injected_faults() const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& a : attempts_) n += a.fault != FakeS3Fault::kNone;
    return n;
  }

 private:
  static std::string md5_base64(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_md5(), nullptr);
    unsigned char encoded[64];
    const int n = EVP_EncodeBlock(encoded, digest, static_cast<int>(length));
    return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(n));
  }

  static std::string percent_decode(std::string_view in) {
    std::string out;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
        out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
        i += 2;
      } else {
        out.push_back(in[i]);
      }
    }
    return out;
  }

  // "20240501T120000Z" -> epoch seconds.
  static std::optional<std::int64_t> parse_amz_date(const std::string& value) {
    std::tm tm{};
    if (value.size() != 16 || strptime(value.c_str(), "%Y%m%dT%H%M%SZ", &tm) == nullptr) return std::nullopt;
    return static_cast<std::int64_t>(timegm(&tm));
  }

  static std::string http_date(std::int64_t epoch_seconds) {
    const std::time_t t = static_cast<std::time_t>(epoch_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buffer[64];
    std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buffer;
  }

  ScriptedReply error_reply(FakeS3Attempt& attempt, int status, const std::string& code, const std::string& message,
                            std::int64_t server_now, const std::string& extra = "") {
    attempt.status = status;
    attempt.error_code = code;
    ScriptedReply reply;
    reply.status = status;
    reply.headers = {{"Content-Type", "application/xml"}, {"Date", http_date(server_now)}};
    reply.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code + "</Code><Message>" + message +
                 "</Message>" + extra + "<RequestId>FAKE" + std::to_string(attempts_.size()) +
                 "</RequestId></Error>";
    return reply;
  }

  ScriptedReply handle(const ReceivedRequest& request) {
    std::lock_guard lock(mutex_);
    const std::int64_t server_now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() +
        clock_offset_seconds_;
    FakeS3Attempt attempt;
    attempt.method = request.method;
    attempt.time = std::chrono::steady_clock::now();
    attempt.amz_date = request.header("x-amz-date").value_or("");

    std::string path = request.target;
    const std::size_t query_at = path.find('?');
    const std::string query = query_at == std::string::npos ? std::string() : path.substr(query_at + 1);
    path = path.substr(0, query_at);
    const std::string bucket_prefix = "/" + options_.bucket + "/";
    // Path style: /bucket/key. Virtual-hosted: Host is bucket.<endpoint host>, the path is /key.
    const bool virtual_hosted = request.header("host").value_or("").starts_with(options_.bucket + ".");
    const bool in_bucket = virtual_hosted || path.starts_with(bucket_prefix);
    attempt.key = virtual_hosted ? percent_decode(path.substr(1))
                  : in_bucket    ? percent_decode(path.substr(bucket_prefix.size()))
                                 : percent_decode(path);
    attempt.attempt = ++attempts_per_key_[attempt.key];

    auto finish = [&](ScriptedReply reply) {
      attempts_.push_back(attempt);
      return reply;
    };
    const FakeS3Fault fault = plan_ ? plan_(attempt.method, attempt.key, attempt.attempt) : FakeS3Fault::kNone;
    attempt.fault = fault;
    switch (fault) {
      case FakeS3Fault::kNone:
        break;
      case FakeS3Fault::kInternalError:
        return finish(error_reply(attempt, 500, "InternalError", "We encountered an internal error. Please try again.",
                                  server_now));
      case FakeS3Fault::kSlowDown:
        return finish(error_reply(attempt, 503, "SlowDown", "Please reduce your request rate.", server_now));
      case FakeS3Fault::kAccessDenied:
        return finish(error_reply(attempt, 403, "AccessDenied", "Access Denied", server_now));
      case FakeS3Fault::kNoSuchBucket:
        return finish(error_reply(attempt, 404, "NoSuchBucket", "The specified bucket does not exist", server_now,
                                  "<BucketName>" + options_.bucket + "</BucketName>"));
      case FakeS3Fault::kRequestTimeTooSkewed:
        return finish(error_reply(attempt, 403, "RequestTimeTooSkewed",
                                  "The difference between the request time and the current time is too large.",
                                  server_now));
      case FakeS3Fault::kStall: {
        ScriptedReply reply = error_reply(attempt, 500, "InternalError", "stalled", server_now);
        attempt.status = 0;
        attempt.error_code.clear();
        reply.delay_before_reply = options_.stall_for;
        return finish(reply);
      }
    }

    if (!in_bucket) {
      return finish(error_reply(attempt, 404, "NoSuchBucket", "The specified bucket does not exist", server_now));
    }
    if (const auto sent = parse_amz_date(attempt.amz_date); !sent || *sent > server_now + 900 ||
                                                             *sent < server_now - 900) {
      return finish(error_reply(attempt, 403, "RequestTimeTooSkewed",
                                "The difference between the request time and the current time is too large.",
                                server_now, "<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>"));
    }
    if (request.method != "PUT" || query.find("uploadId") != std::string::npos) {
      return finish(error_reply(attempt, 501, "NotImplemented", "FakeS3 serves PutObject only", server_now));
    }
    if (const auto md5 = request.header("content-md5");
        md5 && options_.check_content_md5 && *md5 != md5_base64(request.body)) {
      return finish(error_reply(attempt, 400, "BadDigest",
                                "The Content-MD5 you specified did not match what we received.", server_now));
    }
    if (const auto sha = request.header("x-amz-content-sha256"); sha && *sha != "UNSIGNED-PAYLOAD" &&
                                                                    *sha != request.body_sha256_hex) {
      return finish(error_reply(attempt, 400, "XAmzContentSHA256Mismatch",
                                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                                server_now));
    }
    FakeS3Object& object = objects_[attempt.key];
    object.bytes = request.body;
    object.content_type = request.header("content-type").value_or("");
    ++object.put_successes;
    object.distinct_sha256.insert(request.body_sha256_hex);
    attempt.status = 200;
    ScriptedReply reply;
    reply.headers = {{"ETag", "\"" + request.body_sha256_hex.substr(0, 32) + "\""}, {"Date", http_date(server_now)}};
    return finish(reply);
  }

  FakeS3Options options_;
  TestHttpServer server_;  // declared after options_: its handler reads them

  mutable std::mutex mutex_;  // guards everything below
  FaultPlan plan_;
  std::int64_t clock_offset_seconds_ = 0;
  std::map<std::string, FakeS3Object> objects_;
  std::map<std::string, std::size_t> attempts_per_key_;
  std::vector<FakeS3Attempt> attempts_;
};

/// A TCP relay from a fixed 127.0.0.1 port to `target_port`. down() closes the listener (new
/// connections are refused) and resets every relayed connection; up() listens again on the same
/// port. Starts up. Thread contract: thread-safe; the destructor takes it down.
class TcpRelay {
 public:
  explicit TcpRelay(std::uint16_t target_port) : target_port_(target_port) { up(); }
  ~TcpRelay() { down(); }
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  std::uint16_t port() const { return port_; }
  std::string endpoint_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  /// Listens on the relay's port (an ephemeral one the first time). Throws std::runtime_error if the
  /// port cannot be bound. No-op when already up.
  void up() {
    std::lock_guard control(control_mutex_);
    if (running_) return;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address = loopback(port_);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 64) != 0) {
      const int error = errno;
      ::close(fd);
      throw std::runtime_error("TcpRelay: cannot listen on port " + std::to_string(port_) + ": " +
                               std::to_string(error));
    }
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    listen_fd_ = fd;
    running_ = true;
    accept_thread_ = std::thread([this] { accept_loop(); });
  }

  /// Stops listening and resets every relayed connection; joins all threads. Idempotent.
  void down() {
    std::lock_guard control(control_mutex_);
    if (!running_) return;
    running_ = false;
    accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(connection_threads_);
    }
    for (auto& t : threads) t.join();
    ::close(listen_fd_);
    listen_fd_ = -1;
  }

 private:
  static sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
  }

  static void reset_and_close(int fd) {
    const linger hard{1, 0};  // close() sends RST: the peer sees a reset, not an orderly end
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    ::close(fd);
  }

  void accept_loop() {
    while (running_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      const sockaddr_in target = loopback(target_port_);
      if (::connect(upstream, reinterpret_cast<const sockaddr*>(&target), sizeof target) != 0) {
        ::close(upstream);
        reset_and_close(client);
        continue;
      }
      std::lock_guard lock(mutex_);
      connection_threads_.emplace_back([this, client, upstream] { relay(client, upstream); });
    }
  }

  // Copies bytes both ways until both sides ended; a reset on one side resets the other, and
  // down() resets both.
  void relay(int client, int upstream) {
    bool open[2] = {true, true};  // [0]: client -> upstream still flowing, [1]: upstream -> client
    const int from[2] = {client, upstream};
    const int to[2] = {upstream, client};
    char buffer[64 * 1024];
    bool reset = false;
    while (running_ && (open[0] || open[1]) && !reset) {
      pollfd p[2] = {{client, static_cast<short>(open[0] ? POLLIN : 0), 0},
                     {upstream, static_cast<short>(open[1] ? POLLIN : 0), 0}};
      if (::poll(p, 2, 20) <= 0) continue;
      for (int side = 0; side < 2 && !reset; ++side) {
        if (!open[side] || (p[side].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const ssize_t got = ::recv(from[side], buffer, sizeof buffer, 0);
        if (got == 0) {  // orderly end of this direction
          ::shutdown(to[side], SHUT_WR);
          open[side] = false;
        } else if (got < 0) {
          reset = errno != EAGAIN && errno != EINTR;
        } else if (!send_all(to[side], buffer, static_cast<std::size_t>(got))) {
          reset = true;
        }
      }
    }
    if (reset || !running_) {
      reset_and_close(client);
      reset_and_close(upstream);
    } else {
      ::close(client);
      ::close(upstream);
    }
  }

  bool send_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 20) <= 0) {
        if (!running_) return false;
        continue;
      }
      const ssize_t sent = ::send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        return false;
      }
      data += sent;
      size -= static_cast<std::size_t>(sent);
    }
    return true;
  }

  const std::uint16_t target_port_;
  std::uint16_t port_ = 0;  // 0 until the first up(); then fixed
  std::mutex control_mutex_;  // serializes up()/down()
  std::atomic<bool> running_{false};
  int listen_fd_ = -1;
  std::thread accept_thread_;
  std::mutex mutex_;  // guards connection_threads_
  std::vector<std::thread> connection_threads_;
};

}  // namespace trailkit::s3::testing
