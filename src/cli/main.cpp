// `trailkit` — command-line tool: `demo` (simulated service -> log files), `cat` (read them),
// `keygen` (digest signing key), `serve` (CloudTrail API endpoint), `validate` (digest chain),
// `lookup` (event history, LookupEvents).

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"

#ifndef TRAILKIT_VERSION
#define TRAILKIT_VERSION "0.1.0"
#endif

int main(int argc, char** argv) {
  CLI::App app{"trailkit: record API calls as AWS CloudTrail events and log files", "trailkit"};
  app.set_version_flag("--version", "trailkit " TRAILKIT_VERSION);
  app.require_subcommand(1);

  int exit_code = trailkit::cli::kExitOk;
  trailkit::cli::add_demo_command(app, exit_code);
  trailkit::cli::add_cat_command(app, exit_code);
  trailkit::cli::add_keygen_command(app, exit_code);
  trailkit::cli::add_serve_command(app, exit_code);
  trailkit::cli::add_validate_command(app, exit_code);
  trailkit::cli::add_lookup_command(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // --help and --version are "errors" with exit code 0; every real parse error is a usage error.
    return app.exit(error) == 0 ? trailkit::cli::kExitOk : trailkit::cli::kExitUsage;
  }
  return exit_code;
}
