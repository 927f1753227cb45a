#include "s3/http_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace trailkit::s3 {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using TlsStream = ssl::stream<beast::tcp_stream>;

constexpr std::size_t kFileChunkBytes = 256 * 1024;  // pread() size for FileRange bodies
constexpr std::size_t kReadChunkBytes = 64 * 1024;
constexpr std::uint32_t kHeaderLimitBytes = 64 * 1024;

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

// RFC 9110 token: what a method or a header name may contain.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
    if (!ok || c == '\0') return false;
  }
  return true;
}

bool has_line_break_or_nul(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) != s.npos; }

std::string strip_brackets(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string default_port(const std::string& scheme) { return scheme == "https" ? "443" : "80"; }

// Methods that carry no body by convention: an empty body is sent without Content-Length.
bool is_bodyless_method(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "DELETE" || method == "OPTIONS" || method == "TRACE";
}

// The peer closed (or reset) the connection: on a reused keep-alive connection before any
// response byte this means the server dropped an idle connection, so one retry is safe.
bool is_connection_closed(const beast::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted || ec == ssl::error::stream_truncated;
}

}  // namespace

std::string host_header_value(const HttpEndpoint& endpoint) {
  const std::string host = strip_brackets(endpoint.host);
  std::string value = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (!endpoint.port.empty() && endpoint.port != default_port(endpoint.scheme)) value += ":" + endpoint.port;
  return value;
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

class HttpClient::Impl {
 public:
  Impl(HttpEndpoint endpoint, HttpClientOptions options);
  ~Impl() { close(); }

  Status send(const HttpRequest& request, HttpResponse& response);
  void close() noexcept;
  std::uint64_t connections_opened() const noexcept { return connections_opened_; }

 private:
  struct StepDeadline {
    Clock::time_point at;
    bool request_limited;  // the whole-request cap, not the step's own timeout, ends this step
  };

  bool connected() const noexcept { return plain_ != nullptr || tls_ != nullptr; }
  beast::tcp_stream& tcp_layer() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }
  template <class Fn>
  decltype(auto) with_stream(Fn&& fn) {
    return tls_ ? fn(*tls_) : fn(*plain_);
  }

  // Runs the io_context until `done`; every operation started is bounded by a timer.
  void run_until(const bool& done) {
    ioc_.restart();
    while (!done && ioc_.run_one() > 0) {
    }
  }

  StepDeadline step_deadline(std::chrono::milliseconds step, Clock::time_point request_deadline) const {
    const auto at = Clock::now() + step;
    return at >= request_deadline ? StepDeadline{request_deadline, true} : StepDeadline{at, false};
  }

  Status fail(ErrorKind kind, std::string_view step, std::string_view detail) const {
    return Status::error(kind, where_ + ": " + std::string(step) + ": " + std::string(detail));
  }
  Status timed_out(std::string_view step, bool request_limited, std::chrono::milliseconds step_timeout) const {
    return fail(ErrorKind::kTransient, step,
                request_limited ? "request timeout after " + std::to_string(options_.request_timeout.count()) + " ms"
                                : "timeout after " + std::to_string(step_timeout.count()) + " ms");
  }

  Status validate(const HttpRequest& request) const;
  bool connection_looks_closed();
  Status connect(Clock::time_point request_deadline);
  Status write_request(const HttpRequest& request, Clock::time_point request_deadline, bool& peer_closed);
  Status read_response(const HttpRequest& request, HttpResponse& response, Clock::time_point request_deadline,
                       bool& peer_closed, bool& keep_alive);

  HttpEndpoint endpoint_;
  HttpClientOptions options_;
  std::string host_;         // no brackets: what we resolve and verify
  std::string port_;
  std::string host_header_;  // exactly what SigV4 signs
  std::string where_;        // "host:port" for messages
  bool use_tls_ = false;
  std::uint64_t connections_opened_ = 0;

  asio::io_context ioc_{1};  // declared first: outlives every I/O object below
  std::optional<ssl::context> ssl_context_;
  tcp::resolver resolver_{ioc_};
  asio::steady_timer resolve_timer_{ioc_};
  std::unique_ptr<beast::tcp_stream> plain_;
  std::unique_ptr<TlsStream> tls_;
  beast::flat_buffer read_buffer_;
  std::vector<char> file_chunk_;
};

