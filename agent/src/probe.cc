#include "probe.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

namespace wf {

// Loads and attaches a two-instruction fentry program to `fn`: kernels where
// fentry exists in BTF but trampolines are refused fail here, not later.
static int FentryCanAttach(const std::string& fn) {
  struct btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) return -errno;
  int btf_id = btf__find_by_name_kind(vmlinux, fn.c_str(), BTF_KIND_FUNC);
  btf__free(vmlinux);
  if (btf_id < 0) return -ENOENT;

  struct bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = 0},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts);
  opts.expected_attach_type = BPF_TRACE_FENTRY;
  opts.attach_btf_id = btf_id;
  int prog_fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "wf_probe", "GPL", insns, 2, &opts);
  if (prog_fd < 0) return -errno;
  int link_fd = bpf_raw_tracepoint_open(nullptr, prog_fd);
  int err = link_fd < 0 ? -errno : 0;
  if (link_fd >= 0) close(link_fd);
  close(prog_fd);
  return err;
}

// kprobes need the kprobe PMU (CONFIG_KPROBES) and a text symbol to hook.
static int KprobeAvailable(const std::string& fn) {
  if (access("/sys/bus/event_source/devices/kprobe/type", R_OK) != 0) return -ENOTSUP;
  std::ifstream syms("/proc/kallsyms");
  std::string addr, type, name;
  while (syms >> addr >> type) {
    std::getline(syms, name);
    size_t start = name.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    name = name.substr(start);
    size_t end = name.find_first_of(" \t");
    if (end != std::string::npos) name = name.substr(0, end);
    if (name == fn && (type == "T" || type == "t")) return 0;
  }
  return -ENOENT;
}

// tp_btf needs the tracepoint's typedef in vmlinux BTF.
static int TpBtfExists(const std::string& tp) {
  struct btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) return -errno;
  int id = btf__find_by_name_kind(vmlinux, ("btf_trace_" + tp).c_str(), BTF_KIND_TYPEDEF);
  btf__free(vmlinux);
  return id < 0 ? -ENOENT : 0;
}

// A kfunc is a function in vmlinux BTF; where it is registered for a
// program type, the verifier says at load.
static int KfuncExists(const std::string& fn) {
  struct btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) return -errno;
  int id = btf__find_by_name_kind(vmlinux, fn.c_str(), BTF_KIND_FUNC);
  btf__free(vmlinux);
  return id < 0 ? -ENOENT : 0;
}

static Napi::Value Result(Napi::Env env, int err) {
  return err == 0 ? Napi::Value(Napi::Boolean::New(env, true))
                  : Napi::Value(Napi::Number::New(env, -err));
}

void InitProbe(Napi::Env env, Napi::Object exports) {
  // Each returns true, or the errno that says why not.
  exports.Set("fentryCanAttach", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return Result(info.Env(), FentryCanAttach(info[0].As<Napi::String>()));
  }));
  exports.Set("kprobeAvailable", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return Result(info.Env(), KprobeAvailable(info[0].As<Napi::String>()));
  }));
  exports.Set("tpBtfExists", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return Result(info.Env(), TpBtfExists(info[0].As<Napi::String>()));
  }));
  exports.Set("kfuncExists", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return Result(info.Env(), KfuncExists(info[0].As<Napi::String>()));
  }));
  exports.Set("libbpfVersion", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), libbpf_version_string());
  }));
}

}  // namespace wf
