// emit() must not allocate in steady state (issue #2, STYLE.md habit 3). This binary replaces the
// global operator new with one that counts, per thread, while a test arms it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>

#include "trailkit/in_memory_destination.hpp"
#include "trailkit/recorder.hpp"

// GCC 12 at -O1 (the Asan build) inlines the replaced delete (free) into gtest's `new TestClass` and
// misreads the pair as new/free; both sides are this file's malloc/free, so the warning is off here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
thread_local bool t_counting = false;
thread_local std::size_t t_allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
  if (t_counting) ++t_allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
// The nothrow form too: std::stable_sort's temporary buffer is allocated with it and freed with the
// sized delete above, so both must come from the same malloc (ASan: alloc-dealloc-mismatch).
// The array forms are left alone: neither new[] nor delete[] is replaced, so they stay paired.
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  if (t_counting) ++t_allocations;
  return std::malloc(size ? size : 1);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }


namespace trailkit {
namespace {

TEST(EmitAllocationTest, EmitDoesNotAllocateInSteadyState) {
  RecorderOptions options;
  options.account_id = "111122223333";
  options.destination = std::make_shared<InMemoryDestination>();
  auto recorder = Recorder::create(options);
  static const Resource resources[] = {{"arn:aws:s3:::bucket/key", {}, "AWS::S3::Object"},
                                       {"arn:aws:s3:::bucket", "111122223333", "AWS::S3::Bucket"}};
  EventBuilder b("s3.amazonaws.com", "GetObject");
  b.region("eu-west-1").source_ip("198.51.100.7").user_agent("aws-cli/2").request_parameters(R"({"key":"k"})")
      .resources(resources).category(EventCategory::kData).read_only(true).error("NoSuchKey", "gone");
  ASSERT_EQ(recorder->emit(b.build()), EmitStatus::kOk);  // first emit on this thread picks its shard

  t_allocations = 0;
  t_counting = true;
  for (int i = 0; i < 20000; ++i) recorder->emit(b.build());
  t_counting = false;
  EXPECT_EQ(t_allocations, 0u);
  ASSERT_TRUE(recorder->flush(std::chrono::seconds(30)));
}

TEST(EmitAllocationTest, WriterThatCannotCommitLosesOnlyItsFileAndCountsIt) {
  // A destination whose writer refuses to commit at all (kInvalidArgument, e.g. after a failed
  // fsync) cannot get the bytes back: the file is given up, counted, and the pipeline goes on.
  RecorderOptions options;
  options.account_id = "111122223333";
  auto destination = std::make_shared<InMemoryDestination>();
  options.destination = destination;
  options.error_handler = [](const ErrorReport&) {};
  auto recorder = Recorder::create(options);
  destination->fail_commits(1, ErrorKind::kInvalidArgument);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(recorder->emit(EventBuilder("sqs.amazonaws.com", "SendMessage").build()), EmitStatus::kOk);
  ASSERT_TRUE(recorder->flush(std::chrono::seconds(10)));
  for (int i = 0; i < 5; ++i) ASSERT_EQ(recorder->emit(EventBuilder("sqs.amazonaws.com", "SendMessage").build()), EmitStatus::kOk);
  ASSERT_TRUE(recorder->flush(std::chrono::seconds(10)));
  const Stats s = recorder->stats();
  EXPECT_EQ(s.dropped_write_failed, 10u);
  EXPECT_EQ(s.written, 5u);
  EXPECT_EQ(s.pending, 0u);
  EXPECT_EQ(s.accepted, s.written + s.dropped + s.pending);
  EXPECT_EQ(destination->object_count(), 1u);
}

}  // namespace
}  // namespace trailkit
