// Unix domain sockets: who is at the other end (SO_PEERCRED, SO_PEERPIDFD), as the kernel
// recorded it at connect (or socketpair) time, never what the peer claims; and passing file
// descriptors (SCM_RIGHTS), e.g. a segment's memfd to a process that was not forked with it.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "common.h"

namespace tessera {

using v8::Context;
using v8::FunctionCallbackInfo;
using v8::Isolate;
using v8::Local;
using v8::Object;
using v8::Value;

static const int kMaxFdsPerMessage = 253;  // SCM_MAX_FD
static const int kSoPeerPidfd = 77;

// A connected Unix domain socket, or throws (EBADF, ENOTSOCK, not AF_UNIX, ENOTCONN).
static bool CheckUnixSocket(Isolate* isolate, int fd, const char* fn, bool connected) {
  if (!CheckOpenFd(isolate, fd, fn, "fd")) return false;
  int domain = 0;
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) {
    int err = errno;
    ThrowErrno(isolate, err, "getsockopt",
               std::string(fn) + ": fd " + std::to_string(fd) + (err == ENOTSOCK ? " is not a socket" : ""));
    return false;
  }
  if (domain != AF_UNIX) {
    ThrowType(isolate, std::string(fn) + ": fd " + std::to_string(fd) + " is not a Unix domain socket (domain " +
                           std::to_string(domain) + ")");
    return false;
  }
  if (connected) {
    struct sockaddr_un addr;
    socklen_t alen = sizeof addr;
    if (getpeername(fd, reinterpret_cast<struct sockaddr*>(&addr), &alen) < 0) {
      int err = errno;
      ThrowErrno(isolate, err, "getpeername",
                 std::string(fn) + ": fd " + std::to_string(fd) + (err == ENOTCONN ? " is not connected to a peer" : ""));
      return false;
    }
  }
  return true;
}

// peerCredentials(fd) -> {pid, uid, gid} of the process that connected (or created the pair).
static void PeerCredentials(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  const char* fn = "peerCredentials";
  int fd;
  if (!ArgFd(args, 0, fn, "fd", &fd) || !CheckUnixSocket(isolate, fd, fn, true)) return;
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return ThrowErrno(isolate, errno, "getsockopt", fn);
  Local<Context> context = isolate->GetCurrentContext();
  Local<Object> out = Object::New(isolate);
  SetProp(context, out, "pid", v8::Integer::New(isolate, cred.pid));
  SetProp(context, out, "uid", v8::Integer::NewFromUnsigned(isolate, cred.uid));
  SetProp(context, out, "gid", v8::Integer::NewFromUnsigned(isolate, cred.gid));
  args.GetReturnValue().Set(out);
}

// peerPidfd(fd) -> a pidfd of the peer process, race-free (Linux 6.5; ENOPROTOOPT before).
static void PeerPidfd(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  const char* fn = "peerPidfd";
  int fd;
  if (!ArgFd(args, 0, fn, "fd", &fd) || !CheckUnixSocket(isolate, fd, fn, true)) return;
  int pidfd = -1;
  socklen_t len = sizeof pidfd;
  if (getsockopt(fd, SOL_SOCKET, kSoPeerPidfd, &pidfd, &len) < 0) {
    int err = errno;
    return ThrowErrno(isolate, err, "getsockopt",
                      std::string(fn) + (err == ENOPROTOOPT ? ": SO_PEERPIDFD needs Linux 6.5 or later" : ""));
  }
  args.GetReturnValue().Set(v8::Integer::New(isolate, pidfd));
}

// socketPair(seqpacket) -> [fd, fd], close-on-exec (a child gets one through its stdio array).
static void SocketPair(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  int sv[2];
  int type = args[0]->IsTrue() ? SOCK_SEQPACKET : SOCK_STREAM;
  if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0) return ThrowErrno(isolate, errno, "socketpair", "socketPair");
  Local<Context> context = isolate->GetCurrentContext();
  Local<v8::Array> out = v8::Array::New(isolate, 2);
  out->Set(context, 0, v8::Integer::New(isolate, sv[0])).Check();
  out->Set(context, 1, v8::Integer::New(isolate, sv[1])).Check();
  args.GetReturnValue().Set(out);
}

