/* SPDX-License-Identifier: Apache-2.0 */
/*
 * End-to-end AOT run of a real model through the RPC server, issuing the packets TVM's host sends
 * (spec 4.2): runtime.SystemLib, tvm.aot_executor.create, ModuleGetFunction, get_input, chunked
 * CopyToRemote sized by GetCRTMaxPacketSize, run, get_output, chunked CopyFromRemote, FreeHandle,
 * then the time evaluator on "run".
 *
 * usage: aot_fixture_test <model_name> <max_packet_size> <tolerance> (<input.bin> <expected.bin>)+
 * Expected outputs hold the output tensor's raw bytes; int8/uint8/int32/float32 are compared
 * element-wise with the tolerance.
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

static uint8_t* read_file(const char* path, size_t* n) {
  FILE* f = fopen(path, "rb");
  if (f == NULL) return NULL;
  static uint8_t buf[1 << 20];
  *n = fread(buf, 1, sizeof(buf), f);
  fclose(f);
  return buf;
}

typedef struct {
  uint64_t data;
  uint64_t handle;
  int32_t ndim;
  int64_t shape[8];
  uint8_t code, bits;
  size_t nbytes;
} remote_array_t;

/* Decodes an NDArray return ([0 = 13, 7 = DLTensor, 3 = handle]) at value offset off. */
static int decode_array(int rc, size_t off, remote_array_t* a) {
  if (rc != kTVMNDArrayHandle) return -1;
  a->data = rd_u64(off);
  a->ndim = rd_i32(off + 16);
  if (a->ndim < 0 || a->ndim > 8) return -1;
  a->code = g_reply.buf[off + 20];
  a->bits = g_reply.buf[off + 21];
  a->nbytes = (a->bits + 7u) / 8u;
  for (int32_t i = 0; i < a->ndim; i++) {
    a->shape[i] = (int64_t)rd_u64(off + 24 + 8 * (size_t)i);
    a->nbytes *= (size_t)a->shape[i];
  }
  a->handle = rd_u64(off + 24 + 8 * (size_t)a->ndim + 8);
  return 0;
}

static int call_int_arg(uint64_t f, int64_t v, size_t* off) {
  pkt_t a;
  int code = kTVMArgInt;
  a.len = 0;
  pkt_seq(&a, 1, &code);
  pkt_u64(&a, (uint64_t)v);
  return rpc_call(f, &a, off);
}

static double element(const uint8_t* p, uint8_t code, uint8_t bits, size_t i) {
  if (code == kDLInt && bits == 8) return (int8_t)p[i];
  if (code == kDLUInt && bits == 8) return p[i];
  if (code == kDLInt && bits == 32) {
    int32_t v;
    memcpy(&v, p + 4 * i, 4);
    return v;
  }
  float f;
  memcpy(&f, p + 4 * i, 4);
  return f;
}

