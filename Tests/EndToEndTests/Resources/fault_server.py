"""A misbehaving 'Shadowsocks server' for fault tests, on HOST:PORT:

  rst HOST PORT     accept, then reset the connection (SO_LINGER 0) as soon as the first bytes arrive
  stall HOST PORT   accept, read and discard everything, never answer, never close
"""

import socket
import struct
import sys
import threading


def serve(mode, host, port):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(128)
    print(f"{mode} server on {host}:{port}", flush=True)
    held = []
    while True:
        conn, peer = listener.accept()
        if mode == "rst":
            conn.recv(4096)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            print(f"reset {peer[0]}:{peer[1]}", flush=True)
        else:
            held.append(conn)
            threading.Thread(target=drain, args=(conn,), daemon=True).start()
            print(f"stalling {peer[0]}:{peer[1]}", flush=True)


def drain(conn):
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], int(sys.argv[3]))