// Waits until fd is ready for `events` or the deadline passes: 1 ready, 0 timed out, -1 errno.
static int PollReady(int fd, short events, bool forever, const struct timespec& deadline) {
  for (;;) {
    struct pollfd p = {fd, events, 0};
    int timeout = -1;
    if (!forever) {
      double left = MsUntil(deadline);
      timeout = left <= 0 ? 0 : static_cast<int>(left < 2147483647.0 ? left + 0.999 : 2147483647.0);
    }
    int r = poll(&p, 1, timeout);
    if (r < 0 && errno == EINTR) continue;
    if (r != 0) return r < 0 ? -1 : 1;
    if (!forever && MsUntil(deadline) <= 0) return 0;
  }
}

static bool ArgFdList(const FunctionCallbackInfo<Value>& args, int i, const char* fn, std::vector<int>* fds) {
  Isolate* isolate = args.GetIsolate();
  Local<Context> context = isolate->GetCurrentContext();
  if (!args[i]->IsArray()) {
    ThrowType(isolate, std::string(fn) + ": fds must be an array of file descriptors, got " +
                           Describe(isolate, args[i]));
    return false;
  }
  Local<v8::Array> list = args[i].As<v8::Array>();
  if (list->Length() > static_cast<uint32_t>(kMaxFdsPerMessage)) {
    ThrowRange(isolate, std::string(fn) + ": at most " + std::to_string(kMaxFdsPerMessage) +
                            " fds per message, got " + std::to_string(list->Length()));
    return false;
  }
  for (uint32_t k = 0; k < list->Length(); k++) {
    Local<Value> v = list->Get(context, k).ToLocalChecked();
    double d = v->IsNumber() ? v.As<v8::Number>()->Value() : -1;
    if (!v->IsNumber() || !std::isfinite(d) || d != std::floor(d) || d < 0 || d > 2147483647.0) {
      ThrowType(isolate, std::string(fn) + ": fds[" + std::to_string(k) + "] must be a file descriptor (an integer >= 0), got " +
                             Describe(isolate, v));
      return false;
    }
    int fd = static_cast<int>(d);
    std::string name = "fds[" + std::to_string(k) + "] =";
    if (!CheckOpenFd(isolate, fd, fn, name.c_str())) return false;
    fds->push_back(fd);
  }
  return true;
}

