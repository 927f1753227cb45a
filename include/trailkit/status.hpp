#pragma once
// trailkit::Status — the result of a background operation (write, upload, compress).
//
// Inside the pipeline failures are values, not exceptions (STYLE.md habit 4). The kind tells the
// caller what it may do next, as aws-c-s3 classifies failures before scheduling a retry.

#include <string>
#include <utility>

namespace trailkit {

/// What a failure means for the caller. Thread contract: plain value type.
enum class ErrorKind {
  kNone,             ///< success
  kTransient,        ///< may succeed if retried soon (network, 5xx, EIO, ENOSPC that may clear)
  kThrottled,        ///< retry later with a longer backoff (503 SlowDown, 429)
  kPermanent,        ///< will not succeed without a configuration change (403, bad path)
  kInvalidArgument,  ///< the caller passed something the rule forbids; the message names it
};

/// A success, or a failure with a kind and a human-readable message that never contains secrets.
class Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(ErrorKind kind, std::string message) { return Status(kind, std::move(message)); }

  bool is_ok() const noexcept { return kind_ == ErrorKind::kNone; }
  explicit operator bool() const noexcept { return is_ok(); }
  ErrorKind kind() const noexcept { return kind_; }
  const std::string& message() const noexcept { return message_; }

 private:
  Status(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}
  ErrorKind kind_ = ErrorKind::kNone;
  std::string message_;
};

}  // namespace trailkit
