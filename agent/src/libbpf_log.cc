#include "libbpf_log.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <string>

namespace wf {

static std::string log_buffer;
static const size_t kMaxLog = 64 * 1024;

static int Collect(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0) return n;
  std::string message(static_cast<size_t>(n) + 1, '\0');
  vsnprintf(message.data(), message.size(), fmt, args);
  message.resize(static_cast<size_t>(n));
  // Keep the end: a verifier log says what went wrong last.
  log_buffer.append(message);
  if (log_buffer.size() > kMaxLog) log_buffer.erase(0, log_buffer.size() - kMaxLog);
  return n;
}

void InstallLibbpfLog() { libbpf_set_print(Collect); }

std::string TakeLibbpfLog() {
  std::string out;
  out.swap(log_buffer);
  return out;
}

void InitLibbpfLog(Napi::Env env, Napi::Object exports) {
  InstallLibbpfLog();
  exports.Set("takeLog", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), TakeLibbpfLog());
  }));
}

}  // namespace wf
