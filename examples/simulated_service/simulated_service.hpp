#pragma once
// trailkit::examples::SimulatedService — a small in-process "cloud" that serves random API calls
// and describes each one as a trailkit::Event, the way an AWS-like service would record it.
//
// It exists for the `trailkit demo` command, the integration tests and the benchmarks, so its
// records look like real CloudTrail (spec §1, §10.2; performance.md Appendix B): a fixed
// population per account (IAM users with AIDA ids and AKIA keys, roles with stable AROA ids and
// one ASIA key per role session, AWS service principals, one root), 14 operations over IAM, STS,
// S3, EC2, KMS, DynamoDB and console sign-in, S3/DynamoDB object calls as data events, ~4% failed
// calls, tlsDetails on direct calls only and `invokedBy` on calls an AWS service made. Records
// average ~1.3 KB once serialized.
//
// Deterministic: the same options (seed included) give the same sequence of calls. Only values
// derived from the clock differ between runs when no event time is passed to next_call().
//
// IAM and console sign-in are global services: like CloudTrail, their events carry awsRegion
// `us-east-1` whatever regions are configured. Every other call picks one of `regions`.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/fast_random.hpp"
#include "trailkit/event.hpp"

namespace trailkit::examples {

/// Thread contract: plain value type.
struct SimulatedServiceOptions {
  /// The account that owns the population and receives every event (12 digits).
  std::string account_id = "111122223333";
  /// Regions the regional calls are spread over (uniformly). Must not be empty.
  std::vector<std::string> regions = {"us-east-1"};
  /// Seed of the call sequence and of the population's ids and keys.
  std::uint64_t seed = 1;
};

/// Thread contract: one SimulatedService per thread, never shared. It owns the pools and the
/// scratch storage that the Events it fills point into.
class SimulatedService {
 public:
  /// Builds the population (all allocation happens here). Throws std::invalid_argument if
  /// `regions` is empty.
  explicit SimulatedService(SimulatedServiceOptions options);
  ~SimulatedService();
  SimulatedService(const SimulatedService&) = delete;
  SimulatedService& operator=(const SimulatedService&) = delete;

  /// Serves one random API call and fills `out` (overwritten whole). Every view in `out` stays
  /// valid until the next call on this object. `event_time_epoch_seconds` becomes eventTime and
  /// anchors the time-derived values (session creationDate, STS expiration, IAM createDate); with
  /// kTimeNotSet eventTime is left for the recorder and those values use the system clock.
  /// eventID is left for the recorder to generate. Returns the eventName (a static string).
  /// Never allocates.
  std::string_view next_call(trailkit::Event& out, std::int64_t event_time_epoch_seconds = trailkit::kTimeNotSet);

  /// The eventNames next_call() can return, in a fixed order. Thread-safe.
  static std::span<const std::string_view> operation_names() noexcept;

  /// Bytes of scratch storage per call (the arena never grows). For tests.
  static constexpr std::size_t kScratchBytes = 16 * 1024;

 private:
  struct Population;
  class Scratch;
  struct Call;

  void fill_identity(Call& call);
  void serve_iam(Call& call);
  void serve_sts(Call& call);
  void serve_s3(Call& call);
  void serve_ec2(Call& call);
  void serve_kms(Call& call);
  void serve_dynamodb(Call& call);
  void serve_console_login(Call& call);
  void fail(Call& call);
  /// `<service>.<region>.amazonaws.com`, in the scratch arena.
  std::string_view regional_endpoint(std::string_view service, std::string_view region) noexcept;
  /// One `resources` entry owned by this account.
  void set_single_resource(trailkit::Event& out, std::string_view arn, std::string_view type) noexcept;

  std::uint64_t uniform(std::uint64_t bound) noexcept;
  bool chance(double probability) noexcept;
  template <typename T>
  const T& pick(const std::vector<T>& items) noexcept {
    return items[static_cast<std::size_t>(uniform(items.size()))];
  }

  SimulatedServiceOptions options_;
  detail::FastRandom random_;
  std::unique_ptr<Population> population_;
  std::unique_ptr<Scratch> scratch_;
  std::array<trailkit::Resource, 2> resources_{};
};

}  // namespace trailkit::examples
