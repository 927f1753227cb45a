#pragma once
// LocalObjectStore — a local directory laid out like a bucket, for `trailkit validate --dir DIR`:
// the object with key K is the file DIR/K and its S3 user metadata is the sidecar
// DIR/.trailkit-metadata/K.json, a JSON object of metadata name -> string (what the local
// destination writes, e.g. {"signature":"<hex>","signature-algorithm":"SHA256withRSA"}).
//
// The directory stands for exactly one bucket, `bucket` (the --s3-bucket value, else DIR's base
// name): reads of another bucket are "not found", as is a key that would leave DIR (an absolute key,
// or a ".." / "." / empty path segment: S3 keys like that cannot come from our writer, and a
// tampered digest must not make the validator read files outside DIR). The sidecar directory is
// never listed. A sidecar that is missing or is not a JSON object of strings means "no metadata"
// (the digest then fails with "signature verification failed", as an S3 object without metadata).
//
// Thread contract: not thread-safe; one validator thread.

#include <string>

#include "validate/validator.hpp"

namespace trailkit::detail {

class LocalObjectStore final : public ObjectStore {
 public:
  /// `root` must be an existing directory (checked by the caller); `bucket` names it.
  LocalObjectStore(std::string root, std::string bucket);

  Status list(const std::string& bucket, const std::string& prefix, const std::string& marker,
              const std::function<bool(const std::string& key)>& visit) override;
  Status list_folders(const std::string& bucket, const std::string& prefix, std::vector<std::string>& folders) override;
  FetchOutcome get(const std::string& bucket, const std::string& key, StoredObject& out, std::string& error) override;

  /// The name of the sidecar directory under the root.
  static constexpr const char* kMetadataDirectory = ".trailkit-metadata";

 private:
  std::string root_;
  std::string bucket_;
};

}  // namespace trailkit::detail
