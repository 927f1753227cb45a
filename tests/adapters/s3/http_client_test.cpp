// HttpClient against the in-process TestHttpServer: keep-alive, reconnects, the one retry,
// timeouts on every step, streamed file bodies, response limits and TLS verification.
#include "s3/http_client.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "adapters/s3/support/test_http_server.hpp"

namespace trailkit::s3 {
namespace {

using namespace std::chrono_literals;
using testing::ReceivedRequest;
using testing::ScriptedReply;
using testing::TestHttpServer;
using Clock = std::chrono::steady_clock;

constexpr const char* kSecretCanary = "SECRET-CANARY-wJalrXUtnFEMI";

HttpRequest get(std::string target = "/") { return HttpRequest{"GET", std::move(target), {}, {}, std::nullopt}; }

HttpClientOptions fast_options() {
  HttpClientOptions options;
  options.connect_timeout = 2000ms;
  options.io_timeout = 2000ms;
  options.request_timeout = 10000ms;
  return options;
}

// A scratch directory removed at the end of each test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "trailkit_http_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = pattern;
  }
  ~TempDir() {
    for (int fd : fds_) ::close(fd);
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  // Creates `name` holding `content`; returns it open read-write (closed by the destructor).
  int open_file(const std::string& name, std::string_view content) {
    const int fd = ::open(file(name).c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size()))
      throw std::runtime_error("TempDir::open_file");
    fds_.push_back(fd);
    return fd;
  }

 private:
  std::filesystem::path path_;
  std::vector<int> fds_;
};

std::string random_bytes(std::size_t size, std::uint64_t seed) {
  std::string bytes(size, '\0');
  std::mt19937_64 random(seed);
  for (auto& c : bytes) c = static_cast<char>(random());
  return bytes;
}

// A listening socket nobody accepts on: the kernel completes TCP handshakes into the backlog,
// so a client connects but never hears a byte (a TLS handshake stalls). With `fill_backlog`
// the backlog is full and further SYNs are dropped, so a TCP connect itself stalls.
class SilentListener {
 public:
  explicit SilentListener(bool fill_backlog) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(fd_, fill_backlog ? 0 : 8) != 0)
      throw std::runtime_error("SilentListener");
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    if (fill_backlog) {
      for (int i = 0; i < 4; ++i) {
        const int filler = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        (void)::connect(filler, reinterpret_cast<sockaddr*>(&address), length);
        fillers_.push_back(filler);
      }
      std::this_thread::sleep_for(50ms);  // let the handshakes land in the accept queue
    }
  }
  ~SilentListener() {
    for (int fd : fillers_) ::close(fd);
    ::close(fd_);
  }
  std::string port() const { return std::to_string(port_); }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::vector<int> fillers_;
};

// A port that was just free: nothing listens there, so connect() is refused at once.
std::string unused_port() {
  SilentListener listener(false);
  return listener.port();
}

// Sends `request`; expects a kTransient failure whose message contains `expected`, returned
// after at least `min_ms` and before `max_ms` (the timeout fired, and on time).
void expect_transient_in_window(HttpClient& client, const HttpRequest& request, const std::string& expected,
                                std::int64_t min_ms, std::int64_t max_ms) {
  HttpResponse response;
  const auto start = Clock::now();
  const Status status = client.send(request, response);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  EXPECT_EQ(status.kind(), ErrorKind::kTransient);
  EXPECT_NE(status.message().find(expected), std::string::npos) << status.message();
  EXPECT_EQ(status.message().find(kSecretCanary), std::string::npos);
  EXPECT_GE(took, min_ms);
  EXPECT_LT(took, max_ms);
}

// ---- plain HTTP -------------------------------------------------------------------------------