HttpClient::Impl::Impl(HttpEndpoint endpoint, HttpClientOptions options)
    : endpoint_(std::move(endpoint)), options_(std::move(options)) {
  if (endpoint_.scheme != "http" && endpoint_.scheme != "https")
    throw std::invalid_argument("HttpEndpoint.scheme must be \"http\" or \"https\"");
  host_ = strip_brackets(endpoint_.host);
  if (host_.empty() || has_line_break_or_nul(host_) || host_.find_first_of(" /?#@") != std::string::npos)
    throw std::invalid_argument("HttpEndpoint.host must be a DNS name or IP address");
  port_ = endpoint_.port.empty() ? default_port(endpoint_.scheme) : endpoint_.port;
  const bool digits = !port_.empty() && port_.size() <= 5 &&
                      std::all_of(port_.begin(), port_.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || std::stoi(port_) < 1 || std::stoi(port_) > 65535)
    throw std::invalid_argument("HttpEndpoint.port must be a number in 1..65535 (or empty for the default)");
  if (options_.connect_timeout.count() <= 0) throw std::invalid_argument("HttpClientOptions.connect_timeout must be > 0");
  if (options_.io_timeout.count() <= 0) throw std::invalid_argument("HttpClientOptions.io_timeout must be > 0");
  if (options_.request_timeout.count() <= 0) throw std::invalid_argument("HttpClientOptions.request_timeout must be > 0");
  if (options_.max_response_body == 0) throw std::invalid_argument("HttpClientOptions.max_response_body must be > 0");
  host_header_ = host_header_value(endpoint_);
  where_ = (host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_) + ":" + port_;
  use_tls_ = endpoint_.scheme == "https";

  // The CA bundle is loaded even for http endpoints so a bad path is reported at setup.
  if (use_tls_ || !options_.ca_bundle.empty()) {
    ssl_context_.emplace(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ssl_context_->native_handle(), TLS1_2_VERSION);
    if (options_.verify_tls) {
      ssl_context_->set_verify_mode(ssl::verify_peer);
      boost::system::error_code ec;
      if (options_.ca_bundle.empty()) {
        ssl_context_->set_default_verify_paths(ec);
      } else {
        ssl_context_->load_verify_file(options_.ca_bundle, ec);
      }
      // Never fall back to "no verification" because the trust store could not be loaded.
      if (ec) {
        throw std::invalid_argument("HttpClientOptions.ca_bundle: cannot load PEM CA file '" + options_.ca_bundle +
                                    "': " + ec.message());
      }
    } else {
      ssl_context_->set_verify_mode(ssl::verify_none);
      if (!options_.ca_bundle.empty()) {
        boost::system::error_code ec;
        ssl_context_->load_verify_file(options_.ca_bundle, ec);
        if (ec) {
          throw std::invalid_argument("HttpClientOptions.ca_bundle: cannot load PEM CA file '" + options_.ca_bundle +
                                      "': " + ec.message());
        }
      }
    }
  }
}

void HttpClient::Impl::close() noexcept {
  boost::system::error_code ignored;
  if (tls_) beast::get_lowest_layer(*tls_).socket().close(ignored);
  if (plain_) plain_->socket().close(ignored);
  tls_.reset();
  plain_.reset();
  read_buffer_.clear();
}

