// SqliteHistory: LookupEvents semantics (cloudtrail-spec §6.2) against a brute-force model, the
// error codes, NextToken binding, retention, prune, persistence and concurrent use.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/fast_random.hpp"
#include "trailkit/history.hpp"

namespace trailkit {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::int64_t kDay = 86400;

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/trailkit_history_test_XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

HistoryRecord make_record(const std::string& id, std::int64_t time, const std::string& name = "GetUser",
                          const std::string& user = "alice", bool read_only = true, bool insight = false,
                          std::vector<HistoryRecord::Resource> resources = {}) {
  HistoryRecord r;
  r.event_id = id;
  r.event_time = time;
  r.event_name = name;
  r.event_source = name.rfind("Get", 0) == 0 ? "iam.amazonaws.com" : "ec2.amazonaws.com";
  r.read_only = read_only;
  r.username = insight ? "" : user;
  r.access_key_id = insight ? "" : "AKIA" + user;
  r.insight = insight;
  r.resources = std::move(resources);
  r.account_id = "111122223333";
  r.region = "us-east-1";
  r.cloudtrail_event = R"({"eventID":")" + id + R"(","eventName":")" + name + "\"}";
  return r;
}

std::unique_ptr<EventHistory> open(const std::string& path, std::int64_t retention_days = 90) {
  SqliteHistoryOptions options;
  options.path = path;
  options.retention_days = retention_days;
  return open_sqlite_history(options);
}

LookupRequest by(const std::string& key, const std::string& value) {
  LookupRequest request;
  request.attributes.push_back({key, value});
  return request;
}

// Follows NextToken to the end; checks every page respects MaxResults.
std::vector<LookupEvent> all_pages(const EventHistory& history, LookupRequest request, std::int64_t now = kNow) {
  std::vector<LookupEvent> events;
  for (int pages = 0; pages < 100000; ++pages) {
    LookupResult page = history.lookup(request, now);
    EXPECT_LE(page.events.size(), static_cast<std::size_t>(request.max_results.value_or(50)));
    if (!page.next_token.empty()) {
      EXPECT_EQ(page.events.size(), static_cast<std::size_t>(request.max_results.value_or(50)));
    }
    for (auto& e : page.events) events.push_back(std::move(e));
    if (page.next_token.empty()) break;
    request.next_token = page.next_token;
  }
  return events;
}

std::vector<std::string> ids(const std::vector<LookupEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.event_id);
  return out;
}

std::string expect_error(const EventHistory& history, const LookupRequest& request, std::int64_t now = kNow) {
  try {
    history.lookup(request, now);
  } catch (const LookupError& e) {
    return e.code();
  }
  return "no error";
}

// The model: records in insertion order; CloudTrail's answer is the matching ones, newest first,
// ties in reverse insertion order.
std::vector<std::string> expected(const std::vector<HistoryRecord>& records, const std::function<bool(const HistoryRecord&)>& match) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (match(records[i])) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return records[a].event_time != records[b].event_time ? records[a].event_time > records[b].event_time : a > b;
  });
  std::vector<std::string> out;
  for (std::size_t i : order) out.push_back(records[i].event_id);
  return out;
}

