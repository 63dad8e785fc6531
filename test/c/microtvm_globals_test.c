/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The globals our firmware has and TVM's does not, over RPC: microtvm.build_stamp (the digest
 * compiled in from microtvm_build_stamp.h, or "" when the build had no such header; argv[1] is the
 * digest the build was given, "" for none) and microtvm.rpc.max_packet_size next to TVM's capped
 * GetCRTMaxPacketSize, on a server with a 16 KiB session buffer.
 */
#include <microtvm/rpc_server.h>
#include <stdio.h>
#include <string.h>
#include <tvm/runtime/c_runtime_api.h>

#include "rpc_test_platform.h"
#include "rpc_test_util.h"

int main(int argc, char** argv) {
  const char* want = argc > 1 ? argv[1] : "";
  g_rpc = mtvm_rpc_server_init(16384);
  if (g_rpc == NULL) {
    printf("not ok server init\n");
    return 1;
  }
  uint64_t f = rpc_get_global("microtvm.build_stamp");
  check(f == 0x80028006u, "microtvm.build_stamp is global #6, after TVM's built-ins",
        "handle 0x%lx", (unsigned long)f);
  size_t off = 0;
  int code = rpc_call0(f, &off);
  size_t len = code == kTVMStr ? (size_t)rd_u64(off) : 0;
  check(code == kTVMStr && len == strlen(want) &&
            memcmp(g_reply.buf + off + 8, want, len) == 0,
        "microtvm.build_stamp returns the digest compiled in", "code %d, %lu bytes: %.*s", code,
        (unsigned long)len, (int)len, (const char*)g_reply.buf + off + 8);

  pkt_t args;
  int int_code = kTVMArgInt;
  args.len = 0;
  pkt_seq(&args, 1, &int_code);
  pkt_u64(&args, 1);
  check(rpc_call(f, &args, &off) == -1 && reply_is_exception("takes no arguments"),
        "microtvm.build_stamp with an argument -> Exception", "%s", reply_message());

  uint64_t ours = rpc_get_global("microtvm.rpc.max_packet_size");
  code = rpc_call0(ours, &off);
  check(ours == 0x80028009u && code == kTVMArgInt && rd_u64(off) == 16384 - 11,
        "microtvm.rpc.max_packet_size is the session buffer minus 11", "handle 0x%lx, %lu",
        (unsigned long)ours, (unsigned long)rd_u64(off));
  code = rpc_call0(rpc_get_global("tvm.rpc.server.GetCRTMaxPacketSize"), &off);
  check(code == kTVMArgInt && rd_u64(off) == 2048 - 11,
        "GetCRTMaxPacketSize is capped at what TVM's host receives (2048 - 11)", "%lu",
        (unsigned long)rd_u64(off));

  mtvm_rpc_server_free(g_rpc);
  check(test_platform_live_blocks() == 0, "all device memory released", "%ld blocks",
        test_platform_live_blocks());
  return g_failures == 0 ? 0 : 1;
}
