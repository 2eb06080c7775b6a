// wait / waitAsync / notify with the shapes of Atomics.wait / waitAsync / notify, over the
// futex system call on a word of shared memory, so they reach other processes. (V8's own
// Atomics.wait and notify keep their waiters in process memory and never meet another process.)
#include "futex.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <climits>
#include <string>

namespace tessera {

using v8::Context;
using v8::FunctionCallbackInfo;
using v8::Isolate;
using v8::Local;
using v8::Object;
using v8::Value;

const char* WaitResultName(WaitResult r) {
  switch (r) {
    case WaitResult::kOk:
      return "ok";
    case WaitResult::kNotEqual:
      return "not-equal";
    case WaitResult::kTimedOut:
      return "timed-out";
  }
  return "?";
}

int FutexWait(int32_t* addr, int32_t expected, const struct timespec* deadline, WaitResult* out) {
  for (;;) {
    long r = syscall(SYS_futex, addr, FUTEX_WAIT_BITSET, expected, deadline, nullptr, FUTEX_BITSET_MATCH_ANY);
    if (r == 0) {
      *out = WaitResult::kOk;
      return 0;
    }
    if (errno == EAGAIN) {
      *out = WaitResult::kNotEqual;
      return 0;
    }
    if (errno == ETIMEDOUT) {
      *out = WaitResult::kTimedOut;
      return 0;
    }
    if (errno != EINTR) return -1;
    // A signal (SIGCHLD, SIGWINCH...) interrupted the wait: the deadline is absolute, so resume.
  }
}

long FutexWake(int32_t* addr, int count) { return syscall(SYS_futex, addr, FUTEX_WAKE, count, nullptr, nullptr, 0); }

bool ArgWord(const FunctionCallbackInfo<Value>& args, const char* fn, int32_t** addr,
             std::shared_ptr<v8::BackingStore>* keep) {
  Isolate* isolate = args.GetIsolate();
  if (!args[0]->IsInt32Array()) {
    ThrowType(isolate, std::string(fn) + ": the first argument must be an Int32Array over a SharedArrayBuffer, got " +
                           Describe(isolate, args[0]));
    return false;
  }
  Local<v8::Int32Array> array = args[0].As<v8::Int32Array>();
  Local<Value> buffer = array->Buffer();
  if (!buffer->IsSharedArrayBuffer()) {
    ThrowType(isolate, std::string(fn) +
                           ": the Int32Array must view a SharedArrayBuffer (a futex on private memory reaches no "
                           "other process), got one over an ArrayBuffer");
    return false;
  }
  size_t length = array->Length();
  Local<Value> index = args[1];
  if (!index->IsNumber()) {
    ThrowType(isolate, std::string(fn) + ": index must be an integer, got " + Describe(isolate, index));
    return false;
  }
  double i = index.As<v8::Number>()->Value();
  if (!std::isfinite(i) || i != std::floor(i)) {
    ThrowRange(isolate, std::string(fn) + ": index must be an integer (a word index, not a byte offset), got " +
                            Describe(isolate, index));
    return false;
  }
  if (i < 0 || i >= static_cast<double>(length)) {
    ThrowRange(isolate, std::string(fn) + ": index " + Describe(isolate, index) +
                            " is out of range: the Int32Array has " + std::to_string(length) + " elements");
    return false;
  }
  std::shared_ptr<v8::BackingStore> store = buffer.As<v8::SharedArrayBuffer>()->GetBackingStore();
  char* base = static_cast<char*>(store->Data()) + array->ByteOffset();
  int32_t* word = reinterpret_cast<int32_t*>(base) + static_cast<size_t>(i);
  if (reinterpret_cast<uintptr_t>(word) % 4 != 0) {  // an Int32Array is always aligned; a futex must be
    ThrowRange(isolate, std::string(fn) + ": the word is not 4-byte aligned");
    return false;
  }
  *addr = word;
  if (keep) *keep = std::move(store);
  return true;
}

static bool ArgValue(const FunctionCallbackInfo<Value>& args, const char* fn, int32_t* value) {
  int64_t v;
  if (!ArgInteger(args, 2, fn, "value", INT32_MIN, INT32_MAX, &v)) return false;
  *value = static_cast<int32_t>(v);
  return true;
}

// wait(i32, index, value, timeoutMs?) -> "ok" | "not-equal" | "timed-out". Blocks this thread.
// "ok" means a notify (from any process) woke it, or rarely a spurious wake: re-check the word.
static void Wait(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  const char* fn = "wait";
  int32_t* addr;
  int32_t expected;
  double ms = 0;
  bool forever;
  if (!ArgWord(args, fn, &addr, nullptr) || !ArgValue(args, fn, &expected) ||
      !ArgTimeoutMs(args, 3, fn, &ms, &forever))
    return;
  WaitResult result;
  if (!forever && ms == 0) {
    result = __atomic_load_n(addr, __ATOMIC_SEQ_CST) == expected ? WaitResult::kTimedOut : WaitResult::kNotEqual;
  } else {
    struct timespec deadline;
    if (!forever) deadline = DeadlineAfterMs(ms);
    if (FutexWait(addr, expected, forever ? nullptr : &deadline, &result) < 0)
      return ThrowErrno(isolate, errno, "futex", fn);
  }
  args.GetReturnValue().Set(Str(isolate, WaitResultName(result)));
}

// waitAsync(i32, index, value, timeoutMs?) -> {async: false, value: "not-equal" | "timed-out"}
// or {async: true, value: Promise<"ok" | "not-equal" | "timed-out">}, as Atomics.waitAsync.
static void WaitAsync(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  const char* fn = "waitAsync";
  int32_t* addr;
  int32_t expected;
  double ms = 0;
  bool forever;
  std::shared_ptr<v8::BackingStore> keep;
  if (!ArgWord(args, fn, &addr, &keep) || !ArgValue(args, fn, &expected) || !ArgTimeoutMs(args, 3, fn, &ms, &forever))
    return;
  bool differs = __atomic_load_n(addr, __ATOMIC_SEQ_CST) != expected;
  if (differs || (!forever && ms == 0)) {
    Local<Context> context = isolate->GetCurrentContext();
    Local<Object> out = Object::New(isolate);
    SetProp(context, out, "async", v8::False(isolate));
    SetProp(context, out, "value", Str(isolate, differs ? "not-equal" : "timed-out"));
    args.GetReturnValue().Set(out);
    return;
  }
  WaitAsyncStart(EnvOf(args), args, std::move(keep), addr, expected, forever, ms);
}

// notify(i32, index, count?) -> the number of waiters woken, in every process. count: an integer
// >= 0, or undefined / Infinity for all.
static void Notify(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  const char* fn = "notify";
  int32_t* addr;
  if (!ArgWord(args, fn, &addr, nullptr)) return;
  int count = INT_MAX;
  Local<Value> c = args[2];
  if (!c->IsUndefined() && !(c->IsNumber() && c.As<v8::Number>()->Value() == INFINITY)) {
    int64_t n;
    if (!ArgInteger(args, 2, fn, "count", 0, 9007199254740991.0, &n)) return;
    count = n > INT_MAX ? INT_MAX : static_cast<int>(n);
  }
  long woken = count == 0 ? 0 : FutexWake(addr, count);
  if (woken < 0) return ThrowErrno(isolate, errno, "futex", fn);
  args.GetReturnValue().Set(v8::Number::New(isolate, static_cast<double>(woken)));
}

void InitFutex(Local<Context> context, Local<Object> exports, Local<v8::External> data) {
  SetMethod(context, exports, "wait", Wait, data);
  SetMethod(context, exports, "waitAsync", WaitAsync, data);
  SetMethod(context, exports, "notify", Notify, data);
}

}  // namespace tessera