TEST(SqliteHistory, EachAttributeReturnsExactlyTheMatchingEventsNewestFirstAcrossPages) {
  TempDir dir;
  auto history = open(dir.file("h.sqlite3"));
  detail::FastRandom random(42);
  const std::vector<std::string> names = {"GetUser", "RunInstances", "GetRole", "CreateBucket"};
  const std::vector<std::string> users = {"alice", "bob", "carol"};
  const std::vector<std::string> types = {"AWS::IAM::User", "AWS::EC2::Instance"};
  std::vector<HistoryRecord> records;
  for (int i = 0; i < 600; ++i) {
    std::vector<HistoryRecord::Resource> resources;
    for (std::uint64_t n = random.next() % 3; n > 0; --n) {
      // Sometimes two resources of one type on one event: it must still be returned once.
      resources.push_back({types[random.next() % 2], "res-" + std::to_string(random.next() % 4)});
    }
    // Few distinct times, so many events tie on event_time and pages split inside ties.
    records.push_back(make_record("id-" + std::to_string(i), kNow - 1000 + static_cast<std::int64_t>(random.next() % 40),
                                  names[random.next() % names.size()], users[random.next() % users.size()],
                                  random.next() % 2 == 0, random.next() % 10 == 0, resources));
  }
  // Several batches, shuffled insertion times relative to event times.
  for (std::size_t at = 0; at < records.size(); at += 97) {
    history->add(std::vector<HistoryRecord>(records.begin() + static_cast<long>(at),
                                            records.begin() + static_cast<long>(std::min(records.size(), at + 97))));
  }
  const auto management = [](const HistoryRecord& r) { return !r.insight; };
  int page_size = 1;
  const auto check = [&](const std::string& key, const std::string& value, const std::function<bool(const HistoryRecord&)>& match) {
    LookupRequest request = by(key, value);
    request.max_results = page_size;
    page_size = page_size % 44 + 7;  // vary the page size between checks
    const auto got = ids(all_pages(*history, request));
    const auto want = expected(records, [&](const HistoryRecord& r) { return management(r) && match(r); });
    EXPECT_FALSE(want.empty()) << key << "=" << value;
    EXPECT_EQ(got, want) << key << "=" << value;
  };
  for (const auto& name : names) {
    check("EventName", name, [&](const HistoryRecord& r) { return r.event_name == name; });
  }
  check("EventSource", "ec2.amazonaws.com", [](const HistoryRecord& r) { return r.event_source == "ec2.amazonaws.com"; });
  for (const auto& user : users) {
    check("Username", user, [&](const HistoryRecord& r) { return r.username == user; });
    check("AccessKeyId", "AKIA" + user, [&](const HistoryRecord& r) { return r.access_key_id == "AKIA" + user; });
  }
  check("ReadOnly", "true", [](const HistoryRecord& r) { return r.read_only; });
  check("ReadOnly", "false", [](const HistoryRecord& r) { return !r.read_only; });
  check("EventId", "id-7", [](const HistoryRecord& r) { return r.event_id == "id-7"; });
  for (const auto& type : types) {
    check("ResourceType", type, [&](const HistoryRecord& r) {
      return std::any_of(r.resources.begin(), r.resources.end(), [&](const auto& x) { return x.type == type; });
    });
  }
  for (int n = 0; n < 4; ++n) {
    const std::string name = "res-" + std::to_string(n);
    check("ResourceName", name, [&](const HistoryRecord& r) {
      return std::any_of(r.resources.begin(), r.resources.end(), [&](const auto& x) { return x.name == name; });
    });
  }
  // No attribute: every management event; the default page size is 50.
  const auto first = history->lookup(LookupRequest{}, kNow);
  EXPECT_EQ(first.events.size(), 50u);
  EXPECT_EQ(ids(all_pages(*history, LookupRequest{})), expected(records, management));
  // A value nothing has.
  EXPECT_TRUE(history->lookup(by("Username", "nobody"), kNow).events.empty());
  EXPECT_TRUE(history->lookup(by("EventName", "getuser"), kNow).events.empty());  // case-sensitive
}

TEST(SqliteHistory, ReturnsEveryFieldAndTheRecordByteForByte) {
  TempDir dir;
  auto history = open(dir.file("h.sqlite3"));
  HistoryRecord r = make_record("e-1", kNow - 5, "RunInstances", "bob", false, false,
                                {{"AWS::EC2::Instance", "i-2"}, {"AWS::EC2::Instance", "i-1"}, {"AWS::IAM::Role", "R"}});
  r.cloudtrail_event = R"({"eventVersion":"1.11","x":"\u00e9\n"})";
  history->add({r});
  const auto result = history->lookup(by("ResourceName", "i-1"), kNow);
  ASSERT_EQ(result.events.size(), 1u);
  const LookupEvent& e = result.events[0];
  EXPECT_EQ(e.event_id, "e-1");
  EXPECT_EQ(e.event_name, "RunInstances");
  EXPECT_EQ(e.event_source, "ec2.amazonaws.com");
  EXPECT_EQ(e.read_only, "false");
  EXPECT_EQ(e.access_key_id, "AKIAbob");
  EXPECT_EQ(e.username, "bob");
  EXPECT_EQ(e.event_time, kNow - 5);
  ASSERT_EQ(e.resources.size(), 3u);  // all of the event's resources, in record order
  EXPECT_EQ(e.resources[0].name, "i-2");
  EXPECT_EQ(e.resources[1].name, "i-1");
  EXPECT_EQ(e.resources[2].type, "AWS::IAM::Role");
  EXPECT_EQ(e.cloudtrail_event, r.cloudtrail_event);
  EXPECT_TRUE(result.next_token.empty());
}

