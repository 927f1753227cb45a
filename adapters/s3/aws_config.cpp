#include "s3/aws_config.hpp"

#include <arpa/inet.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <system_error>
#include <set>
#include <stdexcept>
#include <utility>

namespace trailkit::s3 {
namespace {

constexpr std::string_view kDefaultRegion = "us-east-1";

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

[[noreturn]] void fail_invalid(const std::string& message) { throw std::invalid_argument(message); }

// ---- INI (Python configparser, RawConfigParser defaults, as botocore's raw_config_parse uses it) ----

struct RawSetting {
  std::vector<std::pair<std::string, int>> lines;  // first line's value, then continuation lines
  int line = 0;
};

struct RawSection {
  std::string name;
  int line = 0;
  std::vector<std::pair<std::string, RawSetting>> settings;  // file order; keys unique
  RawSetting* find(const std::string& key) {
    for (auto& [k, v] : settings) {
      if (k == key) return &v;
    }
    return nullptr;
  }
};

std::string where(const std::string& path, int line) { return path + " line " + std::to_string(line); }

detail::IniSetting finish_setting(const RawSetting& raw, const std::string& key, const std::string& section,
                                  const std::string& path) {
  detail::IniSetting out;
  out.line = raw.line;
  std::string joined;
  for (std::size_t i = 0; i < raw.lines.size(); ++i) {
    if (i != 0) joined += '\n';
    joined += raw.lines[i].first;
  }
  while (!joined.empty() && is_space(joined.back())) joined.pop_back();
  // botocore parses a value that starts on the next line as one level of `k = v` pairs.
  if (!joined.empty() && joined.front() == '\n') {
    out.is_block = true;
    for (std::size_t i = 1; i < raw.lines.size(); ++i) {
      const std::string_view text = trim(raw.lines[i].first);
      if (text.empty()) continue;
      const std::size_t eq = text.find('=');
      if (eq == std::string_view::npos) {
        fail_invalid(where(path, raw.lines[i].second) + ": expected 'key = value' inside the block of key '" + key +
                     "' in [" + section + "]");
      }
      out.block[std::string(trim(text.substr(0, eq)))] = std::string(trim(text.substr(eq + 1)));
    }
  } else {
    out.value = std::move(joined);
  }
  return out;
}

// POSIX shlex.split (comments off), which botocore applies to "[profile NAME]" headers. Returns nullopt
// where shlex raises ValueError (unbalanced quote, trailing backslash): botocore then ignores the section.
std::optional<std::vector<std::string>> shlex_split(std::string_view s) {
  std::vector<std::string> parts;
  std::string current;
  bool in_word = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\'' || c == '"') {
      in_word = true;
      const char quote = c;
      for (++i;; ++i) {
        if (i >= s.size()) return std::nullopt;
        if (s[i] == quote) break;
        if (quote == '"' && s[i] == '\\' && i + 1 < s.size() &&
            (s[i + 1] == '\\' || s[i + 1] == '"' || s[i + 1] == '$' || s[i + 1] == '`' || s[i + 1] == '\n')) {
          ++i;
        }
        current += s[i];
      }
    } else if (c == '\\') {
      if (i + 1 >= s.size()) return std::nullopt;
      in_word = true;
      current += s[++i];
    } else if (is_space(c)) {
      if (in_word) parts.push_back(std::move(current));
      current.clear();
      in_word = false;
    } else {
      in_word = true;
      current += c;
    }
  }
  if (in_word) parts.push_back(std::move(current));
  return parts;
}

// "[profile NAME]", "[services NAME]": the NAME when the header has exactly that shape (botocore
// `_parse_section`), for headers starting with `kind`.
std::optional<std::string> prefixed_section_name(const std::string& header, std::string_view kind) {
  if (header.compare(0, kind.size(), kind) != 0) return std::nullopt;
  auto parts = shlex_split(header);
  if (!parts || parts->size() != 2) return std::nullopt;
  return (*parts)[1];
}

// ---- Files ----

enum class FileState { kLoaded, kMissing, kUnreadable, kNoHome };

struct AwsFile {
  std::string kind;     // "config file", "shared credentials file"
  std::string path;     // as opened
  std::string display;  // "~/.aws/config" when under $HOME
  FileState state = FileState::kMissing;
  std::string unreadable_reason;
  std::vector<detail::IniSection> sections;

