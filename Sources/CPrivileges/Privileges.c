#define _GNU_SOURCE
#include "CPrivileges.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

_Static_assert(_LINUX_CAPABILITY_U32S_3 == 2, "capability sets are two 32-bit words (v3)");

static int set_capabilities(uint64_t mask) {
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    data[0].effective = data[0].permitted = (uint32_t)mask;
    data[1].effective = data[1].permitted = (uint32_t)(mask >> 32);
    return (int)syscall(SYS_capset, &header, data);
}

int c_ss_drop_privileges(const char *user, uid_t uid, gid_t gid, uint64_t keep_mask, const char **step) {
    // Keep the permitted set across setuid (prctl(2) PR_SET_KEEPCAPS), then trim it to keep_mask.
    if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) != 0) { *step = "prctl(PR_SET_KEEPCAPS)"; return -errno; }
    if (initgroups(user, gid) != 0) { *step = "initgroups"; return -errno; }
    if (setgid(gid) != 0) { *step = "setgid"; return -errno; }
    if (setuid(uid) != 0) { *step = "setuid"; return -errno; }
    if (set_capabilities(keep_mask) != 0) { *step = "capset"; return -errno; }
    if (prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) != 0) { *step = "prctl(PR_SET_KEEPCAPS, 0)"; return -errno; }
    // A uid switch is final: regaining root must fail.
    if (uid != 0 && setuid(0) == 0) { *step = "setuid(0) still succeeds"; return -EPERM; }
    return 0;
}

int64_t c_ss_effective_capabilities(void) {
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0) { return -1; }
    return (int64_t)data[0].effective | ((int64_t)data[1].effective << 32);
}