Status HttpClient::Impl::validate(const HttpRequest& request) const {
  if (!is_token(request.method)) return Status::error(ErrorKind::kInvalidArgument, "HttpRequest.method is not a valid HTTP method");
  if (request.target.empty() || request.target.front() != '/' ||
      std::any_of(request.target.begin(), request.target.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
    return Status::error(ErrorKind::kInvalidArgument,
                         "HttpRequest.target must start with '/' and contain no spaces or control characters");
  }
  if (request.file_body && !request.body.empty())
    return Status::error(ErrorKind::kInvalidArgument, "HttpRequest: set body or file_body, not both");
  if (request.file_body && request.file_body->fd < 0)
    return Status::error(ErrorKind::kInvalidArgument, "HttpRequest.file_body.fd is not an open file");
  const std::uint64_t body_length = request.file_body ? request.file_body->length : request.body.size();
  for (const auto& [name, value] : request.headers) {
    // The name may be reported; the value never is (it may be a signature or a token).
    if (!is_token(name)) return Status::error(ErrorKind::kInvalidArgument, "HttpRequest: invalid header name");
    if (has_line_break_or_nul(value))
      return Status::error(ErrorKind::kInvalidArgument, "HttpRequest: value of header '" + name + "' contains CR, LF or NUL");
    if (iequals(name, "host") && !iequals(value, host_header_))
      return Status::error(ErrorKind::kInvalidArgument, "HttpRequest: Host header differs from the endpoint's host_header_value()");
    if (iequals(name, "content-length") && value != std::to_string(body_length))
      return Status::error(ErrorKind::kInvalidArgument, "HttpRequest: Content-Length header differs from the body length");
    if (iequals(name, "transfer-encoding") || iequals(name, "connection"))
      return Status::error(ErrorKind::kInvalidArgument, "HttpRequest: header '" + name + "' is managed by the client");
  }
  return Status::ok();
}

// A reused connection the server already closed (idle timeout) shows EOF or stray bytes (a TLS
// close_notify) without blocking; reconnect before sending instead of spending the one retry.
bool HttpClient::Impl::connection_looks_closed() {
  if (read_buffer_.size() != 0) return true;
  char byte = 0;
  const ssize_t got = ::recv(tcp_layer().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (got >= 0) return true;
  return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

Status HttpClient::Impl::connect(Clock::time_point request_deadline) {
  const StepDeadline deadline = step_deadline(options_.connect_timeout, request_deadline);
  auto connect_timed_out = [&](std::string_view step) { return timed_out(step, deadline.request_limited, options_.connect_timeout); };

  // getaddrinfo cannot be interrupted; the timer abandons it by cancelling the resolver.
  bool done = false;
  bool resolve_timed_out = false;
  beast::error_code ec;
  tcp::resolver::results_type endpoints;
  resolve_timer_.expires_at(deadline.at);
  resolve_timer_.async_wait([&](const beast::error_code& timer_ec) {
    if (!timer_ec && !done) {
      resolve_timed_out = true;
      resolver_.cancel();
    }
  });
  resolver_.async_resolve(options_.connect_address.empty() ? host_ : options_.connect_address, port_, [&](const beast::error_code& resolve_ec, tcp::resolver::results_type results) {
    ec = resolve_ec;
    endpoints = std::move(results);
    done = true;
    resolve_timer_.cancel();
  });
  run_until(done);
  if (resolve_timed_out) return connect_timed_out("resolve");
  if (ec) return fail(ErrorKind::kTransient, "resolve", ec.message());

  if (use_tls_) {
    tls_ = std::make_unique<TlsStream>(ioc_, *ssl_context_);
  } else {
    plain_ = std::make_unique<beast::tcp_stream>(ioc_);
  }
  beast::tcp_stream& socket_stream = tcp_layer();
  done = false;
  socket_stream.expires_at(deadline.at);
  socket_stream.async_connect(endpoints, [&](const beast::error_code& connect_ec, const tcp::endpoint&) {
    ec = connect_ec;
    done = true;
  });
  run_until(done);
  if (ec) {
    close();
    return ec == beast::error::timeout ? connect_timed_out("connect") : fail(ErrorKind::kTransient, "connect", ec.message());
  }
  ++connections_opened_;
  socket_stream.socket().set_option(tcp::no_delay(true), ec);  // header and body leave in separate writes

  if (use_tls_) {
    SSL* ssl_handle = tls_->native_handle();
    const bool ip_host = is_ip_literal(host_);
    // RFC 6066: SNI carries DNS names only, never IP literals.
    // (SSL_set_tlsext_host_name spelled out: the macro's C cast trips -Wold-style-cast.)
    if (!ip_host) {
      SSL_ctrl(ssl_handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host_.c_str()));
    }
    if (options_.verify_tls) {
      // OpenSSL's own check (not a verify callback) so a mismatch is reported as
      // X509_V_ERR_HOSTNAME_MISMATCH / IP_ADDRESS_MISMATCH in the message.
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      const int set = ip_host ? X509_VERIFY_PARAM_set1_ip_asc(param, host_.c_str())
                              : X509_VERIFY_PARAM_set1_host(param, host_.c_str(), host_.size());
      if (set != 1) {
        close();
        return fail(ErrorKind::kPermanent, "TLS handshake", "cannot set the expected host name for verification");
      }
    }
    done = false;
    socket_stream.expires_at(deadline.at);
    tls_->async_handshake(ssl::stream_base::client, [&](const beast::error_code& handshake_ec) {
      ec = handshake_ec;
      done = true;
    });
    run_until(done);
    if (ec) {
      const long verify_result = SSL_get_verify_result(ssl_handle);
      close();
      if (ec == beast::error::timeout) return connect_timed_out("TLS handshake");
      if (options_.verify_tls && verify_result != X509_V_OK) {
        // Retrying will not make an untrusted or mismatched certificate trusted.
        return fail(ErrorKind::kPermanent, "TLS handshake",
                    std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify_result));
      }
      return fail(ErrorKind::kTransient, "TLS handshake", ec.message());
    }
  }
  read_buffer_.clear();
  return Status::ok();
}

Status HttpClient::Impl::write_request(const HttpRequest& request, Clock::time_point request_deadline,
                                       bool& peer_closed) {
  http::request<http::buffer_body> message;
  message.version(11);
  message.method_string(request.method);
  message.target(request.target);
  message.set(http::field::host, host_header_);
  for (const auto& [name, value] : request.headers) {
    if (iequals(name, "host") || iequals(name, "content-length")) continue;  // validated equal to ours
    message.insert(name, value);
  }
  const std::uint64_t body_length = request.file_body ? request.file_body->length : request.body.size();
  if (body_length > 0 || !is_bodyless_method(request.method)) message.content_length(body_length);

  std::uint64_t file_sent = 0;
  // Points the serializer at the next body chunk: the whole in-memory body, or the next pread().
  auto next_chunk = [&]() -> Status {
    auto& body = message.body();
    if (!request.file_body) {
      body.data = request.body.empty() ? nullptr : const_cast<char*>(request.body.data());
      body.size = request.body.size();
      body.more = false;
      return Status::ok();
    }
    const FileRange& range = *request.file_body;
    const std::uint64_t remaining = range.length - file_sent;
    if (remaining == 0) {
      body.data = nullptr;
      body.size = 0;
      body.more = false;
      return Status::ok();
    }
    file_chunk_.resize(kFileChunkBytes);
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, kFileChunkBytes));
    ssize_t got = 0;
    do {
      got = ::pread(range.fd, file_chunk_.data(), want, static_cast<off_t>(range.offset + file_sent));
    } while (got < 0 && errno == EINTR);
    if (got < 0) return fail(ErrorKind::kTransient, "send", std::string("reading the request body file: ") + std::strerror(errno));
    if (got == 0) {
      return fail(ErrorKind::kInvalidArgument, "send",
                  "request body file ends " + std::to_string(remaining) + " bytes before its FileRange length");
    }
    file_sent += static_cast<std::uint64_t>(got);
    body.data = file_chunk_.data();
    body.size = static_cast<std::size_t>(got);
    body.more = file_sent < range.length;
    return Status::ok();
  };

  Status chunk = next_chunk();
  if (!chunk) return chunk;
  http::request_serializer<http::buffer_body> serializer{message};
  while (!serializer.is_done()) {
    const StepDeadline deadline = step_deadline(options_.io_timeout, request_deadline);
    tcp_layer().expires_at(deadline.at);
    bool done = false;
    beast::error_code ec;
    with_stream([&](auto& stream) {
      http::async_write_some(stream, serializer, [&](const beast::error_code& write_ec, std::size_t) {
        ec = write_ec;
        done = true;
      });
    });
    run_until(done);
    if (ec == http::error::need_buffer) {
      chunk = next_chunk();
      if (!chunk) return chunk;
      continue;
    }
    if (ec == beast::error::timeout) return timed_out("send", deadline.request_limited, options_.io_timeout);
    if (ec) {
      peer_closed = is_connection_closed(ec);
      return fail(ErrorKind::kTransient, "send", ec.message());
    }
  }
  return Status::ok();
}

