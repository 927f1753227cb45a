#pragma once
// The local-directory Destination (public factory: include/trailkit/local_directory_destination.hpp).
// Declared here, not in the .cpp, so tests and the recorder can read stale_temp_files().

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/fast_random.hpp"
#include "trailkit/local_directory_destination.hpp"

namespace trailkit::detail {

/// Name of the temp directory under the root. A dot-name: Athena/Hadoop input formats skip it, and
/// object keys may not start with it.
inline constexpr std::string_view kLocalTempDirectory = ".trailkit-tmp";

/// Where object metadata lives: `<root>/.trailkit-metadata/<key>.json`, a JSON object of metadata
/// name -> value (e.g. a digest's {"signature":"…","signature-algorithm":"SHA256withRSA"}), the
/// local stand-in for S3's x-amz-meta-* headers. Object keys may not start with it either.
inline constexpr std::string_view kLocalMetadataDirectory = ".trailkit-metadata";

/// The open root shared by the destination and its writers, so a writer stays valid even if the
/// destination is destroyed first. Thread contract: immutable after construction.
struct LocalDirectoryRoot {
  LocalDirectoryRoot() = default;
  LocalDirectoryRoot(const LocalDirectoryRoot&) = delete;
  LocalDirectoryRoot& operator=(const LocalDirectoryRoot&) = delete;
  ~LocalDirectoryRoot();

  int root_fd = -1;           ///< O_DIRECTORY fd of the root; every path is resolved relative to it
  int temp_fd = -1;           ///< O_DIRECTORY fd of <root>/.trailkit-tmp
  std::string absolute_path;  ///< for messages and describe(); never used to open anything
  bool fsync = true;
};

/// Thread contract: worker thread only (begin_object, describe); stale_temp_files() is a constant
/// read after construction and may be called from any thread.
class LocalDirectoryDestination final : public Destination {
 public:
  /// Throws std::invalid_argument (options.validate()) or std::runtime_error (root not creatable or
  /// openable, or .trailkit-tmp is not a real directory) with the path and the system error.
  explicit LocalDirectoryDestination(const LocalDirectoryOptions& options);

  std::unique_ptr<ObjectWriter> begin_object(Status& status) noexcept override;
  /// `file://` + the absolute (symlink-resolved) root.
  std::string describe() const override;
  /// The root's base name: the directory plays the bucket (`aws s3 sync` it to a bucket of that name).
  std::string bucket_name() const override;

  /// `*.tmp` files found in .trailkit-tmp at construction: leftovers of a crash mid-file. They are
  /// kept (they may be the only copy of some records) and counted so the owner can report them.
  std::size_t stale_temp_files() const noexcept { return stale_temp_files_; }

 private:
  std::shared_ptr<const LocalDirectoryRoot> root_;
  FastRandom random_;
  std::size_t stale_temp_files_ = 0;
};

/// Writes all of `bytes` at file offset `offset`, retrying EINTR and short writes. On failure it
/// truncates the file back to `offset`, so retrying the same bytes cannot duplicate any of them, and
/// returns the errno of the failed write (0 on success). Thread contract: any thread, own fd.
int write_all_at(int fd, std::uint64_t offset, std::string_view bytes) noexcept;

}  // namespace trailkit::detail
