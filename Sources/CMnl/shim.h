#ifndef C_MNL_SHIM_H
#define C_MNL_SHIM_H
// libmnl (netlink sockets and message building) plus the kernel's netlink and rtnetlink definitions.
// glibc first: its netinet/in.h makes linux/libc-compat.h skip the uapi copies of in_addr and in6_addr.
#include <sys/socket.h>
#include <netinet/in.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/fib_rules.h>
#include <net/if.h>
#endif
