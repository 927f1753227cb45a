// `trailkit lookup`: LookupEvents over the local event history (<state_dir>/history.sqlite3), with
// the flags and the output of `aws cloudtrail lookup-events` (awscli v1), so a command can move
// between the two unchanged:
//   - --lookup-attributes takes the CLI shorthand (AttributeKey=K,AttributeValue=V; values may be
//     quoted) or the JSON list; several are accepted here and refused by LookupEvents, as on AWS.
//   - --start-time / --end-time take what botocore takes: epoch seconds (fractions dropped) or ISO
//     8601 (date only, local time without zone = UTC, Z or a ±HH:MM offset that is converted).
//   - Without --max-results / --next-token the command paginates as botocore's PageIterator does
//     for the CLI: it follows NextToken and prints the pages merged as {"Events":[...]}; --page-size
//     is the MaxResults of each call, --max-items N stops after N events and then prints a top-level
//     "NextToken" after Events that is botocore's *pagination* token, base64 of json.dumps of
//     {"NextToken": <service token or null>} plus "boto_truncate_amount": <events of that page
//     already printed> when the cut is mid-page; --starting-token resumes from such a token (or,
//     as botocore's fallback, from a raw service NextToken or "<token>___<skip>"). A token the
//     service did not issue is its InvalidNextTokenException, exactly as with the aws CLI.
//   - --max-results or --next-token turn pagination off (one call, that page with the service's
//     NextToken); combining them with a non-empty --starting-token / non-zero --page-size /
//     --max-items is awscli's "Error during pagination: Cannot specify --no-paginate along with
//     pagination arguments: ..." (exit 255); a zero/empty one is its "Parameter validation failed"
//     on PaginationConfig (exit 255). --max-items <= 0 prints awscli's "undefined behavior" warning
//     and then does what botocore does (Python slicing: negative counts from the end).
//   - Output: the response as the CLI prints it (indent 4, the model's member order, EventTime as
//     on the wire). A LookupEvents error prints "An error occurred (<Code>) when calling the
//     LookupEvents operation: <message>" on stderr and exits 255, as awscli v1 does, as do the
//     pagination errors above and a malformed --starting-token ("Bad starting token: ...", plus
//     a line naming the flag); CLI11 parse errors (a non-integer --max-items) exit 2.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/stat.h>
#include <vector>

