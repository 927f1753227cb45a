// s3_upload_bench — upload throughput of S3Client into an S3 endpoint (moto on loopback), the
// trailkit side of bench/s3_upload_bench.sh, which times `curl --aws-sigv4` on the same object in
// the same run (the naive baseline, issue #3: >= 85 % of curl, >= 150 MB/s).
//
//   s3_upload_bench ENDPOINT BUCKET FILE [REPEATS=5] [PART_MIB=8]
//
// Measures, best of REPEATS each, over one keep-alive S3Client (as an uploader thread holds one):
//   put_object          PutObject with Content-MD5 and the signed SHA-256, digests precomputed (the
//                       spool computes them while the file is written, so an upload never hashes)
//   put_object+hash     the same plus hashing the file first (what it would cost without the spool)
//   multipart           put_object_multipart with PART_MIB parts (each part hashed before it is sent)
// and prints one line per mode: "<mode> <bytes> <best seconds> <MB/s>" (MB = 10^6 bytes).
//
// Not a Google Benchmark: the endpoint and object come from the script. It needs the adapters'
// include path and trailkit_s3; without them (the generic bench glob) it builds as a stub that says so.

#if __has_include("s3/s3_client.hpp")

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "s3/s3_client.hpp"

namespace {

using trailkit::s3::ObjectBody;
using trailkit::s3::S3Client;

// Best wall time of `repeats` runs of `upload`; exits on the first failure.
double best_seconds(int repeats, const std::function<trailkit::Status()>& upload, const char* mode) {
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const trailkit::Status status = upload();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!status) {
      std::fprintf(stderr, "s3_upload_bench: %s failed: %s\n", mode, status.message().c_str());
      std::exit(1);
    }
    best = std::min(best, seconds);
  }
  return best;
}

void report(const char* mode, std::uint64_t bytes, double seconds) {
  std::printf("%s %llu %.4f %.1f\n", mode, static_cast<unsigned long long>(bytes), seconds,
              static_cast<double>(bytes) / seconds / 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s ENDPOINT BUCKET FILE [REPEATS=5] [PART_MIB=8]\n", argv[0]);
    return 2;
  }
  const std::string endpoint = argv[1], bucket = argv[2], path = argv[3];
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 5;
  const std::uint64_t part_size = (argc > 5 ? std::strtoull(argv[5], nullptr, 10) : 8) << 20;

  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    std::perror(path.c_str());
    return 1;
  }
  const auto length = static_cast<std::uint64_t>(st.st_size);

  trailkit::s3::S3ClientOptions options;
  options.settings.credentials = {"test", "test", ""};
  options.settings.region = "us-east-1";
  options.settings.endpoint_url = endpoint;
  options.settings.path_style = true;
  S3Client client(options);

  ObjectBody body{fd, 0, length, {}, {}};
  if (!trailkit::s3::digest_file_range(fd, 0, length, body.sha256_hex, body.md5_base64)) {
    std::perror("reading the object");
    return 1;
  }
  const trailkit::s3::Metadata metadata;
  // Warm-up: connects, and lets the server allocate for the key once.
  best_seconds(1, [&] { return client.put_object(bucket, "bench/put", body, metadata); }, "warm-up");

  report("put_object", length,
         best_seconds(repeats, [&] { return client.put_object(bucket, "bench/put", body, metadata); }, "put_object"));
  report("put_object+hash", length, best_seconds(repeats, [&] {
           ObjectBody hashed{fd, 0, length, {}, {}};
           if (!trailkit::s3::digest_file_range(fd, 0, length, hashed.sha256_hex, hashed.md5_base64)) {
             return trailkit::Status::error(trailkit::ErrorKind::kTransient, "reading the object failed");
           }
           return client.put_object(bucket, "bench/put", hashed, metadata);
         }, "put_object+hash"));
  report("multipart", length, best_seconds(repeats, [&] {
           return client.put_object_multipart(bucket, "bench/multipart", body, metadata, part_size);
         }, "multipart"));
  ::close(fd);
  return 0;
}

#else  // built by the generic bench glob without trailkit_s3

#include <cstdio>

int main() {
  std::fprintf(stderr, "s3_upload_bench was built without trailkit_s3 (adapters/ include path); see bench/s3_upload_bench.sh\n");
  return 2;
}

#endif