Status HttpClient::Impl::read_response(const HttpRequest& request, HttpResponse& response,
                                       Clock::time_point request_deadline, bool& peer_closed, bool& keep_alive) {
  std::optional<http::response_parser<http::string_body>> parser;
  auto fresh_parser = [&] {
    parser.emplace();
    parser->header_limit(kHeaderLimitBytes);
    parser->body_limit(options_.max_response_body);
    parser->eager(true);
    if (request.method == "HEAD") parser->skip(true);  // Content-Length describes a body not sent
  };
  fresh_parser();
  bool got_response_byte = read_buffer_.size() > 0;
  for (;;) {
    if (read_buffer_.size() > 0) {
      beast::error_code parse_ec;
      const std::size_t used = parser->put(read_buffer_.data(), parse_ec);
      read_buffer_.consume(used);
      if (parse_ec == http::error::need_more) parse_ec = {};
      if (parse_ec == http::error::body_limit) {
        return fail(ErrorKind::kPermanent, "read",
                    "response body exceeds max_response_body (" + std::to_string(options_.max_response_body) + " bytes)");
      }
      if (parse_ec) return fail(ErrorKind::kTransient, "read", "malformed response: " + parse_ec.message());
      if (parser->is_done()) {
        const int status = parser->get().result_int();
        if (status >= 100 && status < 200 && status != 101) {  // interim response: the real one follows
          fresh_parser();
          continue;
        }
        break;
      }
      if (used > 0) continue;
    }
    const StepDeadline deadline = step_deadline(options_.io_timeout, request_deadline);
    tcp_layer().expires_at(deadline.at);
    bool done = false;
    beast::error_code ec;
    std::size_t received = 0;
    with_stream([&](auto& stream) {
      stream.async_read_some(read_buffer_.prepare(kReadChunkBytes),
                             [&](const beast::error_code& read_ec, std::size_t bytes) {
                               ec = read_ec;
                               received = bytes;
                               done = true;
                             });
    });
    run_until(done);
    read_buffer_.commit(received);
    if (received > 0) got_response_byte = true;
    if (received > 0 && !ec) continue;
    if (ec == beast::error::timeout) return timed_out("read", deadline.request_limited, options_.io_timeout);
    if (ec == asio::error::eof || ec == ssl::error::stream_truncated) {
      if (!got_response_byte) {
        peer_closed = true;
        return fail(ErrorKind::kTransient, "read", "connection closed before any response byte");
      }
      if (read_buffer_.size() > 0) continue;  // parse what arrived with the EOF first
      beast::error_code eof_ec;
      parser->put_eof(eof_ec);  // completes a body delimited by connection close
      if (eof_ec || !parser->is_done()) return fail(ErrorKind::kTransient, "read", "connection closed mid-response");
      break;
    }
    if (ec) {
      peer_closed = !got_response_byte && is_connection_closed(ec);
      return fail(ErrorKind::kTransient, "read", ec.message());
    }
  }

  auto& message = parser->get();
  response.status = message.result_int();
  response.headers.reserve(static_cast<std::size_t>(std::distance(message.begin(), message.end())));
  for (const auto& field : message) response.headers.emplace_back(field.name_string(), field.value());
  response.body = std::move(message.body());
  // Bytes past the response mean the stream is out of step: do not reuse it.
  keep_alive = message.keep_alive() && !parser->need_eof() && read_buffer_.size() == 0;
  return Status::ok();
}

