/*
 * C IPC baselines for Tessera (compiled at run time by bench/baselines/c.ts into bench/c/build/).
 *
 *   ipc_bench pingpong <warmup> <iters> <size>           AF_UNIX SOCK_STREAM socketpair, 2 processes
 *   ipc_bench stream   <warmup> <msgs>  <size>           one-way, one write() per message
 *   ipc_bench scm      <warmup> <iters> <size> <fdmode>  ping-pong with sendmsg/recvmsg;
 *        fdmode 0: no fd; 1: every message carries the same fd (SCM_RIGHTS); 2: a new fd per message
 *   ipc_bench scmstream <warmup> <msgs> <size>          one-way sendmsg stream, every message carrying the
 *        same fd (SCM_RIGHTS); the receiver closes each fd it gets
 *   ipc_bench futex    <warmup> <iters> <size> <spin_us> ping-pong between 2 processes over a shared
 *        mapping: the payload is copied into it, a sequence word published, the peer woken with
 *        FUTEX_WAKE only if it announced it sleeps; a waiter spins up to <spin_us> (0: none) then
 *        sleeps in FUTEX_WAIT (shared futexes: the processes are separate)
 *   ipc_bench futexstream <warmup> <msgs> <size> <spin_us> one-way ring of 2 MiB over the shared
 *        mapping, head and tail published every message, the same wait/wake protocol
 *   ipc_bench rpcpool  <warmup> <iters> <size> <clients> RPC pool: one server process, <clients>
 *        client processes, each with its own socketpair; closed-loop calls; the server waits in
 *        epoll_wait and answers one request per ready socket in turn. <iters> calls per client.
 *        With 1 client the server reads its one socket directly (no epoll): the plain ping-pong.
 *
 * Prints one JSON line: {"median_us":..,"p99_us":..,"msgs_per_sec":..,"bytes_per_sec":..,"samples":..}
 * (rpcpool: msgs_per_sec is calls per second over the window where every client was measuring,
 * plus "window_ms", "ready_per_wait", the mean number of ready sockets an epoll_wait returned, and
 * "cpu_us_per_call", the CPU time (user + system) of the server and all clients over the whole run
 * divided by every call made, warm-up included).
 * Round trips are timed one by one with clock_gettime(CLOCK_MONOTONIC).
 * Environment IPC_BENCH_MAX_MS (default 7000) caps each measured phase; "samples" then tells how
 * many round trips / messages were actually measured. IPC_BENCH_PIN="<a>,<b>" pins the parent to
 * CPU a and every forked child to CPU b (sched_setaffinity), before anything is measured.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/syscall.h>


/* IPC_BENCH_PIN="<a>,<b>": the CPU of the parent (side 0) and of each forked child (side 1). */
static void pin_side(int side) {
  const char *e = getenv("IPC_BENCH_PIN");
  if (!e) return;
  int a, b;
  if (sscanf(e, "%d,%d", &a, &b) != 2 || a < 0 || b < 0 || a >= CPU_SETSIZE || b >= CPU_SETSIZE) {
    fprintf(stderr, "ipc_bench: IPC_BENCH_PIN must be \"<cpu>,<cpu>\", not \"%s\"\n", e);
    exit(2);
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(side == 0 ? a : b, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    perror("ipc_bench: sched_setaffinity (IPC_BENCH_PIN)");
    exit(2);
  }
}

/* fork(), with the child pinned (IPC_BENCH_PIN) before it returns into its loop. */
static pid_t fork_side(void) {
  pid_t pid = fork();
  if (pid == 0) pin_side(1);
  return pid;
}

static uint64_t max_ns = 7000ull * 1000000ull;

static void die(const char *what) {
  fprintf(stderr, "ipc_bench: %s: %s\n", what, strerror(errno));
  exit(1);
}

static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* 0 on success, -1 on EOF before n bytes. */
static int read_full(int fd, void *buf, size_t n) {
  char *p = buf;
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("read");
    }
    if (r == 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static void write_full(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t r = write(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    p += r;
    n -= (size_t)r;
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct(uint64_t *sorted, long n, double q) {
  long rank = (long)(q * (double)n + 0.999999999) - 1;
  if (rank < 0) rank = 0;
  if (rank >= n) rank = n - 1;
  return (double)sorted[rank] / 1000.0;
}

static void print_rtt(uint64_t *s, long n) {
  qsort(s, (size_t)n, sizeof *s, cmp_u64);
  printf("{\"median_us\":%.4f,\"p99_us\":%.4f,\"msgs_per_sec\":null,\"bytes_per_sec\":null,\"samples\":%ld}\n",
         pct(s, n, 0.5), pct(s, n, 0.99), n);
}

static void make_pair(int sv[2]) {
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) die("socketpair");
}

static void reap(pid_t pid) {
  int st;
  if (waitpid(pid, &st, 0) < 0) die("waitpid");
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "ipc_bench: child failed (status %d)\n", st);
    exit(1);
  }
}

/* ---------------------------------------------------------------- plain ping-pong */

static int run_pingpong(long warm, long iters, size_t size) {
  int sv[2];
  make_pair(sv);
  char *buf = calloc(1, size);
  pid_t pid = fork_side();
  if (pid < 0) die("fork");
  if (pid == 0) {
    close(sv[0]);
    while (read_full(sv[1], buf, size) == 0) write_full(sv[1], buf, size);
    _exit(0);
  }
  close(sv[1]);
  uint64_t *s = malloc(sizeof(uint64_t) * (size_t)iters);
  memset(buf, 7, size);
  long done = 0;
  uint64_t start = 0;
  for (long i = 0; i < warm + iters; i++) {
    if (i == warm) start = now_ns();
    uint64_t t0 = now_ns();
    write_full(sv[0], buf, size);
    if (read_full(sv[0], buf, size) < 0) die("early EOF");
    uint64_t t1 = now_ns();
    if (i >= warm) {
      s[done++] = t1 - t0;
      if ((done & 1023) == 0 && t1 - start > max_ns) break;
    }
  }
  close(sv[0]);
  reap(pid);
  print_rtt(s, done);
  return 0;
}

/* ---------------------------------------------------------------- one-way stream */

/* Read until EOF; return the byte count. */
static uint64_t sink_to_eof(int fd, char *buf, size_t cap) {
  uint64_t total = 0;
  for (;;) {
    ssize_t r = read(fd, buf, cap);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("read");
    }
    if (r == 0) return total;
    total += (uint64_t)r;
  }
}

