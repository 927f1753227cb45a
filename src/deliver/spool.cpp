#include "deliver/spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>

#include "batch/object_key.hpp"
#include "deliver/local_directory.hpp"
#include "deliver/posix_file.hpp"

namespace trailkit::detail {
namespace {

constexpr char kMagic[8] = {'T', 'K', 'S', 'P', 'O', 'O', 'L', '1'};
constexpr char kSequenceMagic[8] = {'T', 'K', 'S', 'E', 'Q', '0', '0', '1'};
constexpr std::uint32_t kFormatVersion = 1;
constexpr std::uint32_t kFlagMd5 = 1;
constexpr std::size_t kFixedHeaderBytes = 96;  // magic .. md5; the key length follows
constexpr std::uint64_t kIdReservation = 1024;
constexpr std::size_t kReadChunk = std::size_t{1} << 20;
constexpr std::size_t kMaxQuarantineName = 200;  // leaves room for ".N.reason" under NAME_MAX
constexpr mode_t kDirectoryMode = 0700;          // audit data: owner only
constexpr mode_t kFileMode = 0600;
constexpr std::string_view kEntrySuffix = ".entry";
constexpr char kZeroRegion[kSpoolHeaderRegion] = {};

using Digest256 = std::array<unsigned char, 32>;
using Digest128 = std::array<unsigned char, 16>;
using Metadata = std::vector<std::pair<std::string, std::string>>;
using DigestContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

struct IndexEntry {
  std::string key;
  Metadata metadata;
  std::uint64_t payload_size = 0;
  Digest256 sha256{};
  Digest128 md5{};
  bool has_md5 = false;
  std::int64_t created = 0;
};

struct EntryHeader {
  std::uint64_t id = 0;
  std::int64_t created = 0;
  std::uint64_t payload_size = 0;
  Digest256 sha256{};
  Digest128 md5{};
  bool has_md5 = false;
  std::string key;
  Metadata metadata;
};

void put_u32(std::string& out, std::uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>((value >> shift) & 0xFF));
}
void put_u64(std::string& out, std::uint64_t value) {
  for (int shift = 0; shift < 64; shift += 8) out.push_back(static_cast<char>((value >> shift) & 0xFF));
}
std::uint32_t get_u32(const unsigned char* data) {
  return std::uint32_t{data[0]} | std::uint32_t{data[1]} << 8 | std::uint32_t{data[2]} << 16 |
         std::uint32_t{data[3]} << 24;
}
std::uint64_t get_u64(const unsigned char* data) { return get_u32(data) | std::uint64_t{get_u32(data + 4)} << 32; }
std::uint32_t crc_of(const unsigned char* data, std::size_t size) {
  return static_cast<std::uint32_t>(::crc32(::crc32(0L, Z_NULL, 0), data, static_cast<uInt>(size)));
}
const unsigned char* bytes_of(const std::string& text) { return reinterpret_cast<const unsigned char*>(text.data()); }

std::size_t metadata_bytes(const Metadata& metadata) {
  std::size_t total = 0;
  for (const auto& [name, value] : metadata) total += 8 + name.size() + value.size();
  return total;
}

std::string encode_header(const EntryHeader& header) {
  std::string out(kMagic, sizeof kMagic);
  put_u32(out, kFormatVersion);
  put_u32(out, kSpoolHeaderRegion);
  put_u32(out, 0);  // header length, patched below
  put_u32(out, header.has_md5 ? kFlagMd5 : 0);
  put_u64(out, header.id);
  put_u64(out, static_cast<std::uint64_t>(header.created));
  put_u64(out, header.payload_size);
  out.append(reinterpret_cast<const char*>(header.sha256.data()), header.sha256.size());
  out.append(reinterpret_cast<const char*>(header.md5.data()), header.md5.size());
  put_u32(out, static_cast<std::uint32_t>(header.key.size()));
  out += header.key;
  put_u32(out, static_cast<std::uint32_t>(header.metadata.size()));
  for (const auto& [name, value] : header.metadata) {
    put_u32(out, static_cast<std::uint32_t>(name.size()));
    out += name;
    put_u32(out, static_cast<std::uint32_t>(value.size()));
    out += value;
  }
  const auto length = static_cast<std::uint32_t>(out.size());
  for (int i = 0; i < 4; ++i) out[16 + i] = static_cast<char>((length >> (8 * i)) & 0xFF);
  put_u32(out, crc_of(bytes_of(out), out.size()));
  return out;
}

// Parses the first `available` bytes of an entry file. Returns "" on success, else why it is invalid.
std::string decode_header(const unsigned char* data, std::size_t available, EntryHeader& out) {
  if (available < kFixedHeaderBytes + 12) return "shorter than an entry header";
  if (std::memcmp(data, kMagic, sizeof kMagic) != 0) return "bad magic (not a spool entry)";
  if (get_u32(data + 8) != kFormatVersion) return "unsupported format version " + std::to_string(get_u32(data + 8));
  if (get_u32(data + 12) != kSpoolHeaderRegion) return "unexpected header region length";
  const std::uint32_t length = get_u32(data + 16);
  if (length < kFixedHeaderBytes + 8 || length + std::size_t{4} > kSpoolHeaderRegion) return "header length out of range";
  if (length + std::size_t{4} > available) return "truncated inside the header";
  if (crc_of(data, length) != get_u32(data + length)) return "header CRC mismatch";
  const std::uint32_t flags = get_u32(data + 20);
  if ((flags & ~kFlagMd5) != 0) return "unknown header flags";
  out.has_md5 = (flags & kFlagMd5) != 0;
  out.id = get_u64(data + 24);
  out.created = static_cast<std::int64_t>(get_u64(data + 32));
  out.payload_size = get_u64(data + 40);
  std::memcpy(out.sha256.data(), data + 48, out.sha256.size());
  std::memcpy(out.md5.data(), data + 80, out.md5.size());
  // Every length is checked against what is left before H, so a lying length cannot read past it.
  std::size_t position = kFixedHeaderBytes;
  const auto take_string = [&](std::size_t limit, std::string& value) {
    if (length - position < 4) return false;
    const std::uint32_t size = get_u32(data + position);
    position += 4;
    if (size > limit || size > length - position) return false;
    value.assign(reinterpret_cast<const char*>(data + position), size);
    position += size;
    return true;
  };
  if (!take_string(kSpoolMaxKeyBytes, out.key) || out.key.empty()) return "bad key length";
  if (length - position < 4) return "header fields do not add up";
  const std::uint32_t count = get_u32(data + position);
  position += 4;
  if (count > kSpoolMaxMetadataBytes / 8) return "too many metadata pairs";
  out.metadata.clear();
  for (std::uint32_t i = 0; i < count; ++i) {
    std::string name, value;
    if (!take_string(kSpoolMaxMetadataBytes, name) || !take_string(kSpoolMaxMetadataBytes, value)) {
      return "bad metadata length";
    }
    out.metadata.emplace_back(std::move(name), std::move(value));
  }
  if (position != length || metadata_bytes(out.metadata) > kSpoolMaxMetadataBytes) return "header fields do not add up";
  return {};
}

// Like write_all_at, but never truncates: used for the header, which sits before the payload.
int write_exactly_at(int fd, std::uint64_t offset, std::string_view bytes) noexcept {
  while (!bytes.empty()) {
    const ssize_t written = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (written > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(written));
      offset += static_cast<std::uint64_t>(written);
    } else if (written < 0 && errno == EINTR) {
      continue;
    } else {
      return written < 0 ? errno : EIO;
    }
  }
  return 0;
}

