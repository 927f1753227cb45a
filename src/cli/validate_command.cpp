// `trailkit validate` — our `aws cloudtrail validate-logs` (issue #4): same flags, output and exit
// codes (validate/validator.hpp), plus chain-link, chain-gap and tail-truncation checks.
//
// Where things come from:
//  - objects: S3 (default; the AWS settings chain, so AWS_ENDPOINT_URL_S3 reaches an emulator), or
//    `--dir DIR`, a directory laid out like the bucket (objects at DIR/<key>, metadata sidecars at
//    DIR/.trailkit-metadata/<key>.json). Messages name objects s3://<bucket>/<key> either way, as the
//    digests do; with --dir the bucket is --s3-bucket or DIR's base name.
//  - bucket and prefix: --s3-bucket (+ --s3-prefix); else DescribeTrails at the CloudTrail endpoint
//    when one is configured; else <state-dir>/trail.json when it describes this ARN; with --dir,
//    DIR's base name (prefix: --s3-prefix, else trail.json's).
//  - public keys: ListPublicKeys(start, end + 2 h) at the CloudTrail endpoint (--endpoint-url or
//    AWS_ENDPOINT_URL_CLOUDTRAIL); else <state-dir>/public-keys.json; else (S3 without a state dir)
//    AWS's regional CloudTrail endpoint, like the stock tool.
//  - tail watermark: GetTrailStatus' LatestDigestDeliveryTime at the endpoint, else
//    <state-dir>/trail-status.json; the digest interval from trail.json (state files are used only
//    when trail.json describes this ARN).
// Exit codes: 0 valid or nothing found, 1 anything INVALID or a failure, 2 usage errors.

#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "api/cloudtrail_client.hpp"
#include "api/s3_object_store.hpp"
#include "cli/commands.hpp"
#include "digest/state_files.hpp"
#include "s3/aws_config.hpp"
#include "validate/local_object_store.hpp"
#include "validate/validator.hpp"

