#!/usr/bin/env python3
"""Idle connections for the memory figures: a wan listener that answers each message with one byte (or, to
"D<bytes>\n", with that many bytes) and keeps the connection until the client closes it, and a lan client that
opens N connections through the proxy, waits for each answer (so every hop of the chain is established), then
holds them all until stdin closes or the time limit passes.

Usage: idle_connections.py serve HOST PORT
       idle_connections.py hold HOST PORT COUNT [SECONDS [DOWNLOAD_BYTES]]
With DOWNLOAD_BYTES each connection first downloads that much (what a connection keeps after a burst).
The client prints "held N" once all are open (or "failed after K: ERROR" and exits 1).
"""
import selectors
import socket
import sys
import time


def serve(host: str, port: int) -> None:
    """Answers every message with "!" and closes a connection at its EOF (a run holds thousands; leaking
    them would exhaust the descriptors within a few runs)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(4096)
    listener.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    while True:
        for key, _ in selector.select():
            if key.fileobj is listener:
                try:
                    connection, _ = listener.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:  # out of descriptors: the client's connect times out and it reports that
                    time.sleep(0.01)
                    continue
                connection.setblocking(False)
                selector.register(connection, selectors.EVENT_READ)
                continue
            connection = key.fileobj
            try:
                data = connection.recv(64)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if data.startswith(b"D") and data.endswith(b"\n") and data[1:-1].isdigit():
                try:
                    # A burst: sent whole before serving the others (the client waits for it alone).
                    connection.setblocking(True)
                    connection.sendall(bytes(int(data[1:-1])))
                    connection.setblocking(False)
                except OSError:
                    data = b""
            elif data:
                try:
                    connection.send(b"!")
                except OSError:
                    data = b""
            if not data:
                selector.unregister(connection)
                connection.close()


def receive_exactly(connection: socket.socket, count: int) -> None:
    while count > 0:
        data = connection.recv(min(count, 1 << 16))
        if not data:
            raise OSError(f"closed with {count} bytes still to come")
        count -= len(data)


def hold(host: str, port: int, count: int, seconds: float, download: int = 0) -> int:
    deadline = time.monotonic() + seconds
    sockets = []
    for index in range(count):
        if time.monotonic() > deadline:
            print(f"failed after {index}: time limit", flush=True)
            return 1
        try:
            connection = socket.create_connection((host, port), timeout=5)
            if download:
                connection.sendall(b"D%d\n" % download)
                receive_exactly(connection, download)
            else:
                connection.sendall(b"?")
                if connection.recv(1) != b"!":
                    raise OSError("no answer")
        except OSError as error:
            print(f"failed after {index}: {error}", flush=True)
            return 1
        sockets.append(connection)
    print(f"held {len(sockets)}", flush=True)
    # Hold until the parent closes our stdin (or the time limit), then close everything.
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin, selectors.EVENT_READ)
    selector.select(timeout=max(0.0, deadline - time.monotonic()))
    for connection in sockets:
        connection.close()
    return 0


def main() -> int:
    if len(sys.argv) >= 4 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
        return 0
    if len(sys.argv) >= 5 and sys.argv[1] == "hold":
        seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 120.0
        download = int(sys.argv[6]) if len(sys.argv) > 6 else 0
        return hold(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), seconds, download)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
