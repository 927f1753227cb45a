#pragma once
// DigestFixture — a CloudTrail digest chain built in memory with the real serialize_digest /
// digest_string_to_sign / SigningKey, then written out as a bucket directory (objects at
// <root>/<key>, S3 metadata sidecars at <root>/.trailkit-metadata/<key>.json) and a state dir
// (public-keys.json, trail.json, trail-status.json). For validator tests and integration tests; the
// same objects can be uploaded to an S3 server (objects(), with their metadata).
//
// Layout (cloudtrail-spec §3.1, §4): digest i covers [first_start + i*interval, +interval), its key
// is dated by its end; log files are delivered inside the window, one minute apart, named
// <acct>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 chars>.json.gz (or .json.zst). Digest 0 is a
// starting digest (five nulls); digest i > 0 links to digest i-1. From digest `rotate_key_at` on,
// the second key signs (key rotation: the registry retires key 0 at that digest's start).
//
// Thread contract: a plain value; build and use on one thread.

#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <filesystem>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/civil_time.hpp"
#include "digest/crypto.hpp"
#include "digest/digest_file.hpp"
#include "digest/key_registry.hpp"
#include "digest/state_files.hpp"
#include "support/files.hpp"

namespace trailkit::testing {

struct DigestFixtureOptions {
  std::string account_id = "123456789012";
  std::string region = "us-east-1";       ///< the region whose activity is digested (folder, key)
  std::string home_region = "us-east-1";  ///< the trail's home region (ARN, digest key)
  std::string trail_name = "my-trail";
  std::string bucket = "ct-bucket";
  std::string prefix;                      ///< S3KeyPrefix ("" = none)
  std::string organization_id;             ///< "" = not an organization trail
  std::int64_t first_start = 1793527291;   ///< 2026-11-01T10:01:31Z: CloudTrail windows are not hour-aligned
  std::int64_t interval = 3600;
  int digests = 3;
  int logs_per_digest = 2;
  std::set<int> empty_digests;  ///< digests with `logFiles: []`
  bool zstd = false;            ///< log files as .json.zst instead of .json.gz
  int rotate_key_at = -1;       ///< from this digest on, key 1 signs; -1 = never
  // Chain defects, for validator tests (digest indexes):
  std::set<int> chain_starts;                 ///< these digests start a new chain (previousDigest* null)
  std::set<int> wrong_previous_hash;          ///< previousDigestHashValue is not the previous digest's SHA-256
  std::map<int, std::int64_t> start_shift;    ///< digestStartTime = previous end + shift (a hole in the chain)
  /// Also write a standalone backfill digest (`..._backfill.json.gz`, five nulls, metadata
  /// backfill-generation-timestamp = its end + 30 min) over this digest's window, listing one more
  /// log file. -1 = none.
  int backfill_for = -1;
};

struct FixtureObject {
  std::string body;
  std::map<std::string, std::string> metadata;
};

struct FixtureDigest {
  std::string key;
  std::int64_t start = 0;
  std::int64_t end = 0;
  std::string json;       ///< uncompressed
  std::string signature;  ///< hex
  int signing_key = 0;
  std::vector<std::string> log_keys;
};

/// Two 2048-bit keys generated once per test process (generation takes ~100 ms each).
inline const detail::SigningKey& fixture_key(int index) {
  static const detail::SigningKey k0 = detail::SigningKey::generate(2048);
  static const detail::SigningKey k1 = detail::SigningKey::generate(2048);
  return index == 0 ? k0 : k1;
}

inline std::string fixture_gzip(const std::string& data) {
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
  return out;
}

/// Inflates one gzip member (test helper; throws on corrupt input).
inline std::string fixture_gunzip(const std::string& data) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) throw std::runtime_error("inflateInit2");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("inflate");
  return out;
}

inline std::string fixture_zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const std::size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  if (ZSTD_isError(n)) throw std::runtime_error("ZSTD_compress");
  out.resize(n);
  return out;
}

