// wait / waitAsync / notify with the shapes of Atomics.wait / waitAsync / notify, over the
// futex system call on a word of shared memory, so they reach other processes. (V8's own
// Atomics.wait and notify keep their waiters in process memory and never meet another process.)
#include "futex.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <climits>
#include <ctime>
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

// The word (array, index) designates, after the checks every futex function makes; `what` names
// the pair in messages ("" for the first two arguments, "words[3]" for an entry of waitAny).
// Nothing is allocated unless a check fails: the spin and the waits call this on every wait.
static bool WordOf(Isolate* isolate, const char* fn, const char* what, Local<Value> arrayValue, Local<Value> index,
                   int32_t** addr, std::shared_ptr<v8::BackingStore>* keep) {
  const bool named = what[0] != '\0';
  auto prefix = [&]() { return std::string(fn) + ": " + (named ? std::string(what) + ": " : std::string()); };
  if (!arrayValue->IsInt32Array()) {
    ThrowType(isolate, prefix() + (named ? "i32" : "the first argument") +
                           " must be an Int32Array over a SharedArrayBuffer, got " + Describe(isolate, arrayValue));
    return false;
  }
  Local<v8::Int32Array> array = arrayValue.As<v8::Int32Array>();
  Local<Value> buffer = array->Buffer();
  if (!buffer->IsSharedArrayBuffer()) {
    ThrowType(isolate, prefix() +
                           "the Int32Array must view a SharedArrayBuffer (a futex on private memory reaches no "
                           "other process), got one over an ArrayBuffer");
    return false;
  }
  size_t length = array->Length();
  if (!index->IsNumber()) {
    ThrowType(isolate, prefix() + "index must be an integer, got " + Describe(isolate, index));
    return false;
  }
  double i = index.As<v8::Number>()->Value();
  if (!std::isfinite(i) || i != std::floor(i)) {
    ThrowRange(isolate, prefix() + "index must be an integer (a word index, not a byte offset), got " +
                            Describe(isolate, index));
    return false;
  }
  if (i < 0 || i >= static_cast<double>(length)) {
    ThrowRange(isolate, prefix() + "index " + Describe(isolate, index) + " is out of range: the Int32Array has " +
                            std::to_string(length) + " elements");
    return false;
  }
  // The backing store is taken (a reference count) only for a wait that outlives this call.
  std::shared_ptr<v8::BackingStore> store;
  void* data;
  if (keep) {
    store = buffer.As<v8::SharedArrayBuffer>()->GetBackingStore();
    data = store->Data();
  } else {
    data = buffer.As<v8::SharedArrayBuffer>()->Data();
  }
  char* base = static_cast<char*>(data) + array->ByteOffset();
  int32_t* word = reinterpret_cast<int32_t*>(base) + static_cast<size_t>(i);
  if (reinterpret_cast<uintptr_t>(word) % 4 != 0) {  // an Int32Array is always aligned; a futex must be
    ThrowRange(isolate, prefix() + "the word is not 4-byte aligned");
    return false;
  }
  *addr = word;
  if (keep) *keep = std::move(store);
  return true;
}

