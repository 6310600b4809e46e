#ifndef C_SHADOWSOCKS_LINUX_H
#define C_SHADOWSOCKS_LINUX_H

#include <sys/socket.h>
#include <netinet/in.h>

#include "CShadowsocksLinuxMalloc.h"
#include "CShadowsocksLinuxUDP.h"

/// Reads the pre-NAT destination of a REDIRECTed TCP connection (netfilter conntrack):
/// IP6T_SO_ORIGINAL_DST first on an AF_INET6 socket, then SO_ORIGINAL_DST (which also answers for
/// IPv4 clients accepted on a dual-stack `::` listener). Writes a sockaddr_in or sockaddr_in6 into `out`.
/// `family`: AF_INET for an IPv4 connection (also one a dual-stack socket sees v4-mapped): SO_ORIGINAL_DST only;
/// AF_INET6 as above; AF_UNSPEC asks getsockname first. Returns 0 on success, or -errno.
int c_ss_original_destination(int fd, int family, struct sockaddr_storage *out, socklen_t *out_len);

/// The socket's own local address (getsockname), for the loop check. Returns 0 or -errno.
int c_ss_local_address(int fd, struct sockaddr_storage *out, socklen_t *out_len);

#endif