  std::string label() const { return kind + " " + display; }
  std::string state_text() const {
    switch (state) {
      case FileState::kLoaded: return "";
      case FileState::kMissing: return " (not found)";
      case FileState::kUnreadable: return " (unreadable: " + unreadable_reason + ")";
      case FileState::kNoHome: return " (not searched: no home directory)";
    }
    return "";
  }
};

std::optional<std::string> env_value(const Environment& env, const char* name) {
  if (!env.get) return std::nullopt;
  auto value = env.get(name);
  if (!value || value->empty()) return std::nullopt;
  return value;
}

AwsFile load_file(const Environment& env, std::string kind, const char* override_var, const char* default_rel) {
  AwsFile file;
  file.kind = std::move(kind);
  if (auto value = env_value(env, override_var)) {
    file.path = *value;
    if ((file.path == "~" || file.path.rfind("~/", 0) == 0) && !env.home.empty()) {
      file.path = env.home + file.path.substr(1);
    }
  } else if (env.home.empty()) {
    file.display = std::string("~/") + default_rel;
    file.state = FileState::kNoHome;
    return file;
  } else {
    file.path = env.home + "/" + default_rel;
  }
  file.display = file.path;
  if (!env.home.empty() && file.path.size() > env.home.size() + 1 && file.path.rfind(env.home + "/", 0) == 0) {
    file.display = "~" + file.path.substr(env.home.size());
  }
  // botocore: a path that is not a regular file is "not found"; one configparser cannot open is skipped.
  struct stat info {};
  if (::stat(file.path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
    file.state = FileState::kMissing;
    return file;
  }
  std::FILE* handle = std::fopen(file.path.c_str(), "rb");
  if (handle == nullptr) {
    file.state = FileState::kUnreadable;
    file.unreadable_reason = std::error_code(errno, std::generic_category()).message();
    return file;
  }
  std::string text;
  char buffer[8192];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, handle)) > 0) text.append(buffer, got);
  const bool failed = std::ferror(handle) != 0;
  std::fclose(handle);
  if (failed) {
    file.state = FileState::kUnreadable;
    file.unreadable_reason = "read error";
    return file;
  }
  file.sections = detail::parse_aws_ini(text, file.display);
  file.state = FileState::kLoaded;
  return file;
}

const detail::IniSection* find_section(const AwsFile& file, const std::string& name) {
  for (const auto& section : file.sections) {
    if (section.name == name) return &section;
  }
  return nullptr;
}

// The config file's section for `profile`: "[default]" or "[profile NAME]"; the later one in the file wins
// when both spell the same profile (botocore's build_profile_map overwrites in file order).
const detail::IniSection* find_config_profile(const AwsFile& file, const std::string& profile) {
  const detail::IniSection* found = nullptr;
  for (const auto& section : file.sections) {
    if (section.name == "default") {
      if (profile == "default") found = &section;
    } else if (auto name = prefixed_section_name(section.name, "profile"); name && *name == profile) {
      found = &section;
    }
  }
  return found;
}

const detail::IniSection* find_services_section(const AwsFile& file, const std::string& name) {
  const detail::IniSection* found = nullptr;
  for (const auto& section : file.sections) {
    if (auto services = prefixed_section_name(section.name, "services"); services && *services == name) {
      found = &section;
    }
  }
  return found;
}

// A setting with the place it came from, for `*_source` fields and error messages.
struct Located {
  detail::IniSetting setting;
  std::string origin;  // "config file ~/.aws/config [profile prod]"
  std::string display_path;
  std::string key;
  std::string at() const { return where(display_path, setting.line) + " (" + origin + ", key '" + key + "')"; }
};

// The profile as botocore's Session.full_config sees it: the config file's section overlaid by the
// shared credentials file's section of the same name.
struct Profile {
  std::string name;
  const AwsFile* config = nullptr;
  const AwsFile* credentials = nullptr;
  const detail::IniSection* config_section = nullptr;
  const detail::IniSection* credentials_section = nullptr;

  std::optional<Located> find(const std::string& key) const {
    if (credentials_section != nullptr) {
      if (auto it = credentials_section->settings.find(key); it != credentials_section->settings.end()) {
        return Located{it->second, credentials->label() + " [" + credentials_section->name + "]",
                       credentials->display, key};
      }
    }
    if (config_section != nullptr) {
      if (auto it = config_section->settings.find(key); it != config_section->settings.end()) {
        return Located{it->second, config->label() + " [" + config_section->name + "]", config->display, key};
      }
    }
    return std::nullopt;
  }
  // A plain (non-block) non-empty value.
  std::optional<Located> find_value(const std::string& key) const {
    auto found = find(key);
    if (!found || found->setting.is_block || found->setting.value.empty()) return std::nullopt;
    return found;
  }
};

