"""UDP echo server for the wan host: answers every datagram with the same bytes, from the address and port it
was sent to, on IPv4 and IPv6. Logs nothing per packet (10,000 of them), only each new peer address ("peer
HOST", the first 64), so a test can tell who sent."""

import selectors
import socket
import sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 7
selector = selectors.DefaultSelector()
v4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
v4.bind(("0.0.0.0", port))
v6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
v6.bind(("::", port))
for sock in (v4, v6):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.setblocking(False)
    selector.register(sock, selectors.EVENT_READ)
print(f"udp echo on port {port}", flush=True)
peers = set()
while True:
    for key, _ in selector.select():
        sock = key.fileobj
        while True:
            try:
                data, peer = sock.recvfrom(65535)
            except BlockingIOError:
                break
            sock.sendto(data, peer)
            if len(peers) < 64 and peer[0] not in peers:
                peers.add(peer[0])
                print(f"peer {peer[0]}", flush=True)
