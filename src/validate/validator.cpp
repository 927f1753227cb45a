#include "validate/validator.hpp"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "batch/object_key.hpp"
#include "common/civil_time.hpp"
#include "digest/crypto.hpp"

namespace trailkit::detail {
namespace {

using Json = nlohmann::json;
constexpr std::int64_t kHour = 3600;

// --- time --------------------------------------------------------------------------------------


// Python's type name in dateutil's "Parser must be a string or character stream, not X".
std::string python_type_name(const Json& value) {
  if (value.is_null()) return "NoneType";
  if (value.is_boolean()) return "bool";
  if (value.is_number_integer()) return "int";
  if (value.is_number()) return "float";
  if (value.is_array()) return "list";
  return "dict";
}

// Python's str() of a JSON value as it appears in the stock tool's f-strings.
std::string python_str(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "None";
  if (value.is_boolean()) return value.get<bool>() ? "True" : "False";
  return value.dump();
}

struct DigestError {
  std::string message;
};

// parse_date() on a digest field: dateutil's two failure texts.
std::int64_t parse_field_time(const Json& value) {
  if (!value.is_string()) {
    throw DigestError{"Parser must be a string or character stream, not " + python_type_name(value)};
  }
  const std::string text = value.get<std::string>();
  if (auto t = parse_time_text(text)) return *t;
  throw DigestError{"Unable to parse date value: " + text};
}

// --- decompression -----------------------------------------------------------------------------

// Inflates the FIRST gzip member of `in` into `sink` (zlib MAX_WBITS|16, what validation.py uses).
// strict (digests, zlib.decompress): a truncated member is an error. Lenient (logs,
// zlib.decompressobj + flush): a truncated member yields what inflated, no error.
bool inflate_first_member(std::string_view in, bool strict, const std::function<void(std::string_view)>& sink) {
  if (in.empty()) return !strict;
  z_stream z{};
  if (inflateInit2(&z, MAX_WBITS | 16) != Z_OK) return false;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char buf[64 * 1024];
  int rc = Z_OK;
  bool ok = true;
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    const std::size_t produced = sizeof buf - z.avail_out;
    if (produced) sink(std::string_view(buf, produced));
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR || (rc == Z_OK && z.avail_in == 0 && produced == 0)) {
      ok = !strict;  // input exhausted inside the member: truncated
      break;
    }
    if (rc != Z_OK) {
      ok = false;
      break;
    }
  }
  inflateEnd(&z);
  return ok;
}

bool zstd_all_frames(std::string_view in, const std::function<void(std::string_view)>& sink) {
  ZSTD_DStream* d = ZSTD_createDStream();
  if (!d) return false;
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  char buf[64 * 1024];
  bool ok = true;
  for (;;) {
    ZSTD_outBuffer output{buf, sizeof buf, 0};
    const std::size_t rc = ZSTD_decompressStream(d, &output, &input);
    if (ZSTD_isError(rc)) {
      ok = false;
      break;
    }
    if (output.pos) sink(std::string_view(buf, output.pos));
    if (input.pos < input.size) continue;
    if (rc == 0) break;  // every frame complete
    // Input used up, frame open: more output may still be buffered; none means truncated.
    if (output.pos == 0) {
      ok = false;
      break;
    }
  }
  ZSTD_freeDStream(d);
  return ok;
}

// SHA-256 hex of a log file's uncompressed bytes; nullopt = "invalid format".
std::optional<std::string> log_file_hash(std::string_view body) {
  Sha256 hash;
  auto sink = [&hash](std::string_view piece) { hash.update(piece); };
  const bool zstd = body.size() >= 4 && static_cast<unsigned char>(body[0]) == 0x28 &&
                    static_cast<unsigned char>(body[1]) == 0xb5 && static_cast<unsigned char>(body[2]) == 0x2f &&
                    static_cast<unsigned char>(body[3]) == 0xfd;
  const bool ok = zstd ? zstd_all_frames(body, sink) : inflate_first_member(body, false, sink);
  if (!ok) return std::nullopt;
  return hash.finish_hex();
}

// --- output ------------------------------------------------------------------------------------

// The stock tool's _write_status with its shared "last status was double spaced" flag, plus the
// optional progress bar, erased before anything else is written.
class Printer {
 public:
  Printer(std::ostream& out, std::ostream& err, bool verbose, bool progress)
      : out_(out), err_(err), verbose_(verbose), progress_(progress), started_(std::chrono::steady_clock::now()) {}

