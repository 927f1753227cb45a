#pragma once
// Where the S3 adapter gets its credentials, region and endpoint: the same places, in the same order,
// as the AWS SDKs (botocore 1.43 `credentials.create_credential_resolver`, `configprovider`,
// `configloader`; SDK reference guide "standardized credential providers" and "service-specific
// endpoints"; reference doc reliability-security-ecosystem.md §2.3, §3.2).
//
// Resolution order (the first source that yields a non-empty value wins; an empty string or an empty
// environment variable counts as unset everywhere):
//
//   profile      explicit > AWS_PROFILE > AWS_DEFAULT_PROFILE > "default".
//                A profile that was named (explicitly or by variable) must exist in the config or the
//                shared credentials file; an unnamed "default" may be missing.
//   credentials  explicit > AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN, legacy
//                AWS_SECURITY_TOKEN) > shared credentials file section [name] > config file section
//                [profile name] ([default] for "default") keys aws_access_key_id / aws_secret_access_key /
//                aws_session_token (legacy aws_security_token) > preset defaults.
//                As in botocore, an explicitly named profile (`overrides.profile`, the `--profile` flag)
//                skips the environment variables: the caller asked for that profile's keys.
//   region       explicit > AWS_REGION > AWS_DEFAULT_REGION > profile `region` > preset > "us-east-1".
//   endpoint     explicit > AWS_ENDPOINT_URL_S3 > AWS_ENDPOINT_URL > the profile's services section
//                (`services = NAME` + `[services NAME]` + `s3 =` / `  endpoint_url = URL`) > profile
//                `endpoint_url` > preset > "" (AWS). Everything but explicit and preset is skipped when
//                AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or the profile's ignore_configured_endpoint_urls is
//                "true" (the variable, when set, wins over the profile, as in botocore).
//   path_style   explicit > preset > profile `s3 =` / `  addressing_style = path|virtual` > true when the
//                endpoint's host is an IP literal or "localhost" (virtual-hosted names cannot resolve
//                there, awslabs/aws-sdk-rust#390) > false.
//   ca_bundle    explicit > AWS_CA_BUNDLE > profile `ca_bundle`.
//
// Files: the config file is AWS_CONFIG_FILE or ~/.aws/config; the shared credentials file is
// AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials (a leading "~/" expands to Environment::home). A file
// that does not exist or cannot be read is skipped, as botocore skips it. A profile's settings are the
// config file's section overlaid by the credentials file's section of the same name (botocore
// `Session.full_config`), so `region` may come from either file.
//
// INI dialect (Python configparser as botocore drives it): `[section]`; `key = value` or `key: value`
// (keys are case-insensitive, values are trimmed, no inline comments); full-line comments start with
// `#` or `;`; a line indented deeper than its key continues the value, and a key with an empty value
// followed by indented `k = v` lines is a sub-section (`s3 =` blocks); `[DEFAULT]` keys apply to every
// section; a duplicate section or key in one file is an error.
//
// Presets (`S3SettingsOverrides::preset`), the defaults a named S3-compatible server needs; every
// configured source above still wins over them:
//   "aws"         AWS S3: endpoint https://s3.<region>.amazonaws.com, virtual-hosted addressing,
//                 credentials from the usual chain only. Same as no preset.
//   "localstack"  LocalStack's edge port: endpoint http://localhost:4566, credentials test / test,
//                 path-style addressing, region us-east-1.
//   "minio"       MinIO's S3 API port: endpoint http://localhost:9000, credentials minioadmin /
//                 minioadmin (MINIO_ROOT_USER / MINIO_ROOT_PASSWORD defaults), path-style addressing,
//                 region us-east-1.
//
// Errors are exceptions (setup-time only, STYLE.md habit 4). Their messages name the file, line,
// profile and key, never a value that may be secret: no secret key, session token, or line text of a
// credentials file, and URL user-info is masked.
//   std::invalid_argument  a value or file is malformed: unknown preset, INI syntax, an access key
//                          without its secret, an endpoint without http(s) scheme, an invalid region,
//                          a services section that does not exist.
//   std::runtime_error     something required was not found: the named profile, or credentials
//                          anywhere (the message lists every place searched).

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "s3/sigv4.hpp"

namespace trailkit::s3 {

/// The process environment, injectable so tests (and embedders) control exactly what is read.
/// Thread contract: `get` is called only from `resolve_s3_settings` on the caller's thread.
struct Environment {
  std::function<std::optional<std::string>(const std::string&)> get;  ///< getenv; nullopt when unset
  std::string home;                                                   ///< $HOME, expands "~/"

