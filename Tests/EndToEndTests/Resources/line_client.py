"""LAN-side clients for target_server.py's line protocol. Exit status 0 only when every reply is exact.

  concurrent HOST PORT COUNT SIZE  open COUNT connections at once, then send each a distinct request
                                   and check each distinct reply
  halfclose HOST PORT SIZE DELAY_MS  send one request, shutdown(SHUT_WR), read the reply to EOF
  slow HOST PORT SIZE SECONDS      one request, the reply read slowly over about SECONDS
  halfclose-slow HOST PORT SIZE SECONDS PAUSE  halfclose, read nothing for PAUSE seconds, then the reply
                                   slowly over about SECONDS (the proxy's queue for the client stays full)
"""

import asyncio
import socket
import sys
import time

import blob

TIMEOUT = 20  # seconds; below the Swift side's bound so the report gets printed


async def one_exchange(index, reader, writer, size, received):
    tag = f"conn-{index}"
    writer.write(f"{size} {tag} 0\n".encode())
    await writer.drain()
    reply = bytearray()
    while chunk := await reader.read(1 << 16):
        reply += chunk
        received[index] = len(reply)
    writer.close()
    return reply == blob.blob(tag, size)


async def concurrent(host, port, count, size):
    """Reports how many replies were exact, wrong, or unfinished when the time ran out."""
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    # Every socket is connected before any request goes out, so all COUNT are open at once.
    opens = asyncio.gather(*(asyncio.open_connection(host, port) for _ in range(count)))
    try:
        streams = await asyncio.wait_for(opens, TIMEOUT)
    except (OSError, asyncio.TimeoutError) as error:
        print(f"connecting {count} sockets failed: {error!r}")
        return False
    received = [0] * count
    tasks = [asyncio.create_task(one_exchange(i, r, w, size, received)) for i, (r, w) in enumerate(streams)]
    remaining = max(0.1, deadline - asyncio.get_running_loop().time())
    done, pending = await asyncio.wait(tasks, timeout=remaining)
    for task in pending:
        task.cancel()
    exact = [i for i, t in enumerate(tasks) if t in done and not t.exception() and t.result()]
    wrong = [i for i, t in enumerate(tasks) if t in done and i not in exact]
    unfinished = [i for i, t in enumerate(tasks) if t in pending]
    print(f"{len(exact)} of {count} replies correct, {len(wrong)} wrong, {len(unfinished)} unfinished")
    for i in (wrong + unfinished)[:10]:
        error = tasks[i].exception() if tasks[i] in done else "unfinished"
        print(f"connection {i}: {received[i]} of {size} bytes, {error!r}", file=sys.stderr)
    return len(exact) == count


def halfclose(host, port, size, delay_ms):
    with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
        sock.sendall(f"{size} halfclose {delay_ms}\n".encode())
        sock.shutdown(socket.SHUT_WR)
        received = bytearray()
        try:
            while chunk := sock.recv(1 << 16):
                received += chunk
        except OSError as error:
            print(f"recv: {error!r}", file=sys.stderr)
    ok = received == blob.blob("halfclose", size)
    print(f"received {len(received)} of {size} bytes, {'exact' if ok else 'NOT exact'}")
    return ok


def slow(host, port, size, seconds, half_close=False, pause=0.0):
    """Reads the reply at about SIZE/SECONDS bytes a second: a connection that stays open for a while."""
    step = max(1, size * 0.05 // seconds)  # bytes per 50 ms
    with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        sock.sendall(f"{size} slow 0\n".encode())
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        time.sleep(pause)
        received = bytearray()
        while len(received) < size:
            chunk = sock.recv(int(min(step, size - len(received))))
            if not chunk:
                break
            received += chunk
            time.sleep(0.05)
    ok = received == blob.blob("slow", size)
    print(f"received {len(received)} of {size} bytes, {'exact' if ok else 'NOT exact'}")
    return ok


def main(argv):
    mode, host, port = argv[1], argv[2], int(argv[3])
    if mode == "concurrent":
        return asyncio.run(concurrent(host, port, int(argv[4]), int(argv[5])))
    if mode == "halfclose":
        return halfclose(host, port, int(argv[4]), int(argv[5]))
    if mode == "slow":
        return slow(host, port, int(argv[4]), float(argv[5]))
    if mode == "halfclose-slow":
        return slow(host, port, int(argv[4]), float(argv[5]), half_close=True, pause=float(argv[6]))
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv) else 1)