  void status(const std::string& message, bool is_error) {
    if (is_error) {
      clear_bar();
      err_ << (last_double_space_ ? "" : "\n") << message << "\n\n";
      err_.flush();
      last_double_space_ = true;
    } else if (verbose_) {
      clear_bar();
      last_double_space_ = false;
      out_ << message << "\n";
    }
  }
  void out(const std::string& text) {
    clear_bar();
    out_ << text;
  }
  bool last_double_space() const { return last_double_space_; }
  // What the aws CLI prints for an exception that ends the command (clidriver write_exception).
  void fatal(const std::string& message) {
    clear_bar();
    out_.flush();
    err_ << "\n" << message << "\n" << std::flush;
  }

  void progress(int digests_done, int digests_total, int logs_done) {
    if (!progress_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!bar_shown_ && digests_total <= 20 && now - started_ < std::chrono::seconds(2)) return;
    if (bar_shown_ && now - last_draw_ < std::chrono::milliseconds(100) && digests_done < digests_total) return;
    last_draw_ = now;
    constexpr int kWidth = 30;
    const int total = std::max(digests_total, 1);
    const int filled = std::min(kWidth, digests_done * kWidth / total);
    out_.flush();
    err_ << "\r[" << std::string(static_cast<std::size_t>(filled), '#')
         << std::string(static_cast<std::size_t>(kWidth - filled), '.') << "] " << digests_done << "/" << digests_total
         << " digests, " << logs_done << " log files" << std::flush;
    bar_shown_ = true;
  }
  void clear_bar() {
    if (!bar_shown_) return;
    err_ << "\r\033[K" << std::flush;  // erase the line; the next draw repaints it
    bar_shown_ = false;
  }

 private:
  std::ostream& out_;
  std::ostream& err_;
  bool verbose_;
  bool progress_;
  bool last_double_space_ = true;
  bool bar_shown_ = false;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_draw_{};
};

struct FatalError {
  std::string message;
};

// --- the run -----------------------------------------------------------------------------------

struct Digest {
  Json data;
  std::string signature_hex;  // metadata `signature`
  std::string sha256_hex;     // of the uncompressed bytes
  std::int64_t start = 0;
  std::int64_t end = 0;
};

enum class LoadKind { kValid, kNotFound, kInvalid };

struct Loaded {
  LoadKind kind = LoadKind::kInvalid;
  std::string message;  // kInvalid: the whole stock message
  Digest digest;
};

bool is_backfill_key(const std::string& key) { return key.ends_with("_backfill.json.gz"); }

std::string key_date_text(const std::string& key) {
  return is_backfill_key(key) ? key.substr(key.size() - 33, 16) : key.substr(key.size() - 24, 16);
}

class Run {
 public:
  Run(const ValidateOptions& options, ObjectStore& store, PublicKeySource& keys, std::ostream& out, std::ostream& err)
      : o_(options), store_(store), keys_(keys), printer_(out, err, options.verbose, options.progress) {
    std::vector<std::string> fields;
    std::size_t from = 0;
    for (std::size_t colon; (colon = o_.trail_arn.find(':', from)) != std::string::npos; from = colon + 1) {
      fields.push_back(o_.trail_arn.substr(from, colon - from));
    }
    fields.push_back(o_.trail_arn.substr(from));
    home_region_ = fields.size() > 3 ? fields[3] : "";
    account_ = !o_.account_id.empty() ? o_.account_id : (fields.size() > 4 ? fields[4] : "");
    trail_name_ = o_.trail_arn.substr(o_.trail_arn.rfind('/') + 1);
    source_region_ = o_.source_region.empty() ? home_region_ : o_.source_region;
  }

  ValidateResult run() {
    printer_.out("Validating log files for trail " + o_.trail_arn + " between " + format_display_time(o_.start_time) +
                 " and " + format_display_time(o_.end_time) + "\n\n");
    try {
      List listed = list_digests(o_.bucket, o_.end_time);
      total_digests_ = static_cast<int>(listed.standard.size() + listed.backfill.size());
      if (!listed.standard.empty()) newest_key_ = listed.standard.back();
      chain_continues_ = listed.more_after;
      traverse(listed.standard, false);
      traverse(listed.backfill, true);
    } catch (const FatalError& e) {
      printer_.fatal(e.message);
      result_.fatal = true;
      return result_;
    }
    printer_.clear_bar();
    write_summary();
    if (o_.extra_checks) write_extra_checks();
    return result_;
  }

