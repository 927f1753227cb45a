#pragma once
// bench_support — what emit_bench, serialize_bench and pipeline_bench share:
//   * a fixed corpus of owned SimulatedService events (next_call()'s views die at the next call,
//     so each event is deep-copied once, before any timing);
//   * NullDestination, a Destination that discards bytes (the sink is not what these measure);
//   * the naive baseline's serializer: nlohmann::ordered_json built from the Event, then dump();
//   * rdtscp timing and percentiles for latency runs (performance.md §E conventions);
//   * pinning helpers (the Recorder's worker inherits the affinity of the thread that creates it).
//
// Thread contract: everything here is setup or single-thread code unless a comment says otherwise.

#include <pthread.h>
#include <sched.h>
#include <x86intrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "serialize/record_formatter.hpp"
#include "simulated_service/simulated_service.hpp"
#include "trailkit/destination.hpp"
#include "trailkit/event.hpp"

namespace trailkit::bench {

// ---------------------------------------------------------------------------------------------
// Corpus

/// One event whose views point into storage it owns. Not copyable (the views would dangle).
struct OwnedEvent {
  Event event;
  std::string storage;
  std::vector<Resource> resources;

  OwnedEvent() = default;
  OwnedEvent(const OwnedEvent&) = delete;
  OwnedEvent& operator=(const OwnedEvent&) = delete;

  explicit OwnedEvent(const Event& source) : event(source) {
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < kFieldCount; ++i) bytes += source.get(static_cast<Field>(i)).size();
    for (const Resource& r : source.resources) bytes += r.arn.size() + r.account_id.size() + r.type.size();
    storage.reserve(bytes + 1);  // never reallocated below, so the views stay valid
    // Absent (null data) stays absent; present-but-empty keeps a non-null pointer.
    const auto copy = [this](std::string_view v) -> std::string_view {
      if (v.data() == nullptr) return {};
      const std::size_t at = storage.size();
      storage.append(v);
      return std::string_view(storage.data() + at, v.size());
    };
    for (std::size_t i = 0; i < kFieldCount; ++i) {
      const auto f = static_cast<Field>(i);
      if (source.has(f)) event.set(f, copy(source.get(f)));
    }
    for (const Resource& r : source.resources) resources.push_back(Resource{copy(r.arn), copy(r.account_id), copy(r.type)});
    event.resources = std::span<const Resource>(resources.data(), resources.size());
  }
};

/// `count` events from SimulatedService (seed 1, one region). `event_time` is given to next_call():
/// kTimeNotSet leaves eventTime to the recorder's clock at emit(), as a service normally would.
inline std::vector<std::unique_ptr<OwnedEvent>> make_corpus(std::size_t count, std::int64_t event_time = kTimeNotSet) {
  examples::SimulatedServiceOptions options;
  options.seed = 1;
  examples::SimulatedService service(options);
  std::vector<std::unique_ptr<OwnedEvent>> corpus;
  corpus.reserve(count);
  Event scratch;
  for (std::size_t i = 0; i < count; ++i) {
    service.next_call(scratch, event_time);
    corpus.push_back(std::make_unique<OwnedEvent>(scratch));
  }
  return corpus;
}

/// The corpus as compact CloudTrail records, formatted by RecordFormatter the way the worker writes
/// them into log files (account 111122223333, us-east-1): what the event history is fed.
inline std::vector<std::string> formatted_corpus(std::size_t count, std::int64_t event_time) {
  const auto corpus = make_corpus(count, event_time);
  trailkit::detail::RecordFormatter formatter(trailkit::FieldLimits{}, "111122223333", "us-east-1");
  std::vector<std::string> out;
  out.reserve(corpus.size());
  for (const auto& owned : corpus) {
    trailkit::detail::DecodedEvent decoded;
    decoded.event = owned->event;
    trailkit::detail::JsonBuffer buffer;
    formatter.format(decoded, buffer);
    out.emplace_back(buffer.view());
  }
  return out;
}

