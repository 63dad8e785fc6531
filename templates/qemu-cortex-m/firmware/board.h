/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the firmware needs to know about the board. The Makefile defines these from the board
 * table (boards.mk); the defaults are the MPS2 FPGA images QEMU emulates (AN385, AN386, AN500),
 * which share the peripheral map: CMSDK APB UART0 at 0x40004000 with its receive interrupt on
 * IRQ 0, and a 25 MHz system clock driving the core and SysTick.
 */
#ifndef MTVM_BOARD_H_
#define MTVM_BOARD_H_

#ifndef MTVM_BOARD_NAME
#define MTVM_BOARD_NAME "mps2"
#endif

#ifndef MTVM_UART_BASE
#define MTVM_UART_BASE 0x40004000u
#endif

#ifndef MTVM_UART_RX_IRQ
#define MTVM_UART_RX_IRQ 0u
#endif

#ifndef MTVM_SYSCLK_HZ
#define MTVM_SYSCLK_HZ 25000000u
#endif

#ifndef MTVM_UART_BAUD
#define MTVM_UART_BAUD 115200u
#endif

/* External interrupt lines in the vector table (the MPS2 images wire 32). */
#ifndef MTVM_EXTERNAL_IRQS
#define MTVM_EXTERNAL_IRQS 32u
#endif

#endif /* MTVM_BOARD_H_ */
