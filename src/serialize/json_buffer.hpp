#pragma once
// JsonBuffer — the growable output buffer every serializer appends to (worker thread only).
// Deliberately minimal: no per-append bounds exceptions, amortised growth, reusable after clear().

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>

namespace trailkit::detail {

class JsonBuffer {
 public:
  JsonBuffer() = default;
  explicit JsonBuffer(std::size_t capacity) { reserve(capacity); }
  JsonBuffer(const JsonBuffer&) = delete;
  JsonBuffer& operator=(const JsonBuffer&) = delete;
  JsonBuffer(JsonBuffer&& other) noexcept
      : data_(other.data_), size_(other.size_), capacity_(other.capacity_) {
    other.data_ = nullptr;
    other.size_ = other.capacity_ = 0;
  }
  ~JsonBuffer() { std::free(data_); }

  char* data() noexcept { return data_; }
  const char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  bool empty() const noexcept { return size_ == 0; }
  std::string_view view() const noexcept { return {data_, size_}; }
  void clear() noexcept { size_ = 0; }
  /// Shrinks to `n` bytes (n <= size()); used to roll back a partially written value.
  void truncate(std::size_t n) noexcept { size_ = n; }

  /// Ensures room for `extra` more bytes. Throws std::bad_alloc on out-of-memory, which
  /// terminates the noexcept worker paths that call it: the worker cannot continue without memory.
  void ensure(std::size_t extra) {
    if (size_ + extra > capacity_) grow(size_ + extra);
  }
  void reserve(std::size_t n) {
    if (n > capacity_) grow(n);
  }
  /// Pointer to write up to `extra` bytes at the end; follow with commit(bytes_written).
  char* prepare(std::size_t extra) {
    ensure(extra);
    return data_ + size_;
  }
  void commit(std::size_t n) noexcept { size_ += n; }

  void append(const char* p, std::size_t n) {
    ensure(n);
    std::memcpy(data_ + size_, p, n);
    size_ += n;
  }
  void append(std::string_view s) { append(s.data(), s.size()); }
  void push_back(char c) {
    ensure(1);
    data_[size_++] = c;
  }
  /// Appends a string literal known at compile time (keys and punctuation).
  template <std::size_t N>
  void literal(const char (&s)[N]) {
    append(s, N - 1);
  }

 private:
  void grow(std::size_t need) {
    std::size_t cap = capacity_ ? capacity_ : 256;
    while (cap < need) cap *= 2;
    char* p = static_cast<char*>(std::realloc(data_, cap));
    if (!p) throw std::bad_alloc();
    data_ = p;
    capacity_ = cap;
  }
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace trailkit::detail
