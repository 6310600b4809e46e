#include "CBuildInfo.h"

// Package.swift turns the environment the Makefile sets into these defines, for this file only, so a new
// commit recompiles one C file and relinks instead of rebuilding every module.
#ifndef SS_REDIR_GIT_COMMIT
#define SS_REDIR_GIT_COMMIT "unknown"
#endif
#ifndef SS_REDIR_SWIFT_VERSION
#define SS_REDIR_SWIFT_VERSION ""
#endif

const char *c_ss_build_commit(void) { return SS_REDIR_GIT_COMMIT; }

const char *c_ss_build_swift_version(void) { return SS_REDIR_SWIFT_VERSION; }
