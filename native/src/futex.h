// Futex calls on one Int32 word of a SharedArrayBuffer, shared (not FUTEX_PRIVATE_FLAG), so a
// waiter and a waker may be different processes mapping the same memfd or file.
#pragma once

#include <time.h>

#include <cstdint>
#include <memory>

#include "common.h"

namespace tessera {

enum class WaitResult { kOk, kNotEqual, kTimedOut };

const char* WaitResultName(WaitResult r);

// FUTEX_WAIT_BITSET against an absolute CLOCK_MONOTONIC deadline (null: none), retried on EINTR.
// Returns the outcome, or -1 with errno set on another failure (EFAULT, EINVAL).
int FutexWait(int32_t* addr, int32_t expected, const struct timespec* deadline, WaitResult* out);
long FutexWake(int32_t* addr, int count);

// The word an (Int32Array, index) pair designates, after the checks every futex function makes:
// an Int32Array over a SharedArrayBuffer, index an integer inside it. Throws and returns false.
bool ArgWord(const v8::FunctionCallbackInfo<v8::Value>& args, const char* fn, int32_t** addr,
             std::shared_ptr<v8::BackingStore>* keep);

// The thread pool behind waitAsync (waitpool.cc).
void WaitAsyncStart(Env* env, const v8::FunctionCallbackInfo<v8::Value>& args, std::shared_ptr<v8::BackingStore> keep,
                    int32_t* addr, int32_t expected, bool forever, double timeoutMs);

}  // namespace tessera
