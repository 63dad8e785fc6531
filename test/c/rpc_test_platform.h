/* SPDX-License-Identifier: Apache-2.0 */
/* Test-only controls of the malloc-backed platform in rpc_test_platform.c. */
#ifndef MICROTVM_TEST_RPC_TEST_PLATFORM_H_
#define MICROTVM_TEST_RPC_TEST_PLATFORM_H_

#include <tvm/runtime/crt/platform.h>

/* Blocks allocated through TVMPlatformMemoryAllocate and not yet freed. */
long test_platform_live_blocks(void);

/* Lets n more allocations succeed, then fails every one; -1 turns failures off. */
void test_platform_fail_allocations_after(long n);

/* Bytes allocated and not yet freed (as requested, without malloc's overhead). */
long test_platform_live_bytes(void);

/* Refuses any allocation that would take the live bytes above `bytes`, as a fixed memory pool
 * does; -1 removes the limit. */
void test_platform_limit_bytes(long bytes);

/* Allocations refused so far (by either control). */
long test_platform_failed_allocations(void);

#endif
