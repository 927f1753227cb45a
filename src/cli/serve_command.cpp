// `trailkit serve`: the CloudTrail-compatible API endpoint (adapters/api/cloudtrail_server.hpp) over
// a state directory, until SIGINT/SIGTERM.

#include <signal.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <string>

#include "api/cloudtrail_server.hpp"
#include "api/lookup_operations.hpp"
#include "cli/commands.hpp"

namespace trailkit::cli {
namespace {

struct ServeArguments {
  std::string state_dir = ".trailkit";
  std::string listen = "127.0.0.1:" + std::to_string(api::kDefaultServePort);
  std::string region;
  double lookup_rate_limit = 0;  // LookupEvents requests per second; 0 = unlimited
};

// "127.0.0.1:8787", "[::1]:8787" -> address and port; false when malformed.
bool parse_listen(const std::string& listen, std::string& address, std::uint16_t& port) {
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) return false;
  address = listen.substr(0, colon);
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']') address = address.substr(1, address.size() - 2);
  if (address.empty()) return false;
  unsigned long value = 0;
  for (std::size_t i = colon + 1; i < listen.size(); ++i) {
    const char c = listen[i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned long>(c - '0');
    if (value > 65535) return false;
  }
  port = static_cast<std::uint16_t>(value);
  return true;
}

int run_serve(const ServeArguments& arguments) {
  api::CloudTrailServerOptions options;
  if (!parse_listen(arguments.listen, options.listen_address, options.port)) {
    std::cerr << "trailkit serve: --listen must be ADDRESS:PORT (e.g. 127.0.0.1:8787, [::1]:0), not '"
              << arguments.listen << "'\n";
    return kExitUsage;
  }
  options.state_dir = arguments.state_dir;
  options.region = arguments.region;
  options.log = [](std::string_view line) { std::cerr << "trailkit serve: " << line << '\n'; };

  // Block the stop signals before the I/O thread exists so only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::unique_ptr<api::CloudTrailServer> server;
  try {
    server = std::make_unique<api::CloudTrailServer>(options);
    api::LookupOperationsOptions lookup;
    lookup.lookup_requests_per_second = arguments.lookup_rate_limit;
    api::add_lookup_operations(*server, lookup);
  } catch (const std::invalid_argument& error) {
    std::cerr << error.what() << '\n';
    return kExitUsage;
  }
  try {
    server->start();
  } catch (const std::exception& error) {
    std::cerr << error.what() << '\n';
    return kExitFailure;
  }
  const bool ipv6 = options.listen_address.find(':') != std::string::npos;
  // Tests read this line to learn an ephemeral port: print and flush it before anything else.
  std::cout << "listening on http://" << (ipv6 ? "[" : "") << options.listen_address << (ipv6 ? "]" : "") << ':'
            << server->port() << std::endl;

  int received = 0;
  sigwait(&stop_signals, &received);
  server->stop();
  return kExitOk;
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  auto arguments = std::make_shared<ServeArguments>();
  CLI::App* command = app.add_subcommand(
      "serve",
      "Serve the CloudTrail API (JSON 1.1: LookupEvents, ListPublicKeys, DescribeTrails, GetTrail, "
      "GetTrailStatus, ListTrails, GetEventSelectors, GetInsightSelectors) over a state directory, so `aws "
      "cloudtrail ... --endpoint-url http://127.0.0.1:8787` and `aws cloudtrail validate-logs` work. Requests must be SigV4-signed (service `cloudtrail`) with the key pair given in "
      "TRAILKIT_API_ACCESS_KEY_ID / TRAILKIT_API_SECRET_ACCESS_KEY (both required; clients use them as "
      "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). Prints `listening on http://ADDRESS:PORT` once bound; "
      "runs until SIGINT or SIGTERM, then exits 0.");
  command->add_option("--state-dir", arguments->state_dir, "State directory of the recorder (trail.json, public-keys.json)")
      ->capture_default_str();
  command
      ->add_option("--listen", arguments->listen,
                   "ADDRESS:PORT to listen on; loopback by default; port 0 picks a free port (printed)")
      ->capture_default_str();
  command->add_option("--region", arguments->region,
                      "Region the endpoint serves (credential scope, trail lookups); default: the trail's home region");
  command
      ->add_option("--lookup-rate-limit", arguments->lookup_rate_limit,
                   "LookupEvents requests per second before ThrottlingException (CloudTrail: 2); 0 = unlimited")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  command->callback([arguments, &exit_code] { exit_code = run_serve(*arguments); });
}

}  // namespace trailkit::cli
