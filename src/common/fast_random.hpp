#pragma once
// FastRandom — xoshiro256** seeded from std::random_device. Used for eventIDs (UUIDv4) and the
// 16-character unique string in log-file names. Not cryptographic; uniqueness, not secrecy, is
// what CloudTrail asks of both. Thread contract: one instance per thread, never shared.

#include <cstdint>
#include <random>

namespace trailkit::detail {

class FastRandom {
 public:
  FastRandom() {
    std::random_device device;
    for (auto& word : state_) word = (std::uint64_t{device()} << 32) ^ device();
    // All-zero state is the one invalid seed.
    if ((state_[0] | state_[1] | state_[2] | state_[3]) == 0) state_[0] = 0x9E3779B97F4A7C15ull;
  }
  explicit FastRandom(std::uint64_t seed) {
    for (auto& word : state_) word = splitmix64(seed);
  }

  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix64(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::uint64_t state_[4];
};

}  // namespace trailkit::detail