namespace trailkit::cli {
namespace {

namespace fs = std::filesystem;

struct ValidateArgs {
  std::string trail_arn;
  std::string start_time;
  std::string end_time;
  std::string s3_bucket;
  std::string s3_prefix;
  std::string account_id;
  std::string endpoint_url;
  std::string dir;
  std::string state_dir = ".trailkit";
  std::string region;
  bool verbose = false;
  bool stock_only = false;
};

// What the aws CLI prints for an error that ends the command (clidriver write_exception).
int fail(const std::string& message, int code) {
  std::cout.flush();
  std::cerr << "\n" << message << "\n";
  return code;
}

// The state dir's trail.json and trail-status.json, when trail.json describes `arn`.
struct StateFiles {
  std::optional<detail::TrailDescription> trail;
  std::optional<detail::TrailStatus> status;
};

StateFiles read_state(const std::string& state_dir, const std::string& arn) {
  StateFiles state;
  try {
    auto trail = detail::read_trail_description(state_dir);
    if (trail && trail->arn() == arn) {
      state.trail = std::move(trail);
      state.status = detail::read_trail_status(state_dir);
    }
  } catch (const std::exception& e) {
    std::cerr << "trailkit validate: ignoring the state dir: " << e.what() << "\n";
  }
  return state;
}

int run_validate(const ValidateArgs& args) {
  if (!detail::is_valid_trail_arn(args.trail_arn)) return fail("Invalid trail ARN provided: " + args.trail_arn, kExitUsage);
  detail::ValidateOptions options;
  options.trail_arn = args.trail_arn;
  const auto start = detail::parse_time_text(args.start_time);
  if (!start) return fail("Unable to parse date value: " + args.start_time, kExitUsage);
  options.start_time = *start;
  if (!args.end_time.empty()) {
    const auto end = detail::parse_time_text(args.end_time);
    if (!end) return fail("Unable to parse date value: " + args.end_time, kExitUsage);
    options.end_time = *end;
  } else {
    options.end_time = static_cast<std::int64_t>(std::time(nullptr));
  }
  if (options.start_time > options.end_time) {
    return fail("Invalid time range specified: start-time must occur before end-time", kExitUsage);
  }
  options.account_id = args.account_id;
  options.source_region = args.region;
  options.verbose = args.verbose;
  options.extra_checks = !args.stock_only;
  options.progress = ::isatty(STDERR_FILENO) == 1;

  try {
    const s3::Environment env = s3::Environment::process();
    s3::S3SettingsOverrides overrides;
    if (!args.region.empty()) overrides.region = args.region;
    // Credentials are optional for a local --dir run against a local endpoint.
    std::optional<s3::S3Settings> settings;
    std::string settings_error;
    try {
      settings = s3::resolve_s3_settings(overrides, env);
    } catch (const std::exception& e) {
      settings_error = e.what();
    }

    const StateFiles state = read_state(args.state_dir, args.trail_arn);
    const std::string endpoint = api::resolve_cloudtrail_endpoint(args.endpoint_url, env);
    const bool explicit_endpoint = !args.endpoint_url.empty() || env.get("AWS_ENDPOINT_URL_CLOUDTRAIL").has_value();
    std::unique_ptr<api::CloudTrailClient> cloudtrail;
    auto cloudtrail_client = [&]() -> api::CloudTrailClient& {
      if (!cloudtrail) {
        api::CloudTrailClientOptions o;
        o.endpoint_url = endpoint;
        o.region = !args.region.empty() ? args.region : (settings ? settings->region : std::string("us-east-1"));
        if (settings) o.credentials = settings->credentials;
        cloudtrail = std::make_unique<api::CloudTrailClient>(o);
      }
      return *cloudtrail;
    };

    // Bucket, prefix, organization.
    bool organization_trail = false;
    if (!args.s3_bucket.empty()) {
      options.bucket = args.s3_bucket;
      options.prefix = args.s3_prefix;
    } else if (!args.dir.empty()) {
      options.bucket = fs::path(args.dir).lexically_normal().filename().string();
      if (options.bucket.empty()) options.bucket = fs::path(args.dir).lexically_normal().parent_path().filename().string();
      options.prefix = !args.s3_prefix.empty() ? args.s3_prefix : (state.trail ? state.trail->key_prefix : "");
      organization_trail = state.trail && !state.trail->organization_id.empty();
    } else if (explicit_endpoint) {
      const auto location = cloudtrail_client().describe_trail(args.trail_arn);
      if (!location) return fail("A trail could not be found for " + args.trail_arn, kExitFailure);
      options.bucket = location->bucket;
      options.prefix = location->key_prefix;
      organization_trail = location->is_organization_trail;
    } else if (state.trail) {
      options.bucket = state.trail->bucket;
      options.prefix = state.trail->key_prefix;
      organization_trail = !state.trail->organization_id.empty();
    } else {
      return fail("No bucket for " + args.trail_arn + ": give --s3-bucket, --endpoint-url (DescribeTrails), --dir, "
                  "or a --state-dir whose trail.json describes this trail",
                  kExitUsage);
    }
    if (organization_trail) {
      if (args.account_id.empty()) {
        return fail("Missing required parameter for organization trail: '--account-id'", kExitUsage);
      }
      if (!state.trail || state.trail->organization_id.empty()) {
        return fail("Organization trail " + args.trail_arn + ": its organization ID is read from the state dir's "
                    "trail.json, which does not describe this trail",
                    kExitUsage);
      }
      options.organization_id = state.trail->organization_id;
    }

    // Tail watermark and interval.
    if (state.trail) options.digest_interval_seconds = state.trail->digest_interval_seconds;
    if (explicit_endpoint) {
      try {
        options.latest_digest_delivery_time = cloudtrail_client().latest_digest_delivery_time(args.trail_arn);
      } catch (const api::CloudTrailError&) {
        // GetTrailStatus is optional for validation: fall back to the state dir.
      }
    }
    if (explicit_endpoint) {
      try {
        options.latest_digests = cloudtrail_client().latest_digests(args.trail_arn);
      } catch (const api::CloudTrailError&) {
      }
    }
    if (options.latest_digests.empty() && state.status) options.latest_digests = state.status->latest_digests;
    if (!options.latest_digest_delivery_time && state.status && state.status->latest_digest_delivery_time > 0) {
      options.latest_digest_delivery_time = state.status->latest_digest_delivery_time;
    }

    // Objects.
    std::unique_ptr<detail::ObjectStore> store;
    if (!args.dir.empty()) {
      if (!fs::is_directory(args.dir)) return fail("--dir " + args.dir + ": not a directory", kExitUsage);
      store = std::make_unique<detail::LocalObjectStore>(args.dir, options.bucket);
    } else {
      if (!settings) return fail("S3 settings: " + settings_error, kExitFailure);
      s3::S3ClientOptions s3_options;
      s3_options.settings = *settings;
      store = std::make_unique<api::S3ObjectStore>(s3_options);
    }

    // Public keys.
    std::unique_ptr<detail::PublicKeySource> keys;
    const std::string registry = detail::public_keys_path(args.state_dir);
    if (explicit_endpoint || (args.dir.empty() && !fs::exists(registry))) {
      keys = std::make_unique<api::CloudTrailKeySource>(cloudtrail_client());
    } else {
      keys = std::make_unique<detail::RegistryKeySource>(registry);
    }

    const detail::ValidateResult result = detail::validate_digests(options, *store, *keys, std::cout, std::cerr);
    std::cout.flush();
    return result.exit_code() == 0 ? kExitOk : kExitFailure;
  } catch (const std::exception& e) {
    return fail(e.what(), kExitFailure);
  }
}

}  // namespace

void add_validate_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ValidateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "validate",
      "Validate the digest chain and log files of a trail, like `aws cloudtrail validate-logs`, plus chain-link, "
      "chain-gap and tail-truncation checks (exit 0 valid or nothing found, 1 anything INVALID)");
  cmd->add_option("--trail-arn", args->trail_arn, "ARN of the trail to validate")->required();
  cmd->add_option("--start-time", args->start_time,
                  "Validate log files delivered on or after this UTC time (2026-11-21T10:00:00Z, 2026-11-21, epoch s)")
      ->required();
  cmd->add_option("--end-time", args->end_time, "... and on or before this UTC time (default: now)");
  cmd->add_option("--s3-bucket", args->s3_bucket, "Bucket of the digest files (default: DescribeTrails / trail.json)");
  cmd->add_option("--s3-prefix", args->s3_prefix, "S3 key prefix of the digest files");
  cmd->add_option("--account-id", args->account_id, "Account whose files to validate (default: the ARN's account)");
  cmd->add_option("--endpoint-url", args->endpoint_url,
                  "CloudTrail endpoint for ListPublicKeys, DescribeTrails, GetTrailStatus (only CloudTrail, as in the "
                  "aws CLI; S3 follows AWS_ENDPOINT_URL_S3)");
  cmd->add_option("--dir", args->dir,
                  "Read objects from this directory (laid out like the bucket, metadata in .trailkit-metadata/) "
                  "instead of S3");
  cmd->add_option("--state-dir", args->state_dir, "trailkit state dir (public-keys.json, trail.json, trail-status.json)")
      ->capture_default_str();
  cmd->add_option("--region", args->region, "Region whose digests to validate (default: the trail's home region)");
  cmd->add_flag("--verbose", args->verbose, "Print every valid digest and log file");
  cmd->add_flag("--stock-only", args->stock_only,
                "Only the checks of aws cloudtrail validate-logs (no chain-link, gap or tail-truncation checks)");
  cmd->callback([args, &exit_code] { exit_code = run_validate(*args); });
}

}  // namespace trailkit::cli
