/* SPDX-License-Identifier: Apache-2.0 */
/* Included before every file of the model's generated C (the Makefile's -include).
 *
 * TVM's Cortex-M kernels include <arm_acle.h> and call the ACLE DSP intrinsics (__smlad, ...);
 * code written against CMSIS calls the same instructions by their CMSIS names (__SMLAD, ...)
 * from CMSIS's cmsis_gcc.h, which this project does not ship. Both work here: on a core with the
 * DSP extension (Cortex-M4, M7) <arm_acle.h> comes from the compiler and the CMSIS names are
 * mapped onto it. A core without it (Cortex-M3) has no such instructions; the project generator
 * refuses such models for it before anything is compiled. */
#ifndef MICROTVM_MODEL_INTRINSICS_H_
#define MICROTVM_MODEL_INTRINSICS_H_

#include <stdint.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>

#ifndef __SMLAD
#define __SMLAD(x, y, acc) __smlad((x), (y), (acc))
#endif
#ifndef __SMLADX
#define __SMLADX(x, y, acc) __smladx((x), (y), (acc))
#endif
#ifndef __SMLALD
#define __SMLALD(x, y, acc) __smlald((x), (y), (acc))
#endif
#ifndef __SMLSD
#define __SMLSD(x, y, acc) __smlsd((x), (y), (acc))
#endif
#ifndef __SMUAD
#define __SMUAD(x, y) __smuad((x), (y))
#endif
#ifndef __SMUADX
#define __SMUADX(x, y) __smuadx((x), (y))
#endif
#ifndef __SMUSD
#define __SMUSD(x, y) __smusd((x), (y))
#endif
#ifndef __QADD8
#define __QADD8(x, y) __qadd8((x), (y))
#endif
#ifndef __QSUB8
#define __QSUB8(x, y) __qsub8((x), (y))
#endif
#ifndef __QADD16
#define __QADD16(x, y) __qadd16((x), (y))
#endif
#ifndef __QSUB16
#define __QSUB16(x, y) __qsub16((x), (y))
#endif
#ifndef __QASX
#define __QASX(x, y) __qasx((x), (y))
#endif
#ifndef __QSAX
#define __QSAX(x, y) __qsax((x), (y))
#endif
#ifndef __SHADD8
#define __SHADD8(x, y) __shadd8((x), (y))
#endif
#ifndef __SHADD16
#define __SHADD16(x, y) __shadd16((x), (y))
#endif
#ifndef __SADD8
#define __SADD8(x, y) __sadd8((x), (y))
#endif
#ifndef __SADD16
#define __SADD16(x, y) __sadd16((x), (y))
#endif
#ifndef __SSUB8
#define __SSUB8(x, y) __ssub8((x), (y))
#endif
#ifndef __SSUB16
#define __SSUB16(x, y) __ssub16((x), (y))
#endif
#ifndef __UADD8
#define __UADD8(x, y) __uadd8((x), (y))
#endif
#ifndef __UADD16
#define __UADD16(x, y) __uadd16((x), (y))
#endif
#ifndef __USUB8
#define __USUB8(x, y) __usub8((x), (y))
#endif
#ifndef __SXTB16
#define __SXTB16(x) __sxtb16((x))
#endif
#ifndef __SXTAB16
#define __SXTAB16(x, y) __sxtab16((x), (y))
#endif
#ifndef __UXTB16
#define __UXTB16(x) __uxtb16((x))
#endif
#ifndef __UXTAB16
#define __UXTAB16(x, y) __uxtab16((x), (y))
#endif
#ifndef __SSAT16
#define __SSAT16(x, bits) __ssat16((x), (bits))
#endif
#ifndef __USAT16
#define __USAT16(x, bits) __usat16((x), (bits))
#endif
#ifndef __SEL
#define __SEL(x, y) __sel((x), (y))
#endif
#ifndef __QADD
#define __QADD(x, y) __qadd((x), (y))
#endif
#ifndef __QSUB
#define __QSUB(x, y) __qsub((x), (y))
#endif
#ifndef __SMLABB
#define __SMLABB(x, y, acc) __smlabb((x), (y), (acc))
#endif
#ifndef __SMLATT
#define __SMLATT(x, y, acc) __smlatt((x), (y), (acc))
#endif
#ifndef __SMULBB
#define __SMULBB(x, y) __smulbb((x), (y))
#endif
#endif /* __ARM_FEATURE_DSP */

#endif /* MICROTVM_MODEL_INTRINSICS_H_ */