// Reads up to `size` bytes at `offset`; fewer only at end of file. Returns -1 with errno on failure.
ssize_t read_fully_at(int fd, unsigned char* data, std::size_t size, std::uint64_t offset) noexcept {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t got = ::pread(fd, data + done, size - done, static_cast<off_t>(offset + done));
    if (got > 0) {
      done += static_cast<std::size_t>(got);
    } else if (got == 0) {
      break;
    } else if (errno != EINTR) {
      return -1;
    }
  }
  return static_cast<ssize_t>(done);
}

DigestContext new_digest(const EVP_MD* type) {
  DigestContext context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (context && EVP_DigestInit_ex(context.get(), type, nullptr) != 1) context.reset();
  if (!context) ERR_clear_error();
  return context;
}

// Finishes a copy, so the running digest can still take writes after a failed commit.
bool finish_copy(const EVP_MD_CTX* running, unsigned char* out) {
  DigestContext copy(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  const bool done = copy && EVP_MD_CTX_copy_ex(copy.get(), running) == 1 &&
                    EVP_DigestFinal_ex(copy.get(), out, nullptr) == 1;
  if (!done) ERR_clear_error();
  return done;
}

std::string hex_of(const Digest256& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const unsigned char byte : digest) {
    out += kHex[byte >> 4];
    out += kHex[byte & 0xF];
  }
  return out;
}

std::string base64_of(const Digest128& digest) {
  unsigned char out[25];
  const int size = EVP_EncodeBlock(out, digest.data(), static_cast<int>(digest.size()));
  return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(size));
}

std::string entry_name(std::uint64_t id) { return std::to_string(id) + std::string(kEntrySuffix); }

// `<decimal id>.entry` with no leading zero, so each id has exactly one name.
std::optional<std::uint64_t> parse_entry_name(std::string_view name) {
  if (name.size() <= kEntrySuffix.size() || name.substr(name.size() - kEntrySuffix.size()) != kEntrySuffix) {
    return std::nullopt;
  }
  const std::string_view digits = name.substr(0, name.size() - kEntrySuffix.size());
  if (digits.size() > 19 || digits[0] == '0') return std::nullopt;
  std::uint64_t id = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    id = id * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return id;
}

// File names come from disk and may hold anything; plain ones are shown as they are.
std::string display_name(std::string_view name) {
  for (const char c : name) {
    const bool plain = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
                       c == '-' || c == '_';
    if (!plain) return quote_for_message(name);
  }
  return std::string(name);
}

