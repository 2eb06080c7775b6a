// Shared segments: a memfd (or a file) mapped MAP_SHARED and exposed as a SharedArrayBuffer
// whose backing store unmaps the memory when the last buffer referring to it is collected.
// The same fd mapped in another process (inherited, or received with SCM_RIGHTS) shows the same
// bytes, and Atomics (and this addon's futex calls) work across the processes on them.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
using v8::SharedArrayBuffer;
using v8::Value;

// A typed array over the whole segment must be constructible (V8's limit on 64-bit: 2^32 bytes).
static const double kMaxSegmentBytes = static_cast<double>(v8::TypedArray::kMaxLength);

static long PageSize() {
  static const long size = sysconf(_SC_PAGESIZE);
  return size;
}

static void Unmap(void* data, size_t length, void*) { munmap(data, length); }

// Maps [offset, offset + size) of fd shared and wraps it; throws and returns empty on failure.
static v8::MaybeLocal<SharedArrayBuffer> MapShared(Isolate* isolate, int fd, size_t size, off_t offset,
                                                   const char* fn) {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
  if (p == MAP_FAILED) {
    ThrowErrno(isolate, errno, "mmap", std::string(fn) + ": mapping " + std::to_string(size) + " bytes of fd " +
                                           std::to_string(fd));
    return {};
  }
  std::unique_ptr<v8::BackingStore> store = SharedArrayBuffer::NewBackingStore(p, size, Unmap, nullptr);
  return SharedArrayBuffer::New(isolate, std::move(store));
}

static Local<Object> Segment(Isolate* isolate, int fd, Local<SharedArrayBuffer> buffer) {
  Local<Context> context = isolate->GetCurrentContext();
  Local<Object> out = Object::New(isolate);
  SetProp(context, out, "fd", v8::Integer::New(isolate, fd));
  SetProp(context, out, "buffer", buffer);
  return out;
}

// createSegment(sizeBytes, name): a new memfd of sizeBytes (zero-filled), sealed against
// shrinking and growing, so that no process holding it can make another's mapping fault (SIGBUS).
static void CreateSegment(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  const char* fn = "createSegment";
  int64_t size;
  if (!ArgInteger(args, 0, fn, "sizeBytes", 1, kMaxSegmentBytes, &size)) return;
  if (!args[1]->IsString()) {
    ThrowType(isolate, std::string(fn) + ": name must be a string, got " + Describe(isolate, args[1]));
    return;
  }
  v8::String::Utf8Value name(isolate, args[1]);
  if (name.length() > 200) {
    ThrowRange(isolate, std::string(fn) + ": name must be at most 200 bytes, got " + std::to_string(name.length()));
    return;
  }
  int fd = memfd_create(*name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return ThrowErrno(isolate, errno, "memfd_create", fn);
  if (ftruncate(fd, size) < 0) {
    int err = errno;
    close(fd);
    return ThrowErrno(isolate, err, "ftruncate", std::string(fn) + ": sizing the memfd to " + std::to_string(size));
  }
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
    int err = errno;
    close(fd);
    return ThrowErrno(isolate, err, "fcntl", std::string(fn) + ": sealing the memfd");
  }
  Local<SharedArrayBuffer> buffer;
  if (!MapShared(isolate, fd, static_cast<size_t>(size), 0, fn).ToLocal(&buffer)) {
    close(fd);
    return;
  }
  args.GetReturnValue().Set(Segment(isolate, fd, buffer));
}

// Checks that [offset, offset + size) lies inside fd's file (a regular file or memfd); size < 0
// means "to the end". Returns the size to map, or -1 after throwing.
static int64_t CheckExtent(Isolate* isolate, int fd, int64_t offset, int64_t size, const char* fn) {
  struct stat st;
  if (fstat(fd, &st) < 0) {
    int err = errno;
    ThrowErrno(isolate, err, "fstat",
               std::string(fn) + ": fd " + std::to_string(fd) + (err == EBADF ? " is not an open file descriptor" : ""));
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    ThrowType(isolate, std::string(fn) + ": fd " + std::to_string(fd) +
                           " is not a memfd or regular file (a socket, pipe or device cannot be mapped as a segment)");
    return -1;
  }
  if (offset >= st.st_size) {
    ThrowRange(isolate, std::string(fn) + ": offsetBytes " + std::to_string(offset) + " is not inside the file (" +
                            std::to_string(st.st_size) + " bytes)");
    return -1;
  }
  int64_t want = size < 0 ? st.st_size - offset : size;
  if (offset + want > st.st_size) {
    ThrowRange(isolate, std::string(fn) + ": offsetBytes + sizeBytes = " + std::to_string(offset + want) +
                            " runs past the end of the file (" + std::to_string(st.st_size) + " bytes)");
    return -1;
  }
  if (static_cast<double>(want) > kMaxSegmentBytes) {
    ThrowRange(isolate, std::string(fn) + ": " + std::to_string(want) + " bytes is more than a segment can map (" +
                            std::to_string(static_cast<int64_t>(kMaxSegmentBytes)) + ")");
    return -1;
  }
  return want;
}