// ---- Presets ----

struct Preset {
  std::string_view name;
  std::string_view endpoint;
  std::string_view access_key_id;
  std::string_view secret_access_key;
  bool path_style;
  std::string_view region;
};

constexpr Preset kPresets[] = {
    {"aws", "", "", "", false, ""},
    {"localstack", "http://localhost:4566", "test", "test", true, "us-east-1"},
    {"minio", "http://localhost:9000", "minioadmin", "minioadmin", true, "us-east-1"},
};

const Preset* find_preset(const std::string& requested) {
  if (requested.empty()) return nullptr;
  const std::string name = lower(requested);
  for (const auto& preset : kPresets) {
    if (preset.name == name) return &preset;
  }
  fail_invalid("unknown S3 preset '" + requested + "' (expected aws, localstack or minio)");
}

// ---- Credentials ----

Credentials credentials_from_section(const AwsFile& file, const detail::IniSection& section, const Profile& profile,
                                     const std::string& origin) {
  const auto& settings = section.settings;
  const auto& key_id = settings.at("aws_access_key_id");
  const std::string context = " (" + origin + ", profile '" + profile.name + "')";
  if (key_id.is_block || key_id.value.empty()) {
    fail_invalid(where(file.display, key_id.line) + context + ": aws_access_key_id is empty");
  }
  auto secret = settings.find("aws_secret_access_key");
  if (secret == settings.end()) {
    fail_invalid(where(file.display, section.line) + context +
                 ": aws_access_key_id is set but aws_secret_access_key is missing");
  }
  if (secret->second.is_block || secret->second.value.empty()) {
    fail_invalid(where(file.display, secret->second.line) + context + ": aws_secret_access_key is empty");
  }
  Credentials out{key_id.value, secret->second.value, ""};
  // aws_session_token is the SDK standard; botocore still reads the legacy aws_security_token.
  for (const char* token_key : {"aws_session_token", "aws_security_token"}) {
    auto token = settings.find(token_key);
    if (token != settings.end() && !token->second.is_block && !token->second.value.empty()) {
      out.session_token = token->second.value;
      break;
    }
  }
  return out;
}

void resolve_credentials(const S3SettingsOverrides& overrides, const Environment& env, const Profile& profile,
                         bool profile_is_explicit, const Preset* preset, S3Settings& out) {
  if (overrides.credentials &&
      !(overrides.credentials->access_key_id.empty() && overrides.credentials->secret_access_key.empty())) {
    if (overrides.credentials->access_key_id.empty() || overrides.credentials->secret_access_key.empty()) {
      fail_invalid("explicit credentials need both an access key id and a secret access key");
    }
    out.credentials = *overrides.credentials;
    out.credentials_source = "explicit";
    return;
  }
  std::string searched = "explicit configuration (none)";
  // botocore: an explicitly chosen profile disables the environment provider.
  if (profile_is_explicit) {
    searched += ", environment variables (skipped: profile chosen explicitly)";
  } else if (auto key_id = env_value(env, "AWS_ACCESS_KEY_ID")) {
    auto secret = env_value(env, "AWS_SECRET_ACCESS_KEY");
    if (!secret) fail_invalid("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is missing or empty");
    auto token = env_value(env, "AWS_SESSION_TOKEN");
    if (!token) token = env_value(env, "AWS_SECURITY_TOKEN");
    out.credentials = Credentials{*key_id, *secret, token.value_or("")};
    out.credentials_source = "environment";
    return;
  } else {
    searched += ", environment variables AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (unset)";
  }

  const auto try_section = [&](const AwsFile& file, const detail::IniSection* section) -> bool {
    searched += ", " + file.label();
    if (file.state != FileState::kLoaded) {
      searched += file.state_text();
      return false;
    }
    if (section == nullptr) {
      searched += " (no section for profile '" + profile.name + "')";
      return false;
    }
    if (section->settings.find("aws_access_key_id") == section->settings.end()) {
      searched += " [" + section->name + "] (no aws_access_key_id)";
      return false;
    }
    const std::string origin = file.label() + " [" + section->name + "]";
    out.credentials = credentials_from_section(file, *section, profile, origin);
    out.credentials_source = origin;
    return true;
  };
  // The shared credentials file names sections "[NAME]" (no "profile " prefix), looked up literally.
  if (try_section(*profile.credentials, profile.credentials_section)) return;
  if (try_section(*profile.config, profile.config_section)) return;

  if (preset != nullptr && !preset->access_key_id.empty()) {
    out.credentials = Credentials{std::string(preset->access_key_id), std::string(preset->secret_access_key), ""};
    out.credentials_source = "preset " + std::string(preset->name);
    return;
  }
  searched += preset != nullptr ? ", preset " + std::string(preset->name) + " (no default keys)" : ", preset (none)";
  throw std::runtime_error("no AWS credentials found for profile '" + profile.name + "'; looked in: " + searched);
}

