// Shared pieces of the addon: the per-environment state (one per Node thread that loads it),
// precise argument errors, and errno errors shaped like Node's own (code, errno, syscall).
#pragma once

#include <node.h>
#include <uv.h>
#include <v8.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

namespace tessera {

class WaitPool;
struct ExitWatch;

// What the kernel offers, probed once at load: the loader reports it and the tests read it.
struct Capabilities {
  bool futexWaitv;  // futex_waitv (Linux 5.16): a pool thread can also wait on a private cancel word
  bool pidfd;       // pidfd_open (Linux 5.3)
  bool peerPidfd;   // SO_PEERPIDFD (Linux 6.5): a socket peer's pidfd without a pid race
};
const Capabilities& GetCapabilities();

// One per Node environment (main thread or worker thread) that loads the addon. Owned by the
// environment's async cleanup hook, which stops every thread and closes every handle it made.
struct Env {
  Env(v8::Isolate* isolate, v8::Local<v8::Context> context);
  ~Env();

  v8::Isolate* isolate;
  uv_loop_t* loop;
  v8::Global<v8::Context> context;
  v8::Global<v8::Object> resource;  // the async resource callbacks run under
  WaitPool* pool = nullptr;         // created at the first waitAsync
  std::unordered_map<uint32_t, ExitWatch*> watches;
  uint32_t nextWatchId = 1;
  int closingHandles = 0;  // handles closed by the cleanup hook, not yet called back
  void (*cleanupDone)(void*) = nullptr;
  void* cleanupDoneArg = nullptr;
  node::AsyncCleanupHookHandle cleanupHook;

  static void AsyncCleanup(void* arg, void (*done)(void*), void* doneArg);
  void HandleClosed();  // a handle closed by the cleanup hook was called back
};

Env* EnvOf(const v8::FunctionCallbackInfo<v8::Value>& args);

// Errors. Every message starts with the function's name, as the JavaScript API spells it.
void ThrowType(v8::Isolate* isolate, const std::string& message);
void ThrowRange(v8::Isolate* isolate, const std::string& message);
// An Error with code (EBADF), errno (negative, as Node's), syscall, and the message
// "<what>: <syscall> failed: <code> (<strerror>)".
v8::Local<v8::Value> ErrnoError(v8::Isolate* isolate, int err, const char* syscall, const std::string& what);
void ThrowErrno(v8::Isolate* isolate, int err, const char* syscall, const std::string& what);
std::string ErrName(int err);
// An Error with code ETIMEDOUT and the message "<message> (ETIMEDOUT)".
void ThrowTimeout(v8::Isolate* isolate, const char* syscall, const std::string& message);

// A short description of a value for an error message: 1.5, "abc", undefined, a Float64Array.
std::string Describe(v8::Isolate* isolate, v8::Local<v8::Value> value);

// Argument readers: each returns false after throwing a TypeError (wrong type) or a RangeError
// (non-integer, out of range) that names the function, the argument and what was received.
bool ArgInteger(const v8::FunctionCallbackInfo<v8::Value>& args, int i, const char* fn, const char* name, double min,
                double max, int64_t* out);
bool ArgFd(const v8::FunctionCallbackInfo<v8::Value>& args, int i, const char* fn, const char* name, int* out);
// A timeout in milliseconds: undefined or Infinity waits forever (*forever = true); otherwise a
// number >= 0 (fractions allowed, as Atomics.wait allows them).
bool ArgTimeoutMs(const v8::FunctionCallbackInfo<v8::Value>& args, int i, const char* fn, double* ms, bool* forever);
bool ArgBytes(const v8::FunctionCallbackInfo<v8::Value>& args, int i, const char* fn, const char* name,
              v8::Local<v8::ArrayBufferView>* out);
// An open file descriptor (fcntl F_GETFD succeeds): EBADF otherwise, with the fd in the message.
bool CheckOpenFd(v8::Isolate* isolate, int fd, const char* fn, const char* name);

v8::Local<v8::String> Str(v8::Isolate* isolate, const char* s);
v8::Local<v8::String> Str(v8::Isolate* isolate, const std::string& s);
void SetProp(v8::Local<v8::Context> context, v8::Local<v8::Object> obj, const char* key, v8::Local<v8::Value> value);

// Absolute CLOCK_MONOTONIC deadline `ms` from now; now + ms, rounded down to the nanosecond.
struct timespec DeadlineAfterMs(double ms);
double MsUntil(const struct timespec& deadline);  // <= 0 when passed

// Registration of each file's functions on the exports object.
void InitSegment(v8::Local<v8::Context> context, v8::Local<v8::Object> exports, v8::Local<v8::External> data);
void InitFutex(v8::Local<v8::Context> context, v8::Local<v8::Object> exports, v8::Local<v8::External> data);
void InitProcess(v8::Local<v8::Context> context, v8::Local<v8::Object> exports, v8::Local<v8::External> data);
void InitSocket(v8::Local<v8::Context> context, v8::Local<v8::Object> exports, v8::Local<v8::External> data);
void SetMethod(v8::Local<v8::Context> context, v8::Local<v8::Object> exports, const char* name,
               v8::FunctionCallback callback, v8::Local<v8::External> data);

// Closing pool and watches at environment teardown (defined with them).
void ShutdownWaitPool(Env* env);
void ShutdownExitWatches(Env* env);

}  // namespace tessera
