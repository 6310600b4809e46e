#ifndef C_SHADOWSOCKS_LINUX_UDP_H
#define C_SHADOWSOCKS_LINUX_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/// One received datagram: the caller provides `buffer`/`capacity`; the shim fills the rest.
typedef struct {
    uint8_t *buffer;
    size_t capacity;
    size_t length;
    struct sockaddr_storage source;
    /// The pre-TPROXY destination from IP_ORIGDSTADDR / IPV6_ORIGDSTADDR; family 0 when absent.
    struct sockaddr_storage destination;
    /// Non-zero when the datagram was larger than `capacity` (MSG_TRUNC) and must be dropped.
    int truncated;
    /// (source, destination) packed for hashing: family and ports, then both addresses (IPv4 in the first 4
    /// bytes of its 16). Both addresses are normalized first: IPv4-mapped IPv6 becomes AF_INET.
    uint64_t flow[5];
} c_ss_datagram;

/// One datagram to send: `length` bytes at `data` to `address`.
typedef struct {
    const uint8_t *data;
    size_t length;
    const struct sockaddr *address;
    socklen_t address_length;
} c_ss_outgoing;

/// A UDP socket for a TPROXY rule: IP_TRANSPARENT + IP_RECVORIGDSTADDR (and the IPv6 twins on an AF_INET6
/// socket, which then also receives IPv4 as v4-mapped), SO_REUSEADDR, a receive timeout of `timeout_ms` so a
/// blocking reader can notice shutdown, bound to `address`. Returns the fd, or -errno.
int c_ss_udp_tproxy_socket(const struct sockaddr *address, socklen_t length, int timeout_ms);

/// Receives up to `count` datagrams with one recvmmsg(2) (blocking for the first, then whatever is queued).
/// Returns how many were received, 0 on timeout, or -errno.
int c_ss_udp_receive_batch(int fd, c_ss_datagram *datagrams, unsigned int count);

/// Sends `count` datagrams on `fd`: runs of equal-sized ones to the same address (the same `address` pointer) as one
/// UDP GSO send each (UDP_SEGMENT; falls back when the kernel refuses it), the rest with sendmmsg(2); retries
/// EINTR. Returns how many were sent; on an error (EAGAIN on a full send buffer, ENOBUFS, ...) the rest are not
/// sent and *error is set to errno.
unsigned int c_ss_udp_send_batch(int fd, const c_ss_outgoing *datagrams, unsigned int count, int *error);

/// Marks a TCP listening socket transparent (for `tproxy` of TCP): IP_TRANSPARENT, and IPV6_TRANSPARENT on
/// an AF_INET6 socket. Returns 0 or -errno.
int c_ss_set_transparent(int fd);

#endif
