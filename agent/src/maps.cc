#include "maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "errors.h"

namespace wf {

static int FdArg(const Napi::CallbackInfo& info, size_t i) {
  return info[i].As<Napi::Number>().Int32Value();
}

// Lookups return a new Buffer, or null when the key is absent.
static Napi::Value MaybeBuffer(Napi::Env env, int rc, const std::string& what, Napi::Buffer<uint8_t> value) {
  if (rc == 0) return value;
  if (errno == ENOENT) return env.Null();
  ThrowErrno(env, what, errno);
}

static Napi::Value MapInfo(const Napi::CallbackInfo& info) {
  struct bpf_map_info mi = {};
  __u32 len = sizeof(mi);
  if (bpf_obj_get_info_by_fd(FdArg(info, 0), &mi, &len)) ThrowErrno(info.Env(), "map info", errno);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("type", mi.type);
  out.Set("keySize", mi.key_size);
  out.Set("valueSize", mi.value_size);
  out.Set("maxEntries", mi.max_entries);
  out.Set("name", Napi::String::New(info.Env(), mi.name));
  out.Set("id", mi.id);
  return out;
}

static Napi::Value MapLookup(const Napi::CallbackInfo& info) {
  auto key = info[1].As<Napi::Buffer<uint8_t>>();
  auto value = Napi::Buffer<uint8_t>::New(info.Env(), info[2].As<Napi::Number>().Uint32Value());
  int rc = bpf_map_lookup_elem(FdArg(info, 0), key.Data(), value.Data());
  return MaybeBuffer(info.Env(), rc, "map lookup", value);
}

static Napi::Value MapLookupAndDelete(const Napi::CallbackInfo& info) {
  auto key = info[1].As<Napi::Buffer<uint8_t>>();
  auto value = Napi::Buffer<uint8_t>::New(info.Env(), info[2].As<Napi::Number>().Uint32Value());
  int rc = bpf_map_lookup_and_delete_elem(FdArg(info, 0), key.Data(), value.Data());
  return MaybeBuffer(info.Env(), rc, "map lookup-and-delete", value);
}

static Napi::Value MapUpdate(const Napi::CallbackInfo& info) {
  auto key = info[1].As<Napi::Buffer<uint8_t>>();
  auto value = info[2].As<Napi::Buffer<uint8_t>>();
  __u64 flags = info.Length() > 3 ? info[3].As<Napi::Number>().Int64Value() : static_cast<__u64>(BPF_ANY);
  if (bpf_map_update_elem(FdArg(info, 0), key.Data(), value.Data(), flags))
    ThrowErrno(info.Env(), "map update", errno);
  return info.Env().Undefined();
}

static Napi::Value MapDelete(const Napi::CallbackInfo& info) {
  auto key = info[1].As<Napi::Buffer<uint8_t>>();
  if (bpf_map_delete_elem(FdArg(info, 0), key.Data()) == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == ENOENT) return Napi::Boolean::New(info.Env(), false);
  ThrowErrno(info.Env(), "map delete", errno);
}

// All keys, walked with get_next_key: for dumps and clean-up, not hot paths.
static Napi::Value MapKeys(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  uint32_t key_size = info[1].As<Napi::Number>().Uint32Value();
  Napi::Array out = Napi::Array::New(info.Env());
  std::vector<uint8_t> prev(key_size), next(key_size);
  void* cursor = nullptr;
  uint32_t n = 0;
  while (bpf_map_get_next_key(fd, cursor, next.data()) == 0) {
    out.Set(n++, Napi::Buffer<uint8_t>::Copy(info.Env(), next.data(), key_size));
    prev.swap(next);
    cursor = prev.data();
  }
  if (errno != ENOENT) ThrowErrno(info.Env(), "map keys", errno);
  return out;
}

// A read-only fd needs only read permission on the pinned file.
static Napi::Value ObjGet(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  LIBBPF_OPTS(bpf_obj_get_opts, opts);
  if (info.Length() > 1 && info[1].ToBoolean()) opts.file_flags = BPF_F_RDONLY;
  int fd = bpf_obj_get_opts(path.c_str(), &opts);
  if (fd < 0) ThrowErrno(info.Env(), "open pinned " + path, errno);
  return Napi::Number::New(info.Env(), fd);
}

static Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  close(FdArg(info, 0));
  return info.Env().Undefined();
}

