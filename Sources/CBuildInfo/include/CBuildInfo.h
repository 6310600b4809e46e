#ifndef C_BUILD_INFO_H
#define C_BUILD_INFO_H

/// The git commit the binary was built from (Makefile: SS_REDIR_GIT_COMMIT), "unknown" for a plain swift build.
const char *c_ss_build_commit(void);

/// The `swift --version` of the build (Makefile: SS_REDIR_SWIFT_VERSION), "" when the build did not say.
const char *c_ss_build_swift_version(void);

#endif
