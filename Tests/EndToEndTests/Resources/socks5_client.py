"""A SOCKS5 client (RFC 1928/1929) for the end-to-end tests. Exit status 0 only when every check passed.

  udp PROXY PORT TARGET TPORT COUNT [USER PASS]
        UDP ASSOCIATE, then COUNT datagrams of mixed sizes (1..1400 bytes, at most 32 in flight) to
        TARGET:TPORT (an IPv4 or IPv6 address, or a name sent as a domain); every reply must come back exact
        under a SOCKS header (FRAG 0; naming TARGET:TPORT when TARGET is an address). Then the drops: a
        fragment (FRAG 1), a datagram from another socket, and one after the TCP connection closed must all
        go unanswered.
  routes PROXY PORT TARGET:TPORT...
        UDP ASSOCIATE, then 20 datagrams to each TARGET:TPORT (IPv4 address or name) on one association; each
        reply must come back exact under a header (FRAG 0) naming the peer that answered, port TPORT (udp_echo.py
        answers from the wan link's own address, not the extra one it was sent to); prints those peers. Prints
        "ready", then waits (up to 30 s) for the server to close the control connection (the controller's DELETE).
  auth PROXY PORT USER PASS
        the username/password subnegotiation only; prints the RFC 1929 status
  command PROXY PORT CMD
        a request with CMD (2 = BIND) to 0.0.0.0:0 after a no-auth greeting; prints the reply code
"""

import ipaddress
import socket
import struct
import sys
import time

TIMEOUT = 20  # seconds for a whole run