// ---- Region ----

// botocore validate_region_name: the region becomes part of host names and the signing scope.
bool valid_region(const std::string& region) {
  if (region.empty() || region.size() > 63) return false;
  for (std::size_t i = 0; i < region.size(); ++i) {
    const char c = region[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && !(c == '-' && i != 0 && i + 1 != region.size())) return false;
  }
  return true;
}

void resolve_region(const S3SettingsOverrides& overrides, const Environment& env, const Profile& profile,
                    const Preset* preset, S3Settings& out) {
  std::string at;
  if (overrides.region && !overrides.region->empty()) {
    out.region = *overrides.region;
    out.region_source = "explicit";
  } else if (auto region = env_value(env, "AWS_REGION")) {
    out.region = *region;
    out.region_source = "AWS_REGION";
  } else if (auto default_region = env_value(env, "AWS_DEFAULT_REGION")) {
    out.region = *default_region;
    out.region_source = "AWS_DEFAULT_REGION";
  } else if (auto located = profile.find_value("region")) {
    out.region = located->setting.value;
    out.region_source = located->origin;
    at = located->at();
  } else if (preset != nullptr && !preset->region.empty()) {
    out.region = std::string(preset->region);
    out.region_source = "preset " + std::string(preset->name);
  } else {
    out.region = std::string(kDefaultRegion);
    out.region_source = "default";
  }
  if (!valid_region(out.region)) {
    fail_invalid("invalid region '" + out.region + "' from " + (at.empty() ? out.region_source : at) +
                 ": expected letters, digits and inner '-' (e.g. us-east-1)");
  }
}

// ---- Endpoint ----

bool is_true(const std::string& value) { return lower(trim(value)) == "true"; }