TEST(SqliteHistory, TimeBoundsAreInclusiveAndClampedToTheRetentionWindow) {
  TempDir dir;
  auto history = open(dir.file("h.sqlite3"), 90);
  history->add({make_record("old", kNow - 90 * kDay - 1), make_record("edge", kNow - 90 * kDay), make_record("a", kNow - 300),
                make_record("b", kNow - 200), make_record("c", kNow - 100), make_record("future", kNow + 60)});
  LookupRequest request;
  request.start_time = kNow - 300;
  request.end_time = kNow - 200;
  EXPECT_EQ(ids(history->lookup(request, kNow).events), (std::vector<std::string>{"b", "a"}));
  request.start_time = request.end_time = kNow - 200;
  EXPECT_EQ(ids(history->lookup(request, kNow).events), (std::vector<std::string>{"b"}));
  // No bounds: the window starts exactly retention_days before now; no upper bound.
  EXPECT_EQ(ids(history->lookup(LookupRequest{}, kNow).events), (std::vector<std::string>{"future", "c", "b", "a", "edge"}));
  // A start before the window is clamped; an end before it is refused.
  request.start_time = 0;
  request.end_time = kNow - 250;
  EXPECT_EQ(ids(history->lookup(request, kNow).events), (std::vector<std::string>{"a", "edge"}));
  request.end_time = kNow - 90 * kDay - 1;
  EXPECT_EQ(expect_error(*history, request), "InvalidTimeRangeException");
  // The window moves with now.
  EXPECT_EQ(ids(history->lookup(LookupRequest{}, kNow + kDay).events), (std::vector<std::string>{"future", "c", "b", "a"}));
  // A start in the future is a valid, empty range.
  request = LookupRequest{};
  request.start_time = kNow + 3600;
  EXPECT_TRUE(history->lookup(request, kNow).events.empty());
}

TEST(SqliteHistory, InsightModeReturnsOnlyInsightEvents) {
  TempDir dir;
  auto history = open(dir.file("h.sqlite3"));
  history->add({make_record("m1", kNow - 10, "RunInstances", "alice", false), make_record("i1", kNow - 9, "RunInstances", "", false, true),
                make_record("i2", kNow - 8, "GetUser", "", false, true), make_record("m2", kNow - 7, "GetUser", "alice", false)});
  LookupRequest insight;
  insight.event_category = "insight";
  EXPECT_EQ(ids(history->lookup(insight, kNow).events), (std::vector<std::string>{"i2", "i1"}));
  LookupRequest by_name = by("EventName", "RunInstances");
  by_name.event_category = "insight";
  EXPECT_EQ(ids(history->lookup(by_name, kNow).events), (std::vector<std::string>{"i1"}));
  LookupRequest by_source = by("EventSource", "iam.amazonaws.com");
  by_source.event_category = "insight";
  EXPECT_EQ(ids(history->lookup(by_source, kNow).events), (std::vector<std::string>{"i2"}));
  LookupRequest by_id = by("EventId", "i1");
  by_id.event_category = "insight";
  EXPECT_EQ(ids(history->lookup(by_id, kNow).events), (std::vector<std::string>{"i1"}));
  // Management mode never shows them, whatever the attribute.
  EXPECT_EQ(ids(history->lookup(LookupRequest{}, kNow).events), (std::vector<std::string>{"m2", "m1"}));
  EXPECT_EQ(ids(history->lookup(by("ReadOnly", "false"), kNow).events), (std::vector<std::string>{"m2", "m1"}));
  EXPECT_TRUE(history->lookup(by("EventId", "i1"), kNow).events.empty());
}

