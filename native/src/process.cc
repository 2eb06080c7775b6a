// Liveness of a process through a pidfd (Linux 5.3): unlike a pid, a pidfd designates one
// process for as long as it is open, so a recycled pid can never be mistaken for the peer.
// A pidfd polls readable once its process has terminated (zombie or reaped), which gives a
// blocking check (poll with a timeout) and an event-loop watch (uv_poll) without a thread.
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common.h"

namespace tessera {

using v8::Context;
using v8::FunctionCallbackInfo;
using v8::Isolate;
using v8::Local;
using v8::Object;
using v8::Value;

struct ExitWatch {
  uv_poll_t poll;
  Env* env;
  uint32_t id;
  v8::Global<v8::Function> callback;
};

// pidfd_send_signal with signal 0 sends nothing: EBADF tells a descriptor that is no pidfd.
static bool CheckPidfd(Isolate* isolate, int fd, const char* fn) {
  if (!CheckOpenFd(isolate, fd, fn, "pidfd")) return false;
  if (syscall(SYS_pidfd_send_signal, fd, 0, nullptr, 0) < 0 && errno == EBADF) {
    ThrowType(isolate, std::string(fn) + ": fd " + std::to_string(fd) + " is not a pidfd (open one with pidfdOpen)");
    return false;
  }
  return true;
}

// pidfdOpen(pid) -> fd (close-on-exec). ESRCH when no such process exists (any more).
static void PidfdOpen(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  const char* fn = "pidfdOpen";
  int64_t pid;
  if (!ArgInteger(args, 0, fn, "pid", 1, 2147483647.0, &pid)) return;
  long fd = syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0);
  if (fd < 0) {
    int err = errno;
    std::string what = std::string(fn) + ": pid " + std::to_string(pid);
    if (err == ESRCH) what += " (no such process: it never existed, or it exited and was reaped)";
    if (err == ENOSYS) what += " (pidfd_open needs Linux 5.3 or later)";
    return ThrowErrno(isolate, err, "pidfd_open", what);
  }
  args.GetReturnValue().Set(v8::Integer::New(isolate, static_cast<int>(fd)));
}

// Polls the pidfd for up to timeoutMs (< 0: forever). 1: terminated, 0: alive, -1: error in errno.
static int PollExit(int fd, bool forever, double ms) {
  struct timespec deadline;
  if (!forever) deadline = DeadlineAfterMs(ms);
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    int timeout = -1;
    if (!forever) {
      double left = MsUntil(deadline);
      timeout = left <= 0 ? 0 : static_cast<int>(left < 2147483647.0 ? left + 0.999 : 2147483647.0);
    }
    int r = poll(&p, 1, timeout);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r > 0 && (p.revents & POLLNVAL)) {
      errno = EBADF;
      return -1;
    }
    if (r > 0) return 1;
    if (forever || MsUntil(deadline) <= 0) return 0;
  }
}

// pidfdAlive(fd) -> false once the process has terminated (exited or killed; reaped or not).
static void PidfdAlive(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  const char* fn = "pidfdAlive";
  int fd;
  if (!ArgFd(args, 0, fn, "pidfd", &fd) || !CheckPidfd(isolate, fd, fn)) return;
  int r = PollExit(fd, false, 0);
  if (r < 0) return ThrowErrno(isolate, errno, "poll", fn);
  args.GetReturnValue().Set(v8::Boolean::New(isolate, r == 0));
}

// pidfdWaitExit(fd, timeoutMs?) -> true when the process terminated within timeoutMs (blocking).
static void PidfdWaitExit(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  const char* fn = "pidfdWaitExit";
  int fd;
  double ms = 0;
  bool forever;
  if (!ArgFd(args, 0, fn, "pidfd", &fd) || !ArgTimeoutMs(args, 1, fn, &ms, &forever) || !CheckPidfd(isolate, fd, fn))
    return;
  int r = PollExit(fd, forever, ms);
  if (r < 0) return ThrowErrno(isolate, errno, "poll", fn);
  args.GetReturnValue().Set(v8::Boolean::New(isolate, r == 1));
}

