// libbpf's messages (verifier logs, probe failures) are kept, not printed:
// trial attaches fail by design, and the CLI owns stderr.
#pragma once
#include <napi.h>

#include <string>

namespace wf {

void InstallLibbpfLog();
// The messages since the last call, then forgotten.
std::string TakeLibbpfLog();
void InitLibbpfLog(Napi::Env env, Napi::Object exports);

}  // namespace wf
