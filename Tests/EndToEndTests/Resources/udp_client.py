"""LAN-side UDP clients. Exit status 0 only when every check passed.

  echo HOST PORT COUNT [MAX] COUNT datagrams of mixed sizes, 1..MAX bytes (default 1400: ss-libev's ss-server
                             sends no reply beyond the path MTU), at most 32 in flight; every reply must come
                             back exact and from HOST:PORT itself
  pair HOST PORT COUNT       two sockets (two LAN flows) to the same destination, interleaved; each must get
                             only its own replies
  once HOST PORT             one datagram and its reply
"""

import socket
import sys
import time

TIMEOUT = 20  # seconds for a whole run


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def make_socket(host):
    sock = socket.socket(family(host), socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.settimeout(2)
    return sock


def payload(tag, seq, largest=1400):
    size = largest if seq % 97 == 0 else 1 + (seq * 37) % largest
    head = f"{tag}:{seq}:".encode()
    return (head + bytes((seq + i) % 251 for i in range(max(0, size - len(head)))))[:max(size, len(head))]


def echo(host, port, count, largest=1400):
    sock = make_socket(host)
    deadline = time.monotonic() + TIMEOUT
    sent = received = wrong_source = wrong_data = 0
    outstanding = {}
    while (sent < count or outstanding) and time.monotonic() < deadline:
        while sent < count and len(outstanding) < 32:
            data = payload("e", sent, largest)
            sock.sendto(data, (host, port))
            outstanding[sent] = data
            sent += 1
        try:
            data, peer = sock.recvfrom(65535)
        except socket.timeout:
            break
        if peer[0] != host or peer[1] != port:
            wrong_source += 1
        seq = int(data.split(b":", 2)[1])
        if outstanding.pop(seq, None) == data:
            received += 1
        else:
            wrong_data += 1
    print(f"{received} of {count} replies exact, {wrong_source} from a wrong source, {wrong_data} wrong, "
          f"{len(outstanding) + count - sent} missing")
    return received == count and wrong_source == 0 and wrong_data == 0


def pair(host, port, count):
    a, b = make_socket(host), make_socket(host)
    mixed = 0
    ok = 0
    for seq in range(count):
        for tag, sock in (("a", a), ("b", b)):
            sock.sendto(f"{tag}:{seq}:x".encode(), (host, port))
        for tag, sock in (("a", a), ("b", b)):
            data, _ = sock.recvfrom(65535)
            if data == f"{tag}:{seq}:x".encode():
                ok += 1
            else:
                mixed += 1
    print(f"{ok} of {2 * count} replies went to their own flow, {mixed} to the other")
    print(f"source ports {a.getsockname()[1]} {b.getsockname()[1]}")
    return ok == 2 * count


def once(host, port):
    sock = make_socket(host)
    sock.sendto(b"once", (host, port))
    data, peer = sock.recvfrom(65535)
    print(f"reply {data!r} from {peer[0]} port {peer[1]}")
    return data == b"once"


if __name__ == "__main__":
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    try:
        if mode == "echo":
            passed = echo(host, port, int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 1400)
        elif mode == "pair":
            passed = pair(host, port, int(sys.argv[4]))
        else:
            passed = once(host, port)
    except OSError as error:
        print(f"failed: {error!r}")
        passed = False
    sys.exit(0 if passed else 1)
