/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host-side graph execution of a real model through the RPC server, issuing the packets TVM's
 * host graph executor sends (spec 4.4): runtime.SystemLib, ModuleGetFunction for
 * _lookup_linked_param and for every operator, one _lookup_linked_param call per storage id (a
 * linked parameter comes back as a device pointer), DevAllocData for the other storage, chunked
 * CopyToRemote of the input, one CallFunc with DLTensor arguments per operator node, chunked
 * CopyFromRemote of the output, and DevFreeData.
 *
 * usage: rpc_graph_test <max_packet_size> <plan file>; the plan, written by the test runner from
 * the archive's graph JSON, has one request per line:
 *   storage <sid> <nbytes>
 *   input <sid> <path>
 *   op <function> <nargs> (<sid> <dtype code> <bits> <ndim> <dims...>){nargs}
 *   output <sid> <dtype code> <bits> <ndim> <dims...> <expected path> <tolerance>
 */
#include <math.h>
#include <microtvm/rpc_server.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tvm/runtime/c_runtime_api.h>

#include "rpc_test_platform.h"
#include "rpc_test_util.h"

/* The model table of the glue file linked in (the host template's firmware/models.c form). */
extern const mtvm_model_t* const microtvm_project_models[];
extern const size_t microtvm_project_model_count;

#define MAX_STORAGE 64

static uint64_t g_storage[MAX_STORAGE];
static int g_allocated[MAX_STORAGE];

static size_t read_file(const char* path, uint8_t* buf, size_t cap) {
  FILE* f = fopen(path, "rb");
  if (f == NULL) return 0;
  size_t n = fread(buf, 1, cap, f);
  fclose(f);
  return n;
}

typedef struct {
  int sid;
  int code, bits, ndim;
  int64_t shape[8];
} entry_t;

static int read_entry(FILE* plan, entry_t* e) {
  if (fscanf(plan, "%d %d %d %d", &e->sid, &e->code, &e->bits, &e->ndim) != 4) return -1;
  if (e->sid < 0 || e->sid >= MAX_STORAGE || e->ndim < 0 || e->ndim > 8) return -1;
  for (int i = 0; i < e->ndim; i++) {
    long long d;
    if (fscanf(plan, "%lld", &d) != 1) return -1;
    e->shape[i] = d;
  }
  return 0;
}

