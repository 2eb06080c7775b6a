#include "common.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace tessera {

using v8::Context;
using v8::External;
using v8::FunctionCallbackInfo;
using v8::FunctionTemplate;
using v8::Isolate;
using v8::Local;
using v8::Object;
using v8::String;
using v8::Value;

Env::Env(Isolate* iso, Local<Context> ctx)
    : isolate(iso), loop(node::GetCurrentEventLoop(iso)), context(iso, ctx), resource(iso, Object::New(iso)) {}

Env::~Env() {
  context.Reset();
  resource.Reset();
}

void Env::AsyncCleanup(void* arg, void (*done)(void*), void* doneArg) {
  Env* env = static_cast<Env*>(arg);
  env->cleanupDone = done;
  env->cleanupDoneArg = doneArg;
  env->closingHandles++;  // held until both shutdowns have started their closes
  ShutdownWaitPool(env);
  ShutdownExitWatches(env);
  env->HandleClosed();
}

void Env::HandleClosed() {
  if (--closingHandles > 0) return;
  void (*done)(void*) = cleanupDone;
  void* doneArg = cleanupDoneArg;
  delete this;
  done(doneArg);
}

Env* EnvOf(const FunctionCallbackInfo<Value>& args) {
  return static_cast<Env*>(args.Data().As<External>()->Value());
}

Local<String> Str(Isolate* isolate, const char* s) {
  return String::NewFromUtf8(isolate, s).ToLocalChecked();
}

Local<String> Str(Isolate* isolate, const std::string& s) {
  return String::NewFromUtf8(isolate, s.c_str(), v8::NewStringType::kNormal, static_cast<int>(s.size()))
      .ToLocalChecked();
}

void SetProp(Local<Context> context, Local<Object> obj, const char* key, Local<Value> value) {
  obj->Set(context, Str(context->GetIsolate(), key), value).Check();
}

void SetMethod(Local<Context> context, Local<Object> exports, const char* name, v8::FunctionCallback callback,
               Local<External> data) {
  Isolate* isolate = context->GetIsolate();
  Local<v8::Function> fn = FunctionTemplate::New(isolate, callback, data)->GetFunction(context).ToLocalChecked();
  fn->SetName(Str(isolate, name));
  exports->Set(context, Str(isolate, name), fn).Check();
}

void ThrowType(Isolate* isolate, const std::string& message) {
  isolate->ThrowException(v8::Exception::TypeError(Str(isolate, message)));
}

void ThrowRange(Isolate* isolate, const std::string& message) {
  isolate->ThrowException(v8::Exception::RangeError(Str(isolate, message)));
}

std::string ErrName(int err) {
  const char* name = uv_err_name(-err);
  return name ? name : "E?";
}

Local<Value> ErrnoError(Isolate* isolate, int err, const char* syscall, const std::string& what) {
  std::string code = ErrName(err);
  std::string message = what + ": " + syscall + " failed: " + code + " (" + strerror(err) + ")";
  Local<Context> context = isolate->GetCurrentContext();
  Local<Object> e = v8::Exception::Error(Str(isolate, message)).As<Object>();
  SetProp(context, e, "code", Str(isolate, code));
  SetProp(context, e, "errno", v8::Integer::New(isolate, -err));
  SetProp(context, e, "syscall", Str(isolate, syscall));
  return e;
}

void ThrowErrno(Isolate* isolate, int err, const char* syscall, const std::string& what) {
  isolate->ThrowException(ErrnoError(isolate, err, syscall, what));
}

void ThrowTimeout(Isolate* isolate, const char* syscall, const std::string& message) {
  Local<Context> context = isolate->GetCurrentContext();
  Local<Object> e = v8::Exception::Error(Str(isolate, message + " (ETIMEDOUT)")).As<Object>();
  SetProp(context, e, "code", Str(isolate, "ETIMEDOUT"));
  SetProp(context, e, "errno", v8::Integer::New(isolate, -ETIMEDOUT));
  SetProp(context, e, "syscall", Str(isolate, syscall));
  isolate->ThrowException(e);
}

std::string Describe(Isolate* isolate, Local<Value> value) {
  Local<Context> context = isolate->GetCurrentContext();
  if (value->IsUndefined()) return "undefined";
  if (value->IsNull()) return "null";
  if (value->IsBoolean()) return value->IsTrue() ? "true" : "false";
  if (value->IsNumber() || value->IsBigInt()) {
    v8::String::Utf8Value s(isolate, value);
    return std::string(*s ? *s : "?") + (value->IsBigInt() ? "n" : "");
  }
  if (value->IsString()) {
    v8::String::Utf8Value s(isolate, value);
    std::string text(*s ? *s : "");
    if (text.size() > 40) text = text.substr(0, 40) + "...";
    return "\"" + text + "\"";
  }
  if (value->IsSymbol()) return "a symbol";
  if (value->IsFunction()) return "a function";
  if (value->IsObject()) {
    v8::String::Utf8Value name(isolate, value.As<Object>()->GetConstructorName());
    std::string n(*name ? *name : "Object");
    const char* article = (!n.empty() && std::strchr("AEIOU", n[0])) ? "an " : "a ";
    (void)context;
    return article + n;
  }
  return "a value";
}

