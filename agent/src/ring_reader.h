// A BPF ring buffer drained on a worker thread and handed to JavaScript one
// batch at a time. The programs submit without wakeups to stay cheap, so the
// worker wakes on a timer as well as on the ring's forced wakeups.
#pragma once
#include <bpf/libbpf.h>
#include <napi.h>

#include <atomic>
#include <thread>
#include <vector>

namespace wf {

class RingReader : public Napi::ObjectWrap<RingReader> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit RingReader(const Napi::CallbackInfo& info);
  ~RingReader() override;

 private:
  static int OnRecord(void* ctx, void* data, size_t size);
  void Run();
  void Deliver();
  void CatchUp(uint64_t target);
  void Stop();
  void Wake();

  Napi::Value RequestFlush(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  Napi::ThreadSafeFunction tsfn_;
  struct ring_buffer* ring_ = nullptr;
  // The ring's position pages, mapped read-only: a flush drains up to where
  // the producer stood when it was asked, past records still being written.
  const volatile uint64_t* consumer_pos_ = nullptr;
  const volatile uint64_t* producer_pos_ = nullptr;
  size_t page_size_ = 0;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int interval_ms_;
  size_t record_size_;
  std::thread worker_;
  std::atomic<bool> stop_{false};
  std::atomic<uint32_t> flush_requests_{0};
  std::vector<uint8_t> batch_;
  std::atomic<uint64_t> records_{0};
  std::atomic<uint64_t> malformed_{0};
  std::atomic<uint64_t> batches_{0};
};

}  // namespace wf
