#pragma once
// TestHttpServer — a scriptable in-process HTTP/1.1 (or HTTPS) server on 127.0.0.1 for adapter
// tests; the canned-response stand-in that makes every error branch of the S3 path testable
// (aws-c-s3's mock S3, STYLE.md habit 8). It is also the fault injector of the S3 fault tests:
// 500, 503 SlowDown, reset mid-body, stalled response, endpoint down (stop()) then up.
//
// Behaviour per request, in arrival order over all connections:
//   1. the next ScriptedReply pushed with push(), if any; its request-body faults apply;
//   2. otherwise the handler set with set_handler() is called with the whole request;
//   3. otherwise 200 with an empty body.
// Every request is recorded (method, target, headers, body, SHA-256 of the body bytes received).
//
// Synchronous Beast, one thread per connection plus the accept thread. stop() (also run by the
// destructor) wakes every blocked accept/read/write/stall and joins all threads.
//
// Also here: make_test_certificate() writes a fresh self-signed certificate + key (OpenSSL APIs,
// nothing pre-generated in the tree) so TLS tests can pin a CA bundle of their own.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "s3/http_client.hpp"

namespace trailkit::s3::testing {

/// Lower-case hex SHA-256 of `bytes`. Thread contract: pure function.
inline std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

/// A self-signed certificate (usable as its own CA bundle) and its private key, as PEM files.
struct TestCertificate {
  std::string cert_file;
  std::string key_file;
};

/// Writes `<path_prefix>.cert.pem` and `<path_prefix>.key.pem`: an EC P-256 certificate with
/// subject CN=`common_name` and subjectAltName `subject_alt_names` in OpenSSL config syntax
/// (e.g. "DNS:localhost,IP:127.0.0.1"), valid from an hour ago for 30 days. Throws
/// std::runtime_error on failure. Thread contract: thread-safe (distinct prefixes).
inline TestCertificate make_test_certificate(const std::string& path_prefix, const std::string& common_name,
                                             const std::string& subject_alt_names) {
  auto fail = [](const char* what) { throw std::runtime_error(std::string("make_test_certificate: ") + what); };
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"),
                                                           &EVP_PKEY_free);
  if (!key) fail("key generation");
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
  X509_set_version(cert.get(), 2);
  static std::atomic<long> serial{1};
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX context;
  X509V3_set_ctx(&context, cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::pair<int, std::string> extensions[] = {{NID_basic_constraints, "critical,CA:TRUE"},
                                                    {NID_subject_key_identifier, "hash"},
                                                    {NID_subject_alt_name, subject_alt_names}};
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
    if (extension == nullptr) fail("extension");
    X509_add_ext(cert.get(), extension, -1);
    X509_EXTENSION_free(extension);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) fail("signing");

  TestCertificate files{path_prefix + ".cert.pem", path_prefix + ".key.pem"};
  std::unique_ptr<FILE, decltype(&std::fclose)> cert_out(std::fopen(files.cert_file.c_str(), "w"), &std::fclose);
  std::unique_ptr<FILE, decltype(&std::fclose)> key_out(std::fopen(files.key_file.c_str(), "w"), &std::fclose);
  if (!cert_out || !key_out) fail("cannot create the PEM files");
  if (PEM_write_X509(cert_out.get(), cert.get()) != 1) fail("writing the certificate");
  if (PEM_write_PrivateKey(key_out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) fail("writing the key");
  return files;
}

/// What the server does with one request. Defaults: read it whole, reply 200 with no body, keep
/// the connection open. Thread contract: plain value type.
struct ScriptedReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string body{};  ///< for HEAD only its size is sent, as Content-Length

  /// Stall before replying (a "stalled response"); stop() cuts it short.
  std::chrono::milliseconds delay_before_reply{0};

  /// Read only this many request-body bytes, then wait `stall_after_body_limit` without reading
  /// (the client's send stalls), then reset the connection (RST). 0 with no stall = reset as
  /// soon as the header is read. Only honoured for pushed replies (decided before the body).
  std::optional<std::uint64_t> request_body_limit{};
  std::chrono::milliseconds stall_after_body_limit{0};