 private:
  struct List {
    std::vector<std::string> standard;
    std::vector<std::string> backfill;
    bool more_after = false;  // a digest of this trail exists after end + 1 h (where the listing stopped)
  };

  std::string with_prefix(const std::string& key) const { return o_.prefix.empty() ? key : o_.prefix + "/" + key; }

  std::string org_part() const { return o_.organization_id.empty() ? "" : o_.organization_id + "/"; }

  std::string digest_folder() const {
    return with_prefix("AWSLogs/" + org_part() + account_ + "/CloudTrail-Digest/" + source_region_);
  }

  // The regex of validation.py _create_digest_key_regex, matched by hand:
  // ^<prefix/>AWSLogs/[org/]acct/CloudTrail-Digest/src/\d+/\d+/\d+/acct_CloudTrail-Digest_src_name_home_.+\.json\.gz$
  bool is_trail_digest_key(const std::string& key) const {
    const std::string head = digest_folder() + "/";
    if (!key.starts_with(head)) return false;
    std::size_t at = head.size();
    for (int part = 0; part < 3; ++part) {
      const std::size_t digits = at;
      while (at < key.size() && key[at] >= '0' && key[at] <= '9') ++at;
      if (at == digits || at >= key.size() || key[at] != '/') return false;
      ++at;
    }
    const std::string name = account_ + "_CloudTrail-Digest_" + source_region_ + "_" + trail_name_ + "_" + home_region_ + "_";
    if (key.compare(at, name.size(), name) != 0) return false;
    at += name.size();
    if (key.find('\n', at) != std::string::npos) return false;  // '.' does not match a newline
    return key.size() >= at + 1 + 8 && key.ends_with(".json.gz");
  }

  // validation.py load_all_digest_keys_in_range: one ListObjects walk from the marker.
  List list_digests(const std::string& bucket, std::int64_t end_time) {
    const std::int64_t marker_time = o_.start_time - 60;  // "Subtract one minute to ensure the dates are inclusive."
    const std::string marker = digest_file_key(KeyLocation{o_.prefix, o_.organization_id, account_, source_region_},
                                               trail_name_, home_region_, marker_time);
    const std::string target_start = digest_key_stamp(o_.start_time);
    const std::string target_end = digest_key_stamp(end_time + kHour);  // logs that spilled over
    List list;
    const Status s = store_.list(bucket, digest_folder(), marker, [&](const std::string& key) {
      if (!is_trail_digest_key(key)) return true;
      const std::string date = key_date_text(key);
      if (date > target_end) {
        list.more_after = true;
        return false;  // lexicographic stop
      }
      if (date < target_start) return true;
      if (!parse_time_text(date)) return true;  // unusable name (the stock tool would crash on it)
      (is_backfill_key(key) ? list.backfill : list.standard).push_back(key);
      return true;
    });
    if (!s) throw FatalError{s.message()};
    return list;
  }

  using KeyMap = std::map<std::string, PublicKeyRecord>;

  KeyMap load_public_keys(std::int64_t from, std::int64_t to) {
    std::vector<PublicKeyRecord> keys;
    try {
      keys = keys_.public_keys(from, to);
    } catch (const std::exception& e) {
      throw FatalError{e.what()};
    }
    if (keys.empty()) {
      throw DigestError{"No public keys found between " + format_display_time(from) + " and " + format_display_time(to)};
    }
    KeyMap map;
    for (auto& k : keys) map[k.fingerprint] = std::move(k);
    return map;
  }

  // validation.py _get_last_digest: pops the newest key, or the newest one older than `before`.
  std::optional<std::pair<std::string, std::int64_t>> last_digest(std::vector<std::string>& digests,
                                                                   const std::string* before) {
    const std::int64_t before_date = before ? parse_time_text(key_date_text(*before)).value_or(0) : 0;
    while (!digests.empty()) {
      std::string key = std::move(digests.back());
      digests.pop_back();
      const std::int64_t date = parse_time_text(key_date_text(key)).value_or(0);
      if (!before || date < before_date) return std::make_pair(std::move(key), date);
    }
    return std::nullopt;
  }

  std::string where(const std::string& bucket, const std::string& key) const { return "s3://" + bucket + "/" + key; }