bool ArgWord(const FunctionCallbackInfo<Value>& args, const char* fn, int32_t** addr,
             std::shared_ptr<v8::BackingStore>* keep) {
  return WordOf(args.GetIsolate(), fn, "", args[0], args[1], addr, keep);
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

struct FutexWaitv {  // struct futex_waitv (Linux 5.16)
  uint64_t val;
  uint64_t uaddr;
  uint32_t flags;
  uint32_t reserved;
};
const uint32_t kFutexSize32 = 2;  // FUTEX2_SIZE_U32; shared (no FUTEX2_PRIVATE), so other processes wake it
const uint32_t kWaitvMax = 128;   // FUTEX_WAITV_MAX

// waitAny(words, timeoutMs?) -> "ok" | "not-equal" | "timed-out": one futex_waitv (Linux 5.16) on up to
// 128 words, each {i32, index, value}. Blocks this thread while every word holds its value, until a
// notify (from any process) on one of them or the deadline. "not-equal": some word differed already.
// A server waiting for any of several clients, each with a word in its own segment, sleeps once and
// no client can write another's word.
static void WaitAny(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  Local<Context> context = isolate->GetCurrentContext();
  const char* fn = "waitAny";
  if (!GetCapabilities().futexWaitv) {
    return ThrowErrno(isolate, ENOSYS, "futex_waitv", std::string(fn) + ": this kernel has no futex_waitv (Linux 5.16)");
  }
  if (!args[0]->IsArray()) {
    return ThrowType(isolate, std::string(fn) + ": words must be an array of {i32, index, value}, got " +
                                  Describe(isolate, args[0]));
  }
  Local<v8::Array> list = args[0].As<v8::Array>();
  uint32_t n = list->Length();
  if (n < 1 || n > kWaitvMax) {
    return ThrowRange(isolate, std::string(fn) + ": words must hold 1 to " + std::to_string(kWaitvMax) +
                                   " entries, got " + std::to_string(n));
  }
  FutexWaitv v[kWaitvMax];
  for (uint32_t k = 0; k < n; k++) {
    const std::string what = "words[" + std::to_string(k) + "]";
    Local<Value> entry;
    if (!list->Get(context, k).ToLocal(&entry)) return;
    if (!entry->IsObject()) {
      return ThrowType(isolate, std::string(fn) + ": " + what + " must be an object {i32, index, value}, got " +
                                    Describe(isolate, entry));
    }
    Local<Object> o = entry.As<Object>();
    Local<Value> i32, index, value;
    if (!o->Get(context, Str(isolate, "i32")).ToLocal(&i32) ||
        !o->Get(context, Str(isolate, "index")).ToLocal(&index) ||
        !o->Get(context, Str(isolate, "value")).ToLocal(&value))
      return;
    int32_t* addr;
    if (!WordOf(isolate, fn, what.c_str(), i32, index, &addr, nullptr)) return;
    double d = value->IsNumber() ? value.As<v8::Number>()->Value() : NAN;
    if (!value->IsNumber() || d != std::floor(d) || d < INT32_MIN || d > INT32_MAX) {
      return ThrowRange(isolate, std::string(fn) + ": " + what + ": value must be an integer in the int32 range, got " +
                                     Describe(isolate, value));
    }
    v[k].val = static_cast<uint64_t>(static_cast<uint32_t>(static_cast<int32_t>(d)));
    v[k].uaddr = reinterpret_cast<uint64_t>(addr);
    v[k].flags = kFutexSize32;
    v[k].reserved = 0;
  }
  double ms = 0;
  bool forever;
  if (!ArgTimeoutMs(args, 1, fn, &ms, &forever)) return;
  WaitResult result;
  if (!forever && ms == 0) {
    result = WaitResult::kTimedOut;
    for (uint32_t k = 0; k < n; k++)
      if (static_cast<uint32_t>(__atomic_load_n(reinterpret_cast<int32_t*>(v[k].uaddr), __ATOMIC_SEQ_CST)) !=
          static_cast<uint32_t>(v[k].val))
        result = WaitResult::kNotEqual;
  } else {
    struct timespec deadline;
    if (!forever) deadline = DeadlineAfterMs(ms);
    for (;;) {
      long r = syscall(449 /* SYS_futex_waitv */, v, n, 0, forever ? nullptr : &deadline, CLOCK_MONOTONIC);
      if (r >= 0) {
        result = WaitResult::kOk;
        break;
      }
      if (errno == EAGAIN) {
        result = WaitResult::kNotEqual;
        break;
      }
      if (errno == ETIMEDOUT) {
        result = WaitResult::kTimedOut;
        break;
      }
      // A signal interrupted the wait: the deadline is absolute, so resume.
      if (errno != EINTR) return ThrowErrno(isolate, errno, "futex_waitv", fn);
    }
  }
  args.GetReturnValue().Set(Str(isolate, WaitResultName(result)));
}

// yieldCpu(): sched_yield. A thread spinning for a word another thread of this machine will write
// gives its CPU to that thread when both share one (more spinning threads than CPUs).
static void YieldCpu(const FunctionCallbackInfo<Value>& args) { sched_yield(); }

// The CPU the calling thread runs on now (sched_getcpu: a vDSO read, no system call where the
// kernel offers it), or -1 when the kernel cannot say.
static void CurrentCpu(const FunctionCallbackInfo<Value>& args) {
  args.GetReturnValue().Set(static_cast<int32_t>(sched_getcpu()));
}

// The CPU's spin-wait hint: tells the core that this is a polling loop, so that it neither
// floods the line it polls with requests nor speculates loads past a change of it (leaving the
// loop then costs no pipeline flush). JavaScript has no way to issue it.
static inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}

static inline int64_t MonotonicNs() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<int64_t>(t.tv_sec) * 1000000000LL + t.tv_nsec;
}

