#pragma once
// KeyRegistry — the public keys that ever signed digests of a trail, with validity windows, kept in
// `<state_dir>/public-keys.json` so `trailkit serve` can answer ListPublicKeys (cloudtrail-spec §4.5)
// and `trailkit validate` can verify old digests after a key rotation. Append-only: keys are retired,
// never removed, so digests signed by a rotated-out key stay verifiable.
//
// File format (version 1), written atomically (tmp file, fsync, rename, fsync dir):
//   {"version":1,"keys":[{"fingerprint":"<32 hex>","value":"<base64 DER PKCS#1>",
//                         "validityStartTime":<epoch s>,"validityEndTime":<epoch s>|null}, ...]}
// `validityEndTime` null = the active key (at most one). Keys are in activation order.
//
// Validity reported to clients (ListPublicKeys): start = first activation; end = retirement time,
// or for the active key max(start + 30 days, now) — AWS publishes 30-day windows (§4.5). A key
// "overlaps" [from, to] when start <= to and (active or end >= from).
//
// Thread contract: plain value; one writer process per state dir (the Recorder holds the state-dir
// lock); readers (serve, validate) only load.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace trailkit::detail {

struct PublicKeyRecord {
  std::string fingerprint;        ///< lower-case hex MD5 of `der`
  std::string der;                ///< DER PKCS#1 RSAPublicKey (raw bytes)
  std::int64_t validity_start = 0;  ///< epoch seconds
  std::optional<std::int64_t> validity_end;  ///< nullopt = active
};

class KeyRegistry {
 public:
  static constexpr std::int64_t kReportedValiditySeconds = 30 * 24 * 3600;

  /// Reads `path`. A missing file is an empty registry. Throws std::runtime_error naming the path
  /// and the problem for an unreadable or malformed file (never silently treats it as empty).
  static KeyRegistry load(const std::string& path);
  /// Writes atomically (see above). Throws std::runtime_error naming the path.
  void save(const std::string& path) const;

  /// Makes the key with this fingerprint the active one at `now`: no change if it already is;
  /// otherwise retires the active key (end = now) and appends the new key with start = now
  /// (a previously retired key that comes back is appended again as a new window).
  /// Returns true when the registry changed (the caller then saves it).
  bool activate(const std::string& fingerprint, const std::string& der, std::int64_t now);

  /// Keys whose validity overlaps [from, to], in activation order.
  std::vector<PublicKeyRecord> overlapping(std::int64_t from, std::int64_t to) const;
  /// The active key, if any.
  const PublicKeyRecord* active() const noexcept;
  const std::vector<PublicKeyRecord>& keys() const noexcept { return keys_; }
  /// The end time ListPublicKeys reports for `key` (see above).
  static std::int64_t reported_end(const PublicKeyRecord& key, std::int64_t now) noexcept;

 private:
  std::vector<PublicKeyRecord> keys_;
};

}  // namespace trailkit::detail