// The names in a directory, read before any of them is renamed (readdir and rename do not mix).
std::vector<std::string> list_directory(int directory_fd) {
  std::vector<std::string> names;
  const int fd = ::openat(directory_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);  // own offset
  if (fd < 0) return names;
  DIR* directory = ::fdopendir(fd);
  if (directory == nullptr) {
    ::close(fd);
    return names;
  }
  while (const dirent* entry = ::readdir(directory)) {
    const std::string_view name(entry->d_name);
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(directory);
  return names;
}

enum class Verdict { kValid, kCorrupt, kUnreadable };

struct Checked {
  Verdict verdict = Verdict::kValid;
  std::string why;
  std::uint64_t file_size = 0;
  bool regular_file = false;
};

Status hash_payload(int fd, std::uint64_t length, Digest256& out) {
  DigestContext sha = new_digest(EVP_sha256());
  if (!sha) return Status::error(ErrorKind::kPermanent, "SHA-256 is unavailable");
  std::vector<unsigned char> buffer(kReadChunk);
  std::uint64_t done = 0;
  while (done < length) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), length - done));
    const ssize_t got = read_fully_at(fd, buffer.data(), want, kSpoolHeaderRegion + done);
    if (got < 0) {
      const int error = errno;
      return Status::error(kind_for_errno(error), "read failed: " + error_text(error));
    }
    if (got == 0) return Status::error(ErrorKind::kPermanent, "payload shorter than recorded");
    EVP_DigestUpdate(sha.get(), buffer.data(), static_cast<std::size_t>(got));
    done += static_cast<std::uint64_t>(got);
  }
  if (EVP_DigestFinal_ex(sha.get(), out.data(), nullptr) != 1) {
    return Status::error(ErrorKind::kPermanent, "SHA-256 failed");
  }
  return Status::ok();
}

