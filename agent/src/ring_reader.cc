#include "ring_reader.h"

#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "errors.h"

namespace wf {

// What the worker hands to the JS thread: a batch of records, or (empty) the
// answer to flush requests made before it.
struct Delivery {
  std::vector<uint8_t> bytes;
  uint32_t flushes = 0;
};

void RingReader::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(env, "RingReader",
                                   {
                                       InstanceMethod("requestFlush", &RingReader::RequestFlush),
                                       InstanceMethod("stats", &RingReader::Stats),
                                       InstanceMethod("close", &RingReader::Close),
                                   });
  exports.Set("RingReader", cls);
}

// new RingReader(mapFd, recordSize, intervalMs, onDelivery(batch: Buffer | null, flushes: number))
RingReader::RingReader(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<RingReader>(info),
      interval_ms_(info[2].As<Napi::Number>().Int32Value()),
      record_size_(info[1].As<Napi::Number>().Uint32Value()) {
  Napi::Env env = info.Env();
  int map_fd = info[0].As<Napi::Number>().Int32Value();

  ring_ = ring_buffer__new(map_fd, OnRecord, this, nullptr);
  if (!ring_) ThrowErrno(env, "ring buffer", errno);
  page_size_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* consumer = mmap(nullptr, page_size_, PROT_READ, MAP_SHARED, map_fd, 0);
  void* producer = mmap(nullptr, page_size_, PROT_READ, MAP_SHARED, map_fd, static_cast<off_t>(page_size_));
  if (consumer != MAP_FAILED) consumer_pos_ = static_cast<const volatile uint64_t*>(consumer);
  if (producer != MAP_FAILED) producer_pos_ = static_cast<const volatile uint64_t*>(producer);
  if (!consumer_pos_ || !producer_pos_) {
    int err = errno;
    Stop();
    ThrowErrno(env, "ring buffer positions", err);
  }
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ring_ev = {}, wake_ev = {};
  ring_ev.events = EPOLLIN;
  wake_ev.events = EPOLLIN;
  wake_ev.data.fd = wake_fd_;
  if (wake_fd_ < 0 || epoll_fd_ < 0 ||
      epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, ring_buffer__epoll_fd(ring_), &ring_ev) ||
      epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake_ev)) {
    int err = errno;
    Stop();
    ThrowErrno(env, "ring buffer epoll", err);
  }

  tsfn_ = Napi::ThreadSafeFunction::New(env, info[3].As<Napi::Function>(), "wireflame:ring", 0, 1);
  // Observing must not keep a finished program alive.
  tsfn_.Unref(env);
  worker_ = std::thread(&RingReader::Run, this);
}

RingReader::~RingReader() { Stop(); }

int RingReader::OnRecord(void* ctx, void* data, size_t size) {
  auto* self = static_cast<RingReader*>(ctx);
  if (size != self->record_size_) {
    self->malformed_++;
    return 0;
  }
  const uint8_t* p = static_cast<const uint8_t*>(data);
  self->batch_.insert(self->batch_.end(), p, p + size);
  return 0;
}

void RingReader::Deliver() {
  auto* d = new Delivery();
  // Flush requests first, then the ring: a request answered by this delivery
  // was made before this consume, so every event submitted before the request
  // is in it. The other order answered a request made after the consume with
  // a batch that missed the events submitted in between (a test that read
  // after a flush saw one chunk short, about one run in thirty).
  d->flushes = flush_requests_.exchange(0);
  uint64_t target = d->flushes ? __atomic_load_n(producer_pos_, __ATOMIC_ACQUIRE) : 0;
  ring_buffer__consume(ring_);
  if (d->flushes) CatchUp(target);
  if (!batch_.empty()) {
    records_ += batch_.size() / record_size_;
    batches_++;
    d->bytes.swap(batch_);
  }
  if (d->bytes.empty() && d->flushes == 0) {
    delete d;
    return;
  }
  auto call = [](Napi::Env env, Napi::Function on_delivery, Delivery* d) {
    if (env != nullptr) {
      Napi::HandleScope scope(env);
      Napi::Value batch = d->bytes.empty()
                              ? env.Null()
                              : Napi::Value(Napi::Buffer<uint8_t>::Copy(env, d->bytes.data(), d->bytes.size()));
      on_delivery.Call({batch, Napi::Number::New(env, d->flushes)});
    }
    delete d;
  };
  if (tsfn_.NonBlockingCall(d, call) != napi_ok) delete d;
}

// A consume stops at the first record still being written, and the records
// after it wait for the next one. A program writes a record in microseconds,
// unless its vCPU is descheduled under it: then wait, within reason, so that a
// flush still holds every event submitted before it was asked for.
void RingReader::CatchUp(uint64_t target) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
  while (__atomic_load_n(consumer_pos_, __ATOMIC_ACQUIRE) < target && std::chrono::steady_clock::now() < deadline) {
    sched_yield();
    ring_buffer__consume(ring_);
  }
}

void RingReader::Run() {
  struct epoll_event events[2];
  while (!stop_.load()) {
    int n = epoll_wait(epoll_fd_, events, 2, interval_ms_);
    for (int i = 0; i < n; i++) {
      if (events[i].data.fd == wake_fd_) {
        uint64_t v;
        (void)!read(wake_fd_, &v, sizeof(v));
      }
    }
    Deliver();
  }
  Deliver();
}

void RingReader::Wake() {
  uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof(one));
}

void RingReader::Stop() {
  if (worker_.joinable()) {
    stop_ = true;
    Wake();
    worker_.join();
    tsfn_.Release();
  }
  if (ring_) ring_buffer__free(ring_);
  ring_ = nullptr;
  if (consumer_pos_) munmap(const_cast<uint64_t*>(consumer_pos_), page_size_);
  if (producer_pos_) munmap(const_cast<uint64_t*>(producer_pos_), page_size_);
  consumer_pos_ = producer_pos_ = nullptr;
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  epoll_fd_ = wake_fd_ = -1;
}

// The worker drains now and counts the request in the delivery after it.
Napi::Value RingReader::RequestFlush(const Napi::CallbackInfo& info) {
  flush_requests_++;
  Wake();
  return info.Env().Undefined();
}

Napi::Value RingReader::Stats(const Napi::CallbackInfo& info) {
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("records", static_cast<double>(records_.load()));
  out.Set("batches", static_cast<double>(batches_.load()));
  out.Set("malformed", static_cast<double>(malformed_.load()));
  return out;
}

Napi::Value RingReader::Close(const Napi::CallbackInfo& info) {
  Stop();
  return info.Env().Undefined();
}

}  // namespace wf