  /// The real environment: `get` wraps ::getenv, `home` is $HOME (or the passwd entry when unset).
  /// Thread contract: safe unless another thread calls setenv/putenv concurrently.
  static Environment process();
};

/// Everything the S3 client needs to reach and sign for a bucket. Thread contract: plain value type.
struct S3Settings {
  Credentials credentials;
  /// "explicit", "environment", "shared credentials file ~/.aws/credentials [profile prod]",
  /// "config file ~/.aws/config [profile prod]", "preset minio". Safe to log.
  std::string credentials_source;
  std::string region;
  std::string region_source;    ///< "explicit", "AWS_REGION", "AWS_DEFAULT_REGION", "config file ...", "preset ...", "default"
  std::string endpoint_url;     ///< "" = AWS default https://s3.<region>.amazonaws.com (virtual-hosted)
  std::string endpoint_source;  ///< "explicit", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "config file ...", "preset ...", "default"
  bool path_style = false;      ///< true: https://host/bucket/key; false: https://bucket.host/key
  std::string ca_bundle;        ///< PEM file with extra trust anchors ("" = system store)
  std::string profile;          ///< the profile that was consulted ("default" when none was named)
};

/// Explicit configuration (code, CLI flags). Every set field wins over every other source.
/// Thread contract: plain value type.
struct S3SettingsOverrides {
  std::optional<Credentials> credentials;  ///< both key id and secret, or neither
  std::optional<std::string> region;
  std::optional<std::string> endpoint_url;
  std::optional<std::string> profile;
  std::optional<std::string> ca_bundle;
  std::optional<bool> path_style;
  std::string preset;  ///< "", "aws", "localstack" or "minio"; see the file comment
};

/// Resolves settings from `overrides`, `env` and the AWS config files they point to (read from disk on
/// every call: no caching, so rotated keys are picked up by the next resolution).
/// Throws std::invalid_argument / std::runtime_error as described in the file comment.
/// Thread contract: thread-safe (reads files and calls `env.get`; keeps no state).
S3Settings resolve_s3_settings(const S3SettingsOverrides& overrides, const Environment& env);

/// An http(s) endpoint URL split for the HTTP client. Thread contract: plain value type.
struct ParsedEndpoint {
  std::string scheme;     ///< "http" or "https" (lower case)
  std::string host;       ///< lower case; IPv6 literals without brackets ("::1")
  std::string port;       ///< always set: the explicit port, else "80" / "443"
  std::string base_path;  ///< "" or "/prefix" without trailing slash; object paths are appended to it
  bool is_tls() const noexcept { return scheme == "https"; }
  bool host_is_ip_literal() const noexcept;
  /// The Host header value: host (bracketed when IPv6) plus ":port" unless it is the scheme's default,
  /// which is also what SigV4 signs.
  std::string authority() const;
};

/// Parses "http(s)://host[:port][/base/path]". IPv6 hosts are bracketed ("http://[::1]:9000").
/// Rejects other schemes, user-info ("user:pass@", masked in the message), query strings, fragments,
/// empty hosts and ports outside 1..65535 with std::invalid_argument.
/// Thread contract: thread-safe (pure function).
ParsedEndpoint parse_endpoint(const std::string& url);

/// The URL requests go to: `settings.endpoint_url`, or AWS's regional endpoint
/// (https://s3.<region>.amazonaws.com, .amazonaws.com.cn for cn- regions) when it is empty.
/// Thread contract: thread-safe (pure function).
std::string effective_endpoint_url(const S3Settings& settings);

/// One line for logs: region, endpoint, addressing, credential source, redacted access key id, whether a
/// session token is present, profile, CA bundle. Never contains the secret key or session token.
/// Thread contract: thread-safe (pure function).
std::string describe(const S3Settings& settings);

namespace detail {

/// One `key = value` of an AWS INI file. A key with an empty value followed by indented `k = v` lines is
/// a block (`is_block`), as botocore's `_parse_nested` reads it: block keys keep their case.
struct IniSetting {
  std::string value;
  bool is_block = false;
  std::map<std::string, std::string> block;
  int line = 0;
};

/// One `[name]` section; `settings` keys are lower case.
struct IniSection {
  std::string name;
  int line = 0;
  std::map<std::string, IniSetting> settings;
};

/// Parses an AWS INI file's text with Python configparser's rules (see the file comment). `path` only
/// names the file in error messages, which never quote line text (it may hold a secret).
/// Exposed for tests. Thread contract: thread-safe (pure function).
std::vector<IniSection> parse_aws_ini(std::string_view text, const std::string& path);

}  // namespace detail
}  // namespace trailkit::s3