  Loaded load_and_validate(KeyMap& public_keys, const std::string& bucket, const std::string& key, bool backfill) {
    Loaded r;
    StoredObject object;
    std::string error;
    switch (store_.get(bucket, key, object, error)) {
      case FetchOutcome::kNotFound:
        r.kind = LoadKind::kNotFound;
        return r;
      case FetchOutcome::kFailed:
        throw FatalError{error};
      case FetchOutcome::kFound:
        break;
    }
    const std::string invalid_format = "Digest file\t" + where(bucket, key) + "\tINVALID: invalid format";
    r.kind = LoadKind::kInvalid;
    try {
      std::string text;
      if (!inflate_first_member(object.body, true, [&text](std::string_view p) { text.append(p); })) {
        r.message = invalid_format;
        return r;
      }
      Json data = Json::parse(text, nullptr, false);
      if (data.is_discarded() || !data.is_object()) {
        r.message = invalid_format;
        return r;
      }
      const auto sig = object.metadata.find("signature");
      if (sig == object.metadata.end() || !object.metadata.contains("signature-algorithm")) {
        r.message = "Digest file\t" + where(bucket, key) + "\tINVALID: signature verification failed";
        return r;
      }
      std::optional<std::string> backfill_timestamp;
      if (backfill) {
        const auto ts = object.metadata.find("backfill-generation-timestamp");
        if (ts == object.metadata.end()) {
          r.message = invalid_format;
          return r;
        }
        backfill_timestamp = ts->second;
      }
      for (const char* required : {"digestPublicKeyFingerprint", "digestS3Bucket", "digestS3Object",
                                   "previousDigestSignature", "digestEndTime", "digestStartTime"}) {
        if (!data.contains(required)) {
          r.message = invalid_format;
          return r;
        }
      }
      // The stock tool indexes logFiles after yielding the digest and crashes without it.
      if (!data.contains("logFiles") || !(data["logFiles"].is_array() || data["logFiles"].is_null())) {
        r.message = invalid_format;
        return r;
      }
      if (data["digestS3Bucket"] != Json(bucket) || data["digestS3Object"] != Json(key)) {
        r.message = "Digest file\t" + where(bucket, key) + "\tINVALID: has been moved from its original location";
        return r;
      }
      const Json& fingerprint_value = data["digestPublicKeyFingerprint"];
      const std::string fingerprint = python_str(fingerprint_value);
      const bool known = fingerprint_value.is_string() && public_keys.contains(fingerprint);
      if (!known && backfill) {
        const Json ts_text(*backfill_timestamp);
        const std::int64_t ts = parse_field_time(ts_text);
        for (auto& [fp, k] : load_public_keys(ts - kHour, ts + kHour)) public_keys[fp] = k;
      }
      if (!fingerprint_value.is_string() || !public_keys.contains(fingerprint)) {
        r.message = "Digest file\t" + where(bucket, key) + "\tINVALID: public key not found in region " + home_region_ +
                    " for fingerprint " + fingerprint;
        return r;
      }
      const PublicKeyRecord& public_key = public_keys[fingerprint];
      if (!is_pkcs1_public_key(public_key.der)) {
        r.message = "Digest file\t" + where(bucket, key) + "\tINVALID: Unable to load PKCS #1 key with fingerprint " +
                    fingerprint;
        return r;
      }
      const std::string digest_hash = sha256_hex(text);
      const Json& previous_signature = data["previousDigestSignature"];
      const std::string to_sign = python_str(data["digestEndTime"]) + "\n" + bucket + "/" + key + "\n" + digest_hash +
                                  "\n" + (previous_signature.is_null() ? "null" : python_str(previous_signature));
      const std::optional<std::string> signature = from_hex(sig->second);
      if (!signature) {
        throw DigestError{sig->second.size() % 2 ? "Odd-length string" : "Non-hexadecimal digit found"};
      }
      if (!verify_signature(public_key.der, to_sign, *signature)) {
        r.message = "Digest file\t" + where(bucket, key) + "\tINVALID: signature verification failed";
        return r;
      }
      r.digest.end = parse_field_time(data["digestEndTime"]);
      r.digest.start = parse_field_time(data["digestStartTime"]);
      r.digest.signature_hex = sig->second;
      r.digest.sha256_hex = digest_hash;
      r.digest.data = std::move(data);
      r.kind = LoadKind::kValid;
      return r;
    } catch (const DigestError& e) {
      // validation.py: "except Exception as e" -> 'Digest file\ts3://b/k\tINVALID: {str(e)}'
      r.kind = LoadKind::kInvalid;
      r.message = "Digest file\t" + where(bucket, key) + "\tINVALID: " + e.message;
      return r;
    }
  }