TEST(SqliteHistory, RefusesWhatCloudTrailRefuses) {
  TempDir dir;
  auto history = open(dir.file("h.sqlite3"));
  LookupRequest two = by("EventName", "A");
  two.attributes.push_back({"Username", "b"});
  EXPECT_EQ(expect_error(*history, two), "InvalidLookupAttributesException");
  EXPECT_EQ(expect_error(*history, by("eventname", "A")), "InvalidLookupAttributesException");
  EXPECT_EQ(expect_error(*history, by("Region", "us-east-1")), "InvalidLookupAttributesException");
  EXPECT_EQ(expect_error(*history, by("EventName", "")), "InvalidLookupAttributesException");
  EXPECT_EQ(expect_error(*history, by("EventName", std::string(2001, 'a'))), "InvalidLookupAttributesException");
  EXPECT_EQ(expect_error(*history, by("EventName", std::string(2000, 'a'))), "no error");
  EXPECT_EQ(expect_error(*history, by("ReadOnly", "True")), "InvalidLookupAttributesException");
  for (const char* key : {"Username", "ReadOnly", "ResourceType", "ResourceName", "AccessKeyId"}) {
    LookupRequest insight = by(key, "true");
    insight.event_category = "insight";
    EXPECT_EQ(expect_error(*history, insight), "InvalidLookupAttributesException") << key;
  }
  for (const char* category : {"Insight", "management", ""}) {
    LookupRequest request;
    request.event_category = category;
    EXPECT_EQ(expect_error(*history, request), "InvalidEventCategoryException") << category;
  }
  LookupRequest range;
  range.start_time = kNow;
  range.end_time = kNow - 1;
  EXPECT_EQ(expect_error(*history, range), "InvalidTimeRangeException");
  for (int max : {0, -1, 51}) {
    LookupRequest request;
    request.max_results = max;
    EXPECT_EQ(expect_error(*history, request), "InvalidMaxResultsException") << max;
  }
  for (int max : {1, 50}) {
    LookupRequest request;
    request.max_results = max;
    EXPECT_EQ(expect_error(*history, request), "no error") << max;
  }
  LookupRequest garbage;
  for (const char* token : {"x", "not a token!", "AAAA", "====", "eyJ2IjoxfQ"}) {
    garbage.next_token = token;
    EXPECT_EQ(expect_error(*history, garbage), "InvalidNextTokenException") << token;
  }
  try {
    history->lookup(by("Nope", "x"), kNow);
    FAIL();
  } catch (const LookupError& e) {
    EXPECT_NE(std::string(e.what()).find("AttributeKey"), std::string::npos) << e.what();
  }
}

TEST(SqliteHistory, NextTokenIsBoundToTheRequestAndTheDatabase) {
  TempDir dir;
  auto history = open(dir.file("h.sqlite3"));
  std::vector<HistoryRecord> records;
  for (int i = 0; i < 10; ++i) records.push_back(make_record("id-" + std::to_string(i), kNow - 100 + i));
  history->add(records);
  LookupRequest request = by("Username", "alice");
  request.start_time = kNow - 1000;
  request.max_results = 3;
  const auto first = history->lookup(request, kNow);
  ASSERT_FALSE(first.next_token.empty());
  LookupRequest next = request;
  next.next_token = first.next_token;
  EXPECT_EQ(expect_error(*history, next), "no error");
  // Page size may change between pages (the CLI's --starting-token with another --page-size).
  next.max_results = 5;
  EXPECT_EQ(ids(history->lookup(next, kNow).events), (std::vector<std::string>{"id-6", "id-5", "id-4", "id-3", "id-2"}));

  LookupRequest other = next;
  other.attributes[0].value = "bob";
  EXPECT_EQ(expect_error(*history, other), "InvalidNextTokenException");
  other = next;
  other.attributes[0].key = "AccessKeyId";
  EXPECT_EQ(expect_error(*history, other), "InvalidNextTokenException");
  other = next;
  other.attributes.clear();
  EXPECT_EQ(expect_error(*history, other), "InvalidNextTokenException");
  other = next;
  other.start_time = kNow - 999;
  EXPECT_EQ(expect_error(*history, other), "InvalidNextTokenException");
  other = next;
  other.end_time = kNow;
  EXPECT_EQ(expect_error(*history, other), "InvalidNextTokenException");
  other = next;
  other.event_category = "insight";
  other.attributes.clear();
  EXPECT_EQ(expect_error(*history, other), "InvalidNextTokenException");
  // Every single-character change of the token is detected.
  for (std::size_t i = 0; i < first.next_token.size(); ++i) {
    other = next;
    other.next_token[i] = other.next_token[i] == 'A' ? 'B' : 'A';
    EXPECT_EQ(expect_error(*history, other), "InvalidNextTokenException") << i;
  }
  other = next;
  other.next_token += "A";
  EXPECT_EQ(expect_error(*history, other), "InvalidNextTokenException");
  // Another database (another random key) does not accept it.
  auto elsewhere = open(dir.file("other.sqlite3"));
  EXPECT_EQ(expect_error(*elsewhere, next), "InvalidNextTokenException");
  // A configured key is used instead of the database's.
  SqliteHistoryOptions keyed;
  keyed.path = dir.file("h.sqlite3");
  keyed.token_key = "configured";
  EXPECT_EQ(expect_error(*open_sqlite_history(keyed), next), "InvalidNextTokenException");
}