static Napi::Value PossibleCpus(const Napi::CallbackInfo& info) {
  int n = libbpf_num_possible_cpus();
  if (n < 0) ThrowErrno(info.Env(), "possible cpus", -n);
  return Napi::Number::New(info.Env(), n);
}

// SO_COOKIE: a socket's id for its whole life, unlike its 4-tuple.
static Napi::Value SocketCookie(const Napi::CallbackInfo& info) {
  uint64_t cookie = 0;
  socklen_t len = sizeof(cookie);
  if (getsockopt(FdArg(info, 0), SOL_SOCKET, SO_COOKIE, &cookie, &len))
    ThrowErrno(info.Env(), "getsockopt(SO_COOKIE)", errno);
  return Napi::BigInt::New(info.Env(), cookie);
}

// Turns on run_time_ns/run_cnt accounting while the returned fd stays open.
static Napi::Value EnableStats(const Napi::CallbackInfo& info) {
  int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (fd < 0) ThrowErrno(info.Env(), "enable bpf stats", errno);
  return Napi::Number::New(info.Env(), fd);
}

// bpf_map_create: for maps that live outside an object (benchmarks, scratch).
static Napi::Value MapCreate(const Napi::CallbackInfo& info) {
  auto u32 = [&](size_t i) { return info[i].As<Napi::Number>().Uint32Value(); };
  LIBBPF_OPTS(bpf_map_create_opts, opts);
  opts.map_flags = u32(4);
  int fd = bpf_map_create(static_cast<enum bpf_map_type>(u32(0)), "wf_scratch", u32(1), u32(2), u32(3), &opts);
  if (fd < 0) ThrowErrno(info.Env(), "map create", errno);
  return Napi::Number::New(info.Env(), fd);
}

// A BPF_F_MMAPABLE array map as an ArrayBuffer: user space and the programs
// then share its memory, and reads and writes cost no syscall.
static Napi::Value MapMmap(const Napi::CallbackInfo& info) {
  int fd = FdArg(info, 0);
  size_t size = info[1].As<Napi::Number>().Uint32Value();
  void* mem = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mem == MAP_FAILED) ThrowErrno(info.Env(), "mmap map", errno);
  auto* length = new size_t(size);
  return Napi::ArrayBuffer::New(
      info.Env(), mem, size,
      [](Napi::Env, void* data, size_t* len) {
        munmap(data, *len);
        delete len;
      },
      length);
}

void InitMaps(Napi::Env env, Napi::Object exports) {
  exports.Set("mapCreate", Napi::Function::New(env, MapCreate));
  exports.Set("mapMmap", Napi::Function::New(env, MapMmap));
  exports.Set("mapInfo", Napi::Function::New(env, MapInfo));
  exports.Set("mapLookup", Napi::Function::New(env, MapLookup));
  exports.Set("mapLookupAndDelete", Napi::Function::New(env, MapLookupAndDelete));
  exports.Set("mapUpdate", Napi::Function::New(env, MapUpdate));
  exports.Set("mapDelete", Napi::Function::New(env, MapDelete));
  exports.Set("mapKeys", Napi::Function::New(env, MapKeys));
  exports.Set("objGet", Napi::Function::New(env, ObjGet));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  exports.Set("possibleCpus", Napi::Function::New(env, PossibleCpus));
  exports.Set("socketCookie", Napi::Function::New(env, SocketCookie));
  exports.Set("enableStats", Napi::Function::New(env, EnableStats));
}

}  // namespace wf
