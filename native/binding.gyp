{
  "targets": [
    {
      "target_name": "tessera_native",
      "sources": [
        "src/common.cc",
        "src/addon.cc",
        "src/segment.cc",
        "src/futex.cc",
        "src/waitpool.cc",
        "src/process.cc",
        "src/socket.cc"
      ],
      "cflags_cc": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-cast-function-type"],
      "libraries": ["-lpthread"]
    }
  ]
}
