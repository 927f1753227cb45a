// `trailkit lookup`: LookupEvents over the local event history (<state_dir>/history.sqlite3), with
// the flags and the output of `aws cloudtrail lookup-events` (awscli v1), so a command can move
// between the two unchanged:
//   - --lookup-attributes takes the CLI shorthand (AttributeKey=K,AttributeValue=V; values may be
//     quoted) or the JSON list; several are accepted here and refused by LookupEvents, as on AWS.
//   - --start-time / --end-time take what botocore takes: epoch seconds (fractions dropped) or ISO
//     8601 (date only, local time without zone = UTC, Z or a ±HH:MM offset that is converted).
//   - Without --max-results / --next-token the command follows NextToken and prints every page
//     merged as {"Events":[...]} (--page-size sets the page size); with either it makes one call
//     and prints that page with its NextToken — awscli's automatic pagination and its off switch.
//   - Output: the response as the CLI prints it (indent 4, the model's member order, EventTime as
//     on the wire). A LookupEvents error prints "An error occurred (<Code>) when calling the
//     LookupEvents operation: <message>" on stderr and exits 255, as awscli v1 does; bad flags exit 2.

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <vector>

#include "api/lookup_operations.hpp"
#include "cli/commands.hpp"
#include "digest/state_files.hpp"
#include "trailkit/clock.hpp"
#include "trailkit/history.hpp"
#include "validate/validator.hpp"

