#pragma once
// trailkit::make_local_directory_destination — a Destination that writes sealed log files under a
// local directory, laid out exactly as the S3 bucket would be (`<root>/AWSLogs/<acct>/CloudTrail/...`),
// so the same tools (Athena-style scanners, validate-logs against a local S3 emulator) can read it.
//
// Guarantees:
// - Atomic visibility: bytes go to `<root>/.trailkit-tmp/<random>.tmp` (a dot-directory, which
//   Athena/Hadoop skip) and appear under their key only by rename on commit.
// - No write outside `root`: keys with empty, "." or ".." segments, '\', NUL or control characters are
//   refused, and parent directories are opened one component at a time without following symlinks,
//   so a symlink planted under the root cannot redirect a write (reliability-security-ecosystem B6).
// - Never overwrites: committing a key that already exists fails with kPermanent.
// - Durable on success (unless `fsync` is off): the file and its parent directory are fsynced.

#include <memory>
#include <string>

#include "trailkit/destination.hpp"

namespace trailkit {

/// Thread contract: plain value type, read once by make_local_directory_destination.
struct LocalDirectoryOptions {
  /// The directory that plays the bucket. Created (like `mkdir -p`) if missing. Symlinks in the root
  /// path itself are followed (it is configuration); symlinks below it never are.
  std::string root = "./trail-data";
  /// fsync the file and its parent directory on commit. Turn off only for benchmarks: without it a
  /// power loss can leave a committed object empty or missing.
  bool fsync = true;

  /// Throws std::invalid_argument naming the field and the rule (empty root, NUL byte in root).
  void validate() const;
};

/// Validates `options`, creates and opens the root, and returns the destination.
/// Throws std::invalid_argument (bad options) or std::runtime_error (the root cannot be created or
/// opened; the message has the path and the system error). Thread contract of the result: worker
/// thread only; its ObjectWriters do not depend on the Destination object staying alive.
std::unique_ptr<Destination> make_local_directory_destination(const LocalDirectoryOptions& options);

}  // namespace trailkit