#include "api/lookup_operations.hpp"
#include "cli/commands.hpp"
#include "digest/crypto.hpp"
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
  std::int64_t max_items = 0;
  std::string starting_token;
  bool has_max_results = false;
  bool has_next_token = false;
  bool has_page_size = false;
  bool has_max_items = false;
  bool has_starting_token = false;
  bool has_event_category = false;
};

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An error awscli raises in its paginator (PaginationError, "Bad starting token"): printed after a
// blank line and exit 255, as clidriver reports any exception of the operation.
class PaginationFailure : public std::runtime_error {
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

// ---- --starting-token and the resume token (botocore/paginate.py) ----

// Where a listing resumes: the service NextToken of the first page to fetch (nullopt = botocore's
// None: the first page; kept verbatim, even "None", because it is written back into the next
// resume token) and how many events of that page were printed already (boto_truncate_amount).
struct StartingPoint {
  std::optional<std::string> service_token;
  std::int64_t skip = 0;
};

// Bounds a truncate amount so the sums below cannot overflow; no page holds 2^62 events.
constexpr std::int64_t kTruncateLimit = std::int64_t{1} << 62;


// Python's base64.b64decode (binascii.a2b_base64, non-strict): characters outside the alphabet are
// skipped, decoding stops at the padding that completes a quantum, and a partial quantum at the end
// is an error. Matching it decides, as botocore does, which tokens take the JSON path.
std::optional<std::string> python_b64decode(std::string_view text) {
  std::string out;
  int quad_position = 0, pads = 0;
  unsigned left = 0;
  for (const char c : text) {
    if (c == '=') {
      if (quad_position >= 2 && quad_position + ++pads >= 4) return out;
      continue;
    }
    const int digit = detail::base64_value(static_cast<unsigned char>(c));
    if (digit < 0) continue;
    pads = 0;
    const auto value = static_cast<unsigned>(digit);
    switch (quad_position) {
      case 0: left = value; break;
      case 1: out.push_back(static_cast<char>(((left << 2) | (value >> 4)) & 0xFF)); left = value & 0x0F; break;
      case 2: out.push_back(static_cast<char>(((left << 4) | (value >> 2)) & 0xFF)); left = value & 0x03; break;
      default: out.push_back(static_cast<char>(((left << 6) | value) & 0xFF)); left = 0; break;
    }
    quad_position = (quad_position + 1) % 4;
  }
  if (quad_position != 0) return std::nullopt;
  return out;
}

// Python's int() on the "___<n>" suffix of a pre-2016 starting token (surrounding spaces, a sign,
// digits with single underscores between them).
std::optional<std::int64_t> python_int(std::string_view text) {
  constexpr std::string_view kSpaces = " \t\n\r\f\v";
  while (!text.empty() && kSpaces.find(text.front()) != std::string_view::npos) text.remove_prefix(1);
  while (!text.empty() && kSpaces.find(text.back()) != std::string_view::npos) text.remove_suffix(1);
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text.empty() || text.front() == '_' || text.back() == '_' || text.find("__") != std::string_view::npos)
    return std::nullopt;
  std::int64_t value = 0;
  for (const char c : text) {
    if (c == '_') continue;
    if (c < '0' || c > '9') return std::nullopt;
    if (value > (kTruncateLimit - (c - '0')) / 10) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return negative ? -value : value;
}

// PageIterator._parse_starting_token: base64 of a JSON object {"NextToken", "boto_truncate_amount"?};
// anything that does not decode to JSON (or decodes to a list) is the deprecated form, a raw
// service token optionally followed by "___<skip>". Where botocore would fail later with a Python
// error or pass stray keys on to the service (a JSON string, number or object of other shape),
// this refuses the token up front with botocore's "Bad starting token" wording.
StartingPoint parse_starting_token(const std::string& token) {
  const auto bad = [&token] { return PaginationFailure("Bad starting token: " + token); };
  if (const std::optional<std::string> text = python_b64decode(token)) {
    nlohmann::json decoded = nlohmann::json::parse(*text, nullptr, false);
    if (!decoded.is_discarded() && !decoded.is_array()) {
      if (!decoded.is_object() || decoded.contains("boto_encoded_keys")) throw bad();
      StartingPoint point;
      if (const auto at = decoded.find("boto_truncate_amount"); at != decoded.end()) {
        if (!at->is_number_integer()) throw bad();
        if (at->is_number_unsigned() ? at->get<std::uint64_t>() > static_cast<std::uint64_t>(kTruncateLimit)
                                     : at->get<std::int64_t>() < -kTruncateLimit)
          throw bad();
        point.skip = at->get<std::int64_t>();
        decoded.erase(at);
      }
      const auto service = decoded.find("NextToken");
      if (decoded.size() != 1 || service == decoded.end() || !(service->is_string() || service->is_null())) throw bad();
      if (service->is_string()) point.service_token = service->get<std::string>();
      return point;
    }
  }
  std::vector<std::string_view> parts;
  for (std::size_t from = 0;;) {
    const std::size_t cut = token.find("___", from);
    parts.push_back(std::string_view(token).substr(from, cut == std::string::npos ? std::string::npos : cut - from));
    if (cut == std::string::npos) break;
    from = cut + 3;
  }
  StartingPoint point;
  if (parts.size() == 2) {
    const std::optional<std::int64_t> skip = python_int(parts[1]);
    if (skip) point.skip = *skip;
    parts = skip ? std::vector<std::string_view>{parts[0]} : std::vector<std::string_view>{token};
  }
  if (parts.size() > 1) throw bad();
  if (parts[0] != "None") point.service_token = std::string(parts[0]);
  return point;
}

// TokenEncoder.encode of the resume token: base64 of Python's json.dumps (", " and ": " separators,
// non-ASCII as \uXXXX), "NextToken" first as botocore builds the dict.
std::string encode_resume_token(const std::optional<std::string>& service_token,
                                std::optional<std::int64_t> truncate_amount) {
  std::string json = "{\"NextToken\": ";
  json += service_token ? nlohmann::json(*service_token).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace)
                        : std::string("null");
  if (truncate_amount) json += ", \"boto_truncate_amount\": " + std::to_string(*truncate_amount);
  json += '}';
  return detail::base64_encode(json);
}