static void sink_bytes(int fd, char *buf, size_t cap, uint64_t total) {
  while (total > 0) {
    size_t want = total < cap ? (size_t)total : cap;
    ssize_t r = read(fd, buf, want);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("read");
    }
    if (r == 0) die("sink: early EOF");
    total -= (uint64_t)r;
  }
}

static int run_stream(long warm, long msgs, size_t size) {
  int sv[2];
  make_pair(sv);
  size_t cap = 256 * 1024;
  char *rbuf = malloc(cap);
  char *msg = malloc(size);
  memset(msg, 5, size);
  char ack = 0;
  pid_t pid = fork_side();
  if (pid < 0) die("fork");
  if (pid == 0) {
    close(sv[0]);
    sink_bytes(sv[1], rbuf, cap, (uint64_t)warm * size);
    write_full(sv[1], &ack, 1);
    uint64_t got = sink_to_eof(sv[1], rbuf, cap); /* measured phase ends with the writer's shutdown */
    write_full(sv[1], &got, sizeof got);
    _exit(0);
  }
  close(sv[1]);
  for (long i = 0; i < warm; i++) write_full(sv[0], msg, size);
  if (read_full(sv[0], &ack, 1) < 0) die("no warm-up ack");
  uint64_t t0 = now_ns();
  long sent = 0;
  while (sent < msgs) {
    write_full(sv[0], msg, size);
    sent++;
    if ((sent & 1023) == 0 && now_ns() - t0 > max_ns) break;
  }
  if (shutdown(sv[0], SHUT_WR) < 0) die("shutdown");
  uint64_t got = 0;
  if (read_full(sv[0], &got, sizeof got) < 0) die("no byte count");
  uint64_t t1 = now_ns();
  if (got != (uint64_t)sent * size) {
    fprintf(stderr, "ipc_bench: sink got %llu bytes, sent %llu\n", (unsigned long long)got, (unsigned long long)sent * size);
    exit(1);
  }
  msgs = sent;
  close(sv[0]);
  reap(pid);
  double secs = (double)(t1 - t0) / 1e9;
  printf("{\"median_us\":null,\"p99_us\":null,\"msgs_per_sec\":%.1f,\"bytes_per_sec\":%.1f,\"samples\":%ld}\n",
         (double)msgs / secs, (double)msgs * (double)size / secs, msgs);
  return 0;
}