static std::string Num(double v) {
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e17)
    snprintf(buf, sizeof buf, "%.0f", v);
  else
    snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

bool ArgInteger(const FunctionCallbackInfo<Value>& args, int i, const char* fn, const char* name, double min,
                double max, int64_t* out) {
  Isolate* isolate = args.GetIsolate();
  Local<Value> v = args[i];
  if (!v->IsNumber()) {
    ThrowType(isolate, std::string(fn) + ": " + name + " must be an integer, got " + Describe(isolate, v));
    return false;
  }
  double d = v.As<v8::Number>()->Value();
  if (!std::isfinite(d) || d != std::floor(d)) {
    ThrowRange(isolate, std::string(fn) + ": " + name + " must be an integer, got " + Describe(isolate, v));
    return false;
  }
  if (d < min || d > max) {
    ThrowRange(isolate, std::string(fn) + ": " + name + " must be between " + Num(min) + " and " + Num(max) +
                            ", got " + Num(d));
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool ArgFd(const FunctionCallbackInfo<Value>& args, int i, const char* fn, const char* name, int* out) {
  int64_t v;
  if (!ArgInteger(args, i, fn, name, 0, 2147483647.0, &v)) return false;
  *out = static_cast<int>(v);
  return true;
}

bool ArgTimeoutMs(const FunctionCallbackInfo<Value>& args, int i, const char* fn, double* ms, bool* forever) {
  Isolate* isolate = args.GetIsolate();
  Local<Value> v = args[i];
  *forever = false;
  if (v->IsUndefined()) {
    *forever = true;
    return true;
  }
  if (!v->IsNumber()) {
    ThrowType(isolate, std::string(fn) + ": timeoutMs must be a number (milliseconds) or undefined, got " +
                           Describe(isolate, v));
    return false;
  }
  double d = v.As<v8::Number>()->Value();
  if (std::isnan(d) || d < 0) {
    ThrowRange(isolate, std::string(fn) + ": timeoutMs must be >= 0 or Infinity, got " + Describe(isolate, v));
    return false;
  }
  // Beyond ~31 years a deadline is as good as none (and would overflow a timespec's arithmetic).
  if (std::isinf(d) || d > 1e12) {
    *forever = true;
    return true;
  }
  *ms = d;
  return true;
}

bool ArgBytes(const FunctionCallbackInfo<Value>& args, int i, const char* fn, const char* name,
              Local<v8::ArrayBufferView>* out) {
  Isolate* isolate = args.GetIsolate();
  if (!args[i]->IsArrayBufferView()) {
    ThrowType(isolate, std::string(fn) + ": " + name + " must be a Uint8Array (or another ArrayBufferView), got " +
                           Describe(isolate, args[i]));
    return false;
  }
  *out = args[i].As<v8::ArrayBufferView>();
  return true;
}

bool CheckOpenFd(Isolate* isolate, int fd, const char* fn, const char* name) {
  if (fcntl(fd, F_GETFD) >= 0) return true;
  int err = errno;
  ThrowErrno(isolate, err, "fcntl", std::string(fn) + ": " + name + " " + std::to_string(fd) +
                                        (err == EBADF ? " is not an open file descriptor" : ""));
  return false;
}

struct timespec DeadlineAfterMs(double ms) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  double whole = std::floor(ms / 1000.0);
  long long sec = static_cast<long long>(whole);
  long long nsec = static_cast<long long>((ms - whole * 1000.0) * 1e6);
  struct timespec t;
  t.tv_sec = now.tv_sec + sec;
  long long n = now.tv_nsec + nsec;
  if (n >= 1000000000LL) {
    t.tv_sec += 1;
    n -= 1000000000LL;
  }
  t.tv_nsec = static_cast<long>(n);
  return t;
}

double MsUntil(const struct timespec& deadline) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (deadline.tv_sec - now.tv_sec) * 1e3 + (deadline.tv_nsec - now.tv_nsec) / 1e6;
}

static Capabilities Probe() {
  Capabilities c{};
  // futex_waitv with no futexes: EINVAL where the call exists, ENOSYS where it does not.
  errno = 0;
  long r = syscall(449 /* SYS_futex_waitv */, nullptr, 0, 0, nullptr, 0);
  c.futexWaitv = !(r < 0 && errno == ENOSYS);
  // The tests run the fallback (kernels before 5.16) on newer kernels through this variable.
  const char* no = getenv("TESSERA_NATIVE_NO_FUTEX_WAITV");
  if (no != nullptr && no[0] == '1') c.futexWaitv = false;
  int fd = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
  c.pidfd = fd >= 0;
  if (fd >= 0) close(fd);
  // SO_PEERPIDFD on a socket pair of our own: ENOPROTOOPT before Linux 6.5.
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
    int pidfd = -1;
    socklen_t len = sizeof pidfd;
    c.peerPidfd = getsockopt(sv[0], SOL_SOCKET, 77 /* SO_PEERPIDFD */, &pidfd, &len) == 0 && pidfd >= 0;
    if (c.peerPidfd) close(pidfd);
    close(sv[0]);
    close(sv[1]);
  }
  return c;
}

const Capabilities& GetCapabilities() {
  static const Capabilities caps = Probe();
  return caps;
}

}  // namespace tessera