  void track_found_times(const Digest& d) {
    const std::int64_t earliest = std::max(d.start, o_.start_time);
    if (!found_start_ || earliest < *found_start_) found_start_ = earliest;
    const std::int64_t latest = std::min(d.end, o_.end_time);
    if (!found_end_ || latest > *found_end_) found_end_ = latest;
  }

  void validate_log(const Json& log) {
    const Json null;
    const Json& bucket_value = log.is_object() && log.contains("s3Bucket") ? log["s3Bucket"] : null;
    const Json& key_value = log.is_object() && log.contains("s3Object") ? log["s3Object"] : null;
    const std::string bucket = python_str(bucket_value);
    const std::string key = python_str(key_value);
    const std::string name = "Log file\t" + where(bucket, key) + "\t";
    ++logs_done_;
    if (!bucket_value.is_string() || !key_value.is_string() || !log.contains("hashValue")) {
      ++result_.invalid_logs;
      printer_.status(name + "INVALID: invalid format", true);
      return;
    }
    StoredObject object;
    std::string error;
    switch (store_.get(bucket, key, object, error)) {
      case FetchOutcome::kNotFound:
        ++result_.invalid_logs;
        printer_.status(name + "INVALID: not found", true);
        return;
      case FetchOutcome::kFailed:
        throw FatalError{error};
      case FetchOutcome::kFound:
        break;
    }
    const std::optional<std::string> hash = log_file_hash(object.body);
    if (!hash) {
      ++result_.invalid_logs;
      printer_.status(name + "INVALID: invalid format", true);
    } else if (Json(*hash) != log["hashValue"]) {
      ++result_.invalid_logs;
      printer_.status(name + "INVALID: hash value doesn't match", true);
    } else {
      ++result_.valid_logs;
      printer_.status(name + "valid", false);
    }
  }

  // What a valid digest D promised about the digest it links to, checked when that one validates.
  struct PendingLink {
    std::string from_bucket, from_key, bucket, key, hash, signature;
    std::int64_t start = 0;
  };

  void check_link(const PendingLink& link, const Digest& previous) {
    const std::string d = "Digest file\t" + where(link.from_bucket, link.from_key) + "\tINVALID: ";
    const std::string p = where(link.bucket, link.key);
    if (previous.end != link.start) {
      extra(d + "chain gap between " + format_display_time(previous.end) + " and " + format_display_time(link.start) +
            ": its digestStartTime is not the digestEndTime of the previous digest " + p);
    }
    if (link.hash != previous.sha256_hex) {
      extra(d + "previousDigestHashValue does not match the SHA-256 of the previous digest " + p);
    }
    if (link.signature != previous.signature_hex) {
      extra(d + "previousDigestSignature does not match the signature of the previous digest " + p);
    }
  }

  void extra(std::string message) { extra_messages_.push_back(std::move(message)); }

  void on_valid(const Digest& d, bool backfill) {
    track_found_times(d);
    ++(backfill ? result_.valid_backfill_digests : result_.valid_digests);
    ++digests_done_;
    printer_.status(std::string(backfill ? "(backfill) " : "") + "Digest file\t" +
                        where(python_str(d.data["digestS3Bucket"]), python_str(d.data["digestS3Object"])) + "\tvalid",
                    false);
    if (!backfill && o_.extra_checks) windows_.push_back(d.end - d.start);
    const Json& logs = d.data["logFiles"];
    if (logs.is_array()) {
      for (const Json& log : logs) {
        validate_log(log);
        printer_.progress(digests_done_, total_digests_, logs_done_);
      }
    }
    printer_.progress(digests_done_, total_digests_, logs_done_);
  }

  void on_invalid_digest(const std::string& message, bool backfill) {
    ++(backfill ? result_.invalid_backfill_digests : result_.invalid_digests);
    ++digests_done_;
    printer_.status((backfill ? "(backfill) " : "") + message, true);
    printer_.progress(digests_done_, total_digests_, logs_done_);
  }

