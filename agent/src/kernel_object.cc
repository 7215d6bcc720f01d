#include "kernel_object.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <vector>

#include "errors.h"
#include "libbpf_log.h"

namespace wf {

void KernelObject::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(env, "KernelObject",
                                   {
                                       InstanceMethod("programs", &KernelObject::Programs),
                                       InstanceMethod("setAutoload", &KernelObject::SetAutoload),
                                       InstanceMethod("load", &KernelObject::Load),
                                       InstanceMethod("attach", &KernelObject::Attach),
                                       InstanceMethod("mapFd", &KernelObject::MapFd),
                                       InstanceMethod("pinMaps", &KernelObject::PinMaps),
                                       InstanceMethod("unpinMaps", &KernelObject::UnpinMaps),
                                       InstanceMethod("progStats", &KernelObject::ProgStats),
                                       InstanceMethod("close", &KernelObject::Close),
                                   });
  exports.Set("KernelObject", cls);
}

KernelObject::KernelObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<KernelObject>(info) {
  std::string path = info[0].As<Napi::String>();
  obj_ = bpf_object__open_file(path.c_str(), nullptr);
  if (!obj_) {
    int err = errno;
    obj_ = nullptr;
    ThrowErrno(info.Env(), "open " + path, err);
  }
}

KernelObject::~KernelObject() { Destroy(); }

void KernelObject::Destroy() {
  for (auto* link : links_) bpf_link__destroy(link);
  links_.clear();
  if (obj_) bpf_object__close(obj_);
  obj_ = nullptr;
}

struct bpf_program* KernelObject::FindProgram(Napi::Env env, const std::string& name) {
  if (!obj_) throw Napi::Error::New(env, "kernel object is closed");
  struct bpf_program* prog = bpf_object__find_program_by_name(obj_, name.c_str());
  if (!prog) throw Napi::Error::New(env, "no program named " + name);
  return prog;
}

Napi::Value KernelObject::Programs(const Napi::CallbackInfo& info) {
  if (!obj_) throw Napi::Error::New(info.Env(), "kernel object is closed");
  Napi::Array out = Napi::Array::New(info.Env());
  uint32_t i = 0;
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, obj_) {
    Napi::Object p = Napi::Object::New(info.Env());
    p.Set("name", bpf_program__name(prog));
    p.Set("section", bpf_program__section_name(prog));
    p.Set("autoload", bpf_program__autoload(prog));
    out.Set(i++, p);
  }
  return out;
}

Napi::Value KernelObject::SetAutoload(const Napi::CallbackInfo& info) {
  struct bpf_program* prog = FindProgram(info.Env(), info[0].As<Napi::String>());
  int err = bpf_program__set_autoload(prog, info[1].As<Napi::Boolean>());
  if (err) ThrowErrno(info.Env(), "set autoload", err);
  return info.Env().Undefined();
}

// On failure the error carries libbpf's log (the verifier's words) as .log.
Napi::Value KernelObject::Load(const Napi::CallbackInfo& info) {
  if (!obj_) throw Napi::Error::New(info.Env(), "kernel object is closed");
  TakeLibbpfLog();
  // The verifier gives up with EAGAIN when a signal is pending, and a
  // profiler (SIGPROF, many times a second) would keep one pending through
  // every retry: signals wait on this thread until the programs are loaded.
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &saved);
  int err = bpf_object__load(obj_);
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  if (err) {
    std::string log = TakeLibbpfLog();
    try {
      ThrowErrno(info.Env(), "load BPF object", err);
    } catch (Napi::Error& e) {
      e.Set("log", Napi::String::New(info.Env(), log));
      throw;
    }
  }
  return info.Env().Undefined();
}

// Which program failed, so that the loader can drop its attach mode and retry.
[[noreturn]] static void ThrowFor(Napi::Env env, struct bpf_program* prog, const std::string& what, int err) {
  try {
    ThrowErrno(env, what + bpf_program__name(prog), err);
  } catch (Napi::Error& e) {
    e.Set("program", Napi::String::New(env, bpf_program__name(prog)));
    e.Set("log", Napi::String::New(env, TakeLibbpfLog()));
    throw;
  }
}

// Runs an iterator program over everything it iterates; 0 or an errno.
static int RunIterator(struct bpf_program* prog) {
  struct bpf_link* link = bpf_program__attach_iter(prog, nullptr);
  if (!link) return errno;
  int fd = bpf_iter_create(bpf_link__fd(link));
  int err = fd < 0 ? errno : 0;
  char buf[256];
  ssize_t n = 0;
  while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
  }
  if (fd >= 0 && n < 0) err = errno;
  if (fd >= 0) close(fd);
  bpf_link__destroy(link);
  return err;
}

