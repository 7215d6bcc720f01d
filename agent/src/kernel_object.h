// One BPF object file: open, choose which programs load, load, attach, pin,
// and detach. Links close with the object, and the kernel drops them when the
// process exits, so nothing stays attached after Wireflame is gone unless it
// was pinned on purpose.
#pragma once
#include <bpf/libbpf.h>
#include <napi.h>

#include <vector>

namespace wf {

class KernelObject : public Napi::ObjectWrap<KernelObject> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit KernelObject(const Napi::CallbackInfo& info);
  ~KernelObject() override;

 private:
  Napi::Value Programs(const Napi::CallbackInfo& info);
  Napi::Value SetAutoload(const Napi::CallbackInfo& info);
  Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value Attach(const Napi::CallbackInfo& info);
  Napi::Value MapFd(const Napi::CallbackInfo& info);
  Napi::Value PinMaps(const Napi::CallbackInfo& info);
  Napi::Value UnpinMaps(const Napi::CallbackInfo& info);
  Napi::Value ProgStats(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  struct bpf_program* FindProgram(Napi::Env env, const std::string& name);
  void Destroy();

  struct bpf_object* obj_ = nullptr;
  std::vector<struct bpf_link*> links_;
};

}  // namespace wf
