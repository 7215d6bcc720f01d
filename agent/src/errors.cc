#include "errors.h"

#include <cerrno>
#include <cstring>

namespace wf {

static const char* ErrnoName(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case EINVAL: return "EINVAL";
    case E2BIG: return "E2BIG";
    case ENOMEM: return "ENOMEM";
    case ENOSPC: return "ENOSPC";
    case EEXIST: return "EEXIST";
    case EBADF: return "EBADF";
    case ENOTSUP: return "ENOTSUP";
    case ESRCH: return "ESRCH";
    case EBUSY: return "EBUSY";
    default: return "EUNKNOWN";
  }
}

void ThrowErrno(Napi::Env env, const std::string& what, int err) {
  if (err < 0) err = -err;
  Napi::Error e = Napi::Error::New(env, what + ": " + std::strerror(err) + " (" + ErrnoName(err) + ")");
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  e.Set("errno", Napi::Number::New(env, err));
  throw e;
}

}  // namespace wf