/// `YYYYMMDDTHHMMSSZ` (seconds = false: `YYYYMMDDTHHMMZ`) and `YYYY/MM/DD`.
inline std::string fixture_stamp(std::int64_t t, bool seconds = true) {
  const detail::CivilTime c = detail::civil_from_epoch(t);
  char buf[32];
  if (seconds) {
    std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02dZ", c.year, c.month, c.day, c.hour, c.minute, c.second);
  } else {
    std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02dZ", c.year, c.month, c.day, c.hour, c.minute);
  }
  return buf;
}
inline std::string fixture_folders(std::int64_t t) {
  const detail::CivilTime c = detail::civil_from_epoch(t);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d/%02d/%02d", c.year, c.month, c.day);
  return buf;
}
inline std::string fixture_event_time(std::int64_t t) {
  char buf[20];
  detail::format_event_time(t, buf);
  return std::string(buf, 20);
}

class DigestFixture {
 public:
  explicit DigestFixture(DigestFixtureOptions options = {}) : o_(std::move(options)) { build(); }

  const DigestFixtureOptions& options() const { return o_; }
  std::string arn() const {
    return "arn:aws:cloudtrail:" + o_.home_region + ":" + o_.account_id + ":trail/" + o_.trail_name;
  }
  const std::vector<FixtureDigest>& digests() const { return digests_; }
  /// Every object by key (digests gzip with signature metadata; log files).
  const std::map<std::string, FixtureObject>& objects() const { return objects_; }
  std::int64_t first_start() const { return o_.first_start; }
  std::int64_t last_end() const { return digests_.empty() ? o_.first_start : digests_.back().end; }

  std::string digest_key(std::int64_t end) const {
    const std::string org = o_.organization_id.empty() ? "" : o_.organization_id + "/";
    return with_prefix("AWSLogs/" + org + o_.account_id + "/CloudTrail-Digest/" + o_.region + "/" +
                       fixture_folders(end) + "/" + o_.account_id + "_CloudTrail-Digest_" + o_.region + "_" +
                       o_.trail_name + "_" + o_.home_region + "_" + fixture_stamp(end) + ".json.gz");
  }

  /// Writes every object and its metadata sidecar under `root` (created).
  void write_bucket(const std::filesystem::path& root) const {
    for (const auto& [key, object] : objects_) {
      const std::filesystem::path path = root / key;
      std::filesystem::create_directories(path.parent_path());
      write_file(path, object.body);
      if (!object.metadata.empty()) {
        const std::filesystem::path sidecar = root / ".trailkit-metadata" / (key + ".json");
        std::filesystem::create_directories(sidecar.parent_path());
        std::string json = "{";
        for (const auto& [name, value] : object.metadata) {
          if (json.size() > 1) json += ",";
          json += "\"" + name + "\":\"" + value + "\"";
        }
        write_file(sidecar, json + "}");
      }
    }
  }

