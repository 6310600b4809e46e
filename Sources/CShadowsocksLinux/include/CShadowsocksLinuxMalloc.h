#ifndef C_SHADOWSOCKS_LINUX_MALLOC_H
#define C_SHADOWSOCKS_LINUX_MALLOC_H

/// glibc mallopt(M_TRIM_THRESHOLD): free memory at the top of a malloc arena stays mapped up to `bytes` instead of
/// going back to the kernel (malloc.h is not part of Swift's Glibc module). Returns 1 on success, 0 otherwise.
int c_ss_malloc_set_trim_threshold(int bytes);

/// glibc malloc_trim(0): give the free pages inside every arena back to the kernel, not only the tops. Returns 1
/// when some memory was released.
int c_ss_malloc_trim(void);

#endif
