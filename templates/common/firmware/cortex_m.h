/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The few ARMv7-M system registers this firmware touches (System Control Block, SysTick, NVIC),
 * at their architectural addresses, so the firmware needs no vendor headers.
 */
#ifndef MTVM_CORTEX_M_H_
#define MTVM_CORTEX_M_H_

#include <stdint.h>

#define MTVM_REG32(addr) (*(volatile uint32_t*)(uintptr_t)(addr))

/* System Control Block */
#define SCB_ICSR MTVM_REG32(0xE000ED04u)
#define SCB_ICSR_PENDSTSET (1u << 26)
#define SCB_VTOR MTVM_REG32(0xE000ED08u)
#define SCB_CPACR MTVM_REG32(0xE000ED88u)
#define SCB_CPACR_CP10_CP11_FULL (0xFu << 20)

/* SysTick: a 24-bit down counter */
#define SYSTICK_CSR MTVM_REG32(0xE000E010u)
#define SYSTICK_RVR MTVM_REG32(0xE000E014u)
#define SYSTICK_CVR MTVM_REG32(0xE000E018u)
#define SYSTICK_CSR_ENABLE (1u << 0)
#define SYSTICK_CSR_TICKINT (1u << 1)
#define SYSTICK_CSR_CLKSOURCE_CPU (1u << 2)
#define SYSTICK_MAX_RELOAD 0x00FFFFFFu

/* Debug: DEMCR.TRCENA powers the DWT, whose CYCCNT counts core cycles (ARMv7-M only; the M7's
 * DWT is locked until its Lock Access Register gets the key). */
#define DEMCR MTVM_REG32(0xE000EDFCu)
#define DEMCR_TRCENA (1u << 24)
#define DWT_CTRL MTVM_REG32(0xE0001000u)
#define DWT_CTRL_CYCCNTENA (1u << 0)
#define DWT_CTRL_NOCYCCNT (1u << 25)
#define DWT_CYCCNT MTVM_REG32(0xE0001004u)
#define DWT_LAR MTVM_REG32(0xE0001FB0u)
#define DWT_LAR_KEY 0xC5ACCE55u

/* NVIC: external interrupt n is bit n % 32 of word n / 32 */
#define NVIC_ISER(n) MTVM_REG32(0xE000E100u + 4u * ((n) / 32u))
#define NVIC_ICPR(n) MTVM_REG32(0xE000E280u + 4u * ((n) / 32u))

static inline void mtvm_irq_enable(unsigned irq) {
  NVIC_ICPR(irq) = 1u << (irq % 32u);
  NVIC_ISER(irq) = 1u << (irq % 32u);
}

/* Masks interrupts and returns the previous mask, for mtvm_irq_restore. */
static inline uint32_t mtvm_irq_save(void) {
  uint32_t primask;
  __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask) : : "memory");
  return primask;
}

static inline void mtvm_irq_restore(uint32_t primask) {
  __asm__ volatile("msr primask, %0" : : "r"(primask) : "memory");
}

static inline void mtvm_dsb_isb(void) { __asm__ volatile("dsb\n\tisb" : : : "memory"); }

/* Sleeps until an interrupt is pending; also wakes with interrupts masked (PRIMASK set). */
static inline void mtvm_wfi(void) { __asm__ volatile("wfi" : : : "memory"); }

#endif /* MTVM_CORTEX_M_H_ */