def recv_exact(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError(f"connection closed after {len(data)} of {count} bytes")
        data += chunk
    return data


def encode_address(host, port):
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        name = host.encode()
        return bytes([3, len(name)]) + name + struct.pack("!H", port)
    kind = 1 if address.version == 4 else 4
    return bytes([kind]) + address.packed + struct.pack("!H", port)


def decode_address(data, offset):
    """(host, port, next offset) of the ATYP-prefixed address at offset."""
    kind = data[offset]
    if kind == 1:
        host = str(ipaddress.IPv4Address(data[offset + 1:offset + 5]))
        offset += 5
    elif kind == 4:
        host = str(ipaddress.IPv6Address(data[offset + 1:offset + 17]))
        offset += 17
    elif kind == 3:
        length = data[offset + 1]
        host = data[offset + 2:offset + 2 + length].decode()
        offset += 2 + length
    else:
        raise ValueError(f"ATYP {kind}")
    return host, struct.unpack("!H", data[offset:offset + 2])[0], offset + 2


def read_reply(sock):
    head = recv_exact(sock, 4)
    if head[0] != 5:
        raise ValueError(f"reply version {head[0]}")
    kind = head[3]
    rest = {1: 6, 4: 18}.get(kind)
    if rest is None:
        length = recv_exact(sock, 1)
        tail = length + recv_exact(sock, length[0] + 2)
    else:
        tail = recv_exact(sock, rest)
    host, port, _ = decode_address(head[3:4] + tail, 0)
    return head[1], host, port


def greet(sock, user=None, password=None):
    """Greeting (and RFC 1929 subnegotiation); returns the auth status, 0 when none was needed."""
    methods = [0, 2] if user else [0]
    sock.sendall(bytes([5, len(methods)] + methods))
    version, method = recv_exact(sock, 2)
    if method == 0xFF:
        raise ValueError("no acceptable method")
    if method == 2:
        u, p = user.encode(), password.encode()
        sock.sendall(bytes([1, len(u)]) + u + bytes([len(p)]) + p)
        _, status = recv_exact(sock, 2)
        return status
    return 0


def connect(proxy, port):
    sock = socket.create_connection((proxy, port), timeout=5)
    return sock


def payload(seq):
    size = 1400 if seq % 97 == 0 else 1 + (seq * 37) % 1400
    head = f"s:{seq}:".encode()
    return (head + bytes((seq + i) % 251 for i in range(max(0, size - len(head)))))[:max(size, len(head))]


def udp(proxy, port, target, tport, count, user=None, password=None):
    control = connect(proxy, port)
    status = greet(control, user, password)
    if status != 0:
        print(f"auth status {status}")
        return False
    control.sendall(bytes([5, 3, 0]) + encode_address("0.0.0.0", 0))
    code, bound_host, bound_port = read_reply(control)
    print(f"UDP ASSOCIATE reply {code}, relay at {bound_host} port {bound_port}")
    if code != 0:
        return False
    family = socket.AF_INET6 if ":" in bound_host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.settimeout(2)
    relay = (bound_host, bound_port)
    header = b"\0\0\0" + encode_address(target, tport)
    literal = target if ":" not in target else str(ipaddress.IPv6Address(target))
    is_address = True
    try:
        ipaddress.ip_address(target)
    except ValueError:
        is_address = False

    deadline = time.monotonic() + TIMEOUT
    sent = received = wrong_header = wrong_data = 0
    outstanding = {}
    while (sent < count or outstanding) and time.monotonic() < deadline:
        while sent < count and len(outstanding) < 32:
            data = payload(sent)
            sock.sendto(header + data, relay)
            outstanding[sent] = data
            sent += 1
        try:
            datagram, peer = sock.recvfrom(65535)
        except socket.timeout:
            break
        if datagram[:3] != b"\0\0\0":
            wrong_header += 1
            continue
        host, hport, offset = decode_address(datagram, 3)
        if is_address and (host != literal or hport != tport):
            wrong_header += 1
        data = datagram[offset:]
        seq = int(data.split(b":", 2)[1])
        if outstanding.pop(seq, None) == data:
            received += 1
        else:
            wrong_data += 1
    print(f"{received} of {count} replies exact, {wrong_header} with a wrong header, {wrong_data} wrong, "
          f"{len(outstanding) + count - sent} missing")
    ok = received == count and wrong_header == 0 and wrong_data == 0

    def unanswered(sender, datagram):
        sender.sendto(datagram, relay)
        sock.settimeout(0.5)
        try:
            sock.recvfrom(65535)
            return False
        except socket.timeout:
            return True

    fragment = unanswered(sock, b"\0\0\1" + encode_address(target, tport) + b"s:0:fragment")
    print(f"fragment: {'no reply' if fragment else 'ANSWERED'}")
    stranger = socket.socket(family, socket.SOCK_DGRAM)
    foreign = unanswered(stranger, header + b"s:0:stranger")
    print(f"other source: {'no reply' if foreign else 'ANSWERED'}")
    # The same socket still works after the drops.
    sock.sendto(header + b"s:1:again", relay)
    sock.settimeout(2)
    again = sock.recvfrom(65535)[0].endswith(b"s:1:again")
    print(f"still relaying: {again}")
    control.close()
    time.sleep(0.3)
    try:
        closed = unanswered(sock, header + b"s:2:closed")
    except ConnectionRefusedError:
        closed = True
    print(f"after close: {'no reply' if closed else 'ANSWERED'}")
    return ok and fragment and foreign and again and closed


def routes(proxy, port, targets):
    control = connect(proxy, port)
    greet(control)
    control.sendall(bytes([5, 3, 0]) + encode_address("0.0.0.0", 0))
    code, bound_host, bound_port = read_reply(control)
    if code != 0:
        print(f"UDP ASSOCIATE reply {code}")
        return False
    sock = socket.socket(socket.AF_INET6 if ":" in bound_host else socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(2)
    ok = True
    for pair in targets:
        target, tport = pair.rsplit(":", 1)[0], int(pair.rsplit(":", 1)[1])
        exact = 0
        peers = set()
        for seq in range(20):
            data = payload(seq * 13)
            sock.sendto(b"\0\0\0" + encode_address(target, tport) + data, (bound_host, bound_port))
            try:
                datagram = sock.recvfrom(65535)[0]
            except socket.timeout:
                continue
            host, hport, offset = decode_address(datagram, 3)
            peers.add(f"{host}:{hport}")
            if datagram[:3] == b"\0\0\0" and hport == tport and datagram[offset:] == data:
                exact += 1
        print(f"{pair}: {exact} of 20 replies exact, from {' '.join(sorted(peers))}", flush=True)
        ok = ok and exact == 20
    print("ready", flush=True)
    control.settimeout(30)
    try:
        closed = control.recv(1) == b""
    except (socket.timeout, ConnectionResetError):
        closed = False
    print(f"control closed by server: {closed}", flush=True)
    return ok and closed


def auth(proxy, port, user, password):
    sock = connect(proxy, port)
    sock.sendall(bytes([5, 1, 2]))
    _, method = recv_exact(sock, 2)
    if method != 2:
        print(f"server chose method {method}")
        return False
    u, p = user.encode(), password.encode()
    sock.sendall(bytes([1, len(u)]) + u + bytes([len(p)]) + p)
    _, status = recv_exact(sock, 2)
    print(f"auth status {status}")
    # RFC 1929: after a failure status the server closes the connection.
    if status != 0:
        sock.settimeout(2)
        print(f"closed after failure: {sock.recv(1) == b''}")
    return True


def command(proxy, port, cmd):
    sock = connect(proxy, port)
    greet(sock)
    sock.sendall(bytes([5, cmd, 0]) + encode_address("0.0.0.0", 0))
    code, _, _ = read_reply(sock)
    print(f"reply code {code}")
    return True


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "udp":
        proxy, port, target, tport, count = args[0], int(args[1]), args[2], int(args[3]), int(args[4])
        ok = udp(proxy, port, target, tport, count, *args[5:7])
    elif mode == "routes":
        ok = routes(args[0], int(args[1]), args[2:])
    elif mode == "auth":
        ok = auth(args[0], int(args[1]), args[2], args[3])
    elif mode == "command":
        ok = command(args[0], int(args[1]), int(args[2]))
    else:
        print(__doc__)
        ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