static void CloseWatch(ExitWatch* w, bool teardown) {
  uv_poll_stop(&w->poll);
  if (teardown) w->env->closingHandles++;
  uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), teardown ? [](uv_handle_t* h) {
    ExitWatch* w = static_cast<ExitWatch*>(h->data);
    Env* env = w->env;
    delete w;
    env->HandleClosed();
  } : [](uv_handle_t* h) { delete static_cast<ExitWatch*>(h->data); });
}

static void OnExitPoll(uv_poll_t* handle, int status, int events) {
  ExitWatch* w = static_cast<ExitWatch*>(handle->data);
  Env* env = w->env;
  Isolate* isolate = env->isolate;
  v8::HandleScope scope(isolate);
  Local<Context> context = env->context.Get(isolate);
  v8::Context::Scope contextScope(context);
  Local<v8::Function> callback = w->callback.Get(isolate);
  env->watches.erase(w->id);
  w->callback.Reset();
  CloseWatch(w, false);
  // A failed poll (status < 0) cannot tell exit from life: report it, not a death.
  Local<Value> argv[1] = {status < 0 ? ErrnoError(isolate, -status, "uv_poll", "pidfdWatch")
                                     : Local<Value>(v8::Null(isolate))};
  node::MakeCallback(isolate, env->resource.Get(isolate), callback, 1, argv, {0, 0});
}

// pidfdWatch(fd, callback(error | null), keepAlive) -> watch id: callback runs once, on the
// event loop, when the process terminates. With keepAlive the watch keeps the loop alive until it
// fires or is removed (as a socket does); without, it never holds the process up.
static void PidfdWatch(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  const char* fn = "pidfdWatch";
  int fd;
  if (!ArgFd(args, 0, fn, "pidfd", &fd) || !CheckPidfd(isolate, fd, fn)) return;
  if (!args[1]->IsFunction()) {
    ThrowType(isolate, std::string(fn) + ": callback must be a function, got " + Describe(isolate, args[1]));
    return;
  }
  Env* env = EnvOf(args);
  ExitWatch* w = new ExitWatch();
  w->env = env;
  w->poll.data = w;
  int r = uv_poll_init(env->loop, &w->poll, fd);
  bool initialised = r == 0;
  if (initialised) r = uv_poll_start(&w->poll, UV_READABLE, OnExitPoll);
  if (r < 0) {
    std::string what = std::string(fn) + ": fd " + std::to_string(fd) +
                       (r == UV_EEXIST ? " is watched already (one watch per pidfd)" : "");
    if (initialised)
      uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), [](uv_handle_t* h) { delete static_cast<ExitWatch*>(h->data); });
    else
      delete w;
    return ThrowErrno(isolate, -r, "uv_poll", what);
  }
  if (!args[2]->IsTrue()) uv_unref(reinterpret_cast<uv_handle_t*>(&w->poll));
  w->id = env->nextWatchId++;
  w->callback.Reset(isolate, args[1].As<v8::Function>());
  env->watches[w->id] = w;
  args.GetReturnValue().Set(v8::Integer::NewFromUnsigned(isolate, w->id));
}

// pidfdUnwatch(id) -> true when the watch was pending (its callback will not run).
static void PidfdUnwatch(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  int64_t id;
  if (!ArgInteger(args, 0, "pidfdUnwatch", "id", 0, 4294967295.0, &id)) return;
  Env* env = EnvOf(args);
  auto it = env->watches.find(static_cast<uint32_t>(id));
  if (it == env->watches.end()) {
    args.GetReturnValue().Set(v8::False(isolate));
    return;
  }
  ExitWatch* w = it->second;
  env->watches.erase(it);
  w->callback.Reset();
  CloseWatch(w, false);
  args.GetReturnValue().Set(v8::True(isolate));
}

void ShutdownExitWatches(Env* env) {
  for (auto& entry : env->watches) {
    entry.second->callback.Reset();
    CloseWatch(entry.second, true);
  }
  env->watches.clear();
}

void InitProcess(Local<Context> context, Local<Object> exports, Local<v8::External> data) {
  SetMethod(context, exports, "pidfdOpen", PidfdOpen, data);
  SetMethod(context, exports, "pidfdAlive", PidfdAlive, data);
  SetMethod(context, exports, "pidfdWaitExit", PidfdWaitExit, data);
  SetMethod(context, exports, "pidfdWatch", PidfdWatch, data);
  SetMethod(context, exports, "pidfdUnwatch", PidfdUnwatch, data);
}

}  // namespace tessera
