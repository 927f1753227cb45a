#pragma once
// POSIX file helpers shared by the local-directory destination and the spool: an owning fd, errno
// text, and the one errno -> ErrorKind rule (kept in one place so the two sinks cannot diverge).
// Moved verbatim from the anonymous namespace of src/deliver/local_directory.cpp.
// Thread contract: stateless functions, thread-safe; a UniqueFd is owned by one thread at a time.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "trailkit/status.hpp"

namespace trailkit::detail {

/// Flags for opening a directory that must be a real directory, never a symlink to one.
inline constexpr int kDirectoryFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

/// std::system_category().message is strerror_r underneath: thread-safe, unlike strerror.
inline std::string error_text(int error) { return std::system_category().message(error); }

/// Failures that will not clear by retrying; everything else (ENOSPC, EIO, EMFILE...) may.
inline ErrorKind kind_for_errno(int error) noexcept {
  switch (error) {
    case EACCES:
    case EPERM:
    case EROFS:
    case ENOTDIR:
    case ELOOP:
    case ENAMETOOLONG:
    case EXDEV:
    case EEXIST:
      return ErrorKind::kPermanent;
    default:
      return ErrorKind::kTransient;
  }
}

/// An owned file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  ~UniqueFd() { reset(); }
  int get() const noexcept { return fd_; }
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace trailkit::detail
