#pragma once
// Small helpers shared by the tests of src/digest: running the external tools the tests cross-check
// against (openssl, python-rsa, awscli) and reading an exception's message.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>

#include "support/files.hpp"

namespace trailkit::testing {

/// Runs `command` through the shell; returns its exit status (0 = success), with stdout and stderr
/// together in `*output` when given. Not thread-safe (one output file per process).
inline int run_shell(const std::string& command, std::string* output = nullptr) {
  const std::string out_file =
      (std::filesystem::temp_directory_path() / ("trailkit-test-shell-" + std::to_string(::getpid()) + ".out"))
          .string();
  const int rc = std::system((command + " >" + out_file + " 2>&1").c_str());
  if (output != nullptr) *output = read_file(out_file);
  std::filesystem::remove(out_file);
  return rc;
}

/// The what() of the std::runtime_error `action` throws, or "<no exception>".
inline std::string error_message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "<no exception>";
}

}  // namespace trailkit::testing