TEST(SqliteHistory, PagesNeitherRepeatNorSkipWhenEventsArriveBetweenPages) {
  TempDir dir;
  auto history = open(dir.file("h.sqlite3"));
  std::vector<HistoryRecord> records;
  for (int i = 0; i < 20; ++i) records.push_back(make_record("id-" + std::to_string(i), kNow - 100));  // all tied
  history->add(records);
  LookupRequest request;
  request.max_results = 7;
  const auto first = history->lookup(request, kNow);
  history->add({make_record("newer", kNow - 50), make_record("tied-later", kNow - 100)});
  request.next_token = first.next_token;
  auto rest = all_pages(*history, request);
  auto got = ids(first.events);
  for (const auto& id : ids(rest)) got.push_back(id);
  // The snapshot continues strictly after the cursor: the tie inserted later sorts before it
  // (higher rowid = newer among equal times), so it is not shown in this listing.
  std::vector<std::string> want;
  for (int i = 19; i >= 0; --i) want.push_back("id-" + std::to_string(i));
  EXPECT_EQ(got, want);
}

TEST(SqliteHistory, DuplicateEventIdsWithinABatchKeepTheFirstCopy) {
  TempDir dir;
  auto history = open(dir.file("h.sqlite3"));
  history->add({make_record("a", kNow - 3, "GetUser"), make_record("b", kNow - 2), make_record("a", kNow - 1, "RunInstances")});
  EXPECT_EQ(history->size(), 2u);
  const auto a = history->lookup(by("EventId", "a"), kNow).events;
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].event_name, "GetUser");  // the first copy stays
  EXPECT_EQ(ids(all_pages(*history, LookupRequest{})), (std::vector<std::string>{"b", "a"}));
  // Across batches IDs are taken as unique (documented): a repeated one is stored, and an EventId
  // lookup shows every stored copy, newest first, like any other listing.
  history->add({make_record("a", kNow - 1, "RunInstances")});
  EXPECT_EQ(history->size(), 3u);
  const auto both = history->lookup(by("EventId", "a"), kNow).events;
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].event_name, "RunInstances");
  EXPECT_EQ(both[1].event_name, "GetUser");
}

TEST(SqliteHistory, EventIdLookupFindsEachOfManyIdsAcrossBlocks) {
  TempDir dir;
  auto history = open(dir.file("h.sqlite3"));
  // 5,000 events in 5 blocks: every bucket holds several IDs of every block, so the lookup must
  // pick the right one by hash and check the ID itself.
  std::vector<std::string> all;
  for (int b = 0; b < 5; ++b) {
    std::vector<HistoryRecord> batch;
    for (int i = 0; i < 1000; ++i) {
      std::string id = "evt-";
      id += std::to_string(b * 1000 + i);
      all.push_back(id);
      batch.push_back(make_record(id, kNow - 5000 + b * 1000 + i));
    }
    history->add(batch);
  }
  for (std::size_t i = 0; i < all.size(); i += 7) {
    const auto found = history->lookup(by("EventId", all[i]), kNow).events;
    ASSERT_EQ(found.size(), 1u) << all[i];
    EXPECT_EQ(found[0].event_id, all[i]);
    EXPECT_EQ(found[0].event_time, kNow - 5000 + static_cast<std::int64_t>(i));
  }
  EXPECT_TRUE(history->lookup(by("EventId", "evt-5000"), kNow).events.empty());
  // With a time range that excludes it, an existing ID is not returned.
  LookupRequest request = by("EventId", all[10]);
  request.start_time = kNow - 100;
  EXPECT_TRUE(history->lookup(request, kNow).events.empty());
}

TEST(SqliteHistory, LargeBatchesSplitIntoBlocksAndStillMergeNewestFirst) {
  TempDir dir;
  auto history = open(dir.file("h.sqlite3"));
  // One add() larger than a block, with times interleaved with a second add(): blocks overlap
  // in time, so the lookup has to merge them.
  std::vector<HistoryRecord> big, small;
  detail::FastRandom random(7);
  std::vector<HistoryRecord> all;
  for (int i = 0; i < 40000; ++i) {
    std::string id = "big-";
    id += std::to_string(i);
    big.push_back(make_record(id, kNow - 1000 + static_cast<std::int64_t>(random.next() % 900), i % 3 == 0 ? "GetUser" : "RunInstances"));
  }
  for (int i = 0; i < 300; ++i) {
    std::string id = "small-";
    id += std::to_string(i);
    small.push_back(make_record(id, kNow - 1000 + static_cast<std::int64_t>(random.next() % 900), "GetUser"));
  }
  history->add(big);
  history->add(small);
  all = big;
  all.insert(all.end(), small.begin(), small.end());
  EXPECT_EQ(history->size(), 40300u);
  LookupRequest request = by("EventName", "GetUser");
  request.start_time = kNow - 700;
  request.end_time = kNow - 400;
  request.max_results = 50;
  EXPECT_EQ(ids(all_pages(*history, request)), expected(all, [](const HistoryRecord& r) {
              return r.event_name == "GetUser" && r.event_time >= kNow - 700 && r.event_time <= kNow - 400;
            }));
  LookupRequest window;
  window.start_time = kNow - 500;
  window.end_time = kNow - 450;
  EXPECT_EQ(ids(all_pages(*history, window)),
            expected(all, [](const HistoryRecord& r) { return r.event_time >= kNow - 500 && r.event_time <= kNow - 450; }));
}