  // validation.py _traverse_digest_chain.
  void traverse(std::vector<std::string> digests, bool backfill) {
    std::string bucket = o_.bucket;
    KeyMap public_keys;
    if (!backfill) {
      try {
        public_keys = load_public_keys(o_.start_time, o_.end_time + 2 * kHour);
      } catch (const DigestError& e) {
        throw FatalError{e.message};  // outside the walk's try: the stock command stops here
      }
    }
    auto next = last_digest(digests, nullptr);
    std::int64_t last_start = next ? next->second : 0;
    std::optional<PendingLink> pending;
    const std::string type = backfill ? "(backfill) " : "";
    while (next && o_.start_time <= last_start) {
      const std::string key = next->first;
      Loaded loaded = load_and_validate(public_keys, bucket, key, backfill);
      if (loaded.kind == LoadKind::kValid) {
        const Digest& d = loaded.digest;
        last_start = d.start;
        if (pending && pending->bucket == bucket && pending->key == key) check_link(*pending, d);
        pending.reset();
        on_valid(d, backfill);
        const Json& previous_bucket = d.data.value("previousDigestS3Bucket", Json());
        const Json& previous_key = d.data.value("previousDigestS3Object", Json());
        if (previous_bucket.is_null() || previous_key.is_null()) {
          next = last_digest(digests, &key);
          if (next) {  // the stock gap notice (conditional callback)
            printer_.status(type + "No log files were delivered by CloudTrail between " +
                                format_display_time(next->second) + " and " + format_display_time(last_start),
                            true);
            if (!backfill && o_.extra_checks) {
              extra("Digest file\t" + where(bucket, key) + "\tINVALID: chain gap between " +
                    format_display_time(next->second) + " and " + format_display_time(last_start) +
                    ": the digest starts a new chain (previousDigest* null) although an older digest exists: " +
                    where(bucket, next->first));
            }
          }
        } else {
          const std::string prev_bucket = python_str(previous_bucket);
          const std::string prev_key = python_str(previous_key);
          if (!backfill && o_.extra_checks) {
            pending = PendingLink{bucket, key, prev_bucket, prev_key,
                                  python_str(d.data.value("previousDigestHashValue", Json())),
                                  python_str(d.data.value("previousDigestSignature", Json())), d.start};
          }
          const std::int64_t end_date = d.end;
          next = std::make_pair(prev_key, end_date);
          if (prev_bucket != bucket) {
            bucket = prev_bucket;  // the bucket changed: reload the digest list
            List reloaded = list_digests(bucket, end_date);
            digests = backfill ? std::move(reloaded.backfill) : std::move(reloaded.standard);
          }
        }
        continue;
      }
      pending.reset();
      if (loaded.kind == LoadKind::kNotFound) {
        on_invalid_digest("Digest file\t" + where(bucket, key) + "\tINVALID: not found", backfill);
      } else {
        on_invalid_digest(loaded.message, backfill);
      }
      next = last_digest(digests, &key);
    }
  }

  void write_ratio(int valid, int invalid, const char* name) {
    const int total = valid + invalid;
    if (total == 0) return;
    std::string line = "\n" + std::to_string(valid) + "/" + std::to_string(total) + " " + name + " files valid";
    if (invalid > 0) line += ", " + std::to_string(invalid) + "/" + std::to_string(total) + " " + name + " files INVALID";
    printer_.out(line);
  }

  void write_summary() {
    if (!printer_.last_double_space()) printer_.out("\n");
    printer_.out("Results requested for " + format_display_time(o_.start_time) + " to " +
                 format_display_time(o_.end_time) + "\n");
    const int valid = result_.valid_digests + result_.valid_backfill_digests;
    const int invalid = result_.invalid_digests + result_.invalid_backfill_digests;
    if (valid == 0 && invalid == 0) {
      printer_.out("No digests found\n");
      return;
    }
    if (!found_start_ || !found_end_) {
      printer_.out("No valid digests found in range\n");
    } else {
      printer_.out("Results found for " + format_display_time(*found_start_) + " to " +
                   format_display_time(*found_end_) + ":\n");
    }
    write_ratio(result_.valid_digests, result_.invalid_digests, "digest");
    write_ratio(result_.valid_backfill_digests, result_.invalid_backfill_digests, "backfill digest");
    write_ratio(result_.valid_logs, result_.invalid_logs, "log");
    printer_.out("\n");
  }

  std::int64_t interval() const {
    if (o_.digest_interval_seconds && *o_.digest_interval_seconds > 0) return *o_.digest_interval_seconds;
    if (windows_.empty()) return kHour;
    std::vector<std::int64_t> sorted = windows_;
    std::sort(sorted.begin(), sorted.end());
    return std::max<std::int64_t>(1, sorted[sorted.size() / 2]);
  }