// spinWait(i32, wantIndex, want, seenIndex, seen, budgetMs) -> 1 once i32[wantIndex] === want,
// 2 once i32[seenIndex] !== seen (checked in that order), 0 once budgetMs passed. An index of -1
// leaves its word out (one must be given). Plain loads with the CPU's spin-wait hint between
// probes; the clock is first read at the 64th probe, as the JavaScript spin does, so a budget is
// exceeded by at most 64 probes.
static void SpinWait(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  const char* fn = "spinWait";
  int32_t* wantAddr = nullptr;
  int32_t* seenAddr = nullptr;
  int64_t want = 0, seen = 0;
  if (!ArgInteger(args, 2, fn, "want", INT32_MIN, INT32_MAX, &want) ||
      !ArgInteger(args, 4, fn, "seen", INT32_MIN, INT32_MAX, &seen))
    return;
  for (int k = 0; k < 2; k++) {
    int i = k == 0 ? 1 : 3;
    if (args[i]->IsNumber() && args[i].As<v8::Number>()->Value() == -1) continue;
    if (!WordOf(isolate, fn, k == 0 ? "wantIndex" : "seenIndex", args[0], args[i], k == 0 ? &wantAddr : &seenAddr,
                nullptr))
      return;
  }
  if (wantAddr == nullptr && seenAddr == nullptr)
    return ThrowRange(isolate, "spinWait: wantIndex and seenIndex are both -1: there is no word to watch");
  if (!args[5]->IsNumber()) return ThrowType(isolate, std::string(fn) + ": budgetMs must be a number, got " + Describe(isolate, args[5]));
  double ms = args[5].As<v8::Number>()->Value();
  if (std::isnan(ms) || ms < 0 || ms > 1e6)
    return ThrowRange(isolate, std::string(fn) + ": budgetMs must be between 0 and 1e6, got " + Describe(isolate, args[5]));
  const int32_t w = static_cast<int32_t>(want), s = static_cast<int32_t>(seen);
  int64_t until = -1;
  const int64_t budgetNs = static_cast<int64_t>(ms * 1e6);
  for (unsigned i = 1;; i++) {
    if (wantAddr != nullptr && __atomic_load_n(wantAddr, __ATOMIC_SEQ_CST) == w) return args.GetReturnValue().Set(1);
    if (seenAddr != nullptr && __atomic_load_n(seenAddr, __ATOMIC_SEQ_CST) != s) return args.GetReturnValue().Set(2);
    if ((i & 63) == 0) {
      int64_t t = MonotonicNs();
      if (until < 0) until = t + budgetNs;
      else if (t > until) return args.GetReturnValue().Set(0);
    }
    CpuRelax();
  }
}

// prefetchWrite(i32, ...indices): asks the core for the line of each named word in a state it may
// write (x86 PREFETCHW, arm64 PRFM PSTL1KEEP) and returns without waiting for any of them; at most
// 8 indices, -1 leaves a place empty. A hint only: no word is read or written, and a line another
// core writes meanwhile just moves back. A caller that will write lines another process wrote last
// starts every transfer at once, where its loads and stores would wait for each in turn.
static constexpr int kMaxPrefetch = 8;
static void PrefetchWrite(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  const char* fn = "prefetchWrite";
  const int n = args.Length() - 1;
  if (n > kMaxPrefetch)
    return ThrowRange(isolate, std::string(fn) + ": at most " + std::to_string(kMaxPrefetch) + " indices, got " +
                                   std::to_string(n));
  if (!args[0]->IsInt32Array())
    return ThrowType(isolate, std::string(fn) + ": the first argument must be an Int32Array over a SharedArrayBuffer, got " +
                                  Describe(isolate, args[0]));
  Local<v8::Int32Array> array = args[0].As<v8::Int32Array>();
  Local<Value> buffer = array->Buffer();
  if (!buffer->IsSharedArrayBuffer())
    return ThrowType(isolate, std::string(fn) + ": the Int32Array must view a SharedArrayBuffer, got one over an ArrayBuffer");
  const size_t length = array->Length();
  int32_t* base = reinterpret_cast<int32_t*>(static_cast<char*>(buffer.As<v8::SharedArrayBuffer>()->Data()) +
                                             array->ByteOffset());
  int32_t* words[kMaxPrefetch];
  int k = 0;
  for (int a = 1; a <= n; a++) {
    const double i = args[a]->IsNumber() ? args[a].As<v8::Number>()->Value() : NAN;
    if (i == -1) continue;
    if (!std::isfinite(i) || i != std::floor(i) || i < 0 || i >= static_cast<double>(length)) {
      const std::string at = std::string(fn) + ": indices[" + std::to_string(a - 1) + "] ";
      if (!args[a]->IsNumber()) return ThrowType(isolate, at + "must be an integer, got " + Describe(isolate, args[a]));
      return ThrowRange(isolate, at + "must be -1 or a word of the Int32Array (0 to " + std::to_string(length) +
                                     " exclusive), got " + Describe(isolate, args[a]));
    }
    words[k++] = base + static_cast<size_t>(i);
  }
  for (int j = 0; j < k; j++) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("prefetchw %0" ::"m"(*words[j]));
#elif defined(__aarch64__)
    __asm__ __volatile__("prfm pstl1keep, %0" ::"Q"(*words[j]));
#endif
  }
}

void InitFutex(Local<Context> context, Local<Object> exports, Local<v8::External> data) {
  SetMethod(context, exports, "wait", Wait, data);
  SetMethod(context, exports, "waitAsync", WaitAsync, data);
  SetMethod(context, exports, "notify", Notify, data);
  SetMethod(context, exports, "waitAny", WaitAny, data);
  SetMethod(context, exports, "yieldCpu", YieldCpu, data);
  SetMethod(context, exports, "currentCpu", CurrentCpu, data);
  SetMethod(context, exports, "spinWait", SpinWait, data);
  SetMethod(context, exports, "prefetchWrite", PrefetchWrite, data);
}

}  // namespace tessera
