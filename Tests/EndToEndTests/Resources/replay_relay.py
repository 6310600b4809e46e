"""Captures what a Shadowsocks client sends, and sends it again: the ss-server replay test.

  record LISTEN_PORT HOST PORT FILE   relays one TCP connection from 127.0.0.1:LISTEN_PORT to HOST:PORT both
                                      ways, writes what the client sent to FILE, exits when both sides are done
  replay HOST PORT FILE [SECONDS]     sends FILE's bytes to HOST:PORT, reads until the server closes (at most
                                      SECONDS, default 20) and prints "received N bytes, closed after S s"
"""

import socket
import sys
import threading
import time


def pump(source, sink, record=None):
    while True:
        try:
            data = source.recv(65536)
        except OSError:
            data = b""
        if not data:
            try:
                sink.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return
        if record is not None:
            record.append(data)
        sink.sendall(data)


def record(listen_port, host, port, path):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", listen_port))
    listener.listen(1)
    print(f"recording on 127.0.0.1:{listen_port} for {host}:{port}", flush=True)
    client, _ = listener.accept()
    upstream = socket.create_connection((host, port))
    sent = []
    up = threading.Thread(target=pump, args=(client, upstream, sent))
    down = threading.Thread(target=pump, args=(upstream, client))
    up.start()
    down.start()
    up.join()
    down.join()
    with open(path, "wb") as file:
        file.write(b"".join(sent))
    print(f"recorded {sum(len(chunk) for chunk in sent)} bytes", flush=True)


def replay(host, port, path, seconds):
    with open(path, "rb") as file:
        data = file.read()
    sock = socket.create_connection((host, port))
    sock.settimeout(seconds)
    sock.sendall(data)
    start = time.monotonic()
    received = 0
    how = "closed"
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += len(chunk)
    except socket.timeout:
        how = "still open"
    except ConnectionResetError:
        how = "reset"
    print(f"sent {len(data)} bytes, received {received} bytes, {how} after {time.monotonic() - start:.2f} s", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "record":
        record(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif sys.argv[1] == "replay":
        replay(sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]) if len(sys.argv) > 5 else 20.0)
    else:
        sys.exit(__doc__)