/// Plain pointers to the corpus events, for tight loops.
inline std::vector<const Event*> event_pointers(const std::vector<std::unique_ptr<OwnedEvent>>& corpus) {
  std::vector<const Event*> out;
  out.reserve(corpus.size());
  for (const auto& e : corpus) out.push_back(&e->event);
  return out;
}

// ---------------------------------------------------------------------------------------------
// NullDestination

/// Discards every byte; counts them (worker thread only writes, readers read after shutdown).
class NullDestination final : public Destination {
 public:
  std::unique_ptr<ObjectWriter> begin_object(Status& status) noexcept override {
    status = Status::ok();
    return std::make_unique<Writer>(*this);
  }
  std::string describe() const override { return "null://"; }

  std::uint64_t bytes() const noexcept { return bytes_.load(std::memory_order_relaxed); }
  std::uint64_t objects() const noexcept { return objects_.load(std::memory_order_relaxed); }

 private:
  class Writer final : public ObjectWriter {
   public:
    explicit Writer(NullDestination& owner) : owner_(owner) {}
    Status write(std::string_view bytes) noexcept override {
      owner_.bytes_.fetch_add(bytes.size(), std::memory_order_relaxed);
      return Status::ok();
    }
    Status commit(std::string_view) noexcept override {
      owner_.objects_.fetch_add(1, std::memory_order_relaxed);
      return Status::ok();
    }
    void abort() noexcept override {}

   private:
    NullDestination& owner_;
  };
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> objects_{0};
};

// ---------------------------------------------------------------------------------------------
// The naive baseline: "just use nlohmann". JSON-valued fields are parsed so they embed as JSON
// (what a correct naive writer must do); eventTime uses gmtime_r + strftime and eventID a
// std::mt19937_64 UUID, as straightforward code would. Key order follows RecordFormatter.

namespace naive_detail {
using Json = nlohmann::ordered_json;

inline void put(Json& j, const char* key, const Event& e, Field f) {
  if (e.has(f)) j[key] = std::string(e.get(f));
}
inline Json parse_or_string(std::string_view text) {
  Json parsed = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Json(std::string(text));
  return parsed;
}
inline void put_json(Json& j, const char* key, const Event& e, Field f) {
  if (e.has(f)) j[key] = parse_or_string(e.get(f));
}
inline std::string iso_time(std::int64_t epoch_seconds) {
  const std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}
inline std::string uuid_v4() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  const std::uint64_t a = rng(), b = rng();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xFFFF), static_cast<unsigned>(a & 0xFFF),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3FFF)),
                static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFull));
  return buf;
}
}  // namespace naive_detail

