#ifndef C_NFTNL_SHIM_H
#define C_NFTNL_SHIM_H
// libnftnl (nf_tables objects to and from netlink messages) plus the kernel's nf_tables definitions.
// glibc first: its netinet/in.h makes linux/libc-compat.h skip the uapi copies of in_addr and in6_addr.
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_nat.h>
#include <libnftnl/common.h>
#include <libnftnl/batch.h>
#include <libnftnl/table.h>
#include <libnftnl/chain.h>
#include <libnftnl/set.h>
#include <libnftnl/rule.h>
#include <libnftnl/expr.h>
#include <libnftnl/udata.h>
#endif