TEST(SqliteHistory, StoresRecordsUncompressedOrAtAnyZstdLevel) {
  TempDir dir;
  for (int level : {0, -5, 1, 3}) {
    SqliteHistoryOptions options;
    options.path = dir.file("h" + std::to_string(level + 10) + ".sqlite3");
    options.compression_level = level;
    auto history = open_sqlite_history(options);
    std::vector<HistoryRecord> batch;
    for (int i = 0; i < 200; ++i) {
      std::string id = "id-";
      id += std::to_string(i);
      batch.push_back(make_record(id, kNow - 300 + i));
    }
    history->add(batch);
    const auto page = history->lookup(by("EventId", "id-123"), kNow).events;
    ASSERT_EQ(page.size(), 1u) << level;
    EXPECT_EQ(page[0].cloudtrail_event, batch[123].cloudtrail_event) << level;
  }
  SqliteHistoryOptions bad;
  bad.path = dir.file("bad.sqlite3");
  bad.compression_level = 99;
  try {
    open_sqlite_history(bad);
    FAIL() << "accepted compression_level 99";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("compression_level"), std::string::npos) << e.what();
  }
}

TEST(SqliteHistory, PruneDeletesOlderEventsInChunks) {
  TempDir dir;
  auto history = open(dir.file("h.sqlite3"));
  std::vector<HistoryRecord> records;
  const int old_count = 12000;  // more than two chunks
  for (int i = 0; i < old_count; ++i) {
    records.push_back(make_record("old-" + std::to_string(i), kNow - 10 * kDay - i % 100, "GetUser", "alice", true, i % 50 == 0,
                                  {{"AWS::IAM::User", "old-user"}}));
  }
  for (int i = 0; i < 10; ++i) {
    records.push_back(make_record("new-" + std::to_string(i), kNow - kDay + i, "GetUser", "alice", true, false, {{"AWS::IAM::User", "new-user"}}));
  }
  history->add(records);
  EXPECT_EQ(history->size(), static_cast<std::uint64_t>(old_count + 10));
  EXPECT_EQ(history->prune(kNow - 2 * kDay), static_cast<std::uint64_t>(old_count));
  EXPECT_EQ(history->size(), 10u);
  EXPECT_TRUE(history->lookup(by("ResourceName", "old-user"), kNow).events.empty());
  EXPECT_EQ(history->lookup(by("ResourceName", "new-user"), kNow).events.size(), 10u);
  LookupRequest insight;
  insight.event_category = "insight";
  EXPECT_TRUE(history->lookup(insight, kNow).events.empty());
  EXPECT_EQ(history->prune(kNow - 2 * kDay), 0u);
  // The boundary: event_time == older_than is kept.
  EXPECT_EQ(history->prune(kNow - kDay), 0u);
  EXPECT_EQ(history->prune(kNow - kDay + 1), 1u);
}

