// Credentials, region and endpoint resolution (adapters/s3/aws_config.hpp): every precedence step, the
// INI dialect, presets, endpoint parsing, secrets never leaking, and a scenario table resolved by botocore
// itself for the same files and environment (skipped when botocore is not installed).

#include "s3/aws_config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace trailkit::s3 {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCanary = "CANARY-SECRET-xyz";

// A temporary $HOME with ~/.aws files and a scripted environment.
class Sandbox {
 public:
  Sandbox() {
    std::string pattern = (fs::temp_directory_path() / "trailkit-awscfg-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    home_ = pattern;
  }
  ~Sandbox() {
    std::error_code ignored;
    fs::remove_all(home_, ignored);
  }
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& home() const { return home_; }
  // Writes `text` to `relative` under home and returns the absolute path.
  std::string write(const std::string& relative, const std::string& text) const {
    const fs::path path = fs::path(home_) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }
  std::string config(const std::string& text) const { return write(".aws/config", text); }
  std::string credentials(const std::string& text) const { return write(".aws/credentials", text); }

  std::map<std::string, std::string> vars;
  Environment env() const {
    Environment env;
    auto copy = vars;
    env.get = [copy](const std::string& name) -> std::optional<std::string> {
      auto it = copy.find(name);
      if (it == copy.end()) return std::nullopt;
      return it->second;
    };
    env.home = home_;
    return env;
  }
  S3Settings resolve(const S3SettingsOverrides& overrides = {}) const { return resolve_s3_settings(overrides, env()); }

 private:
  std::string home_;
};

S3SettingsOverrides with_profile(const std::string& profile) {
  S3SettingsOverrides overrides;
  overrides.profile = profile;
  return overrides;
}

S3SettingsOverrides with_preset(const std::string& preset) {
  S3SettingsOverrides overrides;
  overrides.preset = preset;
  return overrides;
}

// The message of the exception `fn` throws as `Expected`; fails the test when it throws nothing.
template <typename Expected, typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Expected& error) {
    return error.what();
  } catch (const std::exception& other) {
    ADD_FAILURE() << "wrong exception type: " << other.what();
    return other.what();
  }
  ADD_FAILURE() << "no exception thrown";
  return "";
}

// ---------------------------------------------------------------- credentials

