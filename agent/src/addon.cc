// wireflame_agent: the native side of Wireflame, a thin N-API layer over
// libbpf. Policy (which hooks, what the bytes mean) lives in src/kernel.
#include <napi.h>

#include "kernel_object.h"
#include "libbpf_log.h"
#include "maps.h"
#include "probe.h"
#include "ring_reader.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  wf::InitLibbpfLog(env, exports);
  wf::InitProbe(env, exports);
  wf::InitMaps(env, exports);
  wf::KernelObject::Init(env, exports);
  wf::RingReader::Init(env, exports);
  return exports;
}

NODE_API_MODULE(wireflame_agent, Init)