/// The whole record as an ordered_json (the part of the baseline that builds the DOM).
inline nlohmann::ordered_json naive_build(const Event& e, std::string_view default_account = "111122223333",
                                          std::string_view default_region = "us-east-1") {
  using naive_detail::Json;
  using naive_detail::put;
  using naive_detail::put_json;
  Json j;
  j["eventVersion"] = e.has(Field::kEventVersion) ? std::string(e.get(Field::kEventVersion)) : std::string("1.11");
  Json& id = j["userIdentity"];
  id["type"] = std::string(to_string(e.identity_type));
  put(id, "principalId", e, Field::kPrincipalId);
  put(id, "arn", e, Field::kArn);
  put(id, "accountId", e, Field::kAccountId);
  put(id, "accessKeyId", e, Field::kAccessKeyId);
  put(id, "userName", e, Field::kUserName);
  if (e.session_issuer_type != SessionIssuerType::kNone || e.session_creation_time != kTimeNotSet ||
      e.mfa_authenticated != Tristate::kAbsent) {
    Json& session = id["sessionContext"];
    if (e.session_issuer_type != SessionIssuerType::kNone) {
      Json& issuer = session["sessionIssuer"];
      issuer["type"] = std::string(to_string(e.session_issuer_type));
      put(issuer, "principalId", e, Field::kIssuerPrincipalId);
      put(issuer, "arn", e, Field::kIssuerArn);
      put(issuer, "accountId", e, Field::kIssuerAccountId);
      put(issuer, "userName", e, Field::kIssuerUserName);
    }
    if (e.identity_type == IdentityType::kAssumedRole) session["webIdFederationData"] = Json::object();
    Json& attributes = session["attributes"];
    if (e.session_creation_time != kTimeNotSet) attributes["creationDate"] = naive_detail::iso_time(e.session_creation_time);
    if (e.mfa_authenticated != Tristate::kAbsent)
      attributes["mfaAuthenticated"] = e.mfa_authenticated == Tristate::kTrue ? "true" : "false";
  }
  put(id, "invokedBy", e, Field::kInvokedBy);
  const std::int64_t time = e.event_time != kTimeNotSet
                                ? e.event_time
                                : std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count();
  j["eventTime"] = naive_detail::iso_time(time);
  put(j, "eventSource", e, Field::kEventSource);
  put(j, "eventName", e, Field::kEventName);
  j["awsRegion"] = std::string(e.has(Field::kAwsRegion) ? e.get(Field::kAwsRegion) : default_region);
  put(j, "sourceIPAddress", e, Field::kSourceIpAddress);
  put(j, "userAgent", e, Field::kUserAgent);
  put(j, "errorCode", e, Field::kErrorCode);
  put(j, "errorMessage", e, Field::kErrorMessage);
  j["requestParameters"] = e.has(Field::kRequestParameters) ? naive_detail::parse_or_string(e.get(Field::kRequestParameters)) : Json();
  j["responseElements"] = e.has(Field::kResponseElements) ? naive_detail::parse_or_string(e.get(Field::kResponseElements)) : Json();
  put_json(j, "additionalEventData", e, Field::kAdditionalEventData);
  put(j, "requestID", e, Field::kRequestId);
  j["eventID"] = e.has(Field::kEventId) ? std::string(e.get(Field::kEventId)) : naive_detail::uuid_v4();
  if (e.read_only != Tristate::kAbsent) j["readOnly"] = e.read_only == Tristate::kTrue;
  if (!e.resources.empty()) {
    Json& resources = j["resources"];
    for (const Resource& r : e.resources) {
      Json entry;
      if (r.account_id.data() != nullptr) entry["accountId"] = std::string(r.account_id);
      if (r.type.data() != nullptr) entry["type"] = std::string(r.type);
      if (r.arn.data() != nullptr) entry["ARN"] = std::string(r.arn);
      resources.push_back(std::move(entry));
    }
  }
  j["eventType"] = std::string(to_string(e.event_type));
  put(j, "apiVersion", e, Field::kApiVersion);
  j["managementEvent"] = e.event_category == EventCategory::kManagement;
  j["recipientAccountId"] =
      std::string(e.has(Field::kRecipientAccountId) ? e.get(Field::kRecipientAccountId) : default_account);
  put(j, "sharedEventID", e, Field::kSharedEventId);
  put(j, "vpcEndpointId", e, Field::kVpcEndpointId);
  put_json(j, "serviceEventDetails", e, Field::kServiceEventDetails);
  j["eventCategory"] = std::string(to_string(e.event_category));
  if (e.has(Field::kTlsVersion) || e.has(Field::kTlsCipherSuite) || e.has(Field::kTlsClientProvidedHostHeader)) {
    Json& tls = j["tlsDetails"];
    put(tls, "tlsVersion", e, Field::kTlsVersion);
    put(tls, "cipherSuite", e, Field::kTlsCipherSuite);
    put(tls, "clientProvidedHostHeader", e, Field::kTlsClientProvidedHostHeader);
  }
  if (e.session_credential_from_console) j["sessionCredentialFromConsole"] = "true";
  return j;
}