/* ---------------------------------------------------------------- SCM_RIGHTS ping-pong */

/* Send one message of `size` bytes, with fd attached when fd >= 0. */
static void send_msg(int sock, const char *buf, size_t size, int fd) {
  union {
    char raw[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  size_t done = 0;
  int first = 1;
  while (done < size) {
    struct iovec iov = {.iov_base = (void *)(buf + done), .iov_len = size - done};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (first && fd >= 0) {
      memset(&ctl, 0, sizeof ctl);
      mh.msg_control = ctl.raw;
      mh.msg_controllen = sizeof ctl.raw;
      struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t r = sendmsg(sock, &mh, MSG_NOSIGNAL);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("sendmsg");
    }
    done += (size_t)r;
    first = 0;
  }
}

/* Receive one message of `size` bytes; closes any fds received and returns how many. -1 on EOF. */
static int recv_msg(int sock, char *buf, size_t size) {
  union {
    char raw[CMSG_SPACE(sizeof(int) * 4)];
    struct cmsghdr align;
  } ctl;
  size_t done = 0;
  int nfds = 0;
  while (done < size) {
    struct iovec iov = {.iov_base = buf + done, .iov_len = size - done};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.raw, .msg_controllen = sizeof ctl.raw};
    ssize_t r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("recvmsg");
    }
    if (r == 0) return -1;
    if (mh.msg_flags & MSG_CTRUNC) {
      fprintf(stderr, "ipc_bench: control data truncated\n");
      exit(1);
    }
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int k = 0; k < n; k++) {
          int fd;
          memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
          close(fd);
          nfds++;
        }
      }
    }
    done += (size_t)r;
  }
  return nfds;
}

/* fdmode 0: none; 1: the same fd every time; 2: a newly created eventfd per message. */
static int next_fd(int fdmode, int fixed) {
  if (fdmode == 0) return -1;
  if (fdmode == 1) return fixed;
  int fd = eventfd(0, EFD_CLOEXEC);
  if (fd < 0) die("eventfd");
  return fd;
}

static void done_fd(int fdmode, int fd) {
  if (fdmode == 2) close(fd);
}

