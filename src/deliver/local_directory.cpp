#include "deliver/local_directory.hpp"
#include "deliver/posix_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "batch/object_key.hpp"
#include "serialize/json_buffer.hpp"
#include "serialize/json_escape.hpp"

namespace trailkit {

void LocalDirectoryOptions::validate() const {
  if (root.empty()) throw std::invalid_argument("LocalDirectoryOptions.root: must not be empty");
  if (root.find('\0') != std::string::npos) {
    throw std::invalid_argument("LocalDirectoryOptions.root " + detail::quote_for_message(root) +
                                ": must not contain a NUL byte");
  }
}

std::unique_ptr<Destination> make_local_directory_destination(const LocalDirectoryOptions& options) {
  return std::make_unique<detail::LocalDirectoryDestination>(options);
}

namespace detail {
namespace {

class LocalDirectoryWriter final : public ObjectWriter {
 public:
  LocalDirectoryWriter(std::shared_ptr<const LocalDirectoryRoot> root, UniqueFd fd, std::string temp_name) noexcept
      : root_(std::move(root)), fd_(std::move(fd)), temp_name_(std::move(temp_name)) {}
  ~LocalDirectoryWriter() override { abort(); }

  Status write(std::string_view bytes) noexcept override {
    if (state_ != State::kWriting) return not_writable("write");
    const int error = write_all_at(fd_.get(), size_, bytes);
    if (error != 0) {
      // write_all_at truncated back to size_; if even that failed, commit truncates before fsync.
      tail_dirty_ = true;
      return Status::error(ErrorKind::kTransient, "write to " + temp_path() + " failed: " + error_text(error));
    }
    size_ += bytes.size();
    return Status::ok();
  }

  Status commit(std::string_view key) noexcept override { return commit_with_metadata(key, ObjectMetadata{}); }

  Status commit_with_metadata(std::string_view key, const ObjectMetadata& metadata) noexcept override {
    if (state_ == State::kRenamed) {
      // Only the directory fsync is left; the object is already visible under committed_key_.
      if (key != committed_key_) return not_writable("commit");
      return sync_parent_after_rename();
    }
    if (state_ != State::kWriting) return not_writable("commit");
    if (Status refused = check_key(key); !refused) return refused;
    if (!metadata.empty()) {
      // The sidecar goes first, so the object never appears without its metadata (a crash between
      // the two leaves only a sidecar, which the retried commit replaces).
      if (Status written = write_sidecar(key, metadata); !written) return written;
    }
    if (tail_dirty_) {
      if (::ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0) {
        return Status::error(ErrorKind::kTransient, "truncating " + temp_path() + " failed: " + error_text(errno));
      }
      tail_dirty_ = false;
    }
    if (root_->fsync && ::fsync(fd_.get()) != 0) {
      // After a failed fsync Linux may drop the dirty pages and report success on the next one, so a
      // retried commit could publish a file with holes. The object is lost: the caller must abort.
      state_ = State::kFailed;
      return Status::error(ErrorKind::kPermanent, "fsync of " + temp_path() + " failed: " + error_text(errno) +
                                                      "; the object cannot be trusted and must be rewritten");
    }
    const std::size_t last_slash = key.rfind('/');
    const std::string_view name = last_slash == std::string_view::npos ? key : key.substr(last_slash + 1);
    UniqueFd parent;
    if (Status opened = open_parent(key, parent); !opened) return opened;
    const int parent_fd = parent.get() >= 0 ? parent.get() : root_->root_fd;
    if (Status renamed = rename_into_place(parent_fd, key, name); !renamed) return renamed;
    fd_.reset();
    state_ = State::kRenamed;
    committed_key_.assign(key);
    return sync_directory(parent_fd);
  }

  void abort() noexcept override {
    if (state_ == State::kWriting || state_ == State::kFailed) {
      fd_.reset();
      ::unlinkat(root_->temp_fd, temp_name_.c_str(), 0);  // ENOENT is fine: abort is idempotent
    }
    // A renamed object is complete and correct; it is left in place rather than deleted.
    if (state_ != State::kRenamed && state_ != State::kCommitted) state_ = State::kAborted;
  }

 private:
  enum class State { kWriting, kFailed, kRenamed, kCommitted, kAborted };