Status HttpClient::Impl::send(const HttpRequest& request, HttpResponse& response) {
  if (Status invalid = validate(request); !invalid) return invalid;
  const Clock::time_point request_deadline = Clock::now() + options_.request_timeout;
  for (int attempt = 0;; ++attempt) {
    response = HttpResponse{};
    if (connected() && connection_looks_closed()) close();
    const bool reused = connected();
    if (!reused) {
      if (Status connected_status = connect(request_deadline); !connected_status) return connected_status;
    }
    bool peer_closed = false;
    bool keep_alive = false;
    Status status = write_request(request, request_deadline, peer_closed);
    if (status) {
      // A server that closed while we were sending may still have a reply for us; read_response
      // then sees the EOF or reset and reports it.
      status = read_response(request, response, request_deadline, peer_closed, keep_alive);
    }
    if (status) {
      if (!keep_alive) close();
      return status;
    }
    close();
    response = HttpResponse{};
    // Only a reused connection that the server dropped before any response byte gets the one
    // retry: the usual cause is an idle-timeout close racing our request, which the server
    // never processed. (S3 PUTs are idempotent; a rare duplicate POST costs an orphan upload id.)
    if (reused && peer_closed && attempt == 0) continue;
    return status;
  }
}

HttpClient::HttpClient(HttpEndpoint endpoint, HttpClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(endpoint), std::move(options))) {}

HttpClient::~HttpClient() = default;

Status HttpClient::send(const HttpRequest& request, HttpResponse& response) noexcept {
  try {
    return impl_->send(request, response);
  } catch (const std::exception& e) {
    impl_->close();
    return Status::error(ErrorKind::kTransient, std::string("HTTP client: ") + e.what());
  } catch (...) {
    impl_->close();
    return Status::error(ErrorKind::kTransient, "HTTP client: unknown exception");
  }
}

void HttpClient::close() noexcept { impl_->close(); }

std::uint64_t HttpClient::connections_opened() const noexcept { return impl_->connections_opened(); }

}  // namespace trailkit::s3
