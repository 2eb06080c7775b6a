// The module: one Env per Node environment that loads it, the functions of each file, and
// the kernel's capabilities (what this addon can use here).
#include "common.h"

namespace tessera {

static void Init(v8::Local<v8::Object> exports, v8::Local<v8::Value> module, v8::Local<v8::Context> context) {
  v8::Isolate* isolate = context->GetIsolate();
  Env* env = new Env(isolate, context);
  env->cleanupHook = node::AddEnvironmentCleanupHook(isolate, Env::AsyncCleanup, env);
  v8::Local<v8::External> data = v8::External::New(isolate, env);
  InitSegment(context, exports, data);
  InitFutex(context, exports, data);
  InitProcess(context, exports, data);
  InitSocket(context, exports, data);
  const Capabilities& caps = GetCapabilities();
  v8::Local<v8::Object> c = v8::Object::New(isolate);
  SetProp(context, c, "futexWaitv", v8::Boolean::New(isolate, caps.futexWaitv));
  SetProp(context, c, "pidfd", v8::Boolean::New(isolate, caps.pidfd));
  SetProp(context, c, "peerPidfd", v8::Boolean::New(isolate, caps.peerPidfd));
  SetProp(context, exports, "capabilities", c);
  SetProp(context, exports, "abiVersion", v8::Integer::New(isolate, 5));
}

}  // namespace tessera

NODE_MODULE_INIT() { tessera::Init(exports, module, context); }