  std::string temp_path() const {
    return root_->absolute_path + "/" + std::string(kLocalTempDirectory) + "/" + temp_name_;
  }
  std::string object_path(std::string_view key) const { return root_->absolute_path + "/" + std::string(key); }

  Status not_writable(std::string_view operation) const {
    static constexpr const char* kStateNames[] = {"writing", "failed", "renamed", "committed", "aborted"};
    return Status::error(ErrorKind::kInvalidArgument,
                         std::string(operation) + " on a writer that is " + kStateNames[static_cast<int>(state_)] +
                             (state_ == State::kRenamed ? " under \"" + committed_key_ + "\"" : std::string()));
  }

  static Status check_key(std::string_view key) {
    std::string problem = check_relative_path("object key", key);
    const std::string_view top = key.substr(0, key.find('/'));
    if (problem.empty() && (top == kLocalTempDirectory || top == kLocalMetadataDirectory)) {
      problem = "object key " + quote_for_message(key) + ": must not be inside " + std::string(top);
    }
    if (problem.empty()) return Status::ok();
    return Status::error(ErrorKind::kInvalidArgument, std::move(problem));
  }

  // Creates and opens the key's parent directories one component at a time, never following a
  // symlink: mkdirat does not follow one, and openat(O_NOFOLLOW | O_DIRECTORY) refuses one, so a link
  // planted under the root (root/AWSLogs -> /etc) fails the commit instead of redirecting it. `parent`
  // stays empty when the key has no directory part (the root itself is the parent).
  Status open_parent(std::string_view key, UniqueFd& parent) {
    std::size_t start = 0;
    for (std::size_t slash = key.find('/'); slash != std::string_view::npos; slash = key.find('/', start)) {
      const std::string component(key.substr(start, slash - start));
      const int at = parent.get() >= 0 ? parent.get() : root_->root_fd;
      const bool created = ::mkdirat(at, component.c_str(), 0755) == 0;
      if (!created && errno != EEXIST) return directory_failure(key.substr(0, slash), "cannot be created", errno);
      // The new entry must survive a crash for the object below it to be found.
      if (created && root_->fsync && ::fsync(at) != 0) {
        return directory_failure(key.substr(0, start == 0 ? 0 : start - 1), "cannot be fsynced", errno);
      }
      UniqueFd next(::openat(at, component.c_str(), kDirectoryFlags));
      if (next.get() < 0) {
        const int error = errno;
        if (error == ELOOP || error == ENOTDIR) {
          return Status::error(ErrorKind::kPermanent,
                               "commit of " + quote_for_message(key) + " refused: " +
                                   object_path(key.substr(0, slash)) +
                                   " is a symlink or not a directory, and no write may leave the root (" +
                                   error_text(error) + ")");
        }
        return directory_failure(key.substr(0, slash), "cannot be opened", error);
      }
      parent = std::move(next);
      start = slash + 1;
    }
    return Status::ok();
  }

