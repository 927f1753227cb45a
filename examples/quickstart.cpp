#include <trailkit/recorder.hpp>

int main() {
  trailkit::RecorderOptions options;
  options.account_id = "111122223333";          // log files go to ./trail-data/AWSLogs/111122223333/...
  auto recorder = trailkit::Recorder::create(options);

  trailkit::EventBuilder event("iam.amazonaws.com", "CreateUser");
  event.region("us-east-1").source_ip("203.0.113.10").user_agent("my-service/1.0")
      .iam_user("111122223333", "AIDAEXAMPLE", "arn:aws:iam::111122223333:user/alice", "alice", "AKIAEXAMPLE")
      .request_parameters(R"({"userName":"bob"})").read_only(false);
  recorder->emit(event.build());                  // any thread; lock-free; never throws

  return recorder->shutdown(std::chrono::seconds(10)) ? 0 : 1;  // writes every accepted event
}