// sendFds(fd, data, fds, timeoutMs?): sends data (at least one byte) with the fds attached to
// its first byte; waits for room up to timeoutMs (the socket may be non-blocking, as Node's are).
static void SendFds(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  const char* fn = "sendFds";
  int fd;
  Local<v8::ArrayBufferView> data;
  std::vector<int> fds;
  double ms = 0;
  bool forever;
  if (!ArgFd(args, 0, fn, "fd", &fd) || !ArgBytes(args, 1, fn, "data", &data) || !ArgFdList(args, 2, fn, &fds) ||
      !ArgTimeoutMs(args, 3, fn, &ms, &forever) || !CheckUnixSocket(isolate, fd, fn, true))
    return;
  size_t size = data->ByteLength();
  if (size == 0) {
    ThrowRange(isolate, std::string(fn) + ": data must hold at least one byte (a stream socket carries fds only with data)");
    return;
  }
  std::vector<char> bytes(size);
  data->CopyContents(bytes.data(), size);
  struct timespec deadline;
  if (!forever) deadline = DeadlineAfterMs(ms);
  std::vector<char> control(CMSG_SPACE(sizeof(int) * (fds.empty() ? 1 : fds.size())));
  size_t sent = 0;
  while (sent < size) {
    struct iovec iov = {bytes.data() + sent, size - sent};
    struct msghdr mh = {};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (sent == 0 && !fds.empty()) {
      std::memset(control.data(), 0, control.size());
      mh.msg_control = control.data();
      mh.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    ssize_t r = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (r >= 0) {
      sent += static_cast<size_t>(r);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return ThrowErrno(isolate, errno, "sendmsg", fn);
    int ready = PollReady(fd, POLLOUT, forever, deadline);
    if (ready < 0) return ThrowErrno(isolate, errno, "poll", fn);
    if (ready == 0) return ThrowTimeout(isolate, "poll", std::string(fn) + ": no room in the socket within timeoutMs");
  }
  args.GetReturnValue().Set(v8::Number::New(isolate, static_cast<double>(sent)));
}

static void CloseAll(const std::vector<int>& fds) {
  for (int fd : fds) close(fd);
}

// receiveFds(fd, maxBytes, maxFds, timeoutMs?) -> {data, fds} for one read of at most maxBytes,
// or null at end of stream. Received fds are close-on-exec. ETIMEDOUT when nothing arrives.
static void ReceiveFds(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  const char* fn = "receiveFds";
  int fd;
  int64_t maxBytes, maxFds;
  double ms = 0;
  bool forever;
  if (!ArgFd(args, 0, fn, "fd", &fd) || !ArgInteger(args, 1, fn, "maxBytes", 1, 1 << 24, &maxBytes) ||
      !ArgInteger(args, 2, fn, "maxFds", 0, kMaxFdsPerMessage, &maxFds) || !ArgTimeoutMs(args, 3, fn, &ms, &forever) ||
      !CheckUnixSocket(isolate, fd, fn, false))
    return;
  struct timespec deadline;
  if (!forever) deadline = DeadlineAfterMs(ms);
  std::vector<char> bytes(static_cast<size_t>(maxBytes));
  std::vector<char> control(CMSG_SPACE(sizeof(int) * static_cast<size_t>(maxFds > 0 ? maxFds : 1)));
  ssize_t r;
  struct msghdr mh;
  for (;;) {
    struct iovec iov = {bytes.data(), bytes.size()};
    mh = {};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control.data();
    mh.msg_controllen = maxFds > 0 ? control.size() : 0;
    r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (r >= 0) break;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return ThrowErrno(isolate, errno, "recvmsg", fn);
    int ready = PollReady(fd, POLLIN, forever, deadline);
    if (ready < 0) return ThrowErrno(isolate, errno, "poll", fn);
    if (ready == 0) return ThrowTimeout(isolate, "poll", std::string(fn) + ": nothing arrived within timeoutMs");
  }
  std::vector<int> fds;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t k = 0; k < n; k++) {
      int got;
      std::memcpy(&got, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
      fds.push_back(got);
    }
  }
  if (mh.msg_flags & MSG_CTRUNC) {
    CloseAll(fds);  // the kernel closed those that did not fit; none may leak
    ThrowRange(isolate, std::string(fn) + ": the message carried more than maxFds = " + std::to_string(maxFds) +
                            " fds; all were closed");
    return;
  }
  if (r == 0 && fds.empty()) {
    args.GetReturnValue().SetNull();
    return;
  }
  Local<Context> context = isolate->GetCurrentContext();
  Local<v8::ArrayBuffer> ab = v8::ArrayBuffer::New(isolate, static_cast<size_t>(r));
  if (r > 0) std::memcpy(ab->Data(), bytes.data(), static_cast<size_t>(r));
  Local<v8::Array> list = v8::Array::New(isolate, static_cast<int>(fds.size()));
  for (size_t k = 0; k < fds.size(); k++) list->Set(context, static_cast<uint32_t>(k), v8::Integer::New(isolate, fds[k])).Check();
  Local<Object> out = Object::New(isolate);
  SetProp(context, out, "data", v8::Uint8Array::New(ab, 0, static_cast<size_t>(r)));
  SetProp(context, out, "fds", list);
  args.GetReturnValue().Set(out);
}

void InitSocket(Local<Context> context, Local<Object> exports, Local<v8::External> data) {
  SetMethod(context, exports, "peerCredentials", PeerCredentials, data);
  SetMethod(context, exports, "peerPidfd", PeerPidfd, data);
  SetMethod(context, exports, "socketPair", SocketPair, data);
  SetMethod(context, exports, "sendFds", SendFds, data);
  SetMethod(context, exports, "receiveFds", ReceiveFds, data);
}

}  // namespace tessera
