# The boards of the qemu-cortex-m template: QEMU's MPS2 machines, named after the FPGA images of
# Arm's MPS2 board. Memory regions were read from QEMU 7.2's `info mtree` for each machine
# (`qemu-system-arm -machine <board> -S -display none -monitor stdio`, then `info mtree`); the
# CPU flags were checked by running FPU code under each machine's CPU.
#
# Per board:  <board>_CPU         QEMU -cpu (each machine accepts only its own CPU)
#             <board>_CFLAGS      code generation flags for arm-none-eabi-gcc (CPU_FLAGS)
#             <board>_FLASH       origin length   code and read-only data (+ the .data image)
#             <board>_RAM         origin length   stack, .data, .bss, heap
#             <board>_PSRAM       origin length   large buffers (section .psram_bss)
#             <board>_PACKET_SIZE bytes           TVM_CRT_MAX_PACKET_SIZE_BYTES: the session receive
#                                                 buffer (static) and the RPC reply buffer (from the
#                                                 memory pool). Larger packets mean fewer round trips
#                                                 per tensor copy; a board with 16 KiB of RAM would
#                                                 take 1024, these 4 MiB boards take 16 KiB.
#
# Common to all three: ZBT SSRAM1, 4 MiB at 0x00000000 (mirrored at 0x00400000), holds the code
# (it is RAM in the FPGA, loaded by the board's MCC or by QEMU's -kernel, so "FLASH" here means
# the code region); ZBT SSRAM2/3, 4 MiB at 0x20000000 (mirrored at 0x20400000); CMSDK APB UART0
# at 0x40004000 (receive interrupt IRQ 0, transmit IRQ 1); 25 MHz system clock.
BOARDS := mps2-an385 mps2-an386 mps2-an500

# mps2-an385: Cortex-M3, no FPU. info mtree: mps.ssram1 0x00000000-0x003fffff,
# mps.ssram23 0x20000000-0x203fffff, mps.ram (PSRAM) 0x21000000-0x21ffffff, plus 16 KiB
# mps.blockram at 0x01000000 (mirrored 4 times up to 0x0100ffff; not used here).
mps2-an385_CPU := cortex-m3
mps2-an385_CFLAGS := -mcpu=cortex-m3 -mthumb -mfloat-abi=soft
mps2-an385_FLASH := 0x00000000 0x00400000
mps2-an385_RAM := 0x20000000 0x00400000
mps2-an385_PACKET_SIZE := 16384
mps2-an385_PSRAM := 0x21000000 0x01000000

# mps2-an386: Cortex-M4 with the single-precision FPv4-SP FPU. Same map as the AN385
# (mps.ssram1, mps.ssram23, mps.ram at 0x21000000, mps.blockram at 0x01000000), plus the
# bit-band aliases at 0x22000000 and 0x42000000.
mps2-an386_CPU := cortex-m4
mps2-an386_CFLAGS := -mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard
mps2-an386_FLASH := 0x00000000 0x00400000
mps2-an386_RAM := 0x20000000 0x00400000
mps2-an386_PACKET_SIZE := 16384
mps2-an386_PSRAM := 0x21000000 0x01000000

# mps2-an500: Cortex-M7 with the double-precision FPv5 FPU (QEMU models the D16 register file).
# Differs from the others: at 0x21000000 QEMU maps only an unimplemented-device placeholder
# named "PSRAM" (reads return 0, writes are dropped, no fault: a buffer linked there for the
# AN385/AN386 silently loses its data), the 16 MiB mps.ram is at 0x60000000-0x60ffffff, and
# 0x01000000 is a placeholder too (no block RAM). On the AN385/AN386, 0x60000000 has nothing
# and an access there is a HardFault. QEMU models no caches, so none are enabled.
mps2-an500_CPU := cortex-m7
mps2-an500_CFLAGS := -mcpu=cortex-m7 -mthumb -mfpu=fpv5-d16 -mfloat-abi=hard
mps2-an500_FLASH := 0x00000000 0x00400000
mps2-an500_RAM := 0x20000000 0x00400000
mps2-an500_PACKET_SIZE := 16384
mps2-an500_PSRAM := 0x60000000 0x01000000