  void check_tail() {
    // The newest listed digest's end (its key date); -1 = none listed (keys parse, they were filtered).
    const std::int64_t newest_end = newest_key_.empty() ? -1 : parse_time_text(key_date_text(newest_key_)).value_or(-1);
    const bool newest = newest_end >= 0;
    // Digests after the requested range exist: the trail's tail is not in this range (logging may have
    // stopped inside it; a hole before those later digests is not a truncated tail).
    if (chain_continues_) return;
    // Exact rule: the trail recorded which digest it delivered last for this account and region.
    for (const LatestDigest& latest : o_.latest_digests) {
      if (latest.account_id != account_ || latest.region != source_region_ || latest.key.empty()) continue;
      const std::int64_t latest_end = parse_time_text(key_date_text(latest.key)).value_or(latest.end_time);
      // Only when the listing could have seen it (the stock listing runs to end + 1 h).
      if (latest_end < o_.start_time || latest_end > o_.end_time + kHour) break;
      if (newest && newest_key_ >= latest.key) return;
      extra("INVALID: digests missing after " + (newest ? format_display_time(newest_end) : format_display_time(o_.start_time)) +
            ": the newest digest found is " + (newest ? "s3://" + o_.bucket + "/" + newest_key_ : std::string("none")) +
            " but the trail delivered s3://" + o_.bucket + "/" + latest.key + " (tail truncation)");
      return;
    }
    const std::int64_t step = interval();
    if (o_.latest_digest_delivery_time && *o_.latest_digest_delivery_time > 0) {
      const std::int64_t watermark = *o_.latest_digest_delivery_time;
      const std::int64_t expected = std::min(o_.end_time, watermark);
      std::int64_t grace = o_.tail_grace_seconds;
      std::vector<std::string> regions;
      const std::string folder = digest_folder();
      const bool listed = static_cast<bool>(store_.list_folders(o_.bucket, folder.substr(0, folder.size() - source_region_.size()), regions));
      if (listed && regions.size() > 1) grace += step;  // the trail-level watermark may be another region's delivery
      const bool region_has_digests =
          !listed || std::find(regions.begin(), regions.end(), source_region_) != regions.end();
      if (!newest) {
        // A region the trail never wrote digests for (a wrong --region) stays "No digests found", exit 0.
        if (region_has_digests && expected - o_.start_time > grace) {
          extra("INVALID: no digests found between " + format_display_time(o_.start_time) + " and " +
                format_display_time(o_.end_time) + " but digests were delivered until " +
                format_display_time(watermark) + " (tail truncation)");
        }
      } else if (expected - newest_end > grace) {
        extra("INVALID: digests missing after " + format_display_time(newest_end) + ": the newest digest found ends at " +
              format_display_time(newest_end) + " but digests were delivered until " + format_display_time(watermark) +
              " (tail truncation)");
      }
      return;
    }
    if (newest && o_.end_time - newest_end > 2 * step + o_.tail_grace_seconds) {
      extra("INVALID: digests missing after " + format_display_time(newest_end) + ": the newest digest found ends at " +
            format_display_time(newest_end) + " but a digest is due every " + std::to_string(step) + " s until " +
            format_display_time(o_.end_time) + " (tail truncation)");
    }
  }

  void write_extra_checks() {
    check_tail();
    if (extra_messages_.empty()) return;
    for (const std::string& m : extra_messages_) printer_.status(m, true);
    result_.extra_failures = static_cast<int>(extra_messages_.size());
    printer_.out("\n" + std::to_string(result_.extra_failures) +
                 " digest chain check(s) beyond validate-logs FAILED (chain links, gaps, tail truncation)\n");
  }

  const ValidateOptions& o_;
  ObjectStore& store_;
  PublicKeySource& keys_;
  Printer printer_;
  std::string home_region_, account_, trail_name_, source_region_;
  ValidateResult result_;
  std::optional<std::int64_t> found_start_, found_end_;
  std::string newest_key_;
  bool chain_continues_ = false;
  std::vector<std::int64_t> windows_;
  std::vector<std::string> extra_messages_;
  int total_digests_ = 0, digests_done_ = 0, logs_done_ = 0;
};