int main(int argc, char** argv) {
  if (argc < 6 || (argc - 4) % 2 != 0) {
    fprintf(stderr, "usage: %s <model> <max_packet> <tolerance> (<input.bin> <expected.bin>)+\n",
            argv[0]);
    return 2;
  }
  const char* model = argv[1];
  size_t max_packet = (size_t)strtoul(argv[2], NULL, 10);
  double tolerance = strtod(argv[3], NULL);

  int registered = 1;
  for (size_t i = 0; i < microtvm_project_model_count; i++) {
    registered &= mtvm_model_register(microtvm_project_models[i]) == kTvmErrorNoError;
  }
  check(registered, "model glue registers", "failed");
  g_rpc = mtvm_rpc_server_init(max_packet);
  if (!check(g_rpc != NULL, "server init", "NULL")) return 1;

  size_t off;
  uint64_t sys_lib_fn = rpc_get_global("runtime.SystemLib");
  int rc = rpc_call0(sys_lib_fn, &off);
  uint64_t sys_lib = rd_u64(off);
  check(rc == kTVMModuleHandle, "runtime.SystemLib -> Module", "rc %d (%s)", rc, reply_message());
  rpc_free_handle(sys_lib_fn, kTVMPackedFuncHandle);

  uint64_t create = rpc_get_global("tvm.aot_executor.create");
  pkt_t args;
  int create_codes[3] = {kTVMModuleHandle, kDLDevice, kTVMStr};
  args.len = 0;
  pkt_seq(&args, 3, create_codes);
  pkt_u64(&args, sys_lib);
  pkt_i32(&args, 1);
  pkt_i32(&args, 0);
  pkt_str(&args, model);
  rc = rpc_call(create, &args, &off);
  uint64_t aot = rd_u64(off);
  if (!check(rc == kTVMModuleHandle, "tvm.aot_executor.create -> Module", "rc %d (%s)", rc,
             reply_message())) {
    return 1;
  }

  const char* names[] = {"set_input",       "run",            "get_output",
                         "get_input",       "get_num_outputs", "get_input_index",
                         "get_num_inputs",  "get_input_name"};
  uint64_t fn[8];
  for (int i = 0; i < 8; i++) {
    fn[i] = rpc_get_function(aot, names[i]);
    char name[64];
    snprintf(name, sizeof(name), "ModuleGetFunction(%s)", names[i]);
    check(fn[i] != 0, name, "not found");
  }
  uint64_t run = fn[1], get_output = fn[2], get_input = fn[3], num_outputs = fn[4],
           num_inputs = fn[6], input_name = fn[7];

  rc = rpc_call0(num_inputs, &off);
  check(rc == kTVMArgInt && rd_u64(off) == 1, "get_num_inputs = 1", "rc %d", rc);
  rc = call_int_arg(input_name, 0, &off);
  check(rc == kTVMStr, "get_input_name(0) -> Str", "rc %d", rc);

  rc = rpc_call0(rpc_get_global("tvm.rpc.server.GetCRTMaxPacketSize"), &off);
  uint64_t m = rd_u64(off);
  check(rc == kTVMArgInt && m == max_packet - 11, "GetCRTMaxPacketSize", "%lu",
        (unsigned long)m);

  for (int s = 4; s + 1 < argc; s += 2) {
    size_t in_n, exp_n;
    uint8_t* in = read_file(argv[s], &in_n);
    static uint8_t input[1 << 20];
    if (!check(in != NULL, "read input", "%s", argv[s])) return 1;
    memcpy(input, in, in_n);
    uint8_t* expected = NULL;
    static uint8_t expected_buf[1 << 20];
    uint8_t* e = read_file(argv[s + 1], &exp_n);
    if (!check(e != NULL, "read expected output", "%s", argv[s + 1])) return 1;
    memcpy(expected_buf, e, exp_n);
    expected = expected_buf;

    remote_array_t t;
    rc = call_int_arg(get_input, 0, &off);
    check(decode_array(rc, off, &t) == 0 && t.nbytes == in_n, "get_input(0) matches the input",
          "rc %d, %lu bytes vs %lu", rc, (unsigned long)t.nbytes, (unsigned long)in_n);
    /* Chunked as TVM's host does: block = M - (44 + 8 * ndim), chunk k at byte_offset k * block */
    size_t block = (size_t)m - (44 + 8 * (size_t)t.ndim);
    int chunks = 0, copy_ok = 1;
    for (size_t done = 0; done < in_n; done += block, chunks++) {
      size_t n = in_n - done < block ? in_n - done : block;
      copy_ok &= rpc_copy_to(t.data, t.ndim, t.shape, t.code, t.bits, done, input + done, n) == 0;
    }
    char name[1024];
    snprintf(name, sizeof(name), "%s: input copied in %d chunk(s)", argv[s], chunks);
    check(copy_ok, name, "%s", reply_message());
    rpc_free_handle(t.handle, kTVMNDArrayHandle);

    rc = rpc_call0(run, &off);
    snprintf(name, sizeof(name), "%s: run", argv[s]);
    check(rc == kTVMNullptr, name, "rc %d (%s)", rc, reply_message());

    rc = rpc_call0(num_outputs, &off);
    check(rc == kTVMArgInt && rd_u64(off) == 1, "get_num_outputs = 1", "rc %d", rc);
    rc = call_int_arg(get_output, 0, &off);
    check(decode_array(rc, off, &t) == 0 && t.nbytes == exp_n, "get_output(0) size", "%lu vs %lu",
          (unsigned long)t.nbytes, (unsigned long)exp_n);
    static uint8_t output[1 << 20];
    copy_ok = 1;
    block = (size_t)m - (44 + 8 * (size_t)t.ndim);
    for (size_t done = 0; done < t.nbytes; done += block) {
      size_t n = t.nbytes - done < block ? t.nbytes - done : block;
      copy_ok &= rpc_copy_from(t.data, t.ndim, t.shape, t.code, t.bits, done, output + done, n) == 0;
    }
    rpc_free_handle(t.handle, kTVMNDArrayHandle);
    size_t count = t.nbytes / ((t.bits + 7u) / 8u);
    int close = copy_ok;
    char got[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
      double g = element(output, t.code, t.bits, i), w = element(expected, t.code, t.bits, i);
      if (!(fabs(g - w) <= tolerance)) close = 0;
      if (used < sizeof(got) - 32) {
        used += (size_t)snprintf(got + used, sizeof(got) - used, "%s%g", i ? "," : "", g);
      }
    }
    snprintf(name, sizeof(name), "%s: output [%s] within %g of the reference", argv[s], got,
             tolerance);
    check(close, name, "mismatch");
  }

  /* Device timing of one inference: the time evaluator on the executor module's "run". */
  uint64_t evaluator = rpc_get_global("runtime.RPCTimeEvaluator");
  int codes[12] = {kTVMModuleHandle, kTVMStr, 0, 0, 0, 0, 0, 0, 0, 0, 0, kTVMStr};
  args.len = 0;
  pkt_seq(&args, 12, codes);
  pkt_u64(&args, aot);
  pkt_str(&args, "run");
  int64_t ints[9] = {1, 0, 3, 2, 0, 100, 0, 1, 0};
  for (int i = 0; i < 9; i++) pkt_u64(&args, (uint64_t)ints[i]);
  pkt_str(&args, "");
  rc = rpc_call(evaluator, &args, &off);
  uint64_t timer = rd_u64(off);
  rc = rc == kTVMPackedFuncHandle ? rpc_call0(timer, &off) : rc;
  double t0 = 0, t1 = 0;
  if (rc == kTVMBytes && rd_u64(off) == 16) {
    uint64_t b0 = rd_u64(off + 8), b1 = rd_u64(off + 16);
    memcpy(&t0, &b0, 8);
    memcpy(&t1, &b1, 8);
  }
  char name[128];
  snprintf(name, sizeof(name), "time evaluator: %.1f us, %.1f us per run", t0 * 1e6, t1 * 1e6);
  check(rc == kTVMBytes && t0 > 0 && t1 > 0, name, "rc %d (%s)", rc, reply_message());

  /* A tight memory pool: budgets from ample down to nothing (downwards, so that the budgets where
   * only the model's workspace is short come before any that could leak). Whatever
   * fails inside the evaluator (the request, its result, a workspace block the model's generated
   * code asks for and then ignores the failure of) must come back as an Exception naming it, never
   * as a time, and the call must leave no memory behind. */
  rc = rpc_call(evaluator, &args, &off);
  timer = rd_u64(off);
  check(rc == kTVMPackedFuncHandle, "time evaluator for the memory sweep", "rc %d (%s)", rc,
        reply_message());
  long base_bytes = test_platform_live_bytes(), base_blocks = test_platform_live_blocks();
  int budgets = 0, honest = 1, named = 1, leak_free = 1, timed_at_top = 0, workspace_refused = 0;
  char detail[512] = "", honest_detail[128] = "", named_detail[512] = "";
  long top = 16 * 1024; /* plus twice the model's workspace, ample for requests and results */
  for (size_t i = 0; i < microtvm_project_model_count; i++) {
    if (strcmp(microtvm_project_models[i]->name, model) == 0) {
      top += 2 * (long)microtvm_project_models[i]->workspace_size_bytes;
    }
  }
  for (long budget = top; budget >= 0; budget -= 256, budgets++) {
    long failed_before = test_platform_failed_allocations();
    test_platform_limit_bytes(base_bytes + budget);
    rc = rpc_call0(timer, &off);
    test_platform_limit_bytes(-1);
    int failed = test_platform_failed_allocations() != failed_before;
    if (failed && rc != -1 && honest) {
      honest = 0;
      snprintf(honest_detail, sizeof(honest_detail), "budget %ld: an allocation failed but the reply is rc %d",
               budget, rc);
    }
    if (rc == -1 && !reply_is_exception("out of memory") && named) {
      named = 0;
      snprintf(named_detail, sizeof(named_detail), "budget %ld: %s", budget, reply_message());
    }
    if (rc == -1 && reply_is_exception("time evaluator: ") && reply_is_exception("workspace")) {
      workspace_refused++;
    }
    if (test_platform_live_bytes() != base_bytes || test_platform_live_blocks() != base_blocks) {
      if (leak_free) {
        snprintf(detail, sizeof(detail), "budget %ld: %ld bytes in %ld blocks left behind", budget,
                 test_platform_live_bytes() - base_bytes,
                 test_platform_live_blocks() - base_blocks);
      }
      leak_free = 0;
    }
    if (budget == top) {
      timed_at_top = rc == kTVMBytes && !failed;
      if (!timed_at_top) snprintf(detail, sizeof(detail), "rc %d (%s)", rc, reply_message());
    }
  }
  check(honest, "tight pool: a failed allocation inside the time evaluator is an Exception",
        "%s", honest_detail);
  check(named, "tight pool: the Exception says what ran out of memory", "%s", named_detail);
  check(leak_free, "tight pool: every allocation freed on every path", "%s", detail);
  check(workspace_refused > 0, "tight pool: a model run short of workspace fails the evaluation",
        "no budget reached the model's workspace");
  snprintf(name, sizeof(name), "tight pool: %d budgets, the largest (%ld bytes) enough", budgets,
           top);
  check(timed_at_top, name, "%s", detail);

  check(rpc_free_handle(aot, kTVMModuleHandle) == 0, "FreeHandle(executor module)", "%s",
        reply_message());
  static const uint8_t shutdown[12] = {4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
  send_bytes(shutdown, sizeof(shutdown));
  check(g_reply.count == 0 && g_reply.status == kTvmErrorPlatformShutdown, "Shutdown", "status %d",
        g_reply.status);
  mtvm_rpc_server_free(g_rpc);
  check(test_platform_live_blocks() == 0, "all device memory released", "%ld blocks",
        test_platform_live_blocks());
  return g_failures == 0 ? 0 : 1;
}
