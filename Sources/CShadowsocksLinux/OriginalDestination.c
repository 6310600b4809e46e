#include "CShadowsocksLinux.h"

#include <errno.h>
#include <string.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

_Static_assert(SO_ORIGINAL_DST == 80, "SO_ORIGINAL_DST from linux/netfilter_ipv4.h");
_Static_assert(IP6T_SO_ORIGINAL_DST == 80, "IP6T_SO_ORIGINAL_DST from linux/netfilter_ipv6/ip6_tables.h");
_Static_assert(sizeof(struct sockaddr_storage) >= sizeof(struct sockaddr_in6), "storage holds v6");

int c_ss_original_destination(int fd, int family, struct sockaddr_storage *out, socklen_t *out_len) {
    memset(out, 0, sizeof(*out));
    if (family == AF_UNSPEC) {
        struct sockaddr_storage local;
        socklen_t local_len = sizeof(local);
        if (getsockname(fd, (struct sockaddr *)&local, &local_len) != 0) {
            return -errno;
        }
        family = local.ss_family;
    }
    if (family == AF_INET6) {
        socklen_t len = sizeof(struct sockaddr_in6);
        if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, out, &len) == 0) {
            *out_len = len;
            return 0;
        }
    }
    socklen_t len = sizeof(struct sockaddr_in);
    if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, out, &len) == 0) {
        *out_len = len;
        return 0;
    }
    return -errno;
}

int c_ss_local_address(int fd, struct sockaddr_storage *out, socklen_t *out_len) {
    memset(out, 0, sizeof(*out));
    socklen_t len = sizeof(*out);
    if (getsockname(fd, (struct sockaddr *)out, &len) != 0) {
        return -errno;
    }
    *out_len = len;
    return 0;
}