Napi::Value KernelObject::Attach(const Napi::CallbackInfo& info) {
  if (!obj_) throw Napi::Error::New(info.Env(), "kernel object is closed");
  Napi::Array out = Napi::Array::New(info.Env());
  uint32_t i = 0;
  std::vector<struct bpf_program*> iterators;
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, obj_) {
    if (!bpf_program__autoload(prog)) continue;
    if (bpf_program__expected_attach_type(prog) == BPF_TRACE_ITER) {
      iterators.push_back(prog);
      continue;
    }
    struct bpf_link* link;
    int err;
    if (bpf_program__type(prog) == BPF_PROG_TYPE_SOCK_OPS) {
      // Socket operations are attached to a cgroup v2 directory: its processes' sockets run the program.
      if (info.Length() < 1 || !info[0].IsString()) throw Napi::Error::New(info.Env(), "a sockops program needs a cgroup directory");
      std::string dir = info[0].As<Napi::String>();
      int cg = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      link = cg < 0 ? nullptr : bpf_program__attach_cgroup(prog, cg);
      err = errno;
      if (cg >= 0) close(cg);
    } else {
      link = bpf_program__attach(prog);
      err = errno;
    }
    if (!link) ThrowFor(info.Env(), prog, "attach ", err);
    links_.push_back(link);
    out.Set(i++, bpf_program__name(prog));
  }
  // Iterators run once, over what existed before the programs above attached.
  for (auto* prog : iterators) {
    int err = RunIterator(prog);
    if (err) ThrowFor(info.Env(), prog, "run ", err);
    out.Set(i++, bpf_program__name(prog));
  }
  return out;
}

Napi::Value KernelObject::MapFd(const Napi::CallbackInfo& info) {
  if (!obj_) throw Napi::Error::New(info.Env(), "kernel object is closed");
  std::string name = info[0].As<Napi::String>();
  struct bpf_map* map = bpf_object__find_map_by_name(obj_, name.c_str());
  if (!map) throw Napi::Error::New(info.Env(), "no map named " + name);
  return Napi::Number::New(info.Env(), bpf_map__fd(map));
}

Napi::Value KernelObject::PinMaps(const Napi::CallbackInfo& info) {
  if (!obj_) throw Napi::Error::New(info.Env(), "kernel object is closed");
  std::string dir = info[0].As<Napi::String>();
  int err = bpf_object__pin_maps(obj_, dir.c_str());
  if (err) ThrowErrno(info.Env(), "pin maps in " + dir, err);
  return info.Env().Undefined();
}

Napi::Value KernelObject::UnpinMaps(const Napi::CallbackInfo& info) {
  if (!obj_) throw Napi::Error::New(info.Env(), "kernel object is closed");
  std::string dir = info[0].As<Napi::String>();
  int err = bpf_object__unpin_maps(obj_, dir.c_str());
  if (err) ThrowErrno(info.Env(), "unpin maps in " + dir, err);
  return info.Env().Undefined();
}

// run_time_ns and run_cnt per loaded program; zero unless stats are enabled.
Napi::Value KernelObject::ProgStats(const Napi::CallbackInfo& info) {
  if (!obj_) throw Napi::Error::New(info.Env(), "kernel object is closed");
  Napi::Array out = Napi::Array::New(info.Env());
  uint32_t i = 0;
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, obj_) {
    int fd = bpf_program__fd(prog);
    if (fd < 0) continue;
    struct bpf_prog_info pi = {};
    __u32 len = sizeof(pi);
    if (bpf_obj_get_info_by_fd(fd, &pi, &len)) ThrowErrno(info.Env(), "prog info", errno);
    Napi::Object p = Napi::Object::New(info.Env());
    p.Set("name", bpf_program__name(prog));
    p.Set("id", pi.id);
    p.Set("runTimeNs", Napi::BigInt::New(info.Env(), static_cast<uint64_t>(pi.run_time_ns)));
    p.Set("runCnt", Napi::BigInt::New(info.Env(), static_cast<uint64_t>(pi.run_cnt)));
    out.Set(i++, p);
  }
  return out;
}

Napi::Value KernelObject::Close(const Napi::CallbackInfo& info) {
  Destroy();
  return info.Env().Undefined();
}

}  // namespace wf
