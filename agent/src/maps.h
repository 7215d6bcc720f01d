// Map operations by file descriptor, so that maps of a loaded object and maps
// pinned by a daemon are used the same way. Also socket cookies and run-time
// statistics, the other per-fd kernel calls.
#pragma once
#include <napi.h>

namespace wf {

void InitMaps(Napi::Env env, Napi::Object exports);

}  // namespace wf
