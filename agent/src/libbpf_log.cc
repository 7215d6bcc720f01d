#include "libbpf_log.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>

namespace wf {

static std::string log_buffer;
static const size_t kMaxLog = 64 * 1024;

static int Collect(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  int n = vsnprintf(line, sizeof(line), fmt, args);
  if (log_buffer.size() < kMaxLog) log_buffer.append(line);
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
