#pragma once
// trailkit::s3::HttpClient — one keep-alive HTTP/1.1 connection (plain or TLS) to one endpoint.
//
// Why our own small client: the uploader needs exactly four things a generic client hides — a
// timeout on every step (DNS, TCP, TLS, each send/receive, the whole request), TLS verification
// that cannot be switched off by accident (reference §2.2: Fluent Bit's `verify_hostname off`
// default is the anti-pattern), request bodies streamed from a spool file without loading them,
// and failures already classified for the retry policy (transient vs permanent).
//
// This header includes neither Boost nor OpenSSL (pimpl): users of the S3 adapter never compile
// Beast. The implementation runs Boost.Asio/Beast on a private io_context in the calling thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "trailkit/status.hpp"

namespace trailkit::s3 {

/// Settings of one HttpClient. Defaults stated inline; checked by the HttpClient constructor.
/// Thread contract: plain value type.
struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{3000};   ///< DNS + TCP connect + TLS handshake, together
  std::chrono::milliseconds io_timeout{30000};        ///< no progress for this long while sending/receiving
  std::chrono::milliseconds request_timeout{300000};  ///< cap on one send() call, retries and connect included
  /// Verify the certificate chain AND the hostname (SNI is sent for DNS names). Only an explicit
  /// `false` turns it off; an empty or failing ca_bundle never does (it throws instead).
  bool verify_tls = true;
  std::string ca_bundle;                    ///< PEM file of trusted CAs; empty = OpenSSL's system default paths
  std::size_t max_response_body = 4 << 20;  ///< larger response bodies fail (we only read S3 XML replies)
  /// When set, connect to this host or IP instead of resolving the endpoint's host (like curl's
  /// --resolve); the Host header, SNI and certificate checks still use the endpoint's host. For
  /// virtual-hosted buckets behind private DNS, and for tests.
  std::string connect_address;
};

/// Where to connect. `scheme` is "http" or "https" (plain http only because the endpoint says so);
/// `host` is a DNS name or an IP literal (IPv6 with or without brackets); `port` empty = 80 / 443.
/// Thread contract: plain value type.
struct HttpEndpoint {
  std::string scheme;
  std::string host;
  std::string port;
};

/// The exact `Host` header value HttpClient sends for `endpoint` ("host" or "host:port" when the
/// port is not the scheme's default; IPv6 in brackets). SigV4 signs this header, so the signer
/// must use this function rather than rebuild the value. Thread contract: pure function.
std::string host_header_value(const HttpEndpoint& endpoint);

/// A byte range of an already-open file, streamed as the request body in 256 KiB pread() chunks
/// (50 MB spool files and 8+ MiB multipart parts are never loaded into memory). The fd stays
/// owned by the caller and must stay open during send(); a retry re-reads the range from `offset`.
/// Thread contract: plain value type.
struct FileRange {
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

/// One request. Thread contract: plain value type.
struct HttpRequest {
  std::string method;  ///< "GET", "PUT", "POST", "HEAD", "DELETE", ...
  std::string target;  ///< already-encoded path + optional "?query", sent verbatim (never re-encoded)
  /// Sent in this order. `Host` and `Content-Length` are set by the client: a caller-supplied one
  /// must equal the client's value (else kInvalidArgument), so a signed value can never diverge.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;                    ///< in-memory body; must be empty when file_body is set
  std::optional<FileRange> file_body;  ///< streamed body
};

/// One response. Thread contract: plain value type.
struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  ///< in the order received
  std::string body;
  /// The first header named `name`, compared case-insensitively (HTTP field names are).
  std::optional<std::string> header(std::string_view name) const;
};

/// One keep-alive connection to one endpoint; reconnects when the server closed it.
///
/// A request on a reused keep-alive connection that fails before any response byte arrived
/// (the server closed an idle connection under us: EOF, reset, broken pipe) is retried ONCE on
/// a new connection, never twice; a fresh connection's failure, a timeout, or a failure after a
/// response byte is never retried here (the caller's retry policy decides, with backoff).
///
/// Thread contract: not thread-safe; use one per uploader thread. The destructor closes the
/// connection.
class HttpClient {
 public:
  /// Throws std::invalid_argument naming the field on bad options or endpoint: scheme not
  /// http/https, empty host, bad port, non-positive timeout, max_response_body 0, or a ca_bundle
  /// that cannot be read as PEM.
  HttpClient(HttpEndpoint endpoint, HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Sends `request` and reads the whole response into `response` (any HTTP status is ok()).
  /// Failures, each with a message naming host:port and the step:
  /// - kTransient: DNS, connect, TLS handshake, send, read, timeouts ("read: timeout after
  ///   30000 ms", "connect: request timeout after 300000 ms"), malformed response, local pread error;
  /// - kPermanent: certificate or hostname verification failed ("TLS handshake: certificate verify
  ///   failed: ..."), response body larger than max_response_body;
  /// - kInvalidArgument: malformed request (bad method/target, CR/LF in a header, body and
  ///   file_body both set, file shorter than its FileRange, conflicting Host/Content-Length).
  /// Messages never contain header values (Authorization, tokens) or body bytes.
  Status send(const HttpRequest& request, HttpResponse& response) noexcept;

  /// Closes the connection now (the next send() reconnects). Idempotent.
  void close() noexcept;

  /// How many connections were opened (TCP connects that succeeded), for keep-alive tests and stats.
  std::uint64_t connections_opened() const noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace trailkit::s3
