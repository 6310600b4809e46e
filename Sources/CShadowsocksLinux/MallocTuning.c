#include "CShadowsocksLinuxMalloc.h"

#include <malloc.h>

int c_ss_malloc_set_trim_threshold(int bytes) { return mallopt(M_TRIM_THRESHOLD, bytes); }

int c_ss_malloc_trim(void) { return malloc_trim(0); }