void resolve_endpoint(const S3SettingsOverrides& overrides, const Environment& env, const Profile& profile,
                      const Preset* preset, S3Settings& out) {
  std::string at;
  bool ignore_configured = false;
  if (auto flag = env_value(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) {
    ignore_configured = is_true(*flag);
  } else if (auto located = profile.find_value("ignore_configured_endpoint_urls")) {
    ignore_configured = is_true(located->setting.value);
  }

  const auto from_services = [&]() -> std::optional<Located> {
    auto reference = profile.find_value("services");
    if (!reference) return std::nullopt;
    const std::string& name = reference->setting.value;
    const detail::IniSection* services =
        profile.config->state == FileState::kLoaded ? find_services_section(*profile.config, name) : nullptr;
    if (services == nullptr) {
      fail_invalid(reference->at() + ": profile '" + profile.name + "' uses services section '" + name +
                   "' but " + profile.config->label() + " has no [services " + name + "] section");
    }
    auto s3 = services->settings.find("s3");
    if (s3 == services->settings.end()) return std::nullopt;
    if (!s3->second.is_block) {
      fail_invalid(where(profile.config->display, s3->second.line) + " ([services " + name +
                   "], key 's3'): expected an indented block of 'key = value' lines");
    }
    auto url = s3->second.block.find("endpoint_url");
    if (url == s3->second.block.end() || url->second.empty()) return std::nullopt;
    return Located{detail::IniSetting{url->second, false, {}, s3->second.line}, profile.config->label() + " [" + services->name + "] s3", profile.config->display,
                   "s3.endpoint_url"};
  };

  if (overrides.endpoint_url && !overrides.endpoint_url->empty()) {
    out.endpoint_url = *overrides.endpoint_url;
    out.endpoint_source = "explicit";
  } else if (auto service_env = !ignore_configured ? env_value(env, "AWS_ENDPOINT_URL_S3") : std::nullopt) {
    out.endpoint_url = *service_env;
    out.endpoint_source = "AWS_ENDPOINT_URL_S3";
  } else if (auto global_env = !ignore_configured ? env_value(env, "AWS_ENDPOINT_URL") : std::nullopt) {
    out.endpoint_url = *global_env;
    out.endpoint_source = "AWS_ENDPOINT_URL";
  } else if (auto service_config = !ignore_configured ? from_services() : std::nullopt) {
    out.endpoint_url = service_config->setting.value;
    out.endpoint_source = service_config->origin;
    at = service_config->at();
  } else if (auto global_config = !ignore_configured ? profile.find_value("endpoint_url") : std::nullopt) {
    out.endpoint_url = global_config->setting.value;
    out.endpoint_source = global_config->origin;
    at = global_config->at();
  } else if (preset != nullptr && !preset->endpoint.empty()) {
    out.endpoint_url = std::string(preset->endpoint);
    out.endpoint_source = "preset " + std::string(preset->name);
  } else {
    out.endpoint_url.clear();
    out.endpoint_source = "default";
  }
  if (!out.endpoint_url.empty()) {
    try {
      (void)parse_endpoint(out.endpoint_url);
    } catch (const std::invalid_argument& error) {
      fail_invalid(std::string(error.what()) + " (from " + (at.empty() ? out.endpoint_source : at) + ")");
    }
  }
}

void resolve_path_style(const S3SettingsOverrides& overrides, const Profile& profile, const Preset* preset,
                        S3Settings& out) {
  if (overrides.path_style) {
    out.path_style = *overrides.path_style;
    return;
  }
  if (preset != nullptr && preset->path_style) {
    out.path_style = true;
    return;
  }
  // botocore's profile setting: s3 =\n  addressing_style = path | virtual | auto.
  if (auto s3 = profile.find("s3"); s3 && s3->setting.is_block) {
    auto style = s3->setting.block.find("addressing_style");
    if (style != s3->setting.block.end()) {
      const std::string value = lower(style->second);
      if (value == "path" || value == "virtual") {
        out.path_style = value == "path";
        return;
      }
    }
  }
  if (!out.endpoint_url.empty()) {
    const ParsedEndpoint endpoint = parse_endpoint(out.endpoint_url);
    out.path_style = endpoint.host_is_ip_literal() || endpoint.host == "localhost";
    return;
  }
  out.path_style = false;
}

// "http://user:pass@host/x" -> "http://***@host/x": URL user-info may be a secret.
std::string mask_user_info(const std::string& url) {
  const std::size_t scheme_end = url.find("://");
  const std::size_t start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  const std::size_t end = url.find_first_of("/?#", start);
  const std::size_t at = url.rfind('@', end == std::string::npos ? std::string::npos : end);
  if (at == std::string::npos || at < start) return url;
  return url.substr(0, start) + "***" + url.substr(at);
}

}  // namespace

// ---- detail::parse_aws_ini ----

