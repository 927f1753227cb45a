#pragma once
// Subcommands of the `trailkit` tool. Each registers itself on the root CLI::App and, when it
// runs, stores its process exit code in `exit_code`:
//   0 success, 1 the command ran but something failed (dropped events, unreadable file),
//   2 usage error (bad option values; CLI11 parse errors are mapped to 2 by main).
// Thread contract: called once from main before parsing; not thread-safe.

#include <CLI/CLI.hpp>

namespace trailkit::cli {

/// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

/// `trailkit demo`: runs the simulated AWS-like service through a Recorder and prints a summary.
void add_demo_command(CLI::App& app, int& exit_code);

/// `trailkit cat`: prints the records of .json.gz / .json.zst log files, one per line.
void add_cat_command(CLI::App& app, int& exit_code);

/// `trailkit keygen`: writes a new RSA-2048 digest signing key (mode 0600, never overwrites).
void add_keygen_command(CLI::App& app, int& exit_code);

/// `trailkit serve`: the CloudTrail-compatible API endpoint (JSON 1.1, SigV4) over a state dir.
void add_serve_command(CLI::App& app, int& exit_code);

/// `trailkit validate`: validates the digest chain and log files like `aws cloudtrail validate-logs`,
/// and also catches tail truncation and chain gaps.
void add_validate_command(CLI::App& app, int& exit_code);

/// `trailkit lookup`: LookupEvents over the state dir's event history, with the flags and output of
/// `aws cloudtrail lookup-events`.
void add_lookup_command(CLI::App& app, int& exit_code);

}  // namespace trailkit::cli
