// waitAsync's waiting threads. The event loop cannot sleep on a futex (no fd to poll), so each
// pending waitAsync occupies one thread of a small pool that blocks in the futex call and hands
// the outcome back through one uv_async_t; the promise settles on the loop thread.
//
// One thread per pending wait, reused: a futex sleeps on one word, so a thread can serve only
// one wait at a time (futex_waitv could take 128 words, but re-arming its set whenever a wait
// is added costs a wake of its own on every waitAsync). Threads are created on demand, at most
// kMaxWaiters, and at most kMaxIdle stay parked for reuse; so a steady state of a few waits per
// process never creates a thread. Handing a wait to a parked thread costs one private futex
// wake; the wake a notify causes costs two kernel wake-ups (the pool thread, then the loop via
// the async handle's eventfd) where a blocking wait costs one.
//
// Teardown (the environment's cleanup hook, e.g. a worker thread ending): every pending wait is
// cancelled and every thread joined. With futex_waitv (Linux 5.16) each thread waits on the
// shared word and on a private cancel word, so a cancel wakes exactly that thread; without it the
// teardown wakes the shared word itself, which other waiters on that word see as a spurious "ok".
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <mutex>
#include <string>
#include <vector>

#include "futex.h"

namespace tessera {

namespace {

const size_t kMaxWaiters = 1024;
const size_t kMaxIdle = 4;
const size_t kStackBytes = 64 * 1024;

struct WaitvEntry {  // struct futex_waitv (Linux 5.16)
  uint64_t val;
  uint64_t uaddr;
  uint32_t flags;
  uint32_t reserved;
};
const uint32_t kFutex32 = 2;
const uint32_t kFutexPrivate = 128;

long FutexPrivate(std::atomic<int32_t>* word, int op, int32_t val) {
  return syscall(SYS_futex, reinterpret_cast<int32_t*>(word), op | FUTEX_PRIVATE_FLAG, val, nullptr, nullptr, 0);
}

}  // namespace

struct AsyncWait {
  std::shared_ptr<v8::BackingStore> keep;  // the mapping stays while the wait is pending
  int32_t* addr;
  int32_t expected;
  bool forever;
  struct timespec deadline;
  v8::Global<v8::Promise::Resolver> resolver;
  WaitResult result = WaitResult::kOk;
  int err = 0;  // errno of a futex call that failed otherwise (reported as a rejection)
};

struct Waiter {
  class WaitPool* pool;
  pthread_t thread;
  std::atomic<int32_t> control{0};  // 0 parked, 1 has a job, 2 exit (private futex word)
  std::atomic<int32_t> cancel{0};   // nonzero: abandon the job (private futex word, futex_waitv only)
  AsyncWait* job = nullptr;
};

class WaitPool {
 public:
  explicit WaitPool(Env* env) : env_(env) {
    uv_async_init(env->loop, &async_, OnAsync);
    async_.data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(&async_));
  }

  // Loop thread. Hands the job to a parked or new thread; false (error set) when none can be had.
  bool Start(AsyncWait* job, std::string* error) {
    std::lock_guard<std::mutex> lock(mu_);
    Waiter* w;
    if (!idle_.empty()) {
      w = idle_.back();
      idle_.pop_back();
    } else {
      if (all_.size() >= kMaxWaiters) {
        *error = "waitAsync: " + std::to_string(kMaxWaiters) + " waits are pending already (one thread each)";
        return false;
      }
      w = new Waiter();
      w->pool = this;
      int err = Spawn(w);
      if (err != 0) {
        delete w;
        *error = "waitAsync: pthread_create failed: " + ErrName(err);
        return false;
      }
      all_.push_back(w);
    }
    w->job = job;
    w->control.store(1);
    FutexPrivate(&w->control, FUTEX_WAKE, 1);
    if (pending_++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(&async_));
    return true;
  }