  /// Read the request, then close without any reply (a keep-alive connection the server dropped).
  bool close_without_reply = false;

  /// Send only the first N bytes of the serialized reply, wait `stall_after_truncate`, then reset.
  std::optional<std::size_t> truncate_reply_at{};
  std::chrono::milliseconds stall_after_truncate{0};

  bool close_after_reply = false;  ///< reply with "Connection: close", then close
  bool drop_after_reply = false;   ///< reply as keep-alive, then close anyway (an idle timeout)
};

/// One request as the server received it. Thread contract: plain value type.
struct ReceivedRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;             ///< the body bytes received (all of them unless a body fault cut it)
  std::string body_sha256_hex;  ///< SHA-256 of `body`
  bool body_complete = false;   ///< the whole body (per Content-Length) arrived
  std::size_t connection_index = 0;  ///< 0-based order of the connection it came on

  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (boost::beast::iequals(key, name)) return value;
    }
    return std::nullopt;
  }
};

/// Settings of a TestHttpServer. Thread contract: plain value type.
struct TestHttpServerOptions {
  std::string cert_file;  ///< PEM certificate chain; empty = plain HTTP
  std::string key_file;   ///< PEM private key
};

/// Thread contract: every public member is thread-safe. The handler is called on connection
/// threads, possibly concurrently, and must be thread-safe itself.
class TestHttpServer {
 public:
  using Handler = std::function<ScriptedReply(const ReceivedRequest&)>;