namespace detail {

std::vector<IniSection> parse_aws_ini(std::string_view text, const std::string& path) {
  std::vector<RawSection> sections;
  RawSection defaults;
  std::set<std::pair<std::string, std::string>> seen_keys;
  RawSection* current = nullptr;
  RawSetting* option = nullptr;
  std::size_t indent_level = 0;
  int line_number = 0;

  std::size_t pos = 0;
  while (pos <= text.size()) {
    if (pos == text.size()) break;
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

    const std::string_view value = trim(line);
    if (!value.empty() && (value.front() == '#' || value.front() == ';')) continue;  // full-line comment
    if (value.empty()) {
      // configparser keeps blank lines inside a multi-line value (trimmed again when joined).
      if (option != nullptr) option->lines.emplace_back("", line_number);
      continue;
    }
    std::size_t indent = 0;
    while (indent < line.size() && is_space(line[indent])) ++indent;
    if (current != nullptr && option != nullptr && indent > indent_level) {
      option->lines.emplace_back(std::string(value), line_number);
      continue;
    }
    indent_level = indent;
    const std::size_t close = value.rfind(']');
    if (value.front() == '[' && close != std::string_view::npos && close >= 2) {
      std::string name(value.substr(1, close - 1));
      option = nullptr;
      if (name == "DEFAULT") {
        current = &defaults;
        current->name = name;
        continue;
      }
      for (const auto& existing : sections) {
        if (existing.name == name) {
          fail_invalid(where(path, line_number) + ": duplicate section [" + name + "] (first at line " +
                       std::to_string(existing.line) + ")");
        }
      }
      sections.push_back(RawSection{name, line_number, {}});
      current = &sections.back();
      continue;
    }
    if (current == nullptr) {
      fail_invalid(where(path, line_number) + ": a setting before the first [section] header");
    }
    const std::size_t delimiter = value.find_first_of("=:");
    if (delimiter == std::string_view::npos) {
      // Never quote the line: in a credentials file it may be a secret missing its '='.
      fail_invalid(where(path, line_number) + " in [" + current->name + "]: expected 'key = value'");
    }
    std::string key = lower(trim(value.substr(0, delimiter)));
    if (key.empty()) fail_invalid(where(path, line_number) + " in [" + current->name + "]: empty key");
    if (!seen_keys.emplace(current->name, key).second) {
      fail_invalid(where(path, line_number) + ": duplicate key '" + key + "' in [" + current->name + "]");
    }
    current->settings.emplace_back(key, RawSetting{{{std::string(trim(value.substr(delimiter + 1))), line_number}},
                                                   line_number});
    option = &current->settings.back().second;
  }

  std::vector<IniSection> out;
  out.reserve(sections.size());
  for (auto& raw : sections) {
    IniSection section{raw.name, raw.line, {}};
    for (const auto& [key, setting] : raw.settings) {
      section.settings.emplace(key, finish_setting(setting, key, raw.name, path));
    }
    // [DEFAULT] keys are inherited by every section that does not set them (configparser).
    for (const auto& [key, setting] : defaults.settings) {
      if (section.settings.find(key) == section.settings.end()) {
        section.settings.emplace(key, finish_setting(setting, key, "DEFAULT", path));
      }
    }
    out.push_back(std::move(section));
  }
  return out;
}

}  // namespace detail

// ---- Public API ----

Environment Environment::process() {
  Environment env;
  env.get = [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    env.home = home;
  } else {
    struct passwd entry {};
    struct passwd* result = nullptr;
    char buffer[4096];
    if (::getpwuid_r(::getuid(), &entry, buffer, sizeof buffer, &result) == 0 && result != nullptr &&
        result->pw_dir != nullptr) {
      env.home = result->pw_dir;
    }
  }
  return env;
}

S3Settings resolve_s3_settings(const S3SettingsOverrides& overrides, const Environment& env) {
  const Preset* preset = find_preset(overrides.preset);
  S3Settings out;

  bool profile_is_explicit = false;
  std::string profile_from;
  if (overrides.profile && !overrides.profile->empty()) {
    out.profile = *overrides.profile;
    profile_is_explicit = true;
    profile_from = "explicit";
  } else if (auto profile = env_value(env, "AWS_PROFILE")) {
    out.profile = *profile;
    profile_from = "AWS_PROFILE";
  } else if (auto default_profile = env_value(env, "AWS_DEFAULT_PROFILE")) {
    out.profile = *default_profile;
    profile_from = "AWS_DEFAULT_PROFILE";
  } else {
    out.profile = "default";
  }

  const AwsFile config = load_file(env, "config file", "AWS_CONFIG_FILE", ".aws/config");
  const AwsFile credentials = load_file(env, "shared credentials file", "AWS_SHARED_CREDENTIALS_FILE",
                                        ".aws/credentials");
  Profile profile;
  profile.name = out.profile;
  profile.config = &config;
  profile.credentials = &credentials;
  profile.config_section = find_config_profile(config, out.profile);
  profile.credentials_section = find_section(credentials, out.profile);
  // botocore ProfileNotFound: a profile someone named must exist; the implicit "default" may not.
  if (!profile_from.empty() && profile.config_section == nullptr && profile.credentials_section == nullptr) {
    throw std::runtime_error("AWS profile '" + out.profile + "' (from " + profile_from + ") not found in " +
                             config.label() + config.state_text() + " or " + credentials.label() +
                             credentials.state_text());
  }

  resolve_region(overrides, env, profile, preset, out);
  resolve_endpoint(overrides, env, profile, preset, out);
  resolve_path_style(overrides, profile, preset, out);
  if (overrides.ca_bundle && !overrides.ca_bundle->empty()) {
    out.ca_bundle = *overrides.ca_bundle;
  } else if (auto bundle = env_value(env, "AWS_CA_BUNDLE")) {
    out.ca_bundle = *bundle;
  } else if (auto located = profile.find_value("ca_bundle")) {
    out.ca_bundle = located->setting.value;
  }
  // Credentials last: every configuration error above is reported before a missing-key error.
  resolve_credentials(overrides, env, profile, profile_is_explicit, preset, out);
  return out;
}