TEST(HttpClient, KeepAliveReusesOneConnectionForTenRequests) {
  TestHttpServer server;
  server.set_handler([](const ReceivedRequest& request) {
    return ScriptedReply{.status = 200, .headers = {{"ETag", "\"abc\""}}, .body = "echo " + request.target};
  });
  HttpClient client(server.endpoint(), fast_options());
  for (int i = 0; i < 10; ++i) {
    HttpResponse response;
    const std::string target = "/bucket/key-" + std::to_string(i) + "?x=1";
    ASSERT_TRUE(client.send(get(target), response)) << i;
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "echo " + target);
    EXPECT_EQ(response.header("etag"), "\"abc\"");  // case-insensitive lookup
  }
  EXPECT_EQ(client.connections_opened(), 1u);
  EXPECT_EQ(server.connections_accepted(), 1u);
  EXPECT_EQ(server.request_count(), 10u);
}

TEST(HttpClient, SendsHostHeaderTargetVerbatimAndCallerHeaders) {
  TestHttpServer server;
  HttpClient client(server.endpoint(), fast_options());
  HttpRequest request{"PUT", "/b/a%20b%2Bc%3D~?partNumber=1&uploadId=x%2Fy", {{"x-amz-meta-k", "v"}}, "data", {}};
  HttpResponse response;
  ASSERT_TRUE(client.send(request, response));
  const ReceivedRequest received = server.requests().at(0);
  EXPECT_EQ(received.method, "PUT");
  EXPECT_EQ(received.target, request.target);  // never re-encoded
  EXPECT_EQ(received.header("Host"), host_header_value(server.endpoint()));
  EXPECT_EQ(received.header("Host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(received.header("Content-Length"), "4");
  EXPECT_EQ(received.header("x-amz-meta-k"), "v");
  EXPECT_EQ(received.body, "data");
}

TEST(HttpClient, HostHeaderValueOmitsDefaultPortsAndBracketsIpv6) {
  EXPECT_EQ(host_header_value({"https", "s3.us-east-1.amazonaws.com", "443"}), "s3.us-east-1.amazonaws.com");
  EXPECT_EQ(host_header_value({"https", "s3.amazonaws.com", ""}), "s3.amazonaws.com");
  EXPECT_EQ(host_header_value({"http", "localhost", "80"}), "localhost");
  EXPECT_EQ(host_header_value({"http", "localhost", "4566"}), "localhost:4566");
  EXPECT_EQ(host_header_value({"https", "localhost", "80"}), "localhost:80");
  EXPECT_EQ(host_header_value({"http", "::1", "9000"}), "[::1]:9000");
  EXPECT_EQ(host_header_value({"http", "[::1]", "9000"}), "[::1]:9000");
}

TEST(HttpClient, HeadResponseHasNoBodyAndConnectionStaysUsable) {
  TestHttpServer server;
  server.push(ScriptedReply{.status = 200, .headers = {}, .body = std::string(100, 'x')});
  server.push(ScriptedReply{.status = 200, .headers = {}, .body = "after"});
  HttpClient client(server.endpoint(), fast_options());
  HttpResponse response;
  ASSERT_TRUE(client.send(HttpRequest{"HEAD", "/b/k", {}, {}, {}}, response));
  EXPECT_EQ(response.header("Content-Length"), "100");
  EXPECT_TRUE(response.body.empty());
  ASSERT_TRUE(client.send(get(), response));
  EXPECT_EQ(response.body, "after");
  EXPECT_EQ(client.connections_opened(), 1u);
}

TEST(HttpClient, ErrorStatusesAreResponsesNotFailures) {
  TestHttpServer server;
  server.push(ScriptedReply{.status = 503, .headers = {}, .body = "<Error><Code>SlowDown</Code></Error>"});
  HttpClient client(server.endpoint(), fast_options());
  HttpResponse response;
  ASSERT_TRUE(client.send(get(), response));
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.body, "<Error><Code>SlowDown</Code></Error>");
}

TEST(HttpClient, ReconnectsAfterServerAnnouncedClose) {
  TestHttpServer server;
  server.push(ScriptedReply{.close_after_reply = true});
  HttpClient client(server.endpoint(), fast_options());
  HttpResponse response;
  ASSERT_TRUE(client.send(get(), response));
  ASSERT_TRUE(client.send(get(), response));
  EXPECT_EQ(client.connections_opened(), 2u);
  EXPECT_EQ(server.connections_accepted(), 2u);
  EXPECT_EQ(server.request_count(), 2u);  // no request was lost or doubled
}

TEST(HttpClient, ReconnectsAfterServerSilentlyDroppedIdleConnection) {
  TestHttpServer server;
  server.push(ScriptedReply{.drop_after_reply = true});
  HttpClient client(server.endpoint(), fast_options());
  HttpResponse response;
  ASSERT_TRUE(client.send(get(), response));
  std::this_thread::sleep_for(50ms);  // the server's FIN arrives while the connection idles
  ASSERT_TRUE(client.send(get(), response));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(client.connections_opened(), 2u);
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(HttpClient, StaleKeepAliveFailureBeforeAnyResponseByteIsRetriedOnceOnNewConnection) {
  TestHttpServer server;
  server.push(ScriptedReply{});                             // 1st request: fine, keep-alive
  server.push(ScriptedReply{.close_without_reply = true});  // 2nd: the server drops it unanswered
  server.push(ScriptedReply{.body = "retried"});            // the retry on a new connection
  HttpClient client(server.endpoint(), fast_options());
  HttpResponse response;
  ASSERT_TRUE(client.send(get(), response));
  ASSERT_TRUE(client.send(get("/second"), response));
  EXPECT_EQ(response.body, "retried");
  EXPECT_EQ(client.connections_opened(), 2u);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[2].target, "/second");
  EXPECT_EQ(requests[2].connection_index, 1u);
}

TEST(HttpClient, StaleRetryHappensOnlyOnce) {
  TestHttpServer server;
  server.push(ScriptedReply{});
  server.push(ScriptedReply{.close_without_reply = true});
  server.push(ScriptedReply{.close_without_reply = true});
  server.push(ScriptedReply{.body = "never reached by the failing send"});
  HttpClient client(server.endpoint(), fast_options());
  HttpResponse response;
  ASSERT_TRUE(client.send(get(), response));
  const Status status = client.send(get(), response);
  EXPECT_EQ(status.kind(), ErrorKind::kTransient);
  EXPECT_NE(status.message().find("connection closed before any response byte"), std::string::npos) << status.message();
  EXPECT_EQ(server.request_count(), 3u);  // original + exactly one retry
  EXPECT_EQ(client.connections_opened(), 2u);
}

TEST(HttpClient, FreshConnectionFailureIsNotRetried) {
  TestHttpServer server;
  server.push(ScriptedReply{.close_without_reply = true});
  HttpClient client(server.endpoint(), fast_options());
  HttpResponse response;
  const Status status = client.send(get(), response);
  EXPECT_EQ(status.kind(), ErrorKind::kTransient);
  EXPECT_EQ(server.request_count(), 1u);
}

TEST(HttpClient, ResetAfterResponseBytesIsTransientAndNotRetried) {
  TestHttpServer server;
  server.push(ScriptedReply{});
  server.push(ScriptedReply{.body = std::string(1000, 'b'), .truncate_reply_at = 60});
  HttpClient client(server.endpoint(), fast_options());
  HttpResponse response;
  ASSERT_TRUE(client.send(get(), response));
  const Status status = client.send(get(), response);
  EXPECT_EQ(status.kind(), ErrorKind::kTransient);
  EXPECT_NE(status.message().find("read"), std::string::npos) << status.message();
  EXPECT_EQ(server.request_count(), 2u);  // a reply had started: retrying is the caller's decision
  // The client recovers on a new connection afterwards.
  ASSERT_TRUE(client.send(get(), response));
  EXPECT_EQ(client.connections_opened(), 2u);
}

TEST(HttpClient, ConnectionRefusedIsTransientAndNamesHostPortAndStep) {
  const std::string port = unused_port();
  HttpClient client({"http", "127.0.0.1", port}, fast_options());
  HttpResponse response;
  HttpRequest request = get();
  request.headers.emplace_back("Authorization", kSecretCanary);
  const Status status = client.send(request, response);
  EXPECT_EQ(status.kind(), ErrorKind::kTransient);
  EXPECT_NE(status.message().find("127.0.0.1:" + port + ": connect: "), std::string::npos) << status.message();
  EXPECT_EQ(status.message().find(kSecretCanary), std::string::npos);
  EXPECT_EQ(client.connections_opened(), 0u);
}

TEST(HttpClient, TcpConnectTimeoutFires) {
  SilentListener listener(/*fill_backlog=*/true);
  HttpClientOptions options = fast_options();
  options.connect_timeout = 300ms;
  HttpClient client({"http", "127.0.0.1", listener.port()}, options);
  expect_transient_in_window(client, get(), "127.0.0.1:" + listener.port() + ": connect: timeout after 300 ms", 250, 1500);
}

TEST(HttpClient, TlsHandshakeCountsAgainstConnectTimeout) {
  SilentListener listener(/*fill_backlog=*/false);
  HttpClientOptions options = fast_options();
  options.connect_timeout = 300ms;
  HttpClient client({"https", "127.0.0.1", listener.port()}, options);
  expect_transient_in_window(client, get(), "TLS handshake: timeout after 300 ms", 250, 1500);
  EXPECT_EQ(client.connections_opened(), 1u);  // TCP got through; the handshake is what stalled
}

TEST(HttpClient, StalledResponseTimesOutWithinIoTimeout) {
  TestHttpServer server;
  server.push(ScriptedReply{.delay_before_reply = 5000ms});
  HttpClientOptions options = fast_options();
  options.io_timeout = 300ms;
  HttpClient client(server.endpoint(), options);
  HttpRequest request = get();
  request.headers.emplace_back("x-amz-security-token", kSecretCanary);
  expect_transient_in_window(client, request,
                             "127.0.0.1:" + std::to_string(server.port()) + ": read: timeout after 300 ms", 280, 1000);
  EXPECT_EQ(server.request_count(), 1u);  // a timeout is not retried here
}

TEST(HttpClient, RequestTimeoutCapsTheWholeRequest) {
  TestHttpServer server;
  // Drip: the reply starts, then stalls; io_timeout alone would allow 2 s more.
  server.push(ScriptedReply{.body = std::string(1000, 'x'), .truncate_reply_at = 50, .stall_after_truncate = 3000ms});
  HttpClientOptions options = fast_options();
  options.io_timeout = 2000ms;
  options.request_timeout = 400ms;
  HttpClient client(server.endpoint(), options);
  expect_transient_in_window(client, get(), "read: request timeout after 400 ms", 380, 1200);
}

TEST(HttpClient, ResetMidRequestBodyIsTransient) {
  TestHttpServer server;
  server.push(ScriptedReply{.request_body_limit = 100 * 1024});
  HttpClient client(server.endpoint(), fast_options());
  HttpRequest request{"PUT", "/b/k", {}, std::string(8 << 20, 'z'), {}};
  HttpResponse response;
  const Status status = client.send(request, response);
  EXPECT_EQ(status.kind(), ErrorKind::kTransient);
  EXPECT_TRUE(status.message().find(": send: ") != std::string::npos ||
              status.message().find(": read: ") != std::string::npos)
      << status.message();
  EXPECT_EQ(server.request_count(), 1u);
  EXPECT_FALSE(server.requests()[0].body_complete);
}

TEST(HttpClient, SendStallTimesOutWithinIoTimeout) {
  TestHttpServer server;
  server.push(ScriptedReply{.request_body_limit = 0, .stall_after_body_limit = 5000ms});
  TempDir dir;
  // A sparse 64 MiB file: far more than the loopback socket buffers hold, read back as zeros.
  const int fd = dir.open_file("big.bin", "");
  ASSERT_EQ(::ftruncate(fd, 64 << 20), 0);
  HttpClientOptions options = fast_options();
  options.io_timeout = 300ms;
  HttpClient client(server.endpoint(), options);
  expect_transient_in_window(client, HttpRequest{"PUT", "/b/k", {}, {}, FileRange{fd, 0, 64 << 20}},
                             "send: timeout after 300 ms", 280, 2000);
}

TEST(HttpClient, FileRangeBodyArrivesByteExactWithoutLoadingTheFile) {
  TempDir dir;
  const std::string content = random_bytes(6 << 20, 42);
  const int fd = dir.open_file("spool.bin", content);

  TestHttpServer server;
  HttpClient client(server.endpoint(), fast_options());
  const std::uint64_t offset = 12345;
  const std::uint64_t length = 5 << 20;
  HttpResponse response;
  ASSERT_TRUE(client.send(HttpRequest{"PUT", "/b/part", {}, {}, FileRange{fd, offset, length}}, response));
  // The whole file as a second body proves the range, not luck, decided what was sent.
  ASSERT_TRUE(client.send(HttpRequest{"PUT", "/b/whole", {}, {}, FileRange{fd, 0, content.size()}}, response));

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].header("Content-Length"), std::to_string(length));
  EXPECT_EQ(requests[0].body.size(), length);
  EXPECT_EQ(requests[0].body_sha256_hex, testing::sha256_hex(std::string_view(content).substr(offset, length)));
  EXPECT_EQ(requests[1].body_sha256_hex, testing::sha256_hex(content));
  EXPECT_EQ(client.connections_opened(), 1u);
}