  explicit TestHttpServer(TestHttpServerOptions options = {}) {
    if (!options.cert_file.empty()) {
      tls_context_.emplace(boost::asio::ssl::context::tls_server);
      tls_context_->use_certificate_chain_file(options.cert_file);
      tls_context_->use_private_key_file(options.key_file, boost::asio::ssl::context::pem);
    }
    namespace asio = boost::asio;
    acceptor_.open(asio::ip::tcp::v4());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~TestHttpServer() { stop(); }
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  std::uint16_t port() const { return port_; }
  /// The endpoint to give an HttpClient; `host` must resolve to 127.0.0.1.
  HttpEndpoint endpoint(std::string host = "127.0.0.1") const {
    return HttpEndpoint{tls_context_ ? "https" : "http", std::move(host), std::to_string(port_)};
  }

  /// Appends to the script (consumed one per request, in arrival order).
  void push(ScriptedReply reply) {
    std::lock_guard lock(mutex_);
    script_.push_back(std::move(reply));
  }
  /// Answers requests once the script is empty.
  void set_handler(Handler handler) {
    std::lock_guard lock(mutex_);
    handler_ = std::move(handler);
  }

  std::vector<ReceivedRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::size_t request_count() const {
    std::lock_guard lock(mutex_);
    return requests_.size();
  }
  std::size_t connections_accepted() const {
    std::lock_guard lock(mutex_);
    return connections_accepted_;
  }

  /// Closes the listener and every connection, interrupts stalls, joins all threads. Idempotent.
  void stop() {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
      // shutdown() wakes a thread blocked in accept/read/write on that socket; fds are only
      // closed by their owner after leaving open_fds_, so none of these is a reused number.
      ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    stall_cv_.notify_all();
    if (accept_thread_.joinable()) accept_thread_.join();
    {
      std::lock_guard lock(mutex_);
      threads.swap(connection_threads_);
    }
    for (auto& thread : threads) thread.join();
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  using Tcp = boost::asio::ip::tcp;

  void accept_loop() {
    for (;;) {
      Tcp::socket socket(io_context_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      if (ec) continue;
      const std::size_t index = connections_accepted_++;
      open_fds_.push_back(socket.native_handle());
      connection_threads_.emplace_back(
          [this, index, s = std::make_shared<Tcp::socket>(std::move(socket))]() mutable { serve(*s, index); });
    }
  }

  // Waits `duration` unless stop() is called first; returns false when stopping.
  bool stall(std::chrono::milliseconds duration) {
    std::unique_lock lock(mutex_);
    return !stall_cv_.wait_for(lock, duration, [this] { return stopping_; });
  }

  static void reset(Tcp::socket& socket) {
    boost::system::error_code ignored;
    socket.set_option(boost::asio::socket_base::linger(true, 0), ignored);  // close() sends RST
  }

  void serve(Tcp::socket& socket, std::size_t connection_index) {
    if (tls_context_) {
      boost::asio::ssl::stream<Tcp::socket&> stream(socket, *tls_context_);
      boost::system::error_code ec;
      stream.handshake(boost::asio::ssl::stream_base::server, ec);
      if (!ec) serve_requests(stream, socket, connection_index);
    } else {
      serve_requests(socket, socket, connection_index);
    }
    {
      std::lock_guard lock(mutex_);
      std::erase(open_fds_, socket.native_handle());
    }
    boost::system::error_code ignored;
    socket.close(ignored);
  }

  std::optional<ScriptedReply> next_scripted() {
    std::lock_guard lock(mutex_);
    if (script_.empty()) return std::nullopt;
    ScriptedReply reply = std::move(script_.front());
    script_.pop_front();
    return reply;
  }

  template <class Stream>
  void serve_requests(Stream& stream, Tcp::socket& socket, std::size_t connection_index) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::buffer_body> parser;
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      parser.header_limit(64 * 1024);
      boost::system::error_code ec;
      http::read_header(stream, buffer, parser, ec);
      if (ec) return;  // the client closed, or stop()

      ReceivedRequest request;
      request.method = std::string(parser.get().method_string());
      request.target = std::string(parser.get().target());
      for (const auto& field : parser.get()) request.headers.emplace_back(field.name_string(), field.value());
      request.connection_index = connection_index;
      std::optional<ScriptedReply> scripted = next_scripted();
      const bool limited = scripted && scripted->request_body_limit.has_value();
      const std::uint64_t body_limit = limited ? *scripted->request_body_limit : 0;

      std::vector<char> chunk(64 * 1024);
      while (!parser.is_done()) {
        std::size_t capacity = chunk.size();
        if (limited) capacity = static_cast<std::size_t>(std::min<std::uint64_t>(capacity, body_limit - request.body.size()));
        if (capacity == 0) break;
        parser.get().body().data = chunk.data();
        parser.get().body().size = capacity;
        http::read(stream, buffer, parser, ec);
        if (ec == http::error::need_buffer) ec = {};
        request.body.append(chunk.data(), capacity - parser.get().body().size);
        if (ec) break;
      }
      request.body_complete = parser.is_done();
      request.body_sha256_hex = sha256_hex(request.body);
      Handler handler;
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
        handler = handler_;
      }
      if (!request.body_complete) {
        if (limited && !ec) stall(scripted->stall_after_body_limit);
        reset(socket);
        return;
      }
      ScriptedReply reply = scripted ? std::move(*scripted) : handler ? handler(request) : ScriptedReply{};
      if (reply.close_without_reply) return;
      if (reply.delay_before_reply.count() > 0 && !stall(reply.delay_before_reply)) return;

      http::response<http::string_body> response{static_cast<http::status>(reply.status), 11};
      for (const auto& [name, value] : reply.headers) response.insert(name, value);
      response.content_length(reply.body.size());
      if (request.method != "HEAD") response.body() = reply.body;
      response.keep_alive(!reply.close_after_reply);
      if (reply.truncate_reply_at) {
        std::ostringstream serialized;
        serialized << response;
        const std::string bytes = serialized.str().substr(0, *reply.truncate_reply_at);
        boost::asio::write(stream, boost::asio::buffer(bytes), ec);
        stall(reply.stall_after_truncate);
        reset(socket);
        return;
      }
      http::write(stream, response, ec);
      if (ec || reply.close_after_reply || reply.drop_after_reply) return;
    }
  }

  boost::asio::io_context io_context_;
  std::optional<boost::asio::ssl::context> tls_context_;
  Tcp::acceptor acceptor_{io_context_};
  std::uint16_t port_ = 0;
  std::thread accept_thread_;

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable stall_cv_;
  bool stopping_ = false;
  std::deque<ScriptedReply> script_;
  Handler handler_;
  std::vector<ReceivedRequest> requests_;
  std::size_t connections_accepted_ = 0;
  std::vector<int> open_fds_;
  std::vector<std::thread> connection_threads_;
};

}  // namespace trailkit::s3::testing