namespace trailkit::cli {
namespace {

// awscli v1's exit code for a service error (ClientError); see awscli/clidriver.py.
constexpr int kExitServiceError = 255;

struct LookupArguments {
  std::string state_dir = ".trailkit";
  std::vector<std::string> lookup_attributes;
  std::string start_time;
  std::string end_time;
  std::string event_category;
  int max_results = 0;
  std::string next_token;
  int page_size = 0;
  bool has_max_results = false;
  bool has_next_token = false;
  bool has_page_size = false;
  bool has_event_category = false;
};

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---- --lookup-attributes ----

// One shorthand structure: Key=Value pairs separated by commas; a value may be quoted ('...' or
// "..." with backslash escapes), as botocore's ShorthandParser allows.
LookupRequest::Attribute parse_shorthand(std::string_view text) {
  LookupRequest::Attribute attribute;
  bool have_key = false, have_value = false;
  std::size_t at = 0;
  auto skip_spaces = [&] {
    while (at < text.size() && text[at] == ' ') ++at;
  };
  while (at < text.size()) {
    skip_spaces();
    const std::size_t equals = text.find('=', at);
    if (equals == std::string_view::npos) throw UsageError("expected KEY=VALUE at '" + std::string(text.substr(at)) + "'");
    std::string_view key = text.substr(at, equals - at);
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    at = equals + 1;
    skip_spaces();
    std::string value;
    if (at < text.size() && (text[at] == '"' || text[at] == '\'')) {
      const char quote = text[at++];
      bool closed = false;
      while (at < text.size()) {
        const char c = text[at++];
        if (c == quote) {
          closed = true;
          break;
        }
        if (c == '\\' && quote == '"' && at < text.size()) {
          value += text[at++];
        } else {
          value += c;
        }
      }
      if (!closed) throw UsageError("unterminated quote in '" + std::string(text) + "'");
      skip_spaces();
      if (at < text.size() && text[at] != ',') throw UsageError("expected ',' after a quoted value in '" + std::string(text) + "'");
    } else {
      const std::size_t comma = text.find(',', at);
      value = std::string(text.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at));
      while (!value.empty() && value.back() == ' ') value.pop_back();
      at = comma == std::string_view::npos ? text.size() : comma;
    }
    if (at < text.size()) ++at;  // the ','
    if (key == "AttributeKey") {
      attribute.key = std::move(value);
      have_key = true;
    } else if (key == "AttributeValue") {
      attribute.value = std::move(value);
      have_value = true;
    } else {
      throw UsageError("Unknown key '" + std::string(key) + "', valid choices: AttributeKey, AttributeValue");
    }
  }
  if (!have_key || !have_value)
    throw UsageError("missing required key '" + std::string(have_key ? "AttributeValue" : "AttributeKey") + "'");
  return attribute;
}

LookupRequest::Attribute attribute_from_json(const nlohmann::json& item) {
  if (!item.is_object()) throw UsageError("each lookup attribute must be an object");
  LookupRequest::Attribute attribute;
  for (const auto& [key, value] : item.items()) {
    if (!value.is_string()) throw UsageError(key + " must be a string");
    if (key == "AttributeKey") attribute.key = value.get<std::string>();
    else if (key == "AttributeValue") attribute.value = value.get<std::string>();
    else throw UsageError("Unknown parameter \"" + key + "\", must be one of: AttributeKey, AttributeValue");
  }
  if (!item.contains("AttributeKey") || !item.contains("AttributeValue"))
    throw UsageError("Missing required parameter: \"AttributeKey\" and \"AttributeValue\"");
  return attribute;
}

std::vector<LookupRequest::Attribute> parse_attributes(const std::vector<std::string>& arguments) {
  std::vector<LookupRequest::Attribute> attributes;
  for (const std::string& argument : arguments) {
    try {
      const std::size_t first = argument.find_first_not_of(' ');
      if (first != std::string::npos && (argument[first] == '[' || argument[first] == '{')) {
        const nlohmann::json parsed = nlohmann::json::parse(argument, nullptr, false);
        if (parsed.is_discarded()) throw UsageError("Invalid JSON: " + argument);
        if (parsed.is_array()) {
          for (const nlohmann::json& item : parsed) attributes.push_back(attribute_from_json(item));
        } else {
          attributes.push_back(attribute_from_json(parsed));
        }
      } else {
        attributes.push_back(parse_shorthand(argument));
      }
    } catch (const UsageError& error) {
      throw UsageError("Error parsing parameter '--lookup-attributes': " + std::string(error.what()));
    }
  }
  return attributes;
}

// ---- --start-time / --end-time (botocore's parse_to_aware_datetime) ----

std::optional<std::int64_t> parse_time(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  // Anything float() reads is epoch seconds; the serializer truncates to whole seconds (floor).
  {
    const std::string copy(text);
    char* end = nullptr;
    const double value = std::strtod(copy.c_str(), &end);
    if (end == copy.c_str() + copy.size()) {
      if (!std::isfinite(value) || std::fabs(value) > 1e15) return std::nullopt;
      return static_cast<std::int64_t>(std::floor(value));
    }
  }
  // An offset after the time of day is converted to UTC (dateutil + astimezone), unlike
  // validate-logs' parse_time_text, which ignores it; so strip and apply it here.
  std::int64_t offset = 0;
  const std::size_t time_at = text.find_first_of("Tt ", 8);
  if (time_at != std::string_view::npos) {
    const std::size_t sign_at = text.find_last_of("+-");
    if (sign_at != std::string_view::npos && sign_at > time_at) {
      std::string_view zone = text.substr(sign_at + 1);
      int digits[4] = {0, 0, 0, 0};
      int count = 0;
      for (const char c : zone) {
        if (c == ':' && count == 2) continue;
        if (c < '0' || c > '9' || count == 4) return std::nullopt;
        digits[count++] = c - '0';
      }
      if (count != 2 && count != 4) return std::nullopt;
      const int hours = digits[0] * 10 + digits[1], minutes = digits[2] * 10 + digits[3];
      if (hours > 23 || minutes > 59) return std::nullopt;
      offset = (text[sign_at] == '-' ? -1 : 1) * (hours * 3600 + minutes * 60);
      text = text.substr(0, sign_at);
    }
  }
  // Digits only here are a compact date (20261121), not epoch seconds (handled above).
  if (text.find_first_not_of("0123456789") == std::string_view::npos && text.size() != 8) return std::nullopt;
  const std::optional<std::int64_t> local = detail::parse_time_text(text);
  if (!local) return std::nullopt;
  return *local - offset;
}

// ---- running ----

void print_json(const nlohmann::ordered_json& body) {
  // json.dump(indent=4, ensure_ascii=False) as awscli's JSONFormatter, then a newline.
  std::cout << body.dump(4, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
}

bool file_exists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

int run_lookup(const LookupArguments& args) {
  auto usage = [](const std::string& message) {
    std::cerr << "trailkit lookup: " << message << '\n';
    return kExitUsage;
  };
  LookupRequest request;
  try {
    request.attributes = parse_attributes(args.lookup_attributes);
  } catch (const UsageError& error) {
    return usage(error.what());
  }
  for (const auto& [value, target] : {std::pair{&args.start_time, &request.start_time}, std::pair{&args.end_time, &request.end_time}}) {
    if (value->empty()) continue;
    *target = parse_time(*value);
    if (!*target) return usage("Unable to parse date value: " + *value);
  }
  if (args.has_event_category) request.event_category = args.event_category;
  const bool paginate = !args.has_max_results && !args.has_next_token;
  if (!paginate && args.has_page_size)
    return usage("Cannot specify --no-paginate along with pagination arguments: --page-size");
  if (args.has_max_results) request.max_results = args.max_results;
  if (args.has_page_size) request.max_results = args.page_size;
  request.next_token = args.next_token;

  const std::string path = detail::history_database_path(args.state_dir);
  if (!file_exists(path)) {
    std::cerr << "trailkit lookup: no event history at " << path
              << " (the recorder creates it; check --state-dir)\n";
    return kExitFailure;
  }
  try {
    SqliteHistoryOptions options;
    options.path = path;
    const std::unique_ptr<EventHistory> history = open_sqlite_history(options);
    const std::int64_t now = system_clock()->wall_now_seconds();
    LookupResult result = history->lookup(request, now);
    if (paginate) {
      // Follow NextToken to the end and merge, as botocore's paginator does for the CLI.
      while (!result.next_token.empty()) {
        request.next_token = result.next_token;
        LookupResult page = history->lookup(request, now);
        for (LookupEvent& event : page.events) result.events.push_back(std::move(event));
        result.next_token = std::move(page.next_token);
      }
    }
    print_json(api::lookup_response_json(result));
    return kExitOk;
  } catch (const LookupError& error) {
    std::cerr << "\nAn error occurred (" << error.code() << ") when calling the LookupEvents operation: " << error.what()
              << '\n';
    return kExitServiceError;
  } catch (const std::exception& error) {
    std::cerr << "trailkit lookup: " << error.what() << '\n';
    return kExitFailure;
  }
}

}  // namespace

void add_lookup_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<LookupArguments>();
  CLI::App* command = app.add_subcommand(
      "lookup",
      "Look up recorded management events (and Insights events) in the local event history, with the flags "
      "and JSON output of `aws cloudtrail lookup-events`. Follows NextToken and prints all pages unless "
      "--max-results or --next-token is given. Exit codes: 0 ok, 1 no history / storage error, 2 bad flags, "
      "255 a LookupEvents error (InvalidLookupAttributesException, ...), as the aws CLI.");
  command->add_option("--state-dir", args->state_dir, "State directory of the recorder (history.sqlite3)")
      ->capture_default_str();
  // One value per flag as CLI11 sees it: its multi-value mode would split a JSON list "[{..},{..}]"
  // at the commas. Further values (`--lookup-attributes A B`, as the aws CLI takes them) arrive as
  // extras and are added in the callback.
  command
      ->add_option("--lookup-attributes", args->lookup_attributes,
                   "AttributeKey=K,AttributeValue=V (K: EventId, EventName, ReadOnly, Username, ResourceType, "
                   "ResourceName, EventSource, AccessKeyId); at most one; or the JSON list")
      ->allow_extra_args(false);
  command->allow_extras();
  command->add_option("--start-time", args->start_time,
                      "Events at or after this time: ISO 8601 (2026-11-21T10:00:00Z, 2026-11-21) or epoch seconds");
  command->add_option("--end-time", args->end_time, "Events at or before this time (same formats)");
  CLI::Option* category = command->add_option("--event-category", args->event_category,
                                               "'insight' to look up Insights events instead of management events");
  CLI::Option* max_results =
      command->add_option("--max-results", args->max_results, "Events per page, 1-50; prints one page with its NextToken");
  CLI::Option* next_token =
      command->add_option("--next-token", args->next_token, "Resume a listing (the NextToken of the previous page)");
  CLI::Option* page_size =
      command->add_option("--page-size", args->page_size, "Page size while following NextToken (1-50; default 50)");
  command->callback([command, args, category, max_results, next_token, page_size, &exit_code] {
    for (const std::string& extra : command->remaining()) {
      if (extra.rfind("-", 0) == 0) {
        std::cerr << "trailkit lookup: unknown option " << extra << " (see --help)\n";
        exit_code = kExitUsage;
        return;
      }
      args->lookup_attributes.push_back(extra);
    }
    args->has_event_category = category->count() > 0;
    args->has_max_results = max_results->count() > 0;
    args->has_next_token = next_token->count() > 0;
    args->has_page_size = page_size->count() > 0;
    exit_code = run_lookup(*args);
  });
}

}  // namespace trailkit::cli