  // <root>/.trailkit-metadata/<key>.json: {"name":"value",...}, written like an object (temp file,
  // fsync, rename, directory fsync) except that it may replace a leftover sidecar of a crashed commit.
  Status write_sidecar(std::string_view key, const ObjectMetadata& metadata) {
    struct stat existing {};
    UniqueFd probe_parent;
    if (Status opened = open_parent(key, probe_parent); !opened) return opened;
    const std::string name(key.substr(key.rfind('/') == std::string_view::npos ? 0 : key.rfind('/') + 1));
    if (::fstatat(probe_parent.get() >= 0 ? probe_parent.get() : root_->root_fd, name.c_str(), &existing,
                  AT_SYMLINK_NOFOLLOW) == 0) {
      return Status::error(ErrorKind::kPermanent, "object " + object_path(key) +
                                                      " already exists; objects are never overwritten");
    }
    JsonBuffer json;
    json.push_back('{');
    for (std::size_t i = 0; i < metadata.size(); ++i) {
      if (i != 0) json.push_back(',');
      append_json_string(json, metadata[i].first);
      json.push_back(':');
      append_json_string(json, metadata[i].second);
    }
    json.literal("}\n");
    const std::string sidecar_key = std::string(kLocalMetadataDirectory) + "/" + std::string(key) + ".json";
    const std::string temp_name = temp_name_ + ".meta";
    UniqueFd fd(::openat(root_->temp_fd, temp_name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                         0644));
    if (fd.get() < 0) return directory_failure(kLocalTempDirectory, "cannot hold a metadata file", errno);
    if (const int error = write_all_at(fd.get(), 0, json.view()); error != 0) {
      ::unlinkat(root_->temp_fd, temp_name.c_str(), 0);
      return Status::error(kind_for_errno(error), "write of " + object_path(sidecar_key) + " failed: " + error_text(error));
    }
    if (root_->fsync && ::fsync(fd.get()) != 0) {
      const int error = errno;
      ::unlinkat(root_->temp_fd, temp_name.c_str(), 0);
      return Status::error(kind_for_errno(error), "fsync of " + object_path(sidecar_key) + " failed: " + error_text(error));
    }
    fd.reset();
    UniqueFd parent;
    if (Status opened = open_parent(sidecar_key, parent); !opened) {
      ::unlinkat(root_->temp_fd, temp_name.c_str(), 0);
      return opened;
    }
    const std::string sidecar_name = name + ".json";
    if (::renameat(root_->temp_fd, temp_name.c_str(), parent.get(), sidecar_name.c_str()) != 0) {
      const int error = errno;
      ::unlinkat(root_->temp_fd, temp_name.c_str(), 0);
      return Status::error(kind_for_errno(error), "renaming metadata to " + object_path(sidecar_key) +
                                                      " failed: " + error_text(error));
    }
    if (root_->fsync && ::fsync(parent.get()) != 0) {
      return directory_failure(sidecar_key, "(its directory) cannot be fsynced", errno);
    }
    return Status::ok();
  }

  Status directory_failure(std::string_view directory, std::string_view what, int error) const {
    return Status::error(kind_for_errno(error), "directory " + object_path(directory) + " " + std::string(what) +
                                                    ": " + error_text(error));
  }

  Status rename_into_place(int parent_fd, std::string_view key, std::string_view name) {
    const std::string target(name);
    int result = ::renameat2(root_->temp_fd, temp_name_.c_str(), parent_fd, target.c_str(), RENAME_NOREPLACE);
    if (result != 0 && (errno == EINVAL || errno == ENOSYS)) {
      // Filesystems without RENAME_NOREPLACE: link() also fails if the name exists, so it is just as
      // atomic and just as unwilling to overwrite; then the temp name is dropped.
      result = ::linkat(root_->temp_fd, temp_name_.c_str(), parent_fd, target.c_str(), 0);
      if (result == 0) ::unlinkat(root_->temp_fd, temp_name_.c_str(), 0);
    }
    if (result == 0) return Status::ok();
    const int error = errno;
    if (error == EEXIST) {
      return Status::error(ErrorKind::kPermanent, "object " + object_path(key) +
                                                      " already exists; objects are never overwritten");
    }
    return Status::error(kind_for_errno(error),
                         "renaming " + temp_path() + " to " + object_path(key) + " failed: " + error_text(error));
  }

  Status sync_directory(int parent_fd) {
    if (root_->fsync && ::fsync(parent_fd) != 0) {
      return Status::error(ErrorKind::kTransient, "object " + object_path(committed_key_) +
                                                      " is visible but its directory could not be fsynced: " +
                                                      error_text(errno) + "; retry commit");
    }
    state_ = State::kCommitted;
    return Status::ok();
  }

  Status sync_parent_after_rename() {
    UniqueFd parent;
    if (Status opened = open_parent(committed_key_, parent); !opened) return opened;
    return sync_directory(parent.get() >= 0 ? parent.get() : root_->root_fd);
  }

