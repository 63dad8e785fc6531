/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The system calls newlib(-nano) may reach for. The heap (malloc, and printf's buffers if it
 * wants any) grows from the end of .bss towards the end of RAM; there is no file system, and the
 * UART belongs to the session protocol, so I/O calls fail instead of writing into it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "platform_cortex_m.h"

extern uint8_t __heap_start[];
extern uint8_t __heap_end[];

void* _sbrk(ptrdiff_t increment);
int _write(int fd, const void* data, size_t len);
int _read(int fd, void* data, size_t len);
int _close(int fd);
int _fstat(int fd, struct stat* st);
int _isatty(int fd);
int _lseek(int fd, int offset, int whence);
int _kill(int pid, int sig);
int _getpid(void);
void _exit(int status) __attribute__((noreturn));

void* _sbrk(ptrdiff_t increment) {
  static uint8_t* brk = __heap_start;
  uint8_t* previous = brk;
  if (increment > __heap_end - brk || increment < __heap_start - brk) {
    errno = ENOMEM;
    return (void*)-1;
  }
  brk += increment;
  return previous;
}

int _write(int fd, const void* data, size_t len) {
  (void)fd;
  (void)data;
  (void)len;
  errno = ENOSYS;
  return -1;
}

int _read(int fd, void* data, size_t len) {
  (void)fd;
  (void)data;
  (void)len;
  errno = ENOSYS;
  return -1;
}

int _close(int fd) {
  (void)fd;
  errno = EBADF;
  return -1;
}

int _fstat(int fd, struct stat* st) {
  (void)fd;
  st->st_mode = S_IFCHR;
  return 0;
}

int _isatty(int fd) {
  (void)fd;
  return 1;
}

int _lseek(int fd, int offset, int whence) {
  (void)fd;
  (void)offset;
  (void)whence;
  errno = ESPIPE;
  return -1;
}

int _kill(int pid, int sig) {
  (void)pid;
  (void)sig;
  errno = EINVAL;
  return -1;
}

int _getpid(void) { return 1; }

void _exit(int status) {
  (void)status;
  mtvm_platform_halt("firmware: exit called");
}