bool ParsedEndpoint::host_is_ip_literal() const noexcept {
  unsigned char address[16];
  return ::inet_pton(AF_INET, host.c_str(), address) == 1 || ::inet_pton(AF_INET6, host.c_str(), address) == 1;
}

std::string ParsedEndpoint::authority() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (is_tls() ? "443" : "80")) out += ":" + port;
  return out;
}

ParsedEndpoint parse_endpoint(const std::string& url) {
  const std::string shown = mask_user_info(url);
  const auto fail = [&](const std::string& why) { fail_invalid("invalid S3 endpoint '" + shown + "': " + why); };
  ParsedEndpoint out;
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) fail("expected http:// or https:// before the host");
  out.scheme = lower(url.substr(0, scheme_end));
  if (out.scheme != "http" && out.scheme != "https") fail("only http:// and https:// are supported");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) fail("contains whitespace or a control character");
  }
  const std::size_t authority_start = scheme_end + 3;
  const std::size_t authority_end = url.find_first_of("/?#", authority_start);
  const std::string authority =
      url.substr(authority_start, authority_end == std::string::npos ? std::string::npos : authority_end - authority_start);
  if (authority_end != std::string::npos) {
    if (url.find_first_of("?#", authority_end) != std::string::npos) fail("must not contain a query or fragment");
    out.base_path = url.substr(authority_end);
    while (!out.base_path.empty() && out.base_path.back() == '/') out.base_path.pop_back();
  }
  if (authority.find('@') != std::string::npos) fail("must not contain user info (user:password@)");

  std::string port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string::npos) fail("unterminated IPv6 literal");
    out.host = lower(authority.substr(1, close - 1));
    unsigned char address[16];
    if (::inet_pton(AF_INET6, out.host.c_str(), address) != 1) fail("invalid IPv6 address");
    const std::string rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') fail("unexpected text after the IPv6 literal");
      port = rest.substr(1);
    }
  } else {
    const std::size_t colon = authority.find(':');
    if (colon != std::string::npos && authority.find(':', colon + 1) != std::string::npos) {
      fail("IPv6 addresses must be in brackets, e.g. http://[::1]:9000");
    }
    out.host = lower(authority.substr(0, colon));
    if (colon != std::string::npos) port = authority.substr(colon + 1);
    for (char c : out.host) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
      if (!ok) fail("invalid character in host name");
    }
  }
  if (out.host.empty()) fail("missing host");
  if (port.empty()) {
    out.port = out.is_tls() ? "443" : "80";
  } else {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) fail("invalid port");
    const int number = std::stoi(port);
    if (number < 1 || number > 65535) fail("port out of range 1..65535");
    out.port = std::to_string(number);
  }
  return out;
}

std::string effective_endpoint_url(const S3Settings& settings) {
  if (!settings.endpoint_url.empty()) return settings.endpoint_url;
  const bool china = settings.region.rfind("cn-", 0) == 0;
  return "https://s3." + settings.region + ".amazonaws.com" + (china ? ".cn" : "");
}

std::string describe(const S3Settings& settings) {
  std::string out = "s3 region=" + settings.region + " (" + settings.region_source + ")";
  out += " endpoint=" + mask_user_info(effective_endpoint_url(settings)) + " (" +
         (settings.endpoint_source.empty() ? "default" : settings.endpoint_source) + ")";
  out += settings.path_style ? " addressing=path-style" : " addressing=virtual-hosted";
  out += " credentials=" + (settings.credentials_source.empty() ? std::string("none") : settings.credentials_source);
  out += " access_key_id=" + redact_access_key(settings.credentials.access_key_id);
  out += settings.credentials.session_token.empty() ? " session_token=none" : " session_token=present";
  out += " profile=" + settings.profile;
  out += " ca_bundle=" + (settings.ca_bundle.empty() ? std::string("system") : settings.ca_bundle);
  return out;
}

}  // namespace trailkit::s3
