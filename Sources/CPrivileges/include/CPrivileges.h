#ifndef C_PRIVILEGES_H
#define C_PRIVILEGES_H

#include <stdint.h>
#include <sys/types.h>

/// Switches the calling thread's process to uid/gid (with the user's supplementary groups from
/// initgroups) while keeping the capabilities in `keep_mask` (bit n = capability n) permitted and
/// effective. Call it while the process has a single thread: capabilities are per thread and new
/// threads copy their creator's. Returns 0, or -errno with the failing step in *step.
int c_ss_drop_privileges(const char *user, uid_t uid, gid_t gid, uint64_t keep_mask, const char **step);

/// The effective capability set of the calling thread (bit n = capability n), or -1.
int64_t c_ss_effective_capabilities(void);

#endif