  std::shared_ptr<const LocalDirectoryRoot> root_;
  UniqueFd fd_;
  std::string temp_name_;
  std::string committed_key_;
  std::uint64_t size_ = 0;
  bool tail_dirty_ = false;
  State state_ = State::kWriting;
};

std::size_t count_stale_temp_files(int root_fd) {
  const int fd = ::openat(root_fd, std::string(kLocalTempDirectory).c_str(), kDirectoryFlags);
  if (fd < 0) return 0;
  DIR* directory = ::fdopendir(fd);
  if (directory == nullptr) {
    ::close(fd);
    return 0;
  }
  std::size_t count = 0;
  while (const dirent* entry = ::readdir(directory)) {
    const std::string_view name(entry->d_name);
    if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp") ++count;
  }
  ::closedir(directory);
  return count;
}

}  // namespace

LocalDirectoryRoot::~LocalDirectoryRoot() {
  if (temp_fd >= 0) ::close(temp_fd);
  if (root_fd >= 0) ::close(root_fd);
}

LocalDirectoryDestination::LocalDirectoryDestination(const LocalDirectoryOptions& options) {
  options.validate();
  auto root = std::make_shared<LocalDirectoryRoot>();
  root->fsync = options.fsync;
  const auto fail = [&](const std::string& what, int error) {
    throw std::runtime_error("local directory destination: " + what + " " + quote_for_message(options.root) +
                             ": " + error_text(error));
  };

  std::error_code created;
  std::filesystem::create_directories(options.root, created);
  if (created) fail("cannot create root", created.value());
  root->root_fd = ::open(options.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root->root_fd < 0) fail("cannot create or open root", errno);

  const std::string temp_name(kLocalTempDirectory);
  if (::mkdirat(root->root_fd, temp_name.c_str(), 0755) != 0 && errno != EEXIST) {
    fail("cannot create " + temp_name + " under root", errno);
  }
  root->temp_fd = ::openat(root->root_fd, temp_name.c_str(), kDirectoryFlags);
  if (root->temp_fd < 0) fail("cannot open " + temp_name + " (it must be a real directory) under root", errno);

  if (char* resolved = ::realpath(options.root.c_str(), nullptr)) {
    root->absolute_path = resolved;
    ::free(resolved);
  } else {
    root->absolute_path = std::filesystem::absolute(options.root).lexically_normal().string();
  }
  stale_temp_files_ = count_stale_temp_files(root->root_fd);
  root_ = std::move(root);
}

std::unique_ptr<ObjectWriter> LocalDirectoryDestination::begin_object(Status& status) noexcept {
  constexpr int kAttempts = 4;  // a 16-character random name collides only with a stale twin
  int error = 0;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    char unique[16];
    random_unique_string(random_, unique);
    std::string name(unique, sizeof unique);
    name += ".tmp";
    // 0644 before umask: the object is readable like an S3 object, writable only by its owner.
    UniqueFd fd(::openat(root_->temp_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (fd.get() >= 0) {
      status = Status::ok();
      return std::make_unique<LocalDirectoryWriter>(root_, std::move(fd), std::move(name));
    }
    error = errno;
    if (error != EEXIST) break;
  }
  status = Status::error(kind_for_errno(error), "cannot create a temp file in " + root_->absolute_path + "/" +
                                                    std::string(kLocalTempDirectory) + ": " + error_text(error));
  return nullptr;
}

std::string LocalDirectoryDestination::describe() const { return "file://" + root_->absolute_path; }

std::string LocalDirectoryDestination::bucket_name() const {
  const std::size_t slash = root_->absolute_path.rfind('/');
  return slash == std::string::npos ? root_->absolute_path : root_->absolute_path.substr(slash + 1);
}

int write_all_at(int fd, std::uint64_t offset, std::string_view bytes) noexcept {
  std::uint64_t position = offset;
  const char* data = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t written = ::pwrite(fd, data, left, static_cast<off_t>(position));
    if (written > 0) {
      data += written;
      left -= static_cast<std::size_t>(written);
      position += static_cast<std::uint64_t>(written);
      continue;
    }
    if (written < 0 && errno == EINTR) continue;
    const int error = written < 0 ? errno : EIO;  // a zero-byte write would otherwise loop forever
    // Drop whatever part of this call reached the file; pwrite at a fixed offset means a retry would
    // overwrite it anyway, but the file must not look longer than what was acknowledged.
    if (::ftruncate(fd, static_cast<off_t>(offset)) != 0) {
      // Nothing more to do here; the writer remembers the tail is dirty and truncates on commit.
    }
    return error;
  }
  return 0;
}

}  // namespace detail
}  // namespace trailkit