static size_t entry_bytes(const entry_t* e) {
  size_t n = ((size_t)e->bits + 7) / 8;
  for (int i = 0; i < e->ndim; i++) n *= (size_t)e->shape[i];
  return n;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <max_packet_size> <plan>\n", argv[0]);
    return 2;
  }
  size_t max_packet = (size_t)strtoul(argv[1], NULL, 10);
  FILE* plan = fopen(argv[2], "r");
  if (!check(plan != NULL, "open plan", "%s", argv[2])) return 1;
  int registered = 1;
  for (size_t i = 0; i < microtvm_project_model_count; i++) {
    registered &= mtvm_model_register(microtvm_project_models[i]) == kTvmErrorNoError;
  }
  check(registered, "model glue registers", "failed");
  g_rpc = mtvm_rpc_server_init(max_packet);
  if (!check(g_rpc != NULL, "server init", "NULL")) return 1;

  size_t off;
  int rc = rpc_call0(rpc_get_global("runtime.SystemLib"), &off);
  uint64_t sys_lib = rd_u64(off);
  check(rc == kTVMModuleHandle, "runtime.SystemLib -> Module", "rc %d (%s)", rc, reply_message());
  uint64_t lookup = rpc_get_function(sys_lib, "_lookup_linked_param");
  check(lookup != 0, "system lib (one-byte count) has _lookup_linked_param", "not found");
  rc = rpc_call0(rpc_get_global("tvm.rpc.server.GetCRTMaxPacketSize"), &off);
  size_t m = (size_t)rd_u64(off);

  char word[32];
  int linked = 0, allocated = 0, ops = 0;
  while (fscanf(plan, "%31s", word) == 1) {
    if (strcmp(word, "storage") == 0) {
      int sid;
      unsigned long nbytes;
      if (fscanf(plan, "%d %lu", &sid, &nbytes) != 2 || sid < 0 || sid >= MAX_STORAGE) break;
      pkt_t a;
      int code = kTVMArgInt;
      a.len = 0;
      pkt_seq(&a, 1, &code);
      pkt_u64(&a, (uint64_t)sid);
      rc = rpc_call(lookup, &a, &off);
      if (rc == kTVMOpaqueHandle && rd_u64(off) != 0) {
        g_storage[sid] = rd_u64(off); /* a parameter linked into the firmware */
        linked++;
      } else {
        g_storage[sid] = rpc_alloc(4 * ((nbytes + 3) / 4));
        g_allocated[sid] = 1;
        allocated++;
        if (!check(g_storage[sid] != 0 && g_storage[sid] != UINT64_MAX, "DevAllocData storage",
                   "%s", reply_message())) {
          return 1;
        }
      }
    } else if (strcmp(word, "input") == 0) {
      int sid;
      char path[4096];
      static uint8_t data[1 << 20];
      if (fscanf(plan, "%d %4095s", &sid, path) != 2 || sid < 0 || sid >= MAX_STORAGE) break;
      size_t n = read_file(path, data, sizeof(data));
      const int64_t shape[1] = {(int64_t)n};
      size_t block = m - (44 + 8);
      int ok = n > 0;
      for (size_t done = 0; done < n; done += block) {
        size_t len = n - done < block ? n - done : block;
        ok &= rpc_copy_to(g_storage[sid], 1, shape, kDLInt, 8, done, data + done, len) == 0;
      }
      check(ok, "input copied in chunks", "%s", reply_message());
    } else if (strcmp(word, "op") == 0) {
      char name[256];
      int nargs;
      if (fscanf(plan, "%255s %d", name, &nargs) != 2 || nargs < 0 || nargs > 16) break;
      pkt_t a;
      int codes[16];
      for (int i = 0; i < nargs; i++) codes[i] = kTVMDLTensorHandle;
      a.len = 0;
      pkt_seq(&a, nargs, codes);
      for (int i = 0; i < nargs; i++) {
        entry_t e;
        if (read_entry(plan, &e)) break;
        pkt_tensor(&a, g_storage[e.sid], e.ndim, e.shape, (uint8_t)e.code, (uint8_t)e.bits, 0);
      }
      uint64_t f = rpc_get_function(sys_lib, name);
      rc = f != 0 ? rpc_call(f, &a, &off) : -1;
      char label[320];
      snprintf(label, sizeof(label), "operator %.250s", name);
      check(rc == kTVMNullptr, label, "handle 0x%lx rc %d (%s)", (unsigned long)f, rc,
            reply_message());
      ops++;
    } else if (strcmp(word, "output") == 0) {
      entry_t e;
      char path[4096];
      double tolerance;
      static uint8_t want[1 << 16], got[1 << 16];
      if (read_entry(plan, &e) || fscanf(plan, "%4095s %lf", path, &tolerance) != 2) break;
      size_t n = entry_bytes(&e);
      size_t wn = read_file(path, want, sizeof(want));
      int ok = rpc_copy_from(g_storage[e.sid], e.ndim, e.shape, (uint8_t)e.code, (uint8_t)e.bits,
                             0, got, n) == 0 && wn == n;
      char text[256] = "";
      size_t used = 0;
      for (size_t i = 0; ok && i < n && e.bits == 8; i++) {
        int g = e.code == kDLInt ? (int8_t)got[i] : got[i];
        int w = e.code == kDLInt ? (int8_t)want[i] : want[i];
        if (fabs((double)(g - w)) > tolerance) ok = 0;
        used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%d", i ? "," : "", g);
        if (used > sizeof(text) - 16) break;
      }
      char label[320];
      snprintf(label, sizeof(label), "graph output [%s] within %g of the reference", text,
               tolerance);
      check(ok && e.bits == 8, label, "%lu bytes (%s)", (unsigned long)n, reply_message());
    } else {
      break;
    }
  }
  check(feof(plan), "plan fully read", "stopped at \"%s\"", word);
  fclose(plan);
  char label[128];
  snprintf(label, sizeof(label), "%d operators ran; %d linked parameters, %d storage blocks", ops,
           linked, allocated);
  check(ops > 0 && linked > 0, label, "nothing ran");

  int freed = 1;
  for (int sid = 0; sid < MAX_STORAGE; sid++) {
    if (!g_allocated[sid]) continue;
    pkt_t p;
    int codes[2] = {kDLDevice, kTVMOpaqueHandle};
    pkt_begin(&p, 14);
    pkt_seq(&p, 2, codes);
    pkt_i32(&p, 1);
    pkt_i32(&p, 0);
    pkt_u64(&p, g_storage[sid]);
    pkt_end(&p);
    send_pkt(&p);
    freed &= reply_code() == 4;
  }
  check(freed, "DevFreeData of every storage block", "%s", reply_message());
  mtvm_rpc_server_free(g_rpc);
  check(test_platform_live_blocks() == 0, "all device memory released", "%ld blocks",
        test_platform_live_blocks());
  return g_failures == 0 ? 0 : 1;
}