TEST(AwsConfigCredentials, ExplicitBeatsEnvironmentAndFiles) {
  Sandbox box;
  box.credentials("[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n");
  box.vars = {{"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "envsecret"}};
  S3SettingsOverrides overrides;
  overrides.credentials = Credentials{"CODEKEY", "codesecret", "codetoken"};
  const S3Settings s = box.resolve(overrides);
  EXPECT_EQ(s.credentials.access_key_id, "CODEKEY");
  EXPECT_EQ(s.credentials.secret_access_key, "codesecret");
  EXPECT_EQ(s.credentials.session_token, "codetoken");
  EXPECT_EQ(s.credentials_source, "explicit");
}

TEST(AwsConfigCredentials, ExplicitHalfKeyPairIsRejected) {
  Sandbox box;
  S3SettingsOverrides overrides;
  overrides.credentials = Credentials{"CODEKEY", "", ""};
  error_of<std::invalid_argument>([&] { box.resolve(overrides); });
}

TEST(AwsConfigCredentials, EnvironmentBeatsSharedFiles) {
  Sandbox box;
  box.credentials("[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n");
  box.vars = {{"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "envsecret"}, {"AWS_SESSION_TOKEN", "tok"}};
  const S3Settings s = box.resolve();
  EXPECT_EQ(s.credentials.access_key_id, "ENVKEY");
  EXPECT_EQ(s.credentials.secret_access_key, "envsecret");
  EXPECT_EQ(s.credentials.session_token, "tok");
  EXPECT_EQ(s.credentials_source, "environment");
}

TEST(AwsConfigCredentials, LegacySecurityTokenVariableIsReadWhenSessionTokenIsAbsent) {
  Sandbox box;
  box.vars = {{"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "s"}, {"AWS_SECURITY_TOKEN", "legacy"}};
  EXPECT_EQ(box.resolve().credentials.session_token, "legacy");
  box.vars["AWS_SESSION_TOKEN"] = "standard";
  EXPECT_EQ(box.resolve().credentials.session_token, "standard");
}

TEST(AwsConfigCredentials, EmptyEnvironmentKeyCountsAsUnset) {
  Sandbox box;
  box.credentials("[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n");
  box.vars = {{"AWS_ACCESS_KEY_ID", ""}, {"AWS_SECRET_ACCESS_KEY", "orphan"}};
  EXPECT_EQ(box.resolve().credentials.access_key_id, "FILEKEY");
}

TEST(AwsConfigCredentials, EnvironmentKeyWithoutSecretNamesTheMissingVariable) {
  Sandbox box;
  box.vars = {{"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", ""}};
  EXPECT_NE(error_of<std::invalid_argument>([&] { box.resolve(); }).find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
}

TEST(AwsConfigCredentials, SharedCredentialsFileBeatsConfigFile) {
  Sandbox box;
  box.credentials("[prod]\naws_access_key_id = CREDKEY\naws_secret_access_key = credsecret\n");
  box.config("[profile prod]\naws_access_key_id = CFGKEY\naws_secret_access_key = cfgsecret\n");
  box.vars = {{"AWS_PROFILE", "prod"}};
  const S3Settings s = box.resolve();
  EXPECT_EQ(s.credentials.access_key_id, "CREDKEY");
  EXPECT_EQ(s.credentials_source, "shared credentials file ~/.aws/credentials [prod]");
  EXPECT_EQ(s.profile, "prod");
}

TEST(AwsConfigCredentials, ConfigFileIsUsedWhenCredentialsFileHasNoKeys) {
  Sandbox box;
  box.credentials("[prod]\nregion = eu-west-1\n");
  box.config("[profile prod]\naws_access_key_id = CFGKEY\naws_secret_access_key = cfgsecret\n"
             "aws_session_token = cfgtoken\n");
  box.vars = {{"AWS_PROFILE", "prod"}};
  const S3Settings s = box.resolve();
  EXPECT_EQ(s.credentials.access_key_id, "CFGKEY");
  EXPECT_EQ(s.credentials.session_token, "cfgtoken");
  EXPECT_EQ(s.credentials_source, "config file ~/.aws/config [profile prod]");
}

TEST(AwsConfigCredentials, FileLegacyTokenKeyIsReadWhenSessionTokenIsAbsent) {
  Sandbox box;
  box.credentials("[default]\naws_access_key_id = K\naws_secret_access_key = S\naws_security_token = legacy\n");
  EXPECT_EQ(box.resolve().credentials.session_token, "legacy");
  // Deliberate difference from botocore, which prefers the legacy name: the SDK standard name wins.
  box.credentials("[default]\naws_access_key_id = K\naws_secret_access_key = S\naws_security_token = legacy\n"
                  "aws_session_token = standard\n");
  EXPECT_EQ(box.resolve().credentials.session_token, "standard");
}

TEST(AwsConfigCredentials, CredentialsFileSectionsHaveNoProfilePrefixAndConfigSectionsDo) {
  Sandbox box;
  // "[profile prod]" in the credentials file is a profile literally named "profile prod";
  // "[prod]" in the config file is not a profile at all.
  box.credentials("[profile prod]\naws_access_key_id = WRONG1\naws_secret_access_key = x\n");
  box.config("[prod]\naws_access_key_id = WRONG2\naws_secret_access_key = x\n"
             "[profile prod]\naws_access_key_id = RIGHT\naws_secret_access_key = x\n");
  EXPECT_EQ(box.resolve(with_profile("prod")).credentials.access_key_id, "RIGHT");
}

TEST(AwsConfigCredentials, DefaultProfileInConfigFileIsPlainDefaultSection) {
  Sandbox box;
  box.config("[default]\naws_access_key_id = DEF\naws_secret_access_key = x\n");
  EXPECT_EQ(box.resolve().credentials.access_key_id, "DEF");
  EXPECT_EQ(box.resolve().credentials_source, "config file ~/.aws/config [default]");
}

TEST(AwsConfigCredentials, PartialFileCredentialsNameFileLineProfileAndKey) {
  Sandbox box;
  box.credentials("[prod]\n\naws_access_key_id = K\n");
  const std::string message = error_of<std::invalid_argument>([&] { box.resolve(with_profile("prod")); });
  EXPECT_NE(message.find("~/.aws/credentials line 1"), std::string::npos) << message;
  EXPECT_NE(message.find("'prod'"), std::string::npos) << message;
  EXPECT_NE(message.find("aws_secret_access_key"), std::string::npos) << message;

  box.credentials("[prod]\naws_access_key_id = K\naws_secret_access_key =\n");
  const std::string empty = error_of<std::invalid_argument>([&] { box.resolve(with_profile("prod")); });
  EXPECT_NE(empty.find("line 3"), std::string::npos) << empty;
  EXPECT_NE(empty.find("aws_secret_access_key is empty"), std::string::npos) << empty;
}

TEST(AwsConfigCredentials, PresetDefaultsComeLast) {
  Sandbox box;
  S3Settings s = box.resolve(with_preset("localstack"));
  EXPECT_EQ(s.credentials.access_key_id, "test");
  EXPECT_EQ(s.credentials.secret_access_key, "test");
  EXPECT_EQ(s.credentials_source, "preset localstack");
  s = box.resolve(with_preset("minio"));
  EXPECT_EQ(s.credentials.access_key_id, "minioadmin");
  EXPECT_EQ(s.credentials.secret_access_key, "minioadmin");

  box.config("[default]\naws_access_key_id = CFG\naws_secret_access_key = x\n");
  EXPECT_EQ(box.resolve(with_preset("minio")).credentials.access_key_id, "CFG");
}

TEST(AwsConfigCredentials, NothingFoundListsEverySearchedPlace) {
  Sandbox box;
  box.config("[default]\nregion = eu-west-1\n");
  const std::string message = error_of<std::runtime_error>([&] { box.resolve(); });
  EXPECT_NE(message.find("AWS_ACCESS_KEY_ID"), std::string::npos) << message;
  EXPECT_NE(message.find("shared credentials file ~/.aws/credentials (not found)"), std::string::npos) << message;
  EXPECT_NE(message.find("config file ~/.aws/config [default] (no aws_access_key_id)"), std::string::npos) << message;
  EXPECT_NE(message.find("'default'"), std::string::npos) << message;
  // The aws preset has no default keys, so it does not rescue resolution.
  error_of<std::runtime_error>([&] { box.resolve(with_preset("aws")); });
}

// ---------------------------------------------------------------- profiles

TEST(AwsConfigProfile, ExplicitThenAwsProfileThenAwsDefaultProfileThenDefault) {
  Sandbox box;
  box.credentials(
      "[default]\naws_access_key_id = D\naws_secret_access_key = x\n"
      "[a]\naws_access_key_id = A\naws_secret_access_key = x\n"
      "[b]\naws_access_key_id = B\naws_secret_access_key = x\n"
      "[c]\naws_access_key_id = C\naws_secret_access_key = x\n");
  EXPECT_EQ(box.resolve().credentials.access_key_id, "D");
  EXPECT_EQ(box.resolve().profile, "default");
  box.vars["AWS_DEFAULT_PROFILE"] = "c";
  EXPECT_EQ(box.resolve().credentials.access_key_id, "C");
  box.vars["AWS_PROFILE"] = "b";
  EXPECT_EQ(box.resolve().credentials.access_key_id, "B");
  EXPECT_EQ(box.resolve(with_profile("a")).credentials.access_key_id, "A");
  EXPECT_EQ(box.resolve(with_profile("a")).profile, "a");
}

TEST(AwsConfigProfile, ExplicitProfileSkipsEnvironmentCredentialsButAwsProfileDoesNot) {
  Sandbox box;
  box.credentials("[prod]\naws_access_key_id = PROD\naws_secret_access_key = x\n");
  box.vars = {{"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "s"}};
  EXPECT_EQ(box.resolve(with_profile("prod")).credentials.access_key_id, "PROD");
  box.vars["AWS_PROFILE"] = "prod";
  EXPECT_EQ(box.resolve().credentials.access_key_id, "ENVKEY");
}

TEST(AwsConfigProfile, NamedProfileMustExist) {
  Sandbox box;
  box.config("[profile other]\nregion = eu-west-1\n");
  box.vars = {{"AWS_ACCESS_KEY_ID", "K"}, {"AWS_SECRET_ACCESS_KEY", "s"}, {"AWS_PROFILE", "nope"}};
  const std::string message = error_of<std::runtime_error>([&] { box.resolve(); });
  EXPECT_NE(message.find("'nope'"), std::string::npos) << message;
  EXPECT_NE(message.find("AWS_PROFILE"), std::string::npos) << message;
  EXPECT_NE(message.find("~/.aws/credentials (not found)"), std::string::npos) << message;
  // Even "default" must exist once somebody names it (botocore ProfileNotFound).
  box.vars["AWS_PROFILE"] = "default";
  error_of<std::runtime_error>([&] { box.resolve(); });
  // The implicit default may be missing.
  box.vars.erase("AWS_PROFILE");
  EXPECT_EQ(box.resolve().credentials.access_key_id, "K");
}

TEST(AwsConfigProfile, ProfileFoundOnlyInCredentialsFileExists) {
  Sandbox box;
  box.credentials("[ci]\naws_access_key_id = CI\naws_secret_access_key = x\nregion = ap-south-1\n");
  const S3Settings s = box.resolve(with_profile("ci"));
  EXPECT_EQ(s.credentials.access_key_id, "CI");
  EXPECT_EQ(s.region, "ap-south-1");  // botocore merges credentials-file keys into the profile
  EXPECT_EQ(s.region_source, "shared credentials file ~/.aws/credentials [ci]");
}

TEST(AwsConfigProfile, QuotedProfileNamesAndMalformedProfileHeaders) {
  Sandbox box;
  box.config(
      "[profile \"my team\"]\naws_access_key_id = QUOTED\naws_secret_access_key = x\n"
      "[profile a b]\naws_access_key_id = IGNORED\naws_secret_access_key = x\n"
      "[profilea]\naws_access_key_id = IGNORED\naws_secret_access_key = x\n");
  EXPECT_EQ(box.resolve(with_profile("my team")).credentials.access_key_id, "QUOTED");
  error_of<std::runtime_error>([&] { box.resolve(with_profile("a")); });
  error_of<std::runtime_error>([&] { box.resolve(with_profile("a b")); });
}

TEST(AwsConfigProfile, FileLocationVariablesOverrideHome) {
  Sandbox box;
  box.config("[default]\nregion = wrong-1\n");
  box.credentials("[default]\naws_access_key_id = WRONG\naws_secret_access_key = x\n");
  const std::string config = box.write("elsewhere/cfg", "[default]\nregion = eu-north-1\n");
  box.write("elsewhere/creds", "[default]\naws_access_key_id = RIGHT\naws_secret_access_key = x\n");
  box.vars = {{"AWS_CONFIG_FILE", config}, {"AWS_SHARED_CREDENTIALS_FILE", "~/elsewhere/creds"}};
  const S3Settings s = box.resolve();
  EXPECT_EQ(s.region, "eu-north-1");
  EXPECT_EQ(s.region_source, "config file ~/elsewhere/cfg [default]");
  EXPECT_EQ(s.credentials.access_key_id, "RIGHT");
  EXPECT_EQ(s.credentials_source, "shared credentials file ~/elsewhere/creds [default]");
}

TEST(AwsConfigProfile, MissingFileOrDirectoryIsSkipped) {
  Sandbox box;
  fs::create_directories(fs::path(box.home()) / "adir");
  box.vars = {{"AWS_CONFIG_FILE", box.home() + "/adir"}, {"AWS_SHARED_CREDENTIALS_FILE", box.home() + "/none"}};
  EXPECT_EQ(box.resolve(with_preset("minio")).region, "us-east-1");
}

// ---------------------------------------------------------------- region

TEST(AwsConfigRegion, EveryPrecedenceStep) {
  Sandbox box;
  EXPECT_EQ(box.resolve(with_preset("localstack")).region_source, "preset localstack");
  S3Settings s = box.resolve(with_preset("minio"));
  EXPECT_EQ(s.region, "us-east-1");
  box.config("[default]\nregion = eu-central-1\n");
  s = box.resolve(with_preset("minio"));
  EXPECT_EQ(s.region, "eu-central-1");
  EXPECT_EQ(s.region_source, "config file ~/.aws/config [default]");
  box.vars["AWS_DEFAULT_REGION"] = "ap-northeast-1";
  EXPECT_EQ(box.resolve(with_preset("minio")).region, "ap-northeast-1");
  EXPECT_EQ(box.resolve(with_preset("minio")).region_source, "AWS_DEFAULT_REGION");
  box.vars["AWS_REGION"] = "sa-east-1";
  EXPECT_EQ(box.resolve(with_preset("minio")).region, "sa-east-1");
  EXPECT_EQ(box.resolve(with_preset("minio")).region_source, "AWS_REGION");
  S3SettingsOverrides overrides = with_preset("minio");
  overrides.region = "us-west-2";
  EXPECT_EQ(box.resolve(overrides).region, "us-west-2");
  EXPECT_EQ(box.resolve(overrides).region_source, "explicit");
}

TEST(AwsConfigRegion, DefaultsToUsEast1AndEmptyValuesCountAsUnset) {
  Sandbox box;
  box.config("[default]\nregion =\n");
  box.vars = {{"AWS_REGION", ""}, {"AWS_DEFAULT_REGION", ""}, {"AWS_ACCESS_KEY_ID", "K"}, {"AWS_SECRET_ACCESS_KEY", "s"}};
  const S3Settings s = box.resolve(with_preset("aws"));  // aws has no region default
  EXPECT_EQ(s.region, "us-east-1");
  EXPECT_EQ(s.region_source, "default");
}

TEST(AwsConfigRegion, InvalidRegionNamesItsSource) {
  Sandbox box;
  box.config("[default]\n\nregion = us east/1\n");
  const std::string message = error_of<std::invalid_argument>([&] { box.resolve(with_preset("minio")); });
  EXPECT_NE(message.find("~/.aws/config line 3"), std::string::npos) << message;
  EXPECT_NE(message.find("'region'"), std::string::npos) << message;
}

// ---------------------------------------------------------------- endpoint

TEST(AwsConfigEndpoint, EveryPrecedenceStep) {
  Sandbox box;
  S3SettingsOverrides overrides = with_preset("localstack");
  EXPECT_EQ(box.resolve(overrides).endpoint_url, "http://localhost:4566");
  EXPECT_EQ(box.resolve(overrides).endpoint_source, "preset localstack");

  box.config("[default]\nendpoint_url = http://profile-global:1\n");
  EXPECT_EQ(box.resolve(overrides).endpoint_url, "http://profile-global:1");
  EXPECT_EQ(box.resolve(overrides).endpoint_source, "config file ~/.aws/config [default]");

  box.config(
      "[default]\nendpoint_url = http://profile-global:1\nservices = local\n"
      "[services local]\ns3 =\n  endpoint_url = http://services-s3:2\n"
      "dynamodb =\n  endpoint_url = http://not-s3:3\n");
  EXPECT_EQ(box.resolve(overrides).endpoint_url, "http://services-s3:2");
  EXPECT_EQ(box.resolve(overrides).endpoint_source, "config file ~/.aws/config [services local] s3");

  box.vars["AWS_ENDPOINT_URL"] = "http://env-global:4";
  EXPECT_EQ(box.resolve(overrides).endpoint_url, "http://env-global:4");
  box.vars["AWS_ENDPOINT_URL_S3"] = "http://env-s3:5";
  EXPECT_EQ(box.resolve(overrides).endpoint_url, "http://env-s3:5");
  EXPECT_EQ(box.resolve(overrides).endpoint_source, "AWS_ENDPOINT_URL_S3");
  overrides.endpoint_url = "https://explicit.example:6";
  EXPECT_EQ(box.resolve(overrides).endpoint_url, "https://explicit.example:6");
  EXPECT_EQ(box.resolve(overrides).endpoint_source, "explicit");
}

TEST(AwsConfigEndpoint, DefaultIsEmptyMeaningAws) {
  Sandbox box;
  box.vars = {{"AWS_ACCESS_KEY_ID", "K"}, {"AWS_SECRET_ACCESS_KEY", "s"}, {"AWS_REGION", "eu-west-3"}};
  const S3Settings s = box.resolve();
  EXPECT_EQ(s.endpoint_url, "");
  EXPECT_FALSE(s.path_style);
  EXPECT_EQ(effective_endpoint_url(s), "https://s3.eu-west-3.amazonaws.com");
  S3Settings china = s;
  china.region = "cn-north-1";
  EXPECT_EQ(effective_endpoint_url(china), "https://s3.cn-north-1.amazonaws.com.cn");
}

TEST(AwsConfigEndpoint, IgnoreFlagSkipsConfiguredEndpointsButNotExplicitOrPreset) {
  Sandbox box;
  box.config("[default]\nendpoint_url = http://profile:1\n");
  box.vars = {{"AWS_ENDPOINT_URL_S3", "http://env:2"}, {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE"},
              {"AWS_ACCESS_KEY_ID", "K"}, {"AWS_SECRET_ACCESS_KEY", "s"}};
  EXPECT_EQ(box.resolve(with_preset("minio")).endpoint_url, "http://localhost:9000");
  EXPECT_EQ(box.resolve(with_preset("aws")).endpoint_url, "");
  S3SettingsOverrides overrides = with_preset("minio");
  overrides.endpoint_url = "http://explicit:3";
  EXPECT_EQ(box.resolve(overrides).endpoint_url, "http://explicit:3");
}

TEST(AwsConfigEndpoint, IgnoreFlagInProfileAndVariableWinsOverProfile) {
  Sandbox box;
  box.config("[default]\nendpoint_url = http://profile:1\nignore_configured_endpoint_urls = true\n");
  EXPECT_EQ(box.resolve(with_preset("minio")).endpoint_url, "http://localhost:9000");
  box.vars["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "false";
  EXPECT_EQ(box.resolve(with_preset("minio")).endpoint_url, "http://profile:1");
}

TEST(AwsConfigEndpoint, MissingServicesSectionIsAnErrorNamingIt) {
  Sandbox box;
  box.config("[default]\nservices = gone\n");
  const std::string message = error_of<std::invalid_argument>([&] { box.resolve(with_preset("minio")); });
  EXPECT_NE(message.find("[services gone]"), std::string::npos) << message;
  EXPECT_NE(message.find("line 2"), std::string::npos) << message;
  // Not consulted (so not an error) when an environment variable already decided.
  box.vars["AWS_ENDPOINT_URL"] = "http://env:1";
  EXPECT_EQ(box.resolve(with_preset("minio")).endpoint_url, "http://env:1");
}

TEST(AwsConfigEndpoint, EndpointWithoutSchemeNamesWhereItCameFrom) {
  Sandbox box;
  box.config("[default]\nendpoint_url = localhost:9000\n");
  const std::string message = error_of<std::invalid_argument>([&] { box.resolve(with_preset("minio")); });
  EXPECT_NE(message.find("http://"), std::string::npos) << message;
  EXPECT_NE(message.find("~/.aws/config line 2"), std::string::npos) << message;
  box.vars["AWS_ENDPOINT_URL_S3"] = "ftp://host";
  EXPECT_NE(error_of<std::invalid_argument>([&] { box.resolve(with_preset("minio")); }).find("AWS_ENDPOINT_URL_S3"),
            std::string::npos);
}

// ---------------------------------------------------------------- path style, ca bundle, presets

TEST(AwsConfigPathStyle, ExplicitThenPresetThenProfileThenHostHeuristic) {
  Sandbox box;
  box.vars = {{"AWS_ACCESS_KEY_ID", "K"}, {"AWS_SECRET_ACCESS_KEY", "s"}};
  EXPECT_FALSE(box.resolve().path_style);
  box.vars["AWS_ENDPOINT_URL"] = "https://storage.example.com";
  EXPECT_FALSE(box.resolve().path_style);
  for (const char* url : {"http://127.0.0.1:9000", "http://localhost:4566", "http://[::1]:9000", "http://LOCALHOST"}) {
    box.vars["AWS_ENDPOINT_URL"] = url;
    EXPECT_TRUE(box.resolve().path_style) << url;
  }
  box.config("[default]\ns3 =\n  addressing_style = virtual\n");
  EXPECT_FALSE(box.resolve().path_style);
  EXPECT_TRUE(box.resolve(with_preset("minio")).path_style);
  box.vars["AWS_ENDPOINT_URL"] = "https://storage.example.com";
  box.config("[default]\ns3 =\n  addressing_style = path\n");
  EXPECT_TRUE(box.resolve().path_style);
  S3SettingsOverrides overrides = with_preset("localstack");
  overrides.path_style = false;
  EXPECT_FALSE(box.resolve(overrides).path_style);
}

TEST(AwsConfigCaBundle, ExplicitThenVariableThenProfile) {
  Sandbox box;
  box.config("[default]\nca_bundle = /profile.pem\n");
  EXPECT_EQ(box.resolve(with_preset("minio")).ca_bundle, "/profile.pem");
  box.vars["AWS_CA_BUNDLE"] = "/env.pem";
  EXPECT_EQ(box.resolve(with_preset("minio")).ca_bundle, "/env.pem");
  S3SettingsOverrides overrides = with_preset("minio");
  overrides.ca_bundle = "/explicit.pem";
  EXPECT_EQ(box.resolve(overrides).ca_bundle, "/explicit.pem");
}

TEST(AwsConfigPresets, DocumentedDefaults) {
  Sandbox box;
  box.vars = {{"AWS_ACCESS_KEY_ID", "K"}, {"AWS_SECRET_ACCESS_KEY", "s"}};
  const S3Settings aws = box.resolve(with_preset("aws"));
  EXPECT_EQ(aws.endpoint_url, "");
  EXPECT_FALSE(aws.path_style);
  const S3Settings localstack = box.resolve(with_preset("LocalStack"));
  EXPECT_EQ(localstack.endpoint_url, "http://localhost:4566");
  EXPECT_TRUE(localstack.path_style);
  EXPECT_EQ(localstack.region, "us-east-1");
  const S3Settings minio = box.resolve(with_preset("minio"));
  EXPECT_EQ(minio.endpoint_url, "http://localhost:9000");
  EXPECT_TRUE(minio.path_style);
  EXPECT_EQ(minio.credentials.access_key_id, "K");  // configured keys beat preset defaults
}

TEST(AwsConfigPresets, UnknownPresetIsRejected) {
  Sandbox box;
  const std::string message = error_of<std::invalid_argument>([&] { box.resolve(with_preset("ceph")); });
  EXPECT_NE(message.find("'ceph'"), std::string::npos) << message;
  EXPECT_NE(message.find("localstack"), std::string::npos) << message;
}

// ---------------------------------------------------------------- endpoint parsing

TEST(ParseEndpoint, SchemesPortsAndBasePath) {
  ParsedEndpoint e = parse_endpoint("https://s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(e.scheme, "https");
  EXPECT_EQ(e.host, "s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(e.port, "443");
  EXPECT_EQ(e.base_path, "");
  EXPECT_TRUE(e.is_tls());
  EXPECT_FALSE(e.host_is_ip_literal());
  EXPECT_EQ(e.authority(), "s3.eu-west-1.amazonaws.com");

  e = parse_endpoint("HTTP://MinIO.local:9000/");
  EXPECT_EQ(e.scheme, "http");
  EXPECT_EQ(e.host, "minio.local");
  EXPECT_EQ(e.port, "9000");
  EXPECT_EQ(e.base_path, "");
  EXPECT_FALSE(e.is_tls());
  EXPECT_EQ(e.authority(), "minio.local:9000");

  e = parse_endpoint("http://10.0.0.5/storage/s3//");
  EXPECT_EQ(e.port, "80");
  EXPECT_EQ(e.base_path, "/storage/s3");
  EXPECT_TRUE(e.host_is_ip_literal());
  EXPECT_EQ(e.authority(), "10.0.0.5");

  EXPECT_EQ(parse_endpoint("https://host:443").authority(), "host");
  EXPECT_EQ(parse_endpoint("http://host:443").authority(), "host:443");
}

TEST(ParseEndpoint, Ipv6Literals) {
  ParsedEndpoint e = parse_endpoint("http://[::1]:9000");
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.port, "9000");
  EXPECT_TRUE(e.host_is_ip_literal());
  EXPECT_EQ(e.authority(), "[::1]:9000");
  e = parse_endpoint("https://[2001:DB8::7]");
  EXPECT_EQ(e.host, "2001:db8::7");
  EXPECT_EQ(e.port, "443");
  EXPECT_EQ(e.authority(), "[2001:db8::7]");
  EXPECT_THROW(parse_endpoint("http://::1:9000"), std::invalid_argument);
  EXPECT_THROW(parse_endpoint("http://[::1"), std::invalid_argument);
  EXPECT_THROW(parse_endpoint("http://[not-ip]:1"), std::invalid_argument);
  EXPECT_THROW(parse_endpoint("http://[::1]x"), std::invalid_argument);
}

TEST(ParseEndpoint, RejectsWhatTheClientCannotUse) {
  for (const char* bad : {"localhost:9000", "ftp://host", "http://", "http://:9000", "http://host:0", "http://host:65536",
                          "http://host:9x", "http://host/?a=b", "http://host#frag", "http://ho st", "http://ho/st x",
                          "s3://bucket"}) {
    EXPECT_THROW(parse_endpoint(bad), std::invalid_argument) << bad;
  }
}

// ---------------------------------------------------------------- INI dialect

TEST(AwsIni, ConfigparserDialect) {
  const auto sections = detail::parse_aws_ini(
      "# comment\n"
      "; also a comment\n"
      "[default]\n"
      "Region: eu-west-1\n"
      "output = json # not a comment\n"
      "   ; indented comment\n"
      "long = first\n"
      "    second\n"
      "\n"
      "    third\n"
      "s3 =\n"
      "    addressing_style = path\n"
      "    # comment inside a block\n"
      "    Signature_Version=s3v4\n"
      "[profile x] trailing\r\n"
      "key=\r\n",
      "f");
  ASSERT_EQ(sections.size(), 2u);
  const auto& d = sections[0].settings;
  EXPECT_EQ(d.at("region").value, "eu-west-1");
  EXPECT_EQ(d.at("region").line, 4);
  EXPECT_EQ(d.at("output").value, "json # not a comment");
  EXPECT_EQ(d.at("long").value, "first\nsecond\n\nthird");
  ASSERT_TRUE(d.at("s3").is_block);
  EXPECT_EQ(d.at("s3").block.at("addressing_style"), "path");
  EXPECT_EQ(d.at("s3").block.at("Signature_Version"), "s3v4");  // block keys keep their case
  EXPECT_EQ(sections[1].name, "profile x");
  EXPECT_EQ(sections[1].line, 15);
  EXPECT_EQ(sections[1].settings.at("key").value, "");
  EXPECT_FALSE(sections[1].settings.at("key").is_block);
}

TEST(AwsIni, DefaultSectionIsInheritedByEverySection) {
  const auto sections = detail::parse_aws_ini("[DEFAULT]\nregion = r1\n[a]\n[b]\nregion = r2\n", "f");
  ASSERT_EQ(sections.size(), 2u);
  EXPECT_EQ(sections[0].settings.at("region").value, "r1");
  EXPECT_EQ(sections[1].settings.at("region").value, "r2");
}

TEST(AwsIni, ErrorsNameFileAndLine) {
  const auto message = [](const char* text) {
    return error_of<std::invalid_argument>([&] { detail::parse_aws_ini(text, "~/.aws/config"); });
  };
  EXPECT_NE(message("key = v\n").find("~/.aws/config line 1"), std::string::npos);
  EXPECT_NE(message("[a]\nx = 1\n\nnot a setting\n").find("line 4"), std::string::npos);
  EXPECT_NE(message("[a]\n[b]\n[a]\n").find("duplicate section [a]"), std::string::npos);
  EXPECT_NE(message("[a]\nKey = 1\nkey = 2\n").find("duplicate key 'key'"), std::string::npos);
  EXPECT_NE(message("[a]\n= 1\n").find("line 2"), std::string::npos);
  EXPECT_NE(message("[a]\ns3 =\n  endpoint_url\n").find("line 3"), std::string::npos);
}

// ---------------------------------------------------------------- secrets never leak

TEST(AwsConfigSecrets, CanaryNeverAppearsInDescribeOrErrors) {
  const std::string canary = kCanary;
  const std::string token = std::string(kCanary) + "-token";
  std::vector<std::string> texts;
  const auto capture = [&](auto&& fn) {
    try {
      fn();
      ADD_FAILURE() << "expected an error";
    } catch (const std::exception& error) {
      texts.emplace_back(error.what());
    }
  };

  Sandbox box;
  // Loaded successfully: describe() sees them.
  box.vars = {{"AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"}, {"AWS_SECRET_ACCESS_KEY", canary},
              {"AWS_SESSION_TOKEN", token}};
  const S3Settings loaded = box.resolve();
  EXPECT_EQ(loaded.credentials.secret_access_key, canary);
  texts.push_back(describe(loaded));
  EXPECT_NE(texts.back().find("AKIA"), std::string::npos);
  EXPECT_EQ(texts.back().find("AKIAIOSFODNN7EXAMPLE"), std::string::npos) << "full key id in " << texts.back();

  // Errors raised after the secrets were read from the environment.
  box.vars["AWS_ENDPOINT_URL_S3"] = "localhost:9000";
  capture([&] { box.resolve(); });
  box.vars["AWS_ENDPOINT_URL_S3"] = "http://AKID:" + canary + "@localhost:9000";
  capture([&] { box.resolve(); });
  box.vars.erase("AWS_ENDPOINT_URL_S3");
  box.vars["AWS_REGION"] = "bad region";
  capture([&] { box.resolve(); });
  box.vars.erase("AWS_REGION");
  box.vars["AWS_PROFILE"] = "missing";
  capture([&] { box.resolve(); });
  box.vars.clear();

  // Secrets in files, then errors in the same files.
  const std::string good = "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = " + canary +
                           "\naws_session_token = " + token + "\n";
  box.credentials(good);
  box.config("[default]\nendpoint_url = ftp://storage.example.com\n");
  capture([&] { box.resolve(); });
  box.config("[default]\nservices = " + std::string("gone") + "\n");
  capture([&] { box.resolve(); });
  box.config("[default]\nregion = us east 1\n");
  capture([&] { box.resolve(); });
  box.config("");
  box.credentials("[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key " + canary + "\n");  // no '='
  capture([&] { box.resolve(); });
  box.credentials("[default]\naws_access_key_id = AKIDFILE\n" + canary + "\n");  // bare secret line
  capture([&] { box.resolve(); });
  box.credentials(good + "aws_secret_access_key = " + canary + "\n");  // duplicate key
  capture([&] { box.resolve(); });
  box.credentials("aws_secret_access_key = " + canary + "\n");  // no section header
  capture([&] { box.resolve(); });
  box.credentials("[default]\naws_secret_access_key = " + canary + "\n");  // key id missing -> nothing found
  capture([&] { box.resolve(); });
  box.credentials("[default]\naws_access_key_id =\naws_secret_access_key = " + canary + "\n");
  capture([&] { box.resolve(); });
  box.credentials("[default]\ns3 =\n  " + canary + "\n");  // malformed block line
  capture([&] { box.resolve(); });
  box.credentials(good);
  box.config("");
  texts.push_back(describe(box.resolve()));
  S3SettingsOverrides explicit_half;
  explicit_half.credentials = Credentials{"", canary, token};
  capture([&] { box.resolve(explicit_half); });
  capture([&] { parse_endpoint("https://user:" + canary + "@host"); });

  ASSERT_GE(texts.size(), 17u);
  for (const auto& text : texts) {
    EXPECT_EQ(text.find("CANARY"), std::string::npos) << text;
  }
}

TEST(AwsConfigDescribe, OneLineWithTheFactsOperatorsNeed) {
  Sandbox box;
  box.vars = {{"AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"}, {"AWS_SECRET_ACCESS_KEY", "s"}, {"AWS_REGION", "eu-west-1"}};
  const std::string line = describe(box.resolve());
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("region=eu-west-1 (AWS_REGION)"), std::string::npos) << line;
  EXPECT_NE(line.find("endpoint=https://s3.eu-west-1.amazonaws.com (default)"), std::string::npos) << line;
  EXPECT_NE(line.find("addressing=virtual-hosted"), std::string::npos) << line;
  EXPECT_NE(line.find("credentials=environment"), std::string::npos) << line;
  EXPECT_NE(line.find("session_token=none"), std::string::npos) << line;
  EXPECT_NE(line.find(redact_access_key("AKIAIOSFODNN7EXAMPLE")), std::string::npos) << line;
}

// ---------------------------------------------------------------- botocore as the oracle

// Resolves every scenario with botocore in one python process: credentials (Session.get_credentials),
// region (get_config_variable), endpoint and addressing style (create_client('s3').meta).
constexpr const char* kBotocoreScript = R"PY(
import json, os, sys
import botocore.session
scenarios = json.load(open(sys.argv[1]))
results = []
for sc in scenarios:
    os.environ.clear()
    os.environ.update(sc["env"])
    os.environ["HOME"] = sc["home"]
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    try:
        s = botocore.session.Session(profile=sc["profile"] or None)
        region = s.get_config_variable("region")
        creds = s.get_credentials()
        client = s.create_client("s3", region_name=region or "us-east-1")
        out = {"region": region, "endpoint": client.meta.endpoint_url,
               "addressing": (client.meta.config.s3 or {}).get("addressing_style")}
        if creds is None:
            out["creds"] = None
        else:
            f = creds.get_frozen_credentials()
            out["creds"] = [f.access_key, f.secret_key, f.token]
    except Exception as e:
        out = {"error": type(e).__name__}
    results.append(out)
print(json.dumps(results))
)PY";

struct Scenario {
  std::string name;
  std::string config;       // written to ~/.aws/config unless empty
  std::string credentials;  // written to ~/.aws/credentials unless empty
  std::map<std::string, std::string> env;
  std::string profile;  // explicit profile ("" = none)
  std::map<std::string, std::string> extra_files;  // relative path -> text
};

std::string run_command(const std::string& command) {
  std::string out;
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, got);
  ::pclose(pipe);
  return out;
}

TEST(AwsConfigBotocore, SameAnswersAsBotocoreForTheSameFilesAndEnvironment) {
  if (run_command("python3 -c 'import botocore; print(1)' 2>/dev/null") != "1\n") {
    GTEST_SKIP() << "botocore is not installed";
  }
  const std::string keys = "[default]\naws_access_key_id = DEFKEY\naws_secret_access_key = defsecret\n";
  const std::vector<Scenario> scenarios = {
      {"env credentials with session token", "", keys,
       {{"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "envsecret"}, {"AWS_SESSION_TOKEN", "envtoken"}}, "", {}},
      {"legacy AWS_SECURITY_TOKEN", "", "",
       {{"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "envsecret"}, {"AWS_SECURITY_TOKEN", "old"}}, "", {}},
      {"credentials file default", "", keys, {}, "", {}},
      {"AWS_PROFILE: credentials file beats config, region from config",
       "[profile prod]\nregion = eu-west-1\naws_access_key_id = CFG\naws_secret_access_key = cfgsecret\n",
       "[prod]\naws_access_key_id = PROD\naws_secret_access_key = prodsecret\n", {{"AWS_PROFILE", "prod"}}, "", {}},
      {"config file keys with session token",
       "[profile prod]\naws_access_key_id = CFG\naws_secret_access_key = cfgsecret\naws_session_token = t\n", "",
       {{"AWS_PROFILE", "prod"}}, "", {}},
      {"credentials-file region overlays config region", "[default]\nregion = us-west-1\n",
       keys + "region = eu-central-1\n", {}, "", {}},
      {"file location variables (with ~)", "[default]\nregion = wrong-1\n", keys,
       {{"AWS_CONFIG_FILE", "~/alt/config"}, {"AWS_SHARED_CREDENTIALS_FILE", "~/alt/creds"}}, "",
       {{"alt/config", "[default]\nregion = ap-southeast-2\n"},
        {"alt/creds", "[default]\naws_access_key_id = ALT\naws_secret_access_key = altsecret\n"}}},
      {"services section beats profile endpoint_url",
       "[default]\nendpoint_url = http://global:1\nservices = local\n[services local]\ns3 =\n  endpoint_url = "
       "http://localhost:4566\n",
       keys, {}, "", {}},
      {"profile endpoint_url", "[default]\nendpoint_url = http://10.1.2.3:9000\n", keys, {}, "", {}},
      {"AWS_ENDPOINT_URL_S3 beats AWS_ENDPOINT_URL beats config", "[default]\nendpoint_url = http://cfg:1\n", keys,
       {{"AWS_ENDPOINT_URL", "http://global:2"}, {"AWS_ENDPOINT_URL_S3", "http://s3only:3"}}, "", {}},
      {"AWS_ENDPOINT_URL beats config", "[default]\nendpoint_url = http://cfg:1\n", keys,
       {{"AWS_ENDPOINT_URL", "http://global:2"}}, "", {}},
      {"ignore flag in environment", "[default]\nendpoint_url = http://cfg:1\n", keys,
       {{"AWS_ENDPOINT_URL", "http://global:2"}, {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"}}, "", {}},
      {"ignore flag in profile", "[default]\nendpoint_url = http://cfg:1\nignore_configured_endpoint_urls = true\n",
       keys, {}, "", {}},
      {"ignore flag variable false beats profile true",
       "[default]\nendpoint_url = http://cfg:1\nignore_configured_endpoint_urls = true\n", keys,
       {{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false"}}, "", {}},
      {"named profile not found", "[profile other]\nregion = eu-west-1\n", keys, {{"AWS_PROFILE", "nope"}}, "", {}},
      {"explicit profile disables environment credentials", "", keys + "[ci]\naws_access_key_id = CI\naws_secret_access_key = cisecret\n",
       {{"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "envsecret"}}, "ci", {}},
      {"quoted profile name", "[profile \"my team\"]\naws_access_key_id = Q\naws_secret_access_key = qs\nregion = eu-west-2\n",
       "", {}, "my team", {}},
      {"[DEFAULT] inheritance in credentials file", "",
       "[DEFAULT]\naws_secret_access_key = inherited\n[default]\naws_access_key_id = D\n", {}, "", {}},
      {"colon delimiter, upper-case keys, comments", "# c\n[default]\n; c\nREGION: ca-central-1\n",
       "[default]\nAWS_ACCESS_KEY_ID: UP\n  # indented comment\nAws_Secret_Access_Key=upsecret\n", {}, "", {}},
      {"[default] and [profile default]: the later wins",
       "[default]\nregion = us-east-2\n[profile default]\nregion = us-west-2\n", keys, {}, "", {}},
      {"[profile default] then [default]: the later wins",
       "[profile default]\nregion = us-west-2\n[default]\nregion = us-east-2\n", keys, {}, "", {}},
      {"addressing_style in profile", "[default]\ns3 =\n  addressing_style = path\n", keys,
       {{"AWS_ENDPOINT_URL", "https://storage.example.com"}}, "", {}},
      {"malformed line", "[default]\nregion us-east-1\n", keys, {}, "", {}},
      {"value on the next line is a block", "[default]\nregion =\n  us-west-2\n", keys, {}, "", {}},
      {"missing services section", "[default]\nservices = gone\n", keys, {}, "", {}},
      {"key id without secret", "", "[default]\naws_access_key_id = HALF\n", {}, "", {}},
      {"no credentials anywhere", "[default]\nregion = eu-west-1\n", "", {}, "", {}},
      {"duplicate key", "[default]\nregion = a-1\nregion = b-1\n", keys, {}, "", {}},
  };

  std::vector<std::unique_ptr<Sandbox>> boxes;
  nlohmann::json input = nlohmann::json::array();
  for (const auto& sc : scenarios) {
    auto box = std::make_unique<Sandbox>();
    if (!sc.config.empty()) box->config(sc.config);
    if (!sc.credentials.empty()) box->credentials(sc.credentials);
    for (const auto& [path, text] : sc.extra_files) box->write(path, text);
    box->vars = sc.env;
    input.push_back({{"env", sc.env}, {"home", box->home()}, {"profile", sc.profile}});
    boxes.push_back(std::move(box));
  }
  Sandbox scratch;
  const std::string script = scratch.write("oracle.py", kBotocoreScript);
  const std::string input_path = scratch.write("scenarios.json", input.dump());
  const std::string output = run_command("python3 '" + script + "' '" + input_path + "'");
  const nlohmann::json results = nlohmann::json::parse(output, nullptr, false);
  ASSERT_TRUE(results.is_array()) << output;
  ASSERT_EQ(results.size(), scenarios.size());

  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    const Scenario& sc = scenarios[i];
    const nlohmann::json& expected = results[i];
    SCOPED_TRACE(sc.name + " -> botocore: " + expected.dump());
    S3SettingsOverrides overrides;
    if (!sc.profile.empty()) overrides.profile = sc.profile;
    if (expected.contains("error")) {
      const std::string kind = expected["error"];
      if (kind == "ProfileNotFound") {
        EXPECT_THROW(boxes[i]->resolve(overrides), std::runtime_error);
      } else {
        EXPECT_THROW(boxes[i]->resolve(overrides), std::invalid_argument);
      }
      continue;
    }
    if (expected["creds"].is_null()) {
      EXPECT_THROW(boxes[i]->resolve(overrides), std::runtime_error);
      continue;
    }
    S3Settings ours;
    ASSERT_NO_THROW(ours = boxes[i]->resolve(overrides));
    EXPECT_EQ(ours.credentials.access_key_id, expected["creds"][0].get<std::string>());
    EXPECT_EQ(ours.credentials.secret_access_key, expected["creds"][1].get<std::string>());
    EXPECT_EQ(ours.credentials.session_token,
              expected["creds"][2].is_null() ? "" : expected["creds"][2].get<std::string>());
    EXPECT_EQ(ours.region, expected["region"].is_null() ? "us-east-1" : expected["region"].get<std::string>());
    const std::string endpoint = expected["endpoint"];
    if (ours.endpoint_url.empty()) {
      EXPECT_NE(endpoint.find(".amazonaws.com"), std::string::npos) << endpoint;
    } else {
      EXPECT_EQ(ours.endpoint_url, endpoint);
    }
    if (expected["addressing"].is_string()) {
      EXPECT_EQ(ours.path_style, expected["addressing"] == "path");
    }
  }
}

}  // namespace
}  // namespace trailkit::s3