  /// Writes public-keys.json (key 0 active from first_start - 60, retired at the rotation digest's
  /// start when key 1 takes over), trail.json, and trail-status.json with `latest_digest_delivery`
  /// (0 = last_end(); negative = no status file).
  void write_state(const std::filesystem::path& state_dir, std::int64_t latest_digest_delivery = 0) const {
    std::filesystem::create_directories(state_dir);
    detail::KeyRegistry registry;
    const detail::SigningKey& k0 = fixture_key(0);
    registry.activate(k0.fingerprint(), k0.public_key_der(), o_.first_start - 60);
    if (o_.rotate_key_at >= 0 && o_.rotate_key_at < o_.digests) {
      const detail::SigningKey& k1 = fixture_key(1);
      registry.activate(k1.fingerprint(), k1.public_key_der(), digests_[static_cast<std::size_t>(o_.rotate_key_at)].start);
    }
    registry.save(detail::public_keys_path(state_dir.string()));
    detail::TrailDescription trail;
    trail.name = o_.trail_name;
    trail.account_id = o_.account_id;
    trail.home_region = o_.home_region;
    trail.bucket = o_.bucket;
    trail.key_prefix = o_.prefix;
    trail.organization_id = o_.organization_id;
    trail.log_file_validation = true;
    trail.digest_interval_seconds = o_.interval;
    trail.destination = "s3://" + o_.bucket + (o_.prefix.empty() ? "" : "/" + o_.prefix);
    detail::write_trail_description(state_dir.string(), trail);
    if (latest_digest_delivery >= 0) {
      detail::TrailStatus status;
      status.is_logging = true;
      status.start_logging_time = o_.first_start;
      status.latest_delivery_time = last_end();
      status.latest_digest_delivery_time = latest_digest_delivery == 0 ? last_end() + 5 : latest_digest_delivery;
      detail::write_trail_status(state_dir.string(), status);
    }
  }

  /// public-keys.json content as ListPublicKeys would return it:
  /// {"PublicKeyList":[{"Value":b64,"ValidityStartTime":n,"ValidityEndTime":n,"Fingerprint":".."}]}
  std::string list_public_keys_json() const {
    std::string json = "{\"PublicKeyList\":[";
    const int keys = o_.rotate_key_at >= 0 ? 2 : 1;
    for (int i = 0; i < keys; ++i) {
      const detail::SigningKey& k = fixture_key(i);
      if (i) json += ",";
      json += "{\"Value\":\"" + detail::base64_encode(k.public_key_der()) + "\",\"ValidityStartTime\":" +
              std::to_string(o_.first_start - 86400) + ",\"ValidityEndTime\":" +
              std::to_string(last_end() + 30 * 86400) + ",\"Fingerprint\":\"" + k.fingerprint() + "\"}";
    }
    return json + "]}";
  }

 private:
  std::string with_prefix(const std::string& key) const { return o_.prefix.empty() ? key : o_.prefix + "/" + key; }

  void build() {
    std::optional<detail::DigestLink> previous;
    int serial = 0;
    for (int i = 0; i < o_.digests; ++i) {
      FixtureDigest d;
      d.start = (i == 0 ? o_.first_start : digests_.back().end) + (o_.start_shift.contains(i) ? o_.start_shift.at(i) : 0);
      d.end = d.start + o_.interval;
      if (o_.chain_starts.contains(i)) previous.reset();
      if (previous && o_.wrong_previous_hash.contains(i)) previous->sha256_hex = detail::sha256_hex("not the digest");
      d.key = digest_key(d.end);
      d.signing_key = (o_.rotate_key_at >= 0 && i >= o_.rotate_key_at) ? 1 : 0;
      const detail::SigningKey& key = fixture_key(d.signing_key);
      detail::DigestContent content;
      content.account_id = o_.account_id;
      content.start_time = d.start;
      content.end_time = d.end;
      content.bucket = o_.bucket;
      content.key = d.key;
      content.fingerprint = key.fingerprint();
      content.previous = previous;
      const int logs = o_.empty_digests.contains(i) ? 0 : o_.logs_per_digest;
      for (int j = 0; j < logs; ++j) {
        const std::int64_t delivered = d.start + 60 * (j + 1);
        char unique[17];
        std::snprintf(unique, sizeof unique, "u%015d", ++serial);
        const std::string log_key =
            with_prefix("AWSLogs/" + (o_.organization_id.empty() ? "" : o_.organization_id + "/") + o_.account_id +
                        "/CloudTrail/" + o_.region + "/" + fixture_folders(delivered) + "/" + o_.account_id +
                        "_CloudTrail_" + o_.region + "_" + fixture_stamp(delivered, false) + "_" + unique +
                        (o_.zstd ? ".json.zst" : ".json.gz"));
        std::string records = "{\"Records\":[";
        for (int r = 0; r < 3; ++r) {
          if (r) records += ",";
          records += "{\"eventVersion\":\"1.11\",\"eventTime\":\"" + fixture_event_time(delivered - 30 + r) +
                     "\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\",\"awsRegion\":\"" +
                     o_.region + "\",\"eventID\":\"" + std::to_string(serial) + "-" + std::to_string(r) + "\"}";
        }
        records += "]}";
        objects_[log_key] = FixtureObject{o_.zstd ? fixture_zstd(records) : fixture_gzip(records), {}};
        content.log_files.push_back(
            detail::DigestLogFile{o_.bucket, log_key, detail::sha256_hex(records), delivered - 28, delivered - 30});
        d.log_keys.push_back(log_key);
      }
      d.json = detail::serialize_digest(content);
      const std::string hash = detail::sha256_hex(d.json);
      const std::optional<std::string_view> previous_signature =
          previous ? std::optional<std::string_view>(previous->signature_hex) : std::nullopt;
      d.signature = key.sign_hex(
          detail::digest_string_to_sign(fixture_event_time(d.end), o_.bucket, d.key, hash, previous_signature));
      objects_[d.key] = FixtureObject{fixture_gzip(d.json),
                                      {{"signature", d.signature}, {"signature-algorithm", "SHA256withRSA"}}};
      previous = detail::DigestLink{o_.bucket, d.key, hash, d.signature};
      digests_.push_back(std::move(d));
    }
    if (o_.backfill_for >= 0 && o_.backfill_for < o_.digests) add_backfill(digests_[static_cast<std::size_t>(o_.backfill_for)]);
  }