TEST(HttpClient, FileShorterThanRangeIsInvalidArgument) {
  TempDir dir;
  const int fd = dir.open_file("short.bin", "0123456789");
  TestHttpServer server;
  HttpClient client(server.endpoint(), fast_options());
  HttpResponse response;
  const Status status = client.send(HttpRequest{"PUT", "/b/k", {}, {}, FileRange{fd, 4, 100}}, response);
  EXPECT_EQ(status.kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(status.message().find("ends 94 bytes before"), std::string::npos) << status.message();
}

TEST(HttpClient, EmptyPutSendsContentLengthZeroAndEmptyGetSendsNone) {
  TestHttpServer server;
  HttpClient client(server.endpoint(), fast_options());
  HttpResponse response;
  ASSERT_TRUE(client.send(HttpRequest{"PUT", "/b/empty", {}, {}, {}}, response));
  ASSERT_TRUE(client.send(get(), response));
  const auto requests = server.requests();
  EXPECT_EQ(requests[0].header("Content-Length"), "0");
  EXPECT_EQ(requests[1].header("Content-Length"), std::nullopt);
}

TEST(HttpClient, ResponseBodyOverMaxFailsAndExactMaxSucceeds) {
  TestHttpServer server;
  server.push(ScriptedReply{.body = std::string(1024, 'a')});
  server.push(ScriptedReply{.body = std::string(1025, 'a')});
  HttpClientOptions options = fast_options();
  options.max_response_body = 1024;
  HttpClient client(server.endpoint(), options);
  HttpResponse response;
  ASSERT_TRUE(client.send(get(), response));
  EXPECT_EQ(response.body.size(), 1024u);
  const Status status = client.send(get(), response);
  EXPECT_EQ(status.kind(), ErrorKind::kPermanent);
  EXPECT_NE(status.message().find("max_response_body"), std::string::npos) << status.message();
  EXPECT_TRUE(response.body.empty());
}

TEST(HttpClient, MalformedRequestsAreRejectedWithoutEchoingHeaderValues) {
  TestHttpServer server;
  HttpClient client(server.endpoint(), fast_options());
  HttpResponse response;
  HttpRequest injected = get();
  injected.headers.emplace_back("Authorization", std::string(kSecretCanary) + "\r\nX-Evil: 1");
  Status status = client.send(injected, response);
  EXPECT_EQ(status.kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(status.message().find("Authorization"), std::string::npos);
  EXPECT_EQ(status.message().find(kSecretCanary), std::string::npos);

  EXPECT_EQ(client.send(get("no-slash"), response).kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(client.send(get("/a b"), response).kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(client.send(HttpRequest{"BAD METHOD", "/", {}, {}, {}}, response).kind(), ErrorKind::kInvalidArgument);
  EXPECT_EQ(client.send(HttpRequest{"PUT", "/", {}, "x", FileRange{0, 0, 1}}, response).kind(),
            ErrorKind::kInvalidArgument);
  EXPECT_EQ(client.send(HttpRequest{"PUT", "/", {{"Host", "evil.example"}}, {}, {}}, response).kind(),
            ErrorKind::kInvalidArgument);
  EXPECT_EQ(client.send(HttpRequest{"PUT", "/", {{"Content-Length", "5"}}, "abc", {}}, response).kind(),
            ErrorKind::kInvalidArgument);
  // A matching Host / Content-Length (as a signer would include) is accepted and not duplicated.
  const std::string host = host_header_value(server.endpoint());
  ASSERT_TRUE(client.send(HttpRequest{"PUT", "/", {{"host", host}, {"content-length", "3"}}, "abc", {}}, response));
  EXPECT_EQ(server.request_count(), 1u);
  const auto headers = server.requests().at(0).headers;
  EXPECT_EQ(std::count_if(headers.begin(), headers.end(), [](const auto& h) { return boost::beast::iequals(h.first, "host"); }), 1);
}

TEST(HttpClient, BadOptionsThrowInvalidArgument) {
  EXPECT_THROW(HttpClient({"ftp", "localhost", "21"}, {}), std::invalid_argument);
  EXPECT_THROW(HttpClient({"http", "", "80"}, {}), std::invalid_argument);
  EXPECT_THROW(HttpClient({"http", "localhost", "99999"}, {}), std::invalid_argument);
  EXPECT_THROW(HttpClient({"http", "localhost", "8o"}, {}), std::invalid_argument);
  HttpClientOptions zero_timeout;
  zero_timeout.io_timeout = 0ms;
  EXPECT_THROW(HttpClient({"http", "localhost", "80"}, zero_timeout), std::invalid_argument);
  HttpClientOptions missing_bundle;
  missing_bundle.ca_bundle = "/nonexistent/ca.pem";
  try {
    HttpClient client({"https", "localhost", "443"}, missing_bundle);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("ca_bundle"), std::string::npos) << e.what();
  }
  TempDir dir;
  const std::string not_pem = dir.file("not.pem");
  std::FILE* file = std::fopen(not_pem.c_str(), "w");
  std::fputs("not a certificate\n", file);
  std::fclose(file);
  missing_bundle.ca_bundle = not_pem;
  EXPECT_THROW(HttpClient({"https", "localhost", "443"}, missing_bundle), std::invalid_argument);
}

// ---- TLS --------------------------------------------------------------------------------------

class HttpClientTls : public ::testing::Test {
 protected:
  void SetUp() override {
    certificate_ = testing::make_test_certificate(dir_.file("localhost"), "localhost", "DNS:localhost,IP:127.0.0.1");
    server_ = std::make_unique<TestHttpServer>(testing::TestHttpServerOptions{certificate_.cert_file, certificate_.key_file});
  }
  void TearDown() override { server_->stop(); }

  HttpClientOptions trusting() const {
    HttpClientOptions options = fast_options();
    options.ca_bundle = certificate_.cert_file;
    return options;
  }

  // A server whose certificate (CN=localhost, SAN `subject_alt_names`) is trusted, reached as
  // `host`, must fail verification as kPermanent before any request is sent.
  void expect_verify_failure(const std::string& subject_alt_names, const std::string& host, const std::string& expected) {
    const auto certificate = testing::make_test_certificate(dir_.file("mismatch"), "localhost", subject_alt_names);
    TestHttpServer server(testing::TestHttpServerOptions{certificate.cert_file, certificate.key_file});
    HttpClientOptions options = fast_options();
    options.ca_bundle = certificate.cert_file;
    HttpClient client(server.endpoint(host), options);
    HttpResponse response;
    const Status status = client.send(get(), response);
    EXPECT_EQ(status.kind(), ErrorKind::kPermanent);
    EXPECT_NE(status.message().find(expected), std::string::npos) << status.message();
    EXPECT_EQ(server.request_count(), 0u);
  }

  TempDir dir_;
  testing::TestCertificate certificate_;
  std::unique_ptr<TestHttpServer> server_;
};

TEST_F(HttpClientTls, VerifiedRequestsToLocalhostSucceedAndKeepAlive) {
  server_->set_handler([](const ReceivedRequest& request) { return ScriptedReply{.body = request.body}; });
  HttpClient client(server_->endpoint("localhost"), trusting());
  for (int i = 0; i < 3; ++i) {
    HttpResponse response;
    const std::string body = "tls body " + std::to_string(i);
    ASSERT_TRUE(client.send(HttpRequest{"PUT", "/b/k", {}, body, {}}, response)) << i;
    EXPECT_EQ(response.body, body);
  }
  EXPECT_EQ(client.connections_opened(), 1u);
  EXPECT_EQ(server_->requests()[0].header("Host"), "localhost:" + std::to_string(server_->port()));
}

TEST_F(HttpClientTls, IpAddressInSubjectAltNameIsVerified) {
  HttpClient client(server_->endpoint("127.0.0.1"), trusting());
  HttpResponse response;
  EXPECT_TRUE(client.send(get(), response));
}

TEST_F(HttpClientTls, SystemTrustStoreRejectsSelfSignedCertificateAsPermanent) {
  HttpClient client(server_->endpoint("localhost"), fast_options());
  HttpResponse response;
  const Status status = client.send(get(), response);
  EXPECT_EQ(status.kind(), ErrorKind::kPermanent);
  EXPECT_NE(status.message().find("TLS handshake: certificate verify failed"), std::string::npos) << status.message();
  EXPECT_EQ(server_->request_count(), 0u);  // nothing was sent over the untrusted connection
}

TEST_F(HttpClientTls, HostnameNotInSubjectAltNameIsPermanentFailure) {
  // CN=localhost but SAN lists only another name: RFC 6125 says SAN wins, so "localhost" fails.
  expect_verify_failure("DNS:not-this-host.test", "localhost", "certificate verify failed: hostname mismatch");
}

TEST_F(HttpClientTls, IpAddressNotInSubjectAltNameIsPermanentFailure) {
  expect_verify_failure("DNS:localhost", "127.0.0.1", "certificate verify failed: IP address mismatch");
}

TEST_F(HttpClientTls, VerificationOffOnlyWhenAskedFor) {
  HttpClientOptions options = fast_options();
  options.verify_tls = false;
  HttpClient client(server_->endpoint("localhost"), options);
  HttpResponse response;
  EXPECT_TRUE(client.send(get(), response));
}

TEST_F(HttpClientTls, StaleTlsConnectionIsReplaced) {
  server_->push(ScriptedReply{.drop_after_reply = true});
  server_->push(ScriptedReply{.body = "second"});
  HttpClient client(server_->endpoint("localhost"), trusting());
  HttpResponse response;
  ASSERT_TRUE(client.send(get(), response));
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(client.send(get(), response));
  EXPECT_EQ(response.body, "second");
  EXPECT_EQ(client.connections_opened(), 2u);
  EXPECT_EQ(server_->request_count(), 2u);
}

TEST_F(HttpClientTls, FileRangeBodyOverTlsArrivesByteExact) {
  TempDir dir;
  const std::string content = random_bytes(3 << 20, 7);
  const int fd = dir.open_file("spool.bin", content);
  HttpClient client(server_->endpoint("localhost"), trusting());
  HttpResponse response;
  ASSERT_TRUE(client.send(HttpRequest{"PUT", "/b/k", {}, {}, FileRange{fd, 1, content.size() - 1}}, response));
  EXPECT_EQ(server_->requests().at(0).body_sha256_hex, testing::sha256_hex(std::string_view(content).substr(1)));
}

}  // namespace
}  // namespace trailkit::s3