// Verifies one file's framing (and, for tmp/ leftovers, its payload hash). O_NONBLOCK: a FIFO planted
// under the name must not hang start-up.
Checked check_entry_file(int directory_fd, const std::string& name, std::optional<std::uint64_t> expected_id,
                         bool check_payload, EntryHeader& header) {
  Checked result;
  UniqueFd fd(::openat(directory_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) {
    const int error = errno;
    const bool corrupt = error == ELOOP || error == ENXIO || error == ENODEV;
    return {corrupt ? Verdict::kCorrupt : Verdict::kUnreadable,
            corrupt ? "a symlink or special file" : "cannot be opened: " + error_text(error), 0};
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return {Verdict::kUnreadable, "cannot be examined: " + error_text(errno), 0};
  if (!S_ISREG(info.st_mode)) return {Verdict::kCorrupt, "not a regular file", 0};
  result.file_size = static_cast<std::uint64_t>(info.st_size);
  result.regular_file = true;
  std::array<unsigned char, kSpoolHeaderRegion> region;
  const ssize_t got = read_fully_at(fd.get(), region.data(), region.size(), 0);
  if (got < 0) return {Verdict::kUnreadable, "header cannot be read: " + error_text(errno), result.file_size, true};
  if (result.file_size == 0) return {Verdict::kCorrupt, "empty file", 0, true};
  std::string why = decode_header(region.data(), static_cast<std::size_t>(got), header);
  if (why.empty() && (result.file_size < kSpoolHeaderRegion ||
                      result.file_size - kSpoolHeaderRegion != header.payload_size)) {
    why = "file size " + std::to_string(result.file_size) + " does not match the recorded payload length " +
          std::to_string(header.payload_size) + " (truncated or appended)";
  }
  if (why.empty() && expected_id && *expected_id != header.id) {
    why = "header names entry " + std::to_string(header.id);
  }
  if (why.empty() && check_payload) {
    Digest256 actual{};
    if (Status hashed = hash_payload(fd.get(), header.payload_size, actual); !hashed) {
      why = hashed.message();
    } else if (actual != header.sha256) {
      why = "payload SHA-256 mismatch";
    }
  }
  if (!why.empty()) return {Verdict::kCorrupt, std::move(why), result.file_size, true};
  return result;
}

// renameat2(RENAME_NOREPLACE) with the check-then-rename fallback for filesystems without it; the
// directory lock keeps other spools out, so the window cannot be raced by another writer.
int rename_no_replace(int from_fd, const char* from, int to_fd, const char* to) {
  if (::renameat2(from_fd, from, to_fd, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  struct stat info {};
  if (::fstatat(to_fd, to, &info, AT_SYMLINK_NOFOLLOW) == 0) {
    errno = EEXIST;
    return -1;
  }
  return ::renameat(from_fd, from, to_fd, to);
}

}  // namespace

void SpoolOptions::validate() const {
  if (directory.empty()) throw std::invalid_argument("SpoolOptions.directory: must not be empty");
  if (directory.find('\0') != std::string::npos) {
    throw std::invalid_argument("SpoolOptions.directory " + quote_for_message(directory) +
                                ": must not contain a NUL byte");
  }
}

struct Spool::State {
  UniqueFd root_fd, tmp_fd, ready_fd, quarantine_fd, lock_fd;  // immutable after open()
  std::string path;                                             // absolute, for messages only
  bool fsync = true;
  std::shared_ptr<Clock> clock;

  mutable std::mutex mutex;  // guards everything below; never held across payload I/O
  std::condition_variable ready_changed;
  std::map<std::uint64_t, IndexEntry> index;  // ordered: lowest id = oldest commit
  std::uint64_t ready_bytes = 0;
  std::uint64_t quarantined = 0;
  std::uint64_t next_id = 1;
  std::uint64_t reserved_until = 0;  // ids below this are covered by the `sequence` file
  std::uint64_t next_temp = 1;
  bool wake_requested = false;

  std::string in(std::string_view directory, std::string_view name) const {
    return path + "/" + std::string(directory) + "/" + display_name(name);
  }

  Status sync(int directory_fd, std::string_view what) const {
    if (fsync && ::fsync(directory_fd) != 0) {
      return Status::error(ErrorKind::kTransient, "fsync of " + path + "/" + std::string(what) +
                                                      " failed: " + error_text(errno));
    }
    return Status::ok();
  }

  // Persists `next` as the floor for ids after a restart: write, fsync, rename, fsync.
  Status write_sequence(std::uint64_t next) const {
    std::string bytes(kSequenceMagic, sizeof kSequenceMagic);
    put_u64(bytes, next);
    put_u32(bytes, crc_of(bytes_of(bytes), bytes.size()));
    UniqueFd fd(::openat(root_fd.get(), "sequence.new", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                         kFileMode));
    int error = fd.get() < 0 ? errno : write_exactly_at(fd.get(), 0, bytes);
    if (error == 0 && fsync && ::fsync(fd.get()) != 0) error = errno;
    if (error == 0 && ::renameat(root_fd.get(), "sequence.new", root_fd.get(), "sequence") != 0) error = errno;
    if (error != 0) {
      return Status::error(kind_for_errno(error), "cannot persist the entry id sequence in " + path + ": " +
                                                      error_text(error));
    }
    return sync(root_fd.get(), ".");
  }

  std::optional<std::uint64_t> read_sequence(std::vector<std::string>& problems) const {
    UniqueFd fd(::openat(root_fd.get(), "sequence", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0 && errno == ENOENT) return std::nullopt;
    unsigned char bytes[21];
    const ssize_t got = fd.get() < 0 ? -1 : read_fully_at(fd.get(), bytes, sizeof bytes, 0);
    if (got != 20 || std::memcmp(bytes, kSequenceMagic, sizeof kSequenceMagic) != 0 ||
        crc_of(bytes, 16) != get_u32(bytes + 16)) {
      problems.push_back(path + "/sequence: unreadable or corrupt; ids continue after the highest id found");
      return std::nullopt;
    }
    return get_u64(bytes + 8);
  }

  Status allocate_id(std::uint64_t& id) {
    std::lock_guard lock(mutex);
    if (next_id >= reserved_until) {
      // Held under the lock so two writers cannot hand out ids the file does not cover yet.
      if (Status written = write_sequence(next_id + kIdReservation); !written) return written;
      reserved_until = next_id + kIdReservation;
    }
    id = next_id++;
    return Status::ok();
  }

  // Moves `name` from `from_fd` into quarantine/ under `target` (made unique), writes the reason
  // beside it and counts it. Never deletes anything.
  Status move_to_quarantine(int from_fd, std::string_view from_directory, const std::string& name,
                            std::string target_base, std::string_view reason, std::string* moved_to = nullptr) {
    if (target_base.size() > kMaxQuarantineName) target_base.resize(kMaxQuarantineName);
    std::string target = target_base;
    for (int attempt = 1; rename_no_replace(from_fd, name.c_str(), quarantine_fd.get(), target.c_str()) != 0;
         ++attempt) {
      const int error = errno;
      if (error != EEXIST || attempt > 1000) {
        return Status::error(kind_for_errno(error), "cannot move " + in(from_directory, name) +
                                                        " to quarantine/: " + error_text(error));
      }
      target = target_base + "." + std::to_string(attempt);
    }
    const std::string note = std::string(reason) + "\n";
    UniqueFd reason_fd(::openat(quarantine_fd.get(), (target + ".reason").c_str(),
                                O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, kFileMode));
    if (reason_fd.get() >= 0) (void)write_exactly_at(reason_fd.get(), 0, note);  // best effort: for humans
    Status synced = sync(quarantine_fd.get(), "quarantine");
    if (synced) synced = sync(from_fd, from_directory);
    {
      std::lock_guard lock(mutex);
      ++quarantined;
    }
    if (moved_to != nullptr) *moved_to = in("quarantine", target);
    return synced;
  }

  void add_ready(std::uint64_t id, EntryHeader&& header) {
    IndexEntry entry{std::move(header.key), std::move(header.metadata), header.payload_size, header.sha256,
                     header.md5, header.has_md5, header.created};
    {
      std::lock_guard lock(mutex);
      ready_bytes += entry.payload_size;
      index.insert_or_assign(id, std::move(entry));
    }
    ready_changed.notify_all();
  }

  // kInvalidArgument unless `id` is listed; copies what the caller needs while the lock is held.
  Status lookup(std::uint64_t id, std::uint64_t* payload_size = nullptr, Digest256* sha256 = nullptr) const {
    std::lock_guard lock(mutex);
    const auto found = index.find(id);
    if (found == index.end()) {
      return Status::error(ErrorKind::kInvalidArgument, "no ready spool entry " + std::to_string(id));
    }
    if (payload_size != nullptr) *payload_size = found->second.payload_size;
    if (sha256 != nullptr) *sha256 = found->second.sha256;
    return Status::ok();
  }

  // Drops `id` from the index if it is still there (remove and quarantine may race on one id).
  void forget(std::uint64_t id) {
    std::lock_guard lock(mutex);
    const auto found = index.find(id);
    if (found == index.end()) return;
    ready_bytes -= found->second.payload_size;
    index.erase(found);
  }

  void scan_ready(std::vector<std::string>& problems, std::uint64_t& highest_id) {
    for (const std::string& name : list_directory(ready_fd.get())) {
      const std::optional<std::uint64_t> id = parse_entry_name(name);
      EntryHeader header;
      Checked checked = id ? check_entry_file(ready_fd.get(), name, id, false, header)
                           : Checked{Verdict::kCorrupt, "unexpected file name in ready/", 0, false};
      if (id) highest_id = std::max(highest_id, *id);
      if (checked.verdict == Verdict::kValid) {
        add_ready(*id, std::move(header));
      } else if (checked.verdict == Verdict::kUnreadable) {
        problems.push_back(in("ready", name) + ": " + checked.why + "; left in place, not delivered until a restart");
      } else {
        std::string moved_to;
        const Status moved = move_to_quarantine(ready_fd.get(), "ready", name, name, checked.why, &moved_to);
        problems.push_back(in("ready", name) + ": " + checked.why + "; " +
                           (moved_to.empty() ? moved.message() : "moved to " + moved_to));
      }
    }
  }

  void recover_temp(std::vector<std::string>& problems, std::uint64_t& highest_id) {
    for (const std::string& name : list_directory(tmp_fd.get())) {
      EntryHeader header;
      const Checked checked = check_entry_file(tmp_fd.get(), name, std::nullopt, true, header);
      const std::string where = in("tmp", name);
      if (checked.verdict == Verdict::kUnreadable) {
        problems.push_back(where + ": " + checked.why + "; left in place");
        continue;
      }
      if (checked.verdict == Verdict::kValid) {
        const std::string target = entry_name(header.id);
        if (rename_no_replace(tmp_fd.get(), name.c_str(), ready_fd.get(), target.c_str()) == 0) {
          (void)sync(ready_fd.get(), "ready");
          highest_id = std::max(highest_id, header.id);
          problems.push_back(where + ": complete entry " + std::to_string(header.id) +
                             " left by a crash inside commit; promoted to ready/");
          add_ready(header.id, std::move(header));
          continue;
        }
        if (errno != EEXIST) {
          problems.push_back(where + ": cannot be promoted to ready/: " + error_text(errno) + "; left in place");
          continue;
        }
      }
      if (checked.verdict == Verdict::kCorrupt && checked.regular_file && checked.file_size <= kSpoolHeaderRegion) {
        // Not one payload byte was written: nothing to keep.
        (void)::unlinkat(tmp_fd.get(), name.c_str(), 0);
        problems.push_back(where + ": uncommitted entry without payload removed");
        continue;
      }
      const std::string why = checked.verdict == Verdict::kValid
                                  ? "duplicate of ready entry " + std::to_string(header.id)
                                  : "uncommitted entry (the process stopped while writing it): " + checked.why;
      std::string moved_to;
      const Status moved = move_to_quarantine(tmp_fd.get(), "tmp", name, "uncommitted-" + name, why, &moved_to);
      problems.push_back(where + ": " + why + "; " + (moved_to.empty() ? moved.message() : "moved to " + moved_to));
    }
  }
};

struct Spool::Writer::Impl {
  enum class Phase { kWriting, kFailed, kRenamed, kCommitted, kAborted };

  std::shared_ptr<State> state;
  UniqueFd fd;
  std::string temp_name;
  DigestContext sha256{nullptr, &EVP_MD_CTX_free};
  DigestContext md5{nullptr, &EVP_MD_CTX_free};  // null when MD5 is unavailable (FIPS)
  std::uint64_t size = 0;
  std::optional<std::uint64_t> id;  // allocated by the first commit attempt that gets that far
  std::string committed_key;
  bool tail_dirty = false;
  Phase phase = Phase::kWriting;

  std::string temp_path() const { return state->in("tmp", temp_name); }

  Status not_writable(std::string_view operation) const {
    static constexpr const char* kPhaseNames[] = {"writing", "failed", "renamed", "committed", "aborted"};
    return Status::error(ErrorKind::kInvalidArgument, std::string(operation) + " on a spool writer that is " +
                                                          kPhaseNames[static_cast<int>(phase)]);
  }

  Status finish_commit() {
    if (Status synced = state->sync(state->ready_fd.get(), "ready"); !synced) {
      return Status::error(ErrorKind::kTransient, "entry " + std::to_string(*id) + " is listed but " +
                                                      synced.message() + "; retry commit");
    }
    phase = Phase::kCommitted;
    return Status::ok();
  }
};

Spool::Writer::Writer(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Spool::Writer::~Writer() { abort(); }

Status Spool::Writer::write(std::string_view bytes) noexcept {
  Impl& self = *impl_;
  if (self.phase != Impl::Phase::kWriting) return self.not_writable("write");
  const int error = write_all_at(self.fd.get(), kSpoolHeaderRegion + self.size, bytes);
  if (error != 0) {
    self.tail_dirty = true;  // write_all_at cut the file back; if even that failed, commit does
    return Status::error(kind_for_errno(error), "write to " + self.temp_path() + " failed: " + error_text(error));
  }
  // Hashed only once the bytes are in the file, so a retried write is hashed once.
  if (EVP_DigestUpdate(self.sha256.get(), bytes.data(), bytes.size()) != 1 ||
      (self.md5 && EVP_DigestUpdate(self.md5.get(), bytes.data(), bytes.size()) != 1)) {
    self.phase = Impl::Phase::kFailed;
    return Status::error(ErrorKind::kPermanent, "hashing the payload of " + self.temp_path() + " failed");
  }
  self.size += bytes.size();
  return Status::ok();
}

Status Spool::Writer::commit(std::string_view key, std::vector<std::pair<std::string, std::string>> metadata) noexcept {
  Impl& self = *impl_;
  if (self.phase == Impl::Phase::kRenamed) {
    if (key != self.committed_key) return self.not_writable("commit under another key");
    return self.finish_commit();
  }
  if (self.phase != Impl::Phase::kWriting) return self.not_writable("commit");
  if (key.empty() || key.size() > kSpoolMaxKeyBytes) {
    return Status::error(ErrorKind::kInvalidArgument, "spool entry key of " + std::to_string(key.size()) +
                                                          " bytes: must be 1 to 1024 bytes");
  }
  if (metadata_bytes(metadata) > kSpoolMaxMetadataBytes) {
    return Status::error(ErrorKind::kInvalidArgument, "spool entry metadata of " +
                                                          std::to_string(metadata_bytes(metadata)) +
                                                          " bytes (8 per pair + names + values): must be at most 8192");
  }
  if (self.tail_dirty) {
    if (::ftruncate(self.fd.get(), static_cast<off_t>(kSpoolHeaderRegion + self.size)) != 0) {
      return Status::error(ErrorKind::kTransient, "truncating " + self.temp_path() + " failed: " + error_text(errno));
    }
    self.tail_dirty = false;
  }
  EntryHeader header;
  header.payload_size = self.size;
  header.has_md5 = self.md5 && finish_copy(self.md5.get(), header.md5.data());
  if (!finish_copy(self.sha256.get(), header.sha256.data())) {
    return Status::error(ErrorKind::kTransient, "finishing the SHA-256 of " + self.temp_path() + " failed");
  }
  if (!self.id) {
    std::uint64_t id = 0;
    if (Status allocated = self.state->allocate_id(id); !allocated) return allocated;
    self.id = id;
  }
  header.id = *self.id;
  const std::int64_t now_ns = self.state->clock->wall_now_ns();
  header.created = now_ns / 1'000'000'000 - (now_ns % 1'000'000'000 < 0 ? 1 : 0);
  header.key.assign(key);
  header.metadata = std::move(metadata);
  if (const int error = write_exactly_at(self.fd.get(), 0, encode_header(header)); error != 0) {
    return Status::error(kind_for_errno(error), "writing the header of " + self.temp_path() +
                                                    " failed: " + error_text(error));
  }
  if (self.state->fsync && ::fsync(self.fd.get()) != 0) {
    // Linux may drop the dirty pages after a failed fsync and report success next time, so a retry
    // could seal a file with holes (the SHA-256 check at restart would catch it, too late).
    self.phase = Impl::Phase::kFailed;
    return Status::error(ErrorKind::kPermanent, "fsync of " + self.temp_path() + " failed: " + error_text(errno) +
                                                    "; the entry cannot be trusted and must be rewritten");
  }
  const std::string target = entry_name(*self.id);
  if (::renameat(self.state->tmp_fd.get(), self.temp_name.c_str(), self.state->ready_fd.get(), target.c_str()) != 0) {
    const int error = errno;
    return Status::error(kind_for_errno(error), "renaming " + self.temp_path() + " into ready/ failed: " +
                                                    error_text(error));
  }
  self.fd.reset();
  self.phase = Impl::Phase::kRenamed;
  self.committed_key.assign(key);
  self.state->add_ready(*self.id, std::move(header));
  return self.finish_commit();
}

void Spool::Writer::abort() noexcept {
  Impl& self = *impl_;
  if (self.phase == Impl::Phase::kWriting || self.phase == Impl::Phase::kFailed) {
    self.fd.reset();
    ::unlinkat(self.state->tmp_fd.get(), self.temp_name.c_str(), 0);  // ENOENT is fine: idempotent
    self.phase = Impl::Phase::kAborted;
  }
}

std::uint64_t Spool::Writer::id() const noexcept { return impl_->id.value_or(0); }

Spool::Spool(std::shared_ptr<State> state) noexcept : state_(std::move(state)) {}
Spool::~Spool() = default;

std::unique_ptr<Spool> Spool::open(const SpoolOptions& options, std::vector<std::string>* problems) {
  options.validate();
  auto state = std::make_shared<State>();
  state->fsync = options.fsync;
  state->clock = options.clock ? options.clock : system_clock();
  const auto fail = [&](const std::string& what, int error) {
    throw std::runtime_error("spool: " + what + " " + quote_for_message(options.directory) + ": " +
                             error_text(error));
  };

  std::error_code failed;
  const bool created = std::filesystem::create_directories(options.directory, failed);
  if (failed) fail("cannot create directory", failed.value());
  state->root_fd.reset(::open(options.directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (state->root_fd.get() < 0) fail("cannot open directory", errno);
  if (char* resolved = ::realpath(options.directory.c_str(), nullptr)) {
    state->path = resolved;
    ::free(resolved);
  } else {
    state->path = std::filesystem::absolute(options.directory).lexically_normal().string();
  }
  if (created && options.fsync) {
    // The new directory's own entry must survive a crash for the entries inside to be found.
    UniqueFd parent(::open(std::filesystem::path(state->path).parent_path().c_str(), kDirectoryFlags));
    if (parent.get() >= 0) (void)::fsync(parent.get());
  }

  state->lock_fd.reset(::openat(state->root_fd.get(), "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, kFileMode));
  if (state->lock_fd.get() < 0) fail("cannot open the lock file in", errno);
  if (::flock(state->lock_fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) fail("another Spool (in this or another process) holds the lock of", EWOULDBLOCK);
    fail("cannot lock", errno);
  }

  bool made_directory = false;
  const auto open_subdirectory = [&](const char* name, UniqueFd& fd) {
    if (::mkdirat(state->root_fd.get(), name, kDirectoryMode) == 0) {
      made_directory = true;
    } else if (errno != EEXIST) {
      fail(std::string("cannot create ") + name + "/ in", errno);
    }
    fd.reset(::openat(state->root_fd.get(), name, kDirectoryFlags));
    if (fd.get() < 0) fail(std::string("cannot open ") + name + "/ (it must be a real directory) in", errno);
  };
  open_subdirectory("tmp", state->tmp_fd);
  open_subdirectory("ready", state->ready_fd);
  open_subdirectory("quarantine", state->quarantine_fd);
  if (made_directory && options.fsync && ::fsync(state->root_fd.get()) != 0) fail("cannot fsync", errno);

  std::vector<std::string> found;
  const std::optional<std::uint64_t> floor = state->read_sequence(found);
  std::uint64_t highest_id = 0;
  state->scan_ready(found, highest_id);
  state->recover_temp(found, highest_id);
  state->next_id = std::max<std::uint64_t>({floor.value_or(1), highest_id + 1, 1});
  state->reserved_until = floor.value_or(0);
  if (problems != nullptr) problems->insert(problems->end(), found.begin(), found.end());
  return std::unique_ptr<Spool>(new Spool(std::move(state)));
}

std::unique_ptr<Spool::Writer> Spool::begin(Status& status) noexcept {
  auto impl = std::make_unique<Writer::Impl>();
  impl->state = state_;
  impl->sha256 = new_digest(EVP_sha256());
  impl->md5 = new_digest(EVP_md5());
  if (!impl->sha256) {
    status = Status::error(ErrorKind::kPermanent, "SHA-256 is unavailable in this OpenSSL");
    return nullptr;
  }
  int error = EEXIST;
  for (int attempt = 0; attempt < 16 && error == EEXIST; ++attempt) {
    {
      std::lock_guard lock(state_->mutex);
      impl->temp_name = std::to_string(state_->next_temp++) + ".tmp";
    }
    impl->fd.reset(::openat(state_->tmp_fd.get(), impl->temp_name.c_str(),
                            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, kFileMode));
    error = impl->fd.get() < 0 ? errno : 0;
  }
  if (error == 0) {
    // Reserve the header region now, so a full disk fails here and not inside commit.
    error = write_all_at(impl->fd.get(), 0, std::string_view(kZeroRegion, sizeof kZeroRegion));
    if (error != 0) {
      impl->fd.reset();
      ::unlinkat(state_->tmp_fd.get(), impl->temp_name.c_str(), 0);
    }
  }
  if (error != 0) {
    status = Status::error(kind_for_errno(error), "cannot create a spool entry in " + state_->path + "/tmp: " +
                                                      error_text(error));
    return nullptr;
  }
  status = Status::ok();
  return std::unique_ptr<Writer>(new Writer(std::move(impl)));
}

std::vector<SpoolEntryInfo> Spool::ready_entries(std::size_t max) const {
  std::vector<SpoolEntryInfo> out;
  std::lock_guard lock(state_->mutex);
  for (auto it = state_->index.begin(); it != state_->index.end() && out.size() < max; ++it) {
    const IndexEntry& entry = it->second;
    out.push_back(SpoolEntryInfo{it->first, entry.key, entry.metadata, entry.payload_size, hex_of(entry.sha256),
                                 entry.has_md5 ? base64_of(entry.md5) : std::string(), entry.created});
  }
  return out;
}

Status Spool::open_payload(std::uint64_t id, int& fd, std::uint64_t& offset, std::uint64_t& length) const {
  fd = -1;
  if (Status known = state_->lookup(id, &length); !known) return known;
  const std::string name = entry_name(id);
  UniqueFd file(::openat(state_->ready_fd.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (file.get() < 0) {
    const int error = errno;
    return Status::error(kind_for_errno(error), "cannot open " + state_->in("ready", name) + ": " + error_text(error));
  }
  struct stat info {};
  if (::fstat(file.get(), &info) != 0) {
    return Status::error(ErrorKind::kTransient, "cannot examine " + state_->in("ready", name) + ": " + error_text(errno));
  }
  if (!S_ISREG(info.st_mode) || static_cast<std::uint64_t>(info.st_size) != kSpoolHeaderRegion + length) {
    return Status::error(ErrorKind::kPermanent, state_->in("ready", name) +
                                                    " changed size since it was committed; quarantine it");
  }
  offset = kSpoolHeaderRegion;
  fd = file.release();
  return Status::ok();
}

Status Spool::verify_payload(std::uint64_t id) const {
  Digest256 expected{};
  if (Status known = state_->lookup(id, nullptr, &expected); !known) return known;
  int raw_fd = -1;
  std::uint64_t offset = 0, length = 0;
  if (Status opened = open_payload(id, raw_fd, offset, length); !opened) return opened;
  const UniqueFd fd(raw_fd);
  Digest256 actual{};
  const std::string where = state_->in("ready", entry_name(id));
  if (Status hashed = hash_payload(fd.get(), length, actual); !hashed) {
    return Status::error(hashed.kind(), where + ": " + hashed.message());
  }
  if (actual != expected) return Status::error(ErrorKind::kPermanent, where + ": payload SHA-256 mismatch");
  return Status::ok();
}

Status Spool::remove(std::uint64_t id) noexcept {
  if (Status known = state_->lookup(id); !known) return known;
  const std::string name = entry_name(id);
  if (::unlinkat(state_->ready_fd.get(), name.c_str(), 0) != 0 && errno != ENOENT) {
    const int error = errno;
    return Status::error(kind_for_errno(error), "cannot delete " + state_->in("ready", name) + ": " + error_text(error));
  }
  state_->forget(id);
  if (Status synced = state_->sync(state_->ready_fd.get(), "ready"); !synced) {
    return Status::error(ErrorKind::kTransient, "entry " + std::to_string(id) + " deleted, but " + synced.message() +
                                                    "; a crash now may deliver it again");
  }
  return Status::ok();
}

Status Spool::quarantine(std::uint64_t id, std::string_view reason) noexcept {
  if (Status known = state_->lookup(id); !known) return known;
  const std::string name = entry_name(id);
  Status moved = state_->move_to_quarantine(state_->ready_fd.get(), "ready", name, name, reason);
  // Only a failed rename leaves the entry in ready/; a failed fsync after it does not.
  struct stat info {};
  if (moved || ::fstatat(state_->ready_fd.get(), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) state_->forget(id);
  return moved;
}

std::size_t Spool::ready_count() const {
  std::lock_guard lock(state_->mutex);
  return state_->index.size();
}

std::uint64_t Spool::ready_bytes() const {
  std::lock_guard lock(state_->mutex);
  return state_->ready_bytes;
}

std::uint64_t Spool::quarantined_total() const {
  std::lock_guard lock(state_->mutex);
  return state_->quarantined;
}

std::optional<std::int64_t> Spool::oldest_ready_time() const {
  std::lock_guard lock(state_->mutex);
  if (state_->index.empty()) return std::nullopt;
  return state_->index.begin()->second.created;
}

bool Spool::wait_for_ready(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  state_->ready_changed.wait_for(lock, timeout, [&] { return !state_->index.empty() || state_->wake_requested; });
  state_->wake_requested = false;
  return !state_->index.empty();
}

void Spool::wake() {
  {
    std::lock_guard lock(state_->mutex);
    state_->wake_requested = true;
  }
  state_->ready_changed.notify_all();
}

}  // namespace trailkit::detail
