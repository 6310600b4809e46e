"""A minimal RFC 6455 client for the controller tests (no third-party modules).

  frames HOST PORT PATH COUNT   upgrade, print the first COUNT text frames (one per line), send close
  hold HOST PORT PATH COUNT SECONDS  open COUNT upgrades at once, hold them SECONDS, print how many got 101
Exit status 0 when the upgrade(s) answered; the first status line goes to stderr when one is refused.
"""

import base64
import os
import socket
import sys
import time

TIMEOUT = 10


def upgrade(host, port, path):
    sock = socket.create_connection((host, port), timeout=TIMEOUT)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://dashboard.example\r\n\r\n"
    )
    sock.sendall(request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    status = head.split(b"\r\n", 1)[0].decode(errors="replace")
    return sock, status


def read_exact(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data


def read_frame(sock):
    first, second = read_exact(sock, 2)
    opcode = first & 0x0F
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(read_exact(sock, 2), "big")
    elif length == 127:
        length = int.from_bytes(read_exact(sock, 8), "big")
    if second & 0x80:
        raise ValueError("server frames must not be masked (RFC 6455 section 5.1)")
    return opcode, read_exact(sock, length)


def send_close(sock):
    mask = os.urandom(4)
    sock.sendall(bytes([0x88, 0x80]) + mask)


def frames(host, port, path, count):
    sock, status = upgrade(host, port, path)
    if " 101 " not in status + " ":
        print(status, file=sys.stderr)
        return False
    got = 0
    while got < count:
        opcode, payload = read_frame(sock)
        if opcode == 0x1:
            print(payload.decode(), flush=True)
            got += 1
        elif opcode == 0x8:
            break
    send_close(sock)
    sock.close()
    return got == count


def hold(host, port, path, count, seconds):
    sockets = []
    upgraded = 0
    for _ in range(count):
        sock, status = upgrade(host, port, path)
        sockets.append(sock)
        if " 101 " in status + " ":
            upgraded += 1
        else:
            print(status, file=sys.stderr)
    print(f"{upgraded} of {count} upgraded", flush=True)
    time.sleep(seconds)
    for sock in sockets:
        sock.close()
    return True


def main(argv):
    mode, host, port, path = argv[1], argv[2], int(argv[3]), argv[4]
    if mode == "frames":
        return frames(host, port, path, int(argv[5]))
    if mode == "hold":
        return hold(host, port, path, int(argv[5]), float(argv[6]))
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv) else 1)
