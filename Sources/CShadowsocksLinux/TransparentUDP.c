#define _GNU_SOURCE
#include "CShadowsocksLinuxUDP.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT 19
#endif
#ifndef IP_RECVORIGDSTADDR
#define IP_RECVORIGDSTADDR 20
#endif
#ifndef IP_ORIGDSTADDR
#define IP_ORIGDSTADDR IP_RECVORIGDSTADDR
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif
#ifndef IPV6_RECVORIGDSTADDR
#define IPV6_RECVORIGDSTADDR 74
#endif
#ifndef IPV6_ORIGDSTADDR
#define IPV6_ORIGDSTADDR IPV6_RECVORIGDSTADDR
#endif

_Static_assert(IP_TRANSPARENT == 19, "linux/in.h");
_Static_assert(IP_ORIGDSTADDR == 20, "linux/in.h");
_Static_assert(IPV6_TRANSPARENT == 75, "linux/in6.h");
_Static_assert(IPV6_ORIGDSTADDR == 74, "linux/in6.h");

#define C_SS_MAX_BATCH 64

static int set_int(int fd, int level, int name, int value) {
    return setsockopt(fd, level, name, &value, sizeof(value)) == 0 ? 0 : -errno;
}

int c_ss_set_transparent(int fd) {
    struct sockaddr_storage local;
    socklen_t length = sizeof(local);
    if (getsockname(fd, (struct sockaddr *)&local, &length) != 0) return -errno;
    int status = set_int(fd, SOL_IP, IP_TRANSPARENT, 1);
    if (status != 0) return status;
    if (local.ss_family == AF_INET6) return set_int(fd, SOL_IPV6, IPV6_TRANSPARENT, 1);
    return 0;
}

int c_ss_udp_tproxy_socket(const struct sockaddr *address, socklen_t length, int timeout_ms) {
    int fd = socket(address->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int status = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (status == 0) status = set_int(fd, SOL_IP, IP_TRANSPARENT, 1);
    if (status == 0) status = set_int(fd, SOL_IP, IP_RECVORIGDSTADDR, 1);
    if (status == 0 && address->sa_family == AF_INET6) {
        status = set_int(fd, SOL_IPV6, IPV6_TRANSPARENT, 1);
        if (status == 0) status = set_int(fd, SOL_IPV6, IPV6_RECVORIGDSTADDR, 1);
    }
    if (status == 0) {
        struct timeval timeout = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) != 0) status = -errno;
    }
    if (status == 0 && bind(fd, address, length) != 0) status = -errno;
    if (status != 0) {
        close(fd);
        return status;
    }
    return fd;
}

/// Finds IP_ORIGDSTADDR / IPV6_ORIGDSTADDR among the control messages.
static void read_original_destination(struct msghdr *header, struct sockaddr_storage *out) {
    memset(out, 0, sizeof(*out));
    for (struct cmsghdr *c = CMSG_FIRSTHDR(header); c != NULL; c = CMSG_NXTHDR(header, c)) {
        if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_ORIGDSTADDR &&
            c->cmsg_len >= CMSG_LEN(sizeof(struct sockaddr_in))) {
            memcpy(out, CMSG_DATA(c), sizeof(struct sockaddr_in));
            return;
        }
        if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_ORIGDSTADDR &&
            c->cmsg_len >= CMSG_LEN(sizeof(struct sockaddr_in6))) {
            memcpy(out, CMSG_DATA(c), sizeof(struct sockaddr_in6));
            return;
        }
    }
}

/// IPv4-mapped IPv6 (::ffff:a.b.c.d, RFC 4291 section 2.5.5.2) as plain AF_INET, in place.
static void normalize(struct sockaddr_storage *address) {
    if (address->ss_family != AF_INET6) return;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)address;
    if (!IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) return;
    struct sockaddr_in v4;
    memset(&v4, 0, sizeof(v4));
    v4.sin_family = AF_INET;
    v4.sin_port = v6->sin6_port;
    memcpy(&v4.sin_addr, &v6->sin6_addr.s6_addr[12], 4);
    memset(address, 0, sizeof(*address));
    memcpy(address, &v4, sizeof(v4));
}

