#pragma once
// GuardedPage — one writable page followed by a PROT_NONE page, for tests of the page-safe block
// loads: a string placed so that it ends at end() crashes any read past its last byte.

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>

namespace trailkit::detail::testing {

class GuardedPage {
 public:
  GuardedPage() : page_(static_cast<std::size_t>(::sysconf(_SC_PAGESIZE))) {
    void* const map = ::mmap(nullptr, 2 * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) return;
    begin_ = static_cast<char*>(map);
    if (::mprotect(begin_ + page_, page_, PROT_NONE) != 0) {
      ::munmap(begin_, 2 * page_);
      begin_ = nullptr;
    }
  }
  ~GuardedPage() {
    if (begin_ != nullptr) ::munmap(begin_, 2 * page_);
  }
  GuardedPage(const GuardedPage&) = delete;
  GuardedPage& operator=(const GuardedPage&) = delete;

  /// False when mmap or mprotect failed (the test should ASSERT_TRUE on it).
  bool ok() const noexcept { return begin_ != nullptr; }
  /// Start of the writable page.
  char* begin() const noexcept { return begin_; }
  /// First byte of the inaccessible page.
  char* end() const noexcept { return begin_ + page_; }

 private:
  std::size_t page_;
  char* begin_ = nullptr;
};

}  // namespace trailkit::detail::testing