/// Build + dump: what the naive baseline does per event on the caller thread.
inline std::string naive_serialize(const Event& e) { return naive_build(e).dump(); }

// ---------------------------------------------------------------------------------------------
// Timing

/// rdtscp-based timestamps. rdtscp waits for earlier instructions to finish, so a pair brackets
/// the call it surrounds (the lfence after it keeps later loads from starting early).
inline std::uint64_t ticks() noexcept {
  unsigned aux;
  const std::uint64_t t = __rdtscp(&aux);
  _mm_lfence();
  return t;
}

/// TSC ticks per nanosecond, measured against steady_clock over ~100 ms (once per process).
inline double ticks_per_ns() {
  static const double value = [] {
    const auto c0 = std::chrono::steady_clock::now();
    const std::uint64_t t0 = ticks();
    while (std::chrono::steady_clock::now() - c0 < std::chrono::milliseconds(100)) {
    }
    const auto c1 = std::chrono::steady_clock::now();
    const std::uint64_t t1 = ticks();
    return static_cast<double>(t1 - t0) / static_cast<double>(std::chrono::nanoseconds(c1 - c0).count());
  }();
  return value;
}

/// Median cost of an empty rdtscp pair, in ticks (subtracted from the reported percentiles).
inline double timer_overhead_ticks() {
  std::vector<std::uint64_t> samples(200000);
  for (auto& s : samples) {
    const std::uint64_t t0 = ticks();
    const std::uint64_t t1 = ticks();
    s = t1 - t0;
  }
  std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());
  return static_cast<double>(samples[samples.size() / 2]);
}

/// The q-quantile (0..1) of `samples` (reordered in place).
inline std::uint64_t quantile(std::vector<std::uint64_t>& samples, double q) {
  const std::size_t k = std::min(samples.size() - 1, static_cast<std::size_t>(q * static_cast<double>(samples.size())));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(k), samples.end());
  return samples[k];
}

/// A barrier whose waiters spin (with pause) instead of sleeping in the kernel. std::barrier
/// puts waiters to sleep on a futex, and on this VM a woken thread starts up to ~1 ms late, which
/// a throughput run would time as part of its next burst (measured: 2 producer threads reached
/// 1.2x one thread's rate with std::barrier, while each thread alone emitted at full speed).
class SpinBarrier {
 public:
  explicit SpinBarrier(int count) : count_(count) {}
  void arrive_and_wait() noexcept {
    const std::uint32_t generation = generation_.load(std::memory_order_acquire);
    if (waiting_.fetch_add(1, std::memory_order_acq_rel) + 1 == count_) {
      waiting_.store(0, std::memory_order_relaxed);  // before the release: nobody re-arrives earlier
      generation_.fetch_add(1, std::memory_order_release);
      return;
    }
    while (generation_.load(std::memory_order_acquire) == generation) _mm_pause();
  }

 private:
  const int count_;
  alignas(64) std::atomic<int> waiting_{0};
  alignas(64) std::atomic<std::uint32_t> generation_{0};
};

// ---------------------------------------------------------------------------------------------
// Affinity (best effort: on failure the run is just unpinned)

inline bool pin_current_thread(int cpu) {
  const unsigned cpus = std::thread::hardware_concurrency();
  if (cpus == 0) return false;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<unsigned>(cpu) % cpus, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

inline void unpin_current_thread() {
  cpu_set_t set;
  CPU_ZERO(&set);
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < cpus; ++i) CPU_SET(i, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/// Runs `make` with this thread pinned to `cpu` (threads it starts inherit that), then pins this
/// thread to `self_cpu`. Used to put a background worker and the producer on distinct cores.
template <class Make>
auto create_on_cpu(int cpu, int self_cpu, Make make) {
  pin_current_thread(cpu);
  auto made = make();
  pin_current_thread(self_cpu);
  return made;
}

}  // namespace trailkit::bench