static int run_scm(long warm, long iters, size_t size, int fdmode) {
  int sv[2];
  make_pair(sv);
  char *buf = calloc(1, size);
  int fixed = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fixed < 0) die("open /dev/null");
  int want = fdmode ? 1 : 0;
  pid_t pid = fork_side();
  if (pid < 0) die("fork");
  if (pid == 0) {
    close(sv[0]);
    for (;;) {
      int got = recv_msg(sv[1], buf, size);
      if (got < 0) break;
      if (got != want) {
        fprintf(stderr, "ipc_bench: child got %d fds, expected %d\n", got, want);
        _exit(1);
      }
      int fd = next_fd(fdmode, fixed);
      send_msg(sv[1], buf, size, fd);
      done_fd(fdmode, fd);
    }
    _exit(0);
  }
  close(sv[1]);
  uint64_t *s = malloc(sizeof(uint64_t) * (size_t)iters);
  memset(buf, 7, size);
  long done = 0;
  uint64_t start = 0;
  for (long i = 0; i < warm + iters; i++) {
    if (i == warm) start = now_ns();
    uint64_t t0 = now_ns();
    int fd = next_fd(fdmode, fixed);
    send_msg(sv[0], buf, size, fd);
    done_fd(fdmode, fd);
    int got = recv_msg(sv[0], buf, size);
    uint64_t t1 = now_ns();
    if (got != want) {
      fprintf(stderr, "ipc_bench: parent got %d fds, expected %d\n", got, want);
      exit(1);
    }
    if (i >= warm) {
      s[done++] = t1 - t0;
      if ((done & 1023) == 0 && t1 - start > max_ns) break;
    }
  }
  close(sv[0]);
  reap(pid);
  print_rtt(s, done);
  return 0;
}

/* ---------------------------------------------------------------- SCM_RIGHTS one-way stream */

static int run_scmstream(long warm, long msgs, size_t size) {
  int sv[2];
  make_pair(sv);
  char *buf = calloc(1, size);
  int fixed = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fixed < 0) die("open /dev/null");
  pid_t pid = fork_side();
  if (pid < 0) die("fork");
  if (pid == 0) {
    close(sv[0]);
    long got = 0, bad = 0;
    char ack = 1;
    for (;;) {
      int n = recv_msg(sv[1], buf, size);
      if (n < 0) break;
      if (n != 1) bad++;
      if (++got == warm) write_full(sv[1], &ack, 1);
    }
    got -= warm;
    write_full(sv[1], &got, sizeof got);
    _exit(bad ? 1 : 0);
  }
  close(sv[1]);
  memset(buf, 5, size);
  char ack;
  for (long i = 0; i < warm; i++) send_msg(sv[0], buf, size, fixed);
  if (warm > 0 && read_full(sv[0], &ack, 1) < 0) die("no warm-up ack");
  uint64_t t0 = now_ns();
  long sent = 0;
  while (sent < msgs) {
    send_msg(sv[0], buf, size, fixed);
    sent++;
    if ((sent & 1023) == 0 && now_ns() - t0 > max_ns) break;
  }
  if (shutdown(sv[0], SHUT_WR) < 0) die("shutdown");
  long got = 0;
  if (read_full(sv[0], &got, sizeof got) < 0) die("no count");
  uint64_t t1 = now_ns();
  if (got != sent) {
    fprintf(stderr, "ipc_bench: scmstream receiver got %ld, sent %ld\n", got, sent);
    exit(1);
  }
  close(sv[0]);
  reap(pid);
  double secs = (double)(t1 - t0) / 1e9;
  printf("{\"median_us\":null,\"p99_us\":null,\"msgs_per_sec\":%.1f,\"bytes_per_sec\":%.1f,\"samples\":%ld}\n",
         (double)sent / secs, (double)sent * (double)size / secs, sent);
  return 0;
}

/* ---------------------------------------------------------------- futex over a shared mapping */

/* Each word on its own cache line. A sleep flag is written only by its owner (the waiter); the
 * publisher stores the word first and then reads the flag, both sequentially consistent, so
 * either the publisher sees the flag or the waiter sees the new value (no lost wake-up). */
struct fx_line {
  int v;
  char pad[60];
};
struct fx_shared {
  struct fx_line a, a_sleep, b, b_sleep, stop;
  uint64_t wakes; /* futex wakes that woke someone (both sides add) */
};

/* The copied-out message counts as read: without this the compiler may shrink a copy whose
 * destination is read only in part. */