TEST(SqliteHistory, SurvivesReopenWithItsTokenKey) {
  TempDir dir;
  const std::string path = dir.file("h.sqlite3");
  LookupRequest request;
  request.max_results = 2;
  std::string token;
  {
    auto history = open(path);
    history->add({make_record("a", kNow - 3), make_record("b", kNow - 2), make_record("c", kNow - 1)});
    token = history->lookup(request, kNow).next_token;
    ASSERT_FALSE(token.empty());
  }
  auto history = open(path);
  EXPECT_EQ(history->size(), 3u);
  request.next_token = token;
  EXPECT_EQ(ids(history->lookup(request, kNow).events), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(fs::exists(path + "-wal") || fs::exists(path));  // WAL mode leaves its files beside it
}

TEST(SqliteHistory, ConcurrentLookupsWhileAdding) {
  TempDir dir;
  auto history = open(dir.file("h.sqlite3"));
  constexpr int kBatches = 200, kBatch = 100;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int b = 0; b < kBatches; ++b) {
      std::vector<HistoryRecord> batch;
      for (int i = 0; i < kBatch; ++i) {
        const int n = b * kBatch + i;
        // Appended rather than `"id-" + std::to_string(n)`: GCC 12 misreports -Wrestrict on that form.
        std::string id = "id-";
        id += std::to_string(n);
        std::string user = "u";
        user += std::to_string(n % 3);
        batch.push_back(make_record(id, kNow - 100000 + n, n % 2 == 0 ? "GetUser" : "RunInstances", "alice", true,
                                    false, {{"AWS::IAM::User", user}}));
      }
      history->add(batch);
    }
    done = true;
  });
  std::vector<std::thread> readers;
  std::atomic<int> failures{0}, lookups{0};
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      std::uint64_t last_size = 0;
      while (!done) {
        const auto size = history->size();
        if (size < last_size || size % kBatch != 0) ++failures;  // a batch is atomic
        last_size = size;
        LookupRequest request = t == 0 ? by("EventName", "GetUser") : by("ResourceName", "u1");
        request.max_results = 10;
        const auto page = history->lookup(request, kNow);
        // Newest first, and each event matches.
        for (std::size_t i = 0; i < page.events.size(); ++i) {
          if (i > 0 && page.events[i].event_time >= page.events[i - 1].event_time) ++failures;
          if (t == 0 && page.events[i].event_name != "GetUser") ++failures;
        }
        ++lookups;
      }
    });
  }
  writer.join();
  for (auto& r : readers) r.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(lookups.load(), 0);
  EXPECT_EQ(history->size(), static_cast<std::uint64_t>(kBatches * kBatch));
  EXPECT_EQ(all_pages(*history, by("EventName", "GetUser")).size(), static_cast<std::size_t>(kBatches * kBatch / 2));
}