// Reads exactly `n` digits at `at`.
bool read_number(std::string_view s, std::size_t& at, std::size_t n, int& value) {
  if (at + n > s.size()) return false;
  value = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[at + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  at += n;
  return true;
}

}  // namespace

std::vector<PublicKeyRecord> RegistryKeySource::public_keys(std::int64_t from, std::int64_t to) {
  return KeyRegistry::load(path_).overlapping(from, to);
}

ValidateResult validate_digests(const ValidateOptions& options, ObjectStore& store, PublicKeySource& keys,
                                std::ostream& out, std::ostream& err) {
  Run run(options, store, keys, out, err);
  return run.run();
}

bool is_valid_trail_arn(std::string_view arn) {
  // re.match(r'arn:.+:cloudtrail:.+:\d{12}:trail/.+'), by hand: every split point is tried, as the
  // regex backtracks. '.' never matches a newline.
  if (!arn.starts_with("arn:")) return false;
  constexpr std::string_view kService = ":cloudtrail:";
  constexpr std::string_view kTrail = ":trail/";
  for (std::size_t i = arn.find(kService, 5); i != std::string_view::npos; i = arn.find(kService, i + 1)) {
    if (arn.substr(4, i - 4).find('\n') != std::string_view::npos) break;
    for (std::size_t k = arn.find(':', i + kService.size() + 1); k != std::string_view::npos; k = arn.find(':', k + 1)) {
      if (arn.substr(i + kService.size(), k - i - kService.size()).find('\n') != std::string_view::npos) break;
      if (k + 1 + 12 + kTrail.size() >= arn.size()) break;
      const std::string_view digits = arn.substr(k + 1, 12);
      if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
          arn.substr(k + 13, kTrail.size()) == kTrail && arn[k + 13 + kTrail.size()] != '\n') {
        return true;
      }
    }
  }
  return false;
}

std::optional<std::int64_t> parse_time_text(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  if (s.empty()) return std::nullopt;
  if (s.size() >= 9 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::int64_t v = 0;
    for (char c : s) {
      if (v > (std::int64_t{1} << 40)) return std::nullopt;
      v = v * 10 + (c - '0');
    }
    return v;  // epoch seconds (our extension)
  }
  std::size_t at = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_number(s, at, 4, year)) return std::nullopt;
  const bool extended = at < s.size() && s[at] == '-';
  if (extended) ++at;
  if (!read_number(s, at, 2, month)) return std::nullopt;
  if (extended && (at >= s.size() || s[at++] != '-')) return std::nullopt;
  if (!read_number(s, at, 2, day)) return std::nullopt;
  if (at < s.size()) {
    if (s[at] != 'T' && s[at] != 't' && s[at] != ' ') return std::nullopt;
    ++at;
    if (!read_number(s, at, 2, hour)) return std::nullopt;
    const bool colon = at < s.size() && s[at] == ':';
    if (colon) ++at;
    if (!read_number(s, at, 2, minute)) return std::nullopt;
    if (at < s.size() && (colon ? s[at] == ':' : (s[at] >= '0' && s[at] <= '9'))) {
      if (colon) ++at;
      if (!read_number(s, at, 2, second)) return std::nullopt;
      if (at < s.size() && (s[at] == '.' || s[at] == ',')) {
        ++at;
        const std::size_t digits = at;
        while (at < s.size() && s[at] >= '0' && s[at] <= '9') ++at;
        if (at == digits) return std::nullopt;
      }
    }
    std::string_view zone = s.substr(at);
    while (!zone.empty() && zone.front() == ' ') zone.remove_prefix(1);
    if (zone == "Z" || zone == "z" || zone == "UTC" || zone == "GMT" || zone.empty()) {
      // UTC
    } else if (zone.front() == '+' || zone.front() == '-') {
      // An offset is parsed and then ignored: normalize_date() *replaces* the zone with UTC.
      std::size_t z = 1;
      int oh = 0, om = 0;
      if (!read_number(zone, z, 2, oh)) return std::nullopt;
      if (z < zone.size() && zone[z] == ':') ++z;
      if (z < zone.size() && !read_number(zone, z, 2, om)) return std::nullopt;
      if (z != zone.size() || oh > 23 || om > 59) return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  return epoch_from_civil(year, month, day, hour, minute, second);
}

std::string format_display_time(std::int64_t epoch_seconds) {
  char buf[20];
  format_event_time(epoch_seconds, buf);
  return std::string(buf, 20);
}

}  // namespace trailkit::detail