  // Loop thread, at environment teardown: cancel, join, close; deletes the pool when closed.
  void Shutdown() {
    std::vector<Waiter*> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing_ = true;
      for (Waiter* w : all_) Stop(w);
      threads = all_;
    }
    for (Waiter* w : threads) Join(w);
    for (Waiter* w : threads) delete w;
    for (AsyncWait* job : done_) delete job;
    done_.clear();
    env_->closingHandles++;
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), [](uv_handle_t* h) {
      WaitPool* pool = static_cast<WaitPool*>(h->data);
      Env* env = pool->env_;
      delete pool;
      env->HandleClosed();
    });
  }

 private:
  // Threads start with every signal blocked: a process-directed signal (SIGCHLD, SIGINT) must
  // reach the loop thread, never interrupt a pool thread.
  int Spawn(Waiter* w) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, std::max<size_t>(kStackBytes, static_cast<size_t>(PTHREAD_STACK_MIN)));
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&w->thread, &attr, ThreadMain, w);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    pthread_attr_destroy(&attr);
    return err;
  }

  // Under mu_.
  void Stop(Waiter* w) {
    if (w->job != nullptr) {
      w->cancel.store(1);
      FutexPrivate(&w->cancel, FUTEX_WAKE, 1);
      if (!GetCapabilities().futexWaitv) FutexWake(w->job->addr, INT_MAX);
    } else {
      w->control.store(2);
      FutexPrivate(&w->control, FUTEX_WAKE, 1);
    }
  }

  void Join(Waiter* w) {
    for (;;) {
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_nsec += 20 * 1000 * 1000;
      if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
      }
      if (pthread_timedjoin_np(w->thread, nullptr, &until) != ETIMEDOUT) return;
      // Without futex_waitv the wake may have come before the thread went to sleep: repeat it.
      std::lock_guard<std::mutex> lock(mu_);
      if (w->job != nullptr) FutexWake(w->job->addr, INT_MAX);
    }
  }

  static void RunJob(Waiter* w, AsyncWait* job) {
    const struct timespec* deadline = job->forever ? nullptr : &job->deadline;
    if (GetCapabilities().futexWaitv) {
      WaitvEntry v[2] = {
          {static_cast<uint32_t>(job->expected), reinterpret_cast<uintptr_t>(job->addr), kFutex32, 0},
          {0, reinterpret_cast<uintptr_t>(&w->cancel), kFutex32 | kFutexPrivate, 0},
      };
      for (;;) {
        long r = syscall(449 /* SYS_futex_waitv */, v, 2, 0, deadline, CLOCK_MONOTONIC);
        if (r == 0) job->result = WaitResult::kOk;
        if (r >= 0) return;  // 1: cancelled (the result is never delivered)
        if (errno == EINTR) continue;
        if (errno == EAGAIN) job->result = WaitResult::kNotEqual;  // or cancelled: ignored then
        else if (errno == ETIMEDOUT) job->result = WaitResult::kTimedOut;
        else job->err = errno;
        return;
      }
    }
    if (w->cancel.load() != 0) return;
    if (FutexWait(job->addr, job->expected, deadline, &job->result) < 0) job->err = errno;
  }

  static void* ThreadMain(void* arg) {
    Waiter* w = static_cast<Waiter*>(arg);
    WaitPool* pool = w->pool;
    for (;;) {
      int32_t c;
      while ((c = w->control.load()) == 0) FutexPrivate(&w->control, FUTEX_WAIT, 0);
      if (c == 2) return nullptr;
      RunJob(w, w->job);
      std::unique_lock<std::mutex> lock(pool->mu_);
      pool->done_.push_back(w->job);
      w->job = nullptr;
      w->control.store(0);
      if (pool->closing_) return nullptr;  // Shutdown joins this thread
      uv_async_send(&pool->async_);        // under mu_: Shutdown closes the handle only after joining
      if (pool->idle_.size() < kMaxIdle) {
        pool->idle_.push_back(w);
        continue;
      }
      // Enough parked threads: this one leaves (detached; it touches nothing of the pool after).
      pool->all_.erase(std::find(pool->all_.begin(), pool->all_.end(), w));
      pthread_detach(w->thread);
      lock.unlock();
      delete w;
      return nullptr;
    }
  }

  static void OnAsync(uv_async_t* handle) {
    WaitPool* pool = static_cast<WaitPool*>(handle->data);
    std::vector<AsyncWait*> jobs;
    {
      std::lock_guard<std::mutex> lock(pool->mu_);
      jobs.swap(pool->done_);
    }
    if (jobs.empty()) return;
    Env* env = pool->env_;
    v8::Isolate* isolate = env->isolate;
    v8::HandleScope scope(isolate);
    v8::Local<v8::Context> context = env->context.Get(isolate);
    v8::Context::Scope contextScope(context);
    // Runs the microtasks (the promise reactions) when it closes, as any Node callback does.
    node::CallbackScope callbackScope(isolate, env->resource.Get(isolate), {0, 0});
    for (AsyncWait* job : jobs) {
      v8::Local<v8::Promise::Resolver> resolver = job->resolver.Get(isolate);
      if (job->err != 0)
        resolver->Reject(context, ErrnoError(isolate, job->err, "futex", "waitAsync")).Check();
      else
        resolver->Resolve(context, Str(isolate, WaitResultName(job->result))).Check();
      delete job;
      if (--pool->pending_ == 0) uv_unref(reinterpret_cast<uv_handle_t*>(&pool->async_));
    }
  }

  Env* env_;
  uv_async_t async_;
  std::mutex mu_;
  std::vector<Waiter*> all_;   // every live thread not detached
  std::vector<Waiter*> idle_;  // parked, ready for a job
  std::vector<AsyncWait*> done_;
  size_t pending_ = 0;  // loop thread only: started and not yet settled (the handle is ref'd while > 0)
  bool closing_ = false;
};

void WaitAsyncStart(Env* env, const v8::FunctionCallbackInfo<v8::Value>& args, std::shared_ptr<v8::BackingStore> keep,
                    int32_t* addr, int32_t expected, bool forever, double timeoutMs) {
  v8::Isolate* isolate = args.GetIsolate();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::Local<v8::Promise::Resolver> resolver;
  if (!v8::Promise::Resolver::New(context).ToLocal(&resolver)) return;
  AsyncWait* job = new AsyncWait();
  job->keep = std::move(keep);
  job->addr = addr;
  job->expected = expected;
  job->forever = forever;
  if (!forever) job->deadline = DeadlineAfterMs(timeoutMs);
  job->resolver.Reset(isolate, resolver);
  if (env->pool == nullptr) env->pool = new WaitPool(env);
  std::string error;
  if (!env->pool->Start(job, &error)) {
    delete job;
    ThrowRange(isolate, error);
    return;
  }
  v8::Local<v8::Object> out = v8::Object::New(isolate);
  SetProp(context, out, "async", v8::True(isolate));
  SetProp(context, out, "value", resolver->GetPromise());
  args.GetReturnValue().Set(out);
}

void ShutdownWaitPool(Env* env) {
  if (env->pool == nullptr) return;
  WaitPool* pool = env->pool;
  env->pool = nullptr;
  pool->Shutdown();
}

}  // namespace tessera