static inline void consumed(const void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

static long fx_futex(int *addr, int op, int val) { return syscall(SYS_futex, addr, op, val, NULL, NULL, 0); }

static int fx_load(int *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static void fx_store(int *p, int v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }

/* Wait until *word != old; spin up to spin_ns (clock read every 64 probes), then sleep. */
static int fx_await(int *word, int old, int *sleep_flag, uint64_t spin_ns) {
  int v = fx_load(word);
  if (v != old) return v;
  if (spin_ns > 0) {
    uint64_t until = 0;
    for (unsigned k = 1;; k++) {
      v = fx_load(word);
      if (v != old) return v;
      if ((k & 63) == 0) {
        uint64_t t = now_ns();
        if (until == 0) until = t + spin_ns;
        else if (t >= until) break;
      }
      __builtin_ia32_pause();
    }
  }
  for (;;) {
    fx_store(sleep_flag, 1);
    v = fx_load(word);
    if (v == old) {
      if (fx_futex(word, FUTEX_WAIT, old) < 0 && errno != EAGAIN && errno != EINTR) die("futex wait");
      v = fx_load(word);
    }
    fx_store(sleep_flag, 0);
    if (v != old) return v;
  }
}

static void fx_publish(struct fx_shared *sh, int *word, int v, int *peer_sleep) {
  fx_store(word, v);
  if (fx_load(peer_sleep)) {
    long n = fx_futex(word, FUTEX_WAKE, 1);
    if (n < 0) die("futex wake");
    if (n > 0) __atomic_add_fetch(&sh->wakes, (uint64_t)n, __ATOMIC_RELAXED);
  }
}

static void *fx_map(size_t bytes) {
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  return p;
}

static int run_futex(long warm, long iters, size_t size, uint64_t spin_ns) {
  size_t bytes = sizeof(struct fx_shared) + 2 * size + 128;
  char *map = fx_map(bytes);
  struct fx_shared *sh = (struct fx_shared *)map;
  char *ab = map + sizeof *sh, *ba = ab + size + 64;
  char *buf = calloc(1, size);
  pid_t pid = fork_side();
  if (pid < 0) die("fork");
  if (pid == 0) {
    int seen = 0;
    for (;;) {
      seen = fx_await(&sh->a.v, seen, &sh->b_sleep.v, spin_ns);
      memcpy(buf, ab, size);
      consumed(buf);
      memcpy(ba, buf, size);
      int stop = fx_load(&sh->stop.v);
      fx_publish(sh, &sh->b.v, seen, &sh->a_sleep.v);
      if (stop) _exit(0);
    }
  }
  uint64_t *s = malloc(sizeof(uint64_t) * (size_t)iters);
  memset(buf, 7, size);
  long done = 0;
  uint64_t start = 0, wakes0 = 0;
  int seq = 0;
  for (long i = 0; i < warm + iters; i++) {
    if (i == warm) {
      start = now_ns();
      wakes0 = __atomic_load_n(&sh->wakes, __ATOMIC_RELAXED);
    }
    int last = i == warm + iters - 1;
    if (last) fx_store(&sh->stop.v, 1);
    uint64_t t0 = now_ns();
    memcpy(ab, buf, size);
    fx_publish(sh, &sh->a.v, ++seq, &sh->b_sleep.v);
    int got = fx_load(&sh->b.v);
    while (got != seq) got = fx_await(&sh->b.v, got, &sh->a_sleep.v, spin_ns);
    memcpy(buf, ba, size);
    consumed(buf);
    uint64_t t1 = now_ns();
    if (i >= warm) {
      s[done++] = t1 - t0;
      if (!last && (done & 1023) == 0 && t1 - start > max_ns) {
        fx_store(&sh->stop.v, 1);
        memcpy(ab, buf, size);
        fx_publish(sh, &sh->a.v, ++seq, &sh->b_sleep.v);
        while ((got = fx_load(&sh->b.v)) != seq) got = fx_await(&sh->b.v, got, &sh->a_sleep.v, spin_ns);
        break;
      }
    }
  }
  reap(pid);
  uint64_t wakes = __atomic_load_n(&sh->wakes, __ATOMIC_RELAXED) - wakes0;
  qsort(s, (size_t)done, sizeof *s, cmp_u64);
  printf("{\"median_us\":%.4f,\"p99_us\":%.4f,\"msgs_per_sec\":null,\"bytes_per_sec\":null,\"samples\":%ld,"
         "\"wakes_per_msg\":%.4f}\n",
         pct(s, done, 0.5), pct(s, done, 0.99), done, (double)wakes / (2.0 * (double)done));
  munmap(map, bytes);
  return 0;
}

static int run_futexstream(long warm, long msgs, size_t size, uint64_t spin_ns) {
  long slots = 8;
  while ((long)size * slots * 2 <= 2 * 1024 * 1024) slots *= 2;
  size_t bytes = sizeof(struct fx_shared) + (size_t)slots * size;
  char *map = fx_map(bytes);
  struct fx_shared *sh = (struct fx_shared *)map;
  char *ring = map + sizeof *sh;
  long mask = slots - 1, total = warm + msgs;
  /* a.v: head (messages published, producer), b.v: tail (released, consumer); b_sleep: the
   * consumer sleeps on head; a_sleep: the producer sleeps on tail. stop.v: the measured count
   * when the producer stopped early (else total). */
  fx_store(&sh->stop.v, (int)total);
  pid_t pid = fork_side();
  if (pid < 0) die("fork");
  if (pid == 0) {
    char *msg = malloc(size);
    int head = fx_load(&sh->a.v), tail = 0;
    long bad = 0;
    for (;;) {
      int want = fx_load(&sh->stop.v);
      if (tail == want) break;
      if (head == tail) {
        head = fx_load(&sh->a.v);
        if (head == tail) {
          head = fx_await(&sh->a.v, tail, &sh->b_sleep.v, spin_ns);
          continue; /* re-read stop: the producer may have stopped early */
        }
      }
      memcpy(msg, ring + (size_t)(tail & mask) * size, size);
      consumed(msg);
      if (*(int *)msg != tail) bad++;
      fx_publish(sh, &sh->b.v, ++tail, &sh->a_sleep.v);
    }
    _exit(bad ? 1 : 0);
  }
  char *msg = calloc(1, size);
  int head = 0, tail = 0;
  uint64_t t0 = 0;
  long measured = 0;
  for (long m = 0; m < total; m++) {
    if (m == warm) {
      while ((tail = fx_load(&sh->b.v)) != head) tail = fx_await(&sh->b.v, tail, &sh->a_sleep.v, spin_ns);
      t0 = now_ns();
    }
    /* Stopping early: the count is lowered before the last message is published, so the
     * consumer reads it after consuming that message and ends there. */
    int early = m > warm && ((m - warm) & 1023) == 0 && now_ns() - t0 > max_ns;
    if (early) fx_store(&sh->stop.v, head + 1);
    if (head - tail >= slots) {
      tail = fx_load(&sh->b.v);
      while (head - tail >= slots) tail = fx_await(&sh->b.v, tail, &sh->a_sleep.v, spin_ns);
    }
    *(int *)msg = head;
    memcpy(ring + (size_t)(head & mask) * size, msg, size);
    fx_publish(sh, &sh->a.v, ++head, &sh->b_sleep.v);
    if (m >= warm) measured++;
    if (early) break;
  }
  while ((tail = fx_load(&sh->b.v)) != head) tail = fx_await(&sh->b.v, tail, &sh->a_sleep.v, spin_ns);
  uint64_t t1 = now_ns();
  reap(pid);
  double secs = (double)(t1 - t0) / 1e9;
  printf("{\"median_us\":null,\"p99_us\":null,\"msgs_per_sec\":%.1f,\"bytes_per_sec\":%.1f,\"samples\":%ld}\n",
         (double)measured / secs, (double)measured * (double)size / secs, measured);
  munmap(map, bytes);
  return 0;
}

/* ---------------------------------------------------------------- RPC pool */

/* What one client leaves in the shared mapping: per-call round trips and completion times. */
struct pool_client {
  long n;
  uint64_t t_start, t_end;
};

struct pool_shared {
  int ready; /* clients done with their warm-up (the start barrier) */
  int pad;
};

static int run_rpcpool(long warm, long iters, size_t size, int clients) {
  if (clients < 1 || clients > 64) {
    fprintf(stderr, "ipc_bench: rpcpool needs 1..64 clients\n");
    return 2;
  }
  size_t per = sizeof(uint64_t) * 2 * (size_t)iters; /* rtt[iters], done_at[iters] */
  size_t bytes = sizeof(struct pool_shared) + (size_t)clients * (sizeof(struct pool_client) + per);
  char *map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) die("mmap");
  struct pool_shared *sh = (struct pool_shared *)map;
  struct pool_client *pc = (struct pool_client *)(map + sizeof *sh);
  uint64_t *series = (uint64_t *)(map + sizeof *sh + (size_t)clients * sizeof(struct pool_client));
  int fds[64];
  pid_t pids[64];
  for (int c = 0; c < clients; c++) {
    int sv[2];
    make_pair(sv);
    pid_t pid = fork_side();
    if (pid < 0) die("fork");
    if (pid == 0) {
      close(sv[0]);
      for (int k = 0; k < c; k++) close(fds[k]);
      char *buf = calloc(1, size);
      uint64_t *rtt = series + (size_t)c * 2 * (size_t)iters, *done_at = rtt + iters;
      memset(buf, 3, size);
      for (long i = 0; i < warm; i++) {
        write_full(sv[1], buf, size);
        if (read_full(sv[1], buf, size) < 0) _exit(3);
      }
      /* Start together: every client measures while all the others do. */
      __atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
      while (__atomic_load_n(&sh->ready, __ATOMIC_SEQ_CST) < clients) usleep(50);
      uint64_t start = now_ns();
      long n = 0;
      while (n < iters) {
        uint64_t t0 = now_ns();
        write_full(sv[1], buf, size);
        if (read_full(sv[1], buf, size) < 0) _exit(3);
        uint64_t t1 = now_ns();
        rtt[n] = t1 - t0;
        done_at[n] = t1;
        n++;
        if ((n & 1023) == 0 && t1 - start > max_ns) break;
      }
      pc[c].n = n;
      pc[c].t_start = start;
      pc[c].t_end = done_at[n - 1];
      close(sv[1]);
      _exit(0);
    }
    close(sv[1]);
    fds[c] = sv[0];
    pids[c] = pid;
  }
  char *buf = calloc(1, size);
  uint64_t waits = 0, ready = 0;
  if (clients == 1) {
    /* One client: answer its socket directly, as the ping-pong's echo does. */
    while (read_full(fds[0], buf, size) == 0) write_full(fds[0], buf, size);
    close(fds[0]);
    waits = ready = 1;
    goto served;
  }
  /* The server: one thread, epoll over every client's socket. */
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  for (int c = 0; c < clients; c++) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[c], &ev) < 0) die("epoll_ctl");
  }
  struct epoll_event evs[64];
  int open_count = clients;
  while (open_count > 0) {
    int k = epoll_wait(ep, evs, clients, -1);
    if (k < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    waits++;
    ready += (uint64_t)k;
    for (int i = 0; i < k; i++) {
      int c = (int)evs[i].data.u32;
      if (read_full(fds[c], buf, size) < 0) { /* the client is done */
        epoll_ctl(ep, EPOLL_CTL_DEL, fds[c], NULL);
        close(fds[c]);
        open_count--;
        continue;
      }
      write_full(fds[c], buf, size);
    }
  }
  close(ep);
served:;
  /* CPU time of everyone: the server's own and each client's, as the kernel accounted it. */
  double cpu_us = 0;
  for (int c = 0; c < clients; c++) {
    int st;
    struct rusage ru;
    if (wait4(pids[c], &st, 0, &ru) < 0) die("wait4");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "ipc_bench: client %d failed (status %d)\n", c, st);
      exit(1);
    }
    cpu_us += ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
  }
  struct rusage self;
  getrusage(RUSAGE_SELF, &self);
  cpu_us += self.ru_utime.tv_sec * 1e6 + self.ru_utime.tv_usec + self.ru_stime.tv_sec * 1e6 + self.ru_stime.tv_usec;
  /* Throughput over the window in which every client was measuring. */
  uint64_t w0 = 0, w1 = UINT64_MAX;
  long total = 0;
  for (int c = 0; c < clients; c++) {
    if (pc[c].n <= 0) {
      fprintf(stderr, "ipc_bench: client %d measured nothing\n", c);
      return 1;
    }
    if (pc[c].t_start > w0) w0 = pc[c].t_start;
    if (pc[c].t_end < w1) w1 = pc[c].t_end;
    total += pc[c].n;
  }
  if (w1 <= w0) {
    fprintf(stderr, "ipc_bench: the clients' measured phases do not overlap\n");
    return 1;
  }
  long in_window = 0;
  uint64_t *all = malloc(sizeof(uint64_t) * (size_t)total);
  long m = 0;
  for (int c = 0; c < clients; c++) {
    uint64_t *rtt = series + (size_t)c * 2 * (size_t)iters, *done_at = rtt + iters;
    for (long i = 0; i < pc[c].n; i++) {
      all[m++] = rtt[i];
      if (done_at[i] > w0 && done_at[i] <= w1) in_window++;
    }
  }
  qsort(all, (size_t)m, sizeof *all, cmp_u64);
  double secs = (double)(w1 - w0) / 1e9;
  printf("{\"median_us\":%.4f,\"p99_us\":%.4f,\"msgs_per_sec\":%.1f,\"bytes_per_sec\":%.1f,\"samples\":%ld,"
         "\"window_ms\":%.3f,\"ready_per_wait\":%.4f,\"cpu_us_per_call\":%.4f}\n",
         pct(all, m, 0.5), pct(all, m, 0.99), (double)in_window / secs, (double)in_window * (double)size / secs, m,
         secs * 1e3, waits ? (double)ready / (double)waits : 0.0, cpu_us / (double)(total + (long)clients * warm));
  munmap(map, bytes);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s pingpong|stream|scm|scmstream|futex|futexstream|rpcpool <warmup> <n> <size> [fdmode|clients|spin_us]\n", argv[0]);
    return 2;
  }
  long warm = atol(argv[2]), n = atol(argv[3]);
  size_t size = (size_t)atol(argv[4]);
  if (n <= 0 || warm < 0 || size == 0) {
    fprintf(stderr, "ipc_bench: bad arguments\n");
    return 2;
  }
  const char *mx = getenv("IPC_BENCH_MAX_MS");
  if (mx && atol(mx) > 0) max_ns = (uint64_t)atol(mx) * 1000000ull;
  setvbuf(stdout, NULL, _IOLBF, 0);
  pin_side(0);
  if (strcmp(argv[1], "pingpong") == 0) return run_pingpong(warm, n, size);
  if (strcmp(argv[1], "stream") == 0) return run_stream(warm, n, size);
  if (strcmp(argv[1], "scm") == 0) return run_scm(warm, n, size, argc > 5 ? atoi(argv[5]) : 1);
  if (strcmp(argv[1], "scmstream") == 0) return run_scmstream(warm, n, size);
  if (strcmp(argv[1], "futex") == 0) return run_futex(warm, n, size, (uint64_t)(argc > 5 ? atof(argv[5]) * 1000 : 0));
  if (strcmp(argv[1], "futexstream") == 0)
    return run_futexstream(warm, n, size, (uint64_t)(argc > 5 ? atof(argv[5]) * 1000 : 0));
  if (strcmp(argv[1], "rpcpool") == 0) return run_rpcpool(warm, n, size, argc > 5 ? atoi(argv[5]) : 4);
  fprintf(stderr, "ipc_bench: unknown mode %s\n", argv[1]);
  return 2;
}