// Python's list[index:] / list[:index] bound: negative counts from the end, both clamped.
std::size_t python_slice_bound(std::int64_t index, std::size_t size) {
  const auto length = static_cast<std::int64_t>(size);
  if (index < 0) index = std::max<std::int64_t>(0, length + index);
  return static_cast<std::size_t>(std::min(index, length));
}

// PageIterator.__iter__ + build_full_result for the CLI: the events of the listing from `start`,
// cut after `max_items` (nullopt = all); `next_token` of the result is the resume token or "".
LookupResult lookup_pages(const EventHistory& history, LookupRequest request, const std::optional<StartingPoint>& start,
                          std::optional<std::int64_t> max_items, std::int64_t now) {
  // The service token of the page being fetched, as botocore tracks it for the resume token.
  std::optional<std::string> current_token, previous_token;
  std::int64_t starting_truncation = 0;
  if (start) {
    current_token = start->service_token;
    starting_truncation = start->skip;
  }
  // botocore sends no NextToken for None and for the literal string "None".
  request.next_token = current_token && *current_token != "None" ? *current_token : "";
  if (max_items) max_items = std::max(*max_items, -kTruncateLimit);
  LookupResult merged;
  std::int64_t total = 0;
  for (bool first = true;; first = false) {
    LookupResult page = history.lookup(request, now);
    std::vector<LookupEvent>& events = page.events;
    if (first && start) {
      const std::size_t skipped = python_slice_bound(start->skip, events.size());
      events.erase(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(skipped));
    } else {
      starting_truncation = 0;  // only a cut in the resumed page itself counts the skipped events
    }
    const auto count = static_cast<std::int64_t>(events.size());
    if (max_items && total + count - *max_items > 0) {
      const std::int64_t keep = *max_items - total;
      events.resize(python_slice_bound(keep, events.size()));
      for (LookupEvent& event : events) merged.events.push_back(std::move(event));
      merged.next_token = encode_resume_token(current_token, keep + starting_truncation);
      return merged;
    }
    for (LookupEvent& event : events) merged.events.push_back(std::move(event));
    total += count;
    if (page.next_token.empty()) return merged;  // botocore treats "" as None
    if (max_items && total == *max_items) {
      merged.next_token = encode_resume_token(page.next_token, std::nullopt);  // on a page boundary
      return merged;
    }
    if (previous_token == page.next_token)
      throw PaginationFailure("Error during pagination: The same next token was received twice: {'NextToken': '" +
                              page.next_token + "'}");
    current_token = page.next_token;
    previous_token = current_token;
    request.next_token = page.next_token;
  }
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
  auto fail_as_awscli = [](const std::string& message) {
    std::cerr << '\n' << message << '\n';
    return kExitServiceError;
  };
  // awscli: --max-results / --next-token switch pagination off, and then a paging argument that is
  // set (Python-truthy) is a PaginationError, checked right after argument parsing.
  const bool paginate = !args.has_max_results && !args.has_next_token;
  if (!paginate) {
    std::string used;
    for (const auto& [set, flag] : {std::pair{!args.starting_token.empty(), "--starting-token"},
                                    std::pair{args.page_size != 0, "--page-size"},
                                    std::pair{args.max_items != 0, "--max-items"}}) {
      if (set) used += (used.empty() ? "" : ", ") + std::string(flag);
    }
    if (!used.empty())
      return fail_as_awscli("Error during pagination: Cannot specify --no-paginate along with pagination arguments: " +
                            used);
  }
  LookupRequest request;
  try {
    request.attributes = parse_attributes(args.lookup_attributes);
  } catch (const UsageError& error) {
    return usage(error.what());
  }
  if (args.has_max_items && args.max_items <= 0)
    std::cerr << "warning: Non-positive values for --max-items may result in undefined behavior.\n";
  for (const auto& [value, target] : {std::pair{&args.start_time, &request.start_time}, std::pair{&args.end_time, &request.end_time}}) {
    if (value->empty()) continue;
    *target = parse_time(*value);
    if (!*target) return usage("Unable to parse date value: " + *value);
  }
  if (args.has_event_category) request.event_category = args.event_category;
  // A falsy paging argument got past the check above and reaches botocore as PaginationConfig.
  if (!paginate && (args.has_starting_token || args.has_page_size || args.has_max_items))
    return fail_as_awscli(
        "Parameter validation failed:\nUnknown parameter in input: \"PaginationConfig\", must be one of: "
        "LookupAttributes, StartTime, EndTime, EventCategory, MaxResults, NextToken");
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
    std::optional<StartingPoint> start;
    if (paginate && args.has_starting_token) start = parse_starting_token(args.starting_token);
    SqliteHistoryOptions options;
    options.path = path;
    const std::unique_ptr<EventHistory> history = open_sqlite_history(options);
    const std::int64_t now = system_clock()->wall_now_seconds();
    const std::optional<std::int64_t> max_items = args.has_max_items ? std::optional(args.max_items) : std::nullopt;
    const LookupResult result =
        paginate ? lookup_pages(*history, request, start, max_items, now) : history->lookup(request, now);
    print_json(api::lookup_response_json(result));
    return kExitOk;
  } catch (const LookupError& error) {
    std::cerr << "\nAn error occurred (" << error.code() << ") when calling the LookupEvents operation: " << error.what()
              << '\n';
    if (args.has_starting_token && error.code() == "InvalidNextTokenException")
      std::cerr << "trailkit lookup: --starting-token takes the NextToken printed by a listing cut with --max-items\n";
    return kExitServiceError;
  } catch (const PaginationFailure& error) {
    std::cerr << '\n' << error.what() << '\n';
    if (args.has_starting_token && std::string_view(error.what()).starts_with("Bad starting token"))
      std::cerr << "trailkit lookup: --starting-token takes the NextToken printed by a listing cut with --max-items\n";
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
      "and JSON output of `aws cloudtrail lookup-events`. Follows NextToken and prints all pages (at most "
      "--max-items events, then a NextToken for --starting-token) unless --max-results or --next-token is given. "
      "Exit codes: 0 ok, 1 no history / storage error, 2 bad flags, 255 a LookupEvents error "
      "(InvalidLookupAttributesException, ...), a pagination error or a bad --starting-token, as the aws CLI.");
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
  CLI::Option* max_items = command->add_option(
      "--max-items", args->max_items,
      "Print at most this many events; if more remain, the output ends with a NextToken for --starting-token");
  CLI::Option* starting_token = command->add_option(
      "--starting-token", args->starting_token,
      "Resume a listing from the NextToken printed by --max-items (this command's or the aws CLI's)");
  command->callback([command, args, category, max_results, next_token, page_size, max_items, starting_token,
                     &exit_code] {
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
    args->has_max_items = max_items->count() > 0;
    args->has_starting_token = starting_token->count() > 0;
    exit_code = run_lookup(*args);
  });
}

}  // namespace trailkit::cli
