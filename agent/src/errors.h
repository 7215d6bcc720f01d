// Errors thrown into JavaScript carry the errno name so that callers can
// tell "not permitted" from "not supported" without parsing prose.
#pragma once
#include <napi.h>
#include <string>

namespace wf {

// Throws a JS Error "<what>: <strerror> (<code>)" with .code = "E..." and .errno.
[[noreturn]] void ThrowErrno(Napi::Env env, const std::string& what, int err);

}  // namespace wf