// mapSegment(fd, offsetBytes, sizeBytes | undefined): maps an existing memfd or file.
static void MapSegment(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  const char* fn = "mapSegment";
  int fd;
  int64_t offset, size = -1;
  if (!ArgFd(args, 0, fn, "fd", &fd)) return;
  if (!ArgInteger(args, 1, fn, "offsetBytes", 0, 9007199254740991.0, &offset)) return;
  if (offset % PageSize() != 0) {
    ThrowRange(isolate, std::string(fn) + ": offsetBytes must be a multiple of the page size (" +
                            std::to_string(PageSize()) + "), got " + std::to_string(offset));
    return;
  }
  if (!args[2]->IsUndefined() && !ArgInteger(args, 2, fn, "sizeBytes", 1, kMaxSegmentBytes, &size)) return;
  int64_t want = CheckExtent(isolate, fd, offset, size, fn);
  if (want < 0) return;
  Local<SharedArrayBuffer> buffer;
  if (MapShared(isolate, fd, static_cast<size_t>(want), static_cast<off_t>(offset), fn).ToLocal(&buffer))
    args.GetReturnValue().Set(buffer);
}

// openSegment(path, create, sizeBytes | undefined): create (exclusive) and size a file, or open
// an existing one, and map it. Files cannot be sealed: a process that can open the path can
// truncate it under every mapping (prefer a memfd passed to the peers).
static void OpenSegment(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  const char* fn = "openSegment";
  if (!args[0]->IsString()) {
    ThrowType(isolate, std::string(fn) + ": path must be a string, got " + Describe(isolate, args[0]));
    return;
  }
  v8::String::Utf8Value path(isolate, args[0]);
  bool create = args[1]->IsTrue();
  int64_t size = -1;
  if (create || !args[2]->IsUndefined()) {
    if (!ArgInteger(args, 2, fn, "sizeBytes", 1, kMaxSegmentBytes, &size)) return;
  }
  int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0);
  int fd = open(*path, flags, 0600);
  if (fd < 0) return ThrowErrno(isolate, errno, "open", std::string(fn) + ": " + *path);
  if (create && ftruncate(fd, size) < 0) {
    int err = errno;
    close(fd);
    unlink(*path);
    return ThrowErrno(isolate, err, "ftruncate", std::string(fn) + ": sizing " + *path);
  }
  int64_t want = CheckExtent(isolate, fd, 0, size, fn);
  Local<SharedArrayBuffer> buffer;
  if (want < 0 || !MapShared(isolate, fd, static_cast<size_t>(want), 0, fn).ToLocal(&buffer)) {
    close(fd);
    if (create) unlink(*path);
    return;
  }
  args.GetReturnValue().Set(Segment(isolate, fd, buffer));
}

// segmentSeals(fd): which of shrink / grow / write / seal are sealed (all false on a plain file).
static void SegmentSeals(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  const char* fn = "segmentSeals";
  int fd;
  if (!ArgFd(args, 0, fn, "fd", &fd)) return;
  int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0 && errno != EINVAL) return ThrowErrno(isolate, errno, "fcntl", std::string(fn) + ": fd " + std::to_string(fd));
  if (seals < 0) seals = 0;  // EINVAL: a file that does not support seals
  Local<Context> context = isolate->GetCurrentContext();
  Local<Object> out = Object::New(isolate);
  SetProp(context, out, "shrink", v8::Boolean::New(isolate, seals & F_SEAL_SHRINK));
  SetProp(context, out, "grow", v8::Boolean::New(isolate, seals & F_SEAL_GROW));
  SetProp(context, out, "write", v8::Boolean::New(isolate, seals & F_SEAL_WRITE));
  SetProp(context, out, "seal", v8::Boolean::New(isolate, seals & F_SEAL_SEAL));
  args.GetReturnValue().Set(out);
}

void InitSegment(Local<Context> context, Local<Object> exports, Local<v8::External> data) {
  SetMethod(context, exports, "createSegment", CreateSegment, data);
  SetMethod(context, exports, "mapSegment", MapSegment, data);
  SetMethod(context, exports, "openSegment", OpenSegment, data);
  SetMethod(context, exports, "segmentSeals", SegmentSeals, data);
  SetProp(context, exports, "pageSizeBytes", v8::Number::New(context->GetIsolate(), static_cast<double>(PageSize())));
  SetProp(context, exports, "maxSegmentBytes", v8::Number::New(context->GetIsolate(), kMaxSegmentBytes));
}

}  // namespace tessera