/// Port (network order) and 16 address bytes of an AF_INET/AF_INET6 address; zeros otherwise.
static void endpoint(const struct sockaddr_storage *address, uint16_t *port, uint64_t words[2]) {
    words[0] = words[1] = 0;
    *port = 0;
    if (address->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)address;
        *port = v4->sin_port;
        memcpy(words, &v4->sin_addr, 4);
    } else if (address->ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)address;
        *port = v6->sin6_port;
        memcpy(words, &v6->sin6_addr, 16);
    }
}

static void flow_key(c_ss_datagram *datagram) {
    uint16_t source_port, destination_port;
    endpoint(&datagram->source, &source_port, &datagram->flow[1]);
    endpoint(&datagram->destination, &destination_port, &datagram->flow[3]);
    datagram->flow[0] = (uint64_t)datagram->source.ss_family | (uint64_t)datagram->destination.ss_family << 16 |
                        (uint64_t)source_port << 32 | (uint64_t)destination_port << 48;
}

int c_ss_udp_receive_batch(int fd, c_ss_datagram *datagrams, unsigned int count) {
    if (count > C_SS_MAX_BATCH) count = C_SS_MAX_BATCH;
    struct mmsghdr headers[C_SS_MAX_BATCH];
    struct iovec vectors[C_SS_MAX_BATCH];
    // Room for one sockaddr_in6 control message (the larger of the two), aligned for cmsghdr.
    union {
        char bytes[CMSG_SPACE(sizeof(struct sockaddr_in6))];
        struct cmsghdr align;
    } control[C_SS_MAX_BATCH];
    memset(headers, 0, sizeof(struct mmsghdr) * count);
    for (unsigned int i = 0; i < count; i++) {
        vectors[i].iov_base = datagrams[i].buffer;
        vectors[i].iov_len = datagrams[i].capacity;
        headers[i].msg_hdr.msg_name = &datagrams[i].source;
        headers[i].msg_hdr.msg_namelen = sizeof(datagrams[i].source);
        headers[i].msg_hdr.msg_iov = &vectors[i];
        headers[i].msg_hdr.msg_iovlen = 1;
        headers[i].msg_hdr.msg_control = control[i].bytes;
        headers[i].msg_hdr.msg_controllen = sizeof(control[i].bytes);
    }
    int received;
    do {
        received = recvmmsg(fd, headers, count, MSG_WAITFORONE, NULL);
    } while (received < 0 && errno == EINTR);
    if (received < 0) {
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    }
    for (int i = 0; i < received; i++) {
        datagrams[i].length = headers[i].msg_len;
        datagrams[i].truncated = (headers[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
        read_original_destination(&headers[i].msg_hdr, &datagrams[i].destination);
        normalize(&datagrams[i].source);
        normalize(&datagrams[i].destination);
        flow_key(&datagrams[i]);
    }
    return received;
}

/* UDP GSO (UDP_SEGMENT, Linux 4.18): equal-sized datagrams to one address leave as one buffer that the stack
   carries as a single packet and cuts at the last moment (or the NIC does), instead of each walking routing and
   netfilter on its own. The largest segment tried; lowered when the kernel refuses a size (EINVAL: larger than the
   path MTU), 0 when it refuses GSO altogether (EIO: no checksum offload, ENOPROTOOPT: an old kernel). */
static _Atomic int gso_limit = 1472;
/* udp(7): at most 64 segments a send (UDP_MAX_SEGMENTS before Linux 6.x), and one IP packet's worth of payload. */
#define C_SS_GSO_MAX_SEGMENTS 64
#define C_SS_GSO_MAX_BYTES 65000

/* Sends `count` datagrams (at most C_SS_MAX_BATCH), each on its own, with sendmmsg. */
static unsigned int send_each(int fd, const c_ss_outgoing *datagrams, unsigned int count, int *error) {
    struct mmsghdr headers[C_SS_MAX_BATCH];
    struct iovec vectors[C_SS_MAX_BATCH];
    unsigned int sent = 0;
    memset(headers, 0, sizeof(struct mmsghdr) * count);
    for (unsigned int i = 0; i < count; i++) {
        vectors[i].iov_base = (void *)datagrams[i].data;
        vectors[i].iov_len = datagrams[i].length;
        headers[i].msg_hdr.msg_name = (void *)datagrams[i].address;
        headers[i].msg_hdr.msg_namelen = datagrams[i].address_length;
        headers[i].msg_hdr.msg_iov = &vectors[i];
        headers[i].msg_hdr.msg_iovlen = 1;
    }
    while (sent < count) {
        int result = sendmmsg(fd, headers + sent, count - sent, MSG_DONTWAIT);
        if (result < 0) {
            if (errno == EINTR) continue;
            *error = errno;
            return sent;
        }
        sent += (unsigned int)result;
    }
    return sent;
}

/* Sends datagrams[0..<count] (same address, all `size` bytes but the last, which may be shorter) as one GSO send.
   Returns 1 if sent, 0 if the kernel refused it (the limit is lowered), -errno on another error. */
static int send_segmented(int fd, const c_ss_outgoing *datagrams, unsigned int count, size_t size) {
    struct iovec vectors[C_SS_GSO_MAX_SEGMENTS];
    union {
        char bytes[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof(control));
    for (unsigned int i = 0; i < count; i++) {
        vectors[i].iov_base = (void *)datagrams[i].data;
        vectors[i].iov_len = datagrams[i].length;
    }
    struct msghdr header = {
        .msg_name = (void *)datagrams[0].address,
        .msg_namelen = datagrams[0].address_length,
        .msg_iov = vectors,
        .msg_iovlen = count,
        .msg_control = control.bytes,
        .msg_controllen = sizeof(control.bytes),
    };
    struct cmsghdr *message = CMSG_FIRSTHDR(&header);
    message->cmsg_level = SOL_UDP;
    message->cmsg_type = UDP_SEGMENT;
    message->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t segment = (uint16_t)size;
    memcpy(CMSG_DATA(message), &segment, sizeof(segment));
    ssize_t result;
    do {
        result = sendmsg(fd, &header, MSG_DONTWAIT);
    } while (result < 0 && errno == EINTR);
    if (result >= 0) return 1;
    if (errno == EINVAL) {
        gso_limit = (int)size - 1;
        return 0;
    }
    if (errno == EIO || errno == ENOPROTOOPT || errno == EOPNOTSUPP) {
        gso_limit = 0;
        return 0;
    }
    return -errno;
}

unsigned int c_ss_udp_send_batch(int fd, const c_ss_outgoing *datagrams, unsigned int count, int *error) {
    unsigned int sent = 0;
    *error = 0;
    while (sent < count) {
        /* A run that GSO can carry: same address, equal sizes but a shorter last one, within the limits. */
        const c_ss_outgoing *first = &datagrams[sent];
        size_t size = first->length;
        unsigned int run = 1;
        size_t bytes = size;
        if ((int)size <= gso_limit) {
            while (sent + run < count && run < C_SS_GSO_MAX_SEGMENTS && datagrams[sent + run - 1].length == size &&
                   datagrams[sent + run].length <= size && datagrams[sent + run].length > 0 &&
                   datagrams[sent + run].address == first->address &&
                   bytes + datagrams[sent + run].length <= C_SS_GSO_MAX_BYTES) {
                bytes += datagrams[sent + run].length;
                run++;
            }
        }
        if (run > 1) {
            int result = send_segmented(fd, first, run, size);
            if (result == 1) {
                sent += run;
                continue;
            }
            if (result < 0) {
                *error = -result;
                return sent;
            }
            /* Refused: these go one by one (and the next runs by the new limit). */
        }
        /* The datagrams up to the next run GSO could take go together in one sendmmsg. */
        unsigned int plain = run;
        if (run == 1) {
            while (sent + plain < count && plain < C_SS_MAX_BATCH &&
                   !((int)datagrams[sent + plain].length <= gso_limit && sent + plain + 1 < count &&
                     datagrams[sent + plain + 1].length <= datagrams[sent + plain].length &&
                     datagrams[sent + plain + 1].address == datagrams[sent + plain].address)) {
                plain++;
            }
        }
        unsigned int done = send_each(fd, first, plain, error);
        sent += done;
        if (done < plain) return sent;
    }
    return sent;
}
