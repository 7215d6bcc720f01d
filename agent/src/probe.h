// Which attach points this kernel offers, found by trial the way
// libbpf-tools does it: a program is only as available as a real load says.
#pragma once
#include <napi.h>

namespace wf {

void InitProbe(Napi::Env env, Napi::Object exports);

}  // namespace wf