TEST(SqliteHistory, ACorruptFileIsAnErrorNamingThePath) {
  TempDir dir;
  const std::string path = dir.file("corrupt.sqlite3");
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 1000; ++i) out << "this is not a database ";
  }
  try {
    open(path);
    FAIL() << "opened a corrupt file";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  const std::string missing = dir.file("no/such/dir/h.sqlite3");
  try {
    open(missing);
    FAIL() << "opened under a missing directory";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  EXPECT_THROW(open(dir.file("h.sqlite3"), 0), std::runtime_error);
}

std::int64_t block_count(const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT count(*) FROM blocks", -1, &stmt, nullptr);
  const std::int64_t n = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return n;
}

// A trickle (a few events per add, as an idle recorder hands them over) must not leave a block per
// add: small blocks are merged, and every listing stays exactly what it was, ties included.
TEST(SqliteHistory, ATrickleOfSmallBatchesIsMergedWithoutChangingAnyAnswer) {
  TempDir dir;
  const std::string path = dir.file("h.sqlite3");
  auto history = open(path);
  detail::FastRandom random(99);
  std::vector<HistoryRecord> all;
  const std::vector<std::string> names = {"GetUser", "RunInstances", "GetRole"};
  for (int add = 0; add < 400; ++add) {
    std::vector<HistoryRecord> batch;
    for (std::uint64_t n = 1 + random.next() % 6; n > 0; --n) {
      std::string id = "t-";
      id += std::to_string(all.size() + batch.size());
      std::string resource = "u";
      resource += std::to_string(random.next() % 5);
      // Few distinct times: many ties across adds, which merging must keep in insertion order.
      batch.push_back(make_record(id, kNow - 500 + static_cast<std::int64_t>(random.next() % 60), names[random.next() % 3],
                                  random.next() % 2 == 0 ? "alice" : "bob", true, random.next() % 15 == 0,
                                  {{"AWS::IAM::User", resource}}));
    }
    all.insert(all.end(), batch.begin(), batch.end());
    history->add(batch);
  }
  // One large add in the middle of more small ones: runs do not merge across it.
  std::vector<HistoryRecord> large;
  for (int i = 0; i < 2500; ++i) {
    std::string id = "L-";
    id += std::to_string(i);
    large.push_back(make_record(id, kNow - 500 + static_cast<std::int64_t>(random.next() % 60)));
  }
  all.insert(all.end(), large.begin(), large.end());
  history->add(large);
  for (int add = 0; add < 40; ++add) {
    std::string id = "s-";
    id += std::to_string(add);
    all.push_back(make_record(id, kNow - 500 + static_cast<std::int64_t>(random.next() % 60), "GetRole"));
    history->add({all.back()});
  }
  EXPECT_EQ(history->size(), all.size());
  const std::int64_t blocks = block_count(path);
  EXPECT_LT(blocks, 40) << "441 adds (some with Insights events) were merged into few blocks";
  std::printf("[ info ] %lld blocks after 441 adds\n", static_cast<long long>(blocks));
  EXPECT_GT(blocks, 2);

  const auto management = [](const HistoryRecord& r) { return !r.insight; };
  LookupRequest every;
  every.max_results = 17;
  EXPECT_EQ(ids(all_pages(*history, every)), expected(all, management));
  LookupRequest insights;
  insights.event_category = "insight";
  EXPECT_EQ(ids(all_pages(*history, insights)), expected(all, [](const HistoryRecord& r) { return r.insight; }));
  EXPECT_EQ(ids(all_pages(*history, by("EventName", "GetRole"))),
            expected(all, [&](const HistoryRecord& r) { return management(r) && r.event_name == "GetRole"; }));
  EXPECT_EQ(ids(all_pages(*history, by("ResourceName", "u3"))), expected(all, [&](const HistoryRecord& r) {
              return management(r) && !r.resources.empty() && r.resources[0].name == "u3";
            }));
  for (std::size_t i = 0; i < all.size(); i += 37) {
    LookupRequest request = by("EventId", all[i].event_id);
    if (all[i].insight) request.event_category = "insight";
    const auto found = history->lookup(request, kNow).events;
    ASSERT_EQ(found.size(), 1u) << all[i].event_id;
    EXPECT_EQ(found[0].cloudtrail_event, all[i].cloudtrail_event);
  }
  // Reopened, the merged history answers the same.
  history.reset();
  history = open(path);
  EXPECT_EQ(ids(all_pages(*history, every)), expected(all, management));
}

// A damaged database (a bad disk, a hand edit) makes lookups fail with an error naming the file;
// it never crashes the reader or returns garbage.
TEST(SqliteHistory, DamagedFramesAndIndexRowsAreErrorsNotCrashes) {
  TempDir dir;
  const std::string path = dir.file("h.sqlite3");
  auto history = open(path);
  std::vector<HistoryRecord> batch;
  for (int i = 0; i < 300; ++i) {
    std::string id = "id-";
    id += std::to_string(i);
    batch.push_back(make_record(id, kNow - 1000 + i));
  }
  history->add(batch);
  ASSERT_EQ(history->lookup(by("EventId", "id-7"), kNow).events.size(), 1u);
  const auto damage = [&](const char* sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  };
  const auto expect_error_naming_the_file = [&](const LookupRequest& request) {
    try {
      history->lookup(request, kNow);
      ADD_FAILURE() << "a damaged database answered";
    } catch (const LookupError& e) {
      ADD_FAILURE() << "a LookupError for damage: " << e.what();
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("corrupt"), std::string::npos) << e.what();
    }
  };
  // Frames: garbage after a zstd codec byte, a raw frame whose size lies, an unknown codec.
  damage("UPDATE frames SET data = X'01FF0F0102030405060708' WHERE id % 4096 = 0");
  expect_error_naming_the_file(by("EventId", "id-7"));
  damage("UPDATE frames SET data = X'0064414243' WHERE id % 4096 = 0");
  expect_error_naming_the_file(by("EventId", "id-7"));
  damage("UPDATE frames SET data = X'07' WHERE id % 4096 = 0");
  expect_error_naming_the_file(by("EventId", "id-7"));
  // Index entries cut short, and a block's time list cut short.
  damage("UPDATE postings SET entries = X'FFFF' WHERE key = 4");
  expect_error_naming_the_file(by("Username", "alice"));
  damage("UPDATE blocks SET times = X'80'");
  expect_error_naming_the_file(LookupRequest{});
  // A frame that is gone.
  damage("DELETE FROM frames");
  expect_error_naming_the_file(by("EventName", "GetUser"));
}

TEST(SqliteHistory, ADatabaseOfTheRowPerEventSchemaIsRefusedWithWhatToDo) {
  TempDir dir;
  const std::string path = dir.file("v1.sqlite3");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE events(id INTEGER PRIMARY KEY); PRAGMA user_version = 1;", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  try {
    open(path);
    FAIL() << "opened a schema version 1 database";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("schema version 1"), std::string::npos) << message;
    EXPECT_NE(message.find("move the file aside"), std::string::npos) << message;
  }
  EXPECT_TRUE(fs::exists(path)) << "the old file is left alone";
}

}  // namespace
}  // namespace trailkit
