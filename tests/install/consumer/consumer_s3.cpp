// Compiles and links against the installed trailkit::s3 and checks two setup-time rules.
#include <s3/s3_destination.hpp>

#include <cstdio>
#include <stdexcept>

int main() {
  const auto [bucket, prefix] = trailkit::s3::parse_s3_url("s3://audit-logs/prod/us");
  if (bucket != "audit-logs" || prefix != "prod/us") return 1;
  trailkit::s3::S3DestinationOptions options;
  options.bucket = "Not_A_Bucket";
  try {
    options.validate();
    return 1;
  } catch (const std::invalid_argument& error) {
    std::printf("trailkit::s3 consumer: %s\n", error.what());
  }
  return 0;
}