  void add_backfill(const FixtureDigest& window) {
    std::string key = digest_key(window.end);
    key.replace(key.size() - 8, 8, "_backfill.json.gz");
    const std::int64_t delivered = window.start + 1800;
    const std::string log_key = with_prefix("AWSLogs/" + o_.account_id + "/CloudTrail/" + o_.region + "/" +
                                            fixture_folders(delivered) + "/" + o_.account_id + "_CloudTrail_" +
                                            o_.region + "_" + fixture_stamp(delivered, false) + "_backfill00000001" +
                                            (o_.zstd ? ".json.zst" : ".json.gz"));
    const std::string records = "{\"Records\":[{\"eventVersion\":\"1.11\",\"eventTime\":\"" +
                                fixture_event_time(delivered - 60) + "\",\"eventID\":\"backfill\"}]}";
    objects_[log_key] = FixtureObject{o_.zstd ? fixture_zstd(records) : fixture_gzip(records), {}};
    const detail::SigningKey& signer = fixture_key(window.signing_key);
    detail::DigestContent content;
    content.account_id = o_.account_id;
    content.start_time = window.start;
    content.end_time = window.end;
    content.bucket = o_.bucket;
    content.key = key;
    content.fingerprint = signer.fingerprint();
    content.log_files.push_back(
        detail::DigestLogFile{o_.bucket, log_key, detail::sha256_hex(records), delivered - 60, delivered - 60});
    const std::string json = detail::serialize_digest(content);
    const std::string signature = signer.sign_hex(detail::digest_string_to_sign(
        fixture_event_time(window.end), o_.bucket, key, detail::sha256_hex(json), std::nullopt));
    objects_[key] = FixtureObject{fixture_gzip(json),
                                  {{"signature", signature},
                                   {"signature-algorithm", "SHA256withRSA"},
                                   {"backfill-generation-timestamp", fixture_event_time(window.end + 1800)}}};
    backfill_key_ = key;
  }

 public:
  /// The backfill digest's key ("" when backfill_for is -1).
  const std::string& backfill_key() const { return backfill_key_; }

 private:
  std::string backfill_key_;

  DigestFixtureOptions o_;
  std::vector<FixtureDigest> digests_;
  std::map<std::string, FixtureObject> objects_;
};

}  // namespace trailkit::testing
