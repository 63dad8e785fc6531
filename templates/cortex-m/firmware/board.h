/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the firmware needs to know about the board. The project's board.mk (written from the
 * template's board table) defines every value with -D; there are no defaults, so a board that
 * forgets one fails to compile instead of running with another board's numbers.
 */
#ifndef MTVM_BOARD_H_
#define MTVM_BOARD_H_

#if !defined(MTVM_BOARD_NAME) || !defined(MTVM_UART_BASE) || !defined(MTVM_UART_RX_IRQ) || \
    !defined(MTVM_UART_BAUD) || !defined(MTVM_EXTERNAL_IRQS)
#error "board.h: MTVM_BOARD_NAME, MTVM_UART_BASE, MTVM_UART_RX_IRQ, MTVM_UART_BAUD and MTVM_EXTERNAL_IRQS come from board.mk"
#endif

#endif /* MTVM_BOARD_H_ */
