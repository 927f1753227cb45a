#include "trailkit/in_memory_destination.hpp"

namespace trailkit {

struct InMemoryDestination::State {
  mutable std::mutex mutex;
  std::map<std::string, std::string> objects;
  std::map<std::string, ObjectMetadata> metadata;
  std::size_t open_writers = 0;
  std::size_t fail_writes = 0;
  std::size_t fail_commits = 0;
  ErrorKind write_kind = ErrorKind::kTransient;
  ErrorKind commit_kind = ErrorKind::kTransient;
  bool unavailable = false;
  std::size_t failures = 0;
};

class InMemoryObjectWriter final : public ObjectWriter {
 public:
  explicit InMemoryObjectWriter(std::shared_ptr<InMemoryDestination::State> state) : state_(std::move(state)) {}
  ~InMemoryObjectWriter() override { abort(); }

  Status write(std::string_view bytes) noexcept override {
    std::lock_guard lock(state_->mutex);
    if (state_->unavailable || state_->fail_writes > 0) {
      if (!state_->unavailable) --state_->fail_writes;
      ++state_->failures;
      return Status::error(state_->unavailable ? ErrorKind::kTransient : state_->write_kind,
                           "injected write failure");
    }
    data_.append(bytes);
    return Status::ok();
  }

  Status commit(std::string_view key) noexcept override { return commit_with_metadata(key, ObjectMetadata{}); }
  Status commit_with_metadata(std::string_view key, const ObjectMetadata& metadata) noexcept override {
    std::lock_guard lock(state_->mutex);
    if (done_) return Status::error(ErrorKind::kInvalidArgument, "object already finished");
    if (state_->unavailable || state_->fail_commits > 0) {
      if (!state_->unavailable) --state_->fail_commits;
      ++state_->failures;
      return Status::error(state_->unavailable ? ErrorKind::kTransient : state_->commit_kind,
                           "injected commit failure");
    }
    auto [it, inserted] = state_->objects.emplace(std::string(key), std::move(data_));
    if (!inserted) return Status::error(ErrorKind::kPermanent, "object " + std::string(key) + " already exists");
    if (!metadata.empty()) state_->metadata[it->first] = metadata;
    done_ = true;
    --state_->open_writers;
    return Status::ok();
  }

  void abort() noexcept override {
    std::lock_guard lock(state_->mutex);
    if (done_) return;
    done_ = true;
    --state_->open_writers;
  }

 private:
  std::shared_ptr<InMemoryDestination::State> state_;
  std::string data_;
  bool done_ = false;
};

InMemoryDestination::InMemoryDestination() : state_(std::make_shared<State>()) {}
InMemoryDestination::~InMemoryDestination() = default;

std::unique_ptr<ObjectWriter> InMemoryDestination::begin_object(Status& status) noexcept {
  std::lock_guard lock(state_->mutex);
  if (state_->unavailable) {
    ++state_->failures;
    status = Status::error(ErrorKind::kTransient, "injected outage");
    return nullptr;
  }
  ++state_->open_writers;
  status = Status::ok();
  return std::make_unique<InMemoryObjectWriter>(state_);
}

std::map<std::string, std::string> InMemoryDestination::objects() const {
  std::lock_guard lock(state_->mutex);
  return state_->objects;
}
ObjectMetadata InMemoryDestination::metadata(const std::string& key) const {
  std::lock_guard lock(state_->mutex);
  auto it = state_->metadata.find(key);
  return it == state_->metadata.end() ? ObjectMetadata{} : it->second;
}
std::size_t InMemoryDestination::object_count() const {
  std::lock_guard lock(state_->mutex);
  return state_->objects.size();
}
std::size_t InMemoryDestination::open_writers() const {
  std::lock_guard lock(state_->mutex);
  return state_->open_writers;
}
void InMemoryDestination::fail_writes(std::size_t count, ErrorKind kind) {
  std::lock_guard lock(state_->mutex);
  state_->fail_writes = count;
  state_->write_kind = kind;
}
void InMemoryDestination::fail_commits(std::size_t count, ErrorKind kind) {
  std::lock_guard lock(state_->mutex);
  state_->fail_commits = count;
  state_->commit_kind = kind;
}
void InMemoryDestination::set_unavailable(bool unavailable) {
  std::lock_guard lock(state_->mutex);
  state_->unavailable = unavailable;
}
std::size_t InMemoryDestination::failures_injected() const {
  std::lock_guard lock(state_->mutex);
  return state_->failures;
}

}  // namespace trailkit
