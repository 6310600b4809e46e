"""LAN-side load and fault clients for target_server.py's line protocol ("SIZE TAG DELAY_MS\n" -> SIZE bytes of
blob(TAG) after DELAY_MS). Exit status 0 only when every reply is exact. Raise RLIMIT_NOFILE (prlimit) for big
counts; the script raises its own soft limit to the hard one.

  hold HOST PORT COUNT SECONDS        open COUNT connections whose replies are delayed, hold them SECONDS,
                                      then close them all; prints "holding N" once they are open
  idle HOST PORT COUNT SECONDS        the same, sending nothing (a SOCKS5 client that never greets)
  wave HOST PORT COUNT SIZE HOLD_MS   COUNT connections, each sends its request at once and the target
                                      answers HOLD_MS later: all are open end to end together; each distinct
                                      reply is checked
  sequential HOST PORT COUNT SIZE PARALLEL
                                      COUNT short connections, PARALLEL at a time, each one exchange
  udp HOST PORT COUNT                 COUNT UDP associations (one socket each, distinct source ports), one
                                      echo each through the proxy; prints how many were answered
"""

import asyncio
import resource
import selectors
import socket
import sys
import time

import blob


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def exchange(host, port, tag, size, semaphore=None):
    """One connection, one request, the reply checked; the client closes."""
    if semaphore:
        async with semaphore:
            return await exchange(host, port, tag, size)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(f"{size} {tag} 0\n".encode())
        await writer.drain()
        reply = await reader.readexactly(size)
        return reply == blob.blob(tag, size)
    finally:
        writer.close()


async def hold(host, port, count, seconds, silent=False):
    streams = []
    for index in range(count):
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
        except (OSError, asyncio.TimeoutError) as error:
            print(f"connection {index}: {error!r}", flush=True)
            continue
        if not silent:
            # The target replies after an hour: the connection stays open and idle both ways.
            writer.write(f"1 hold-{index} 3600000\n".encode())
        streams.append(writer)
    print(f"holding {len(streams)}", flush=True)
    await asyncio.sleep(seconds)
    for writer in streams:
        writer.close()
    print("closed", flush=True)
    return True


async def wave(host, port, count, size, hold_ms):
    """Each connection sends its request as soon as it is open and the target answers HOLD_MS later, so all COUNT
    are open end to end at once (a request also completes a handshake the proxy's full accept queue dropped)."""
    started = time.monotonic()
    connect_limit = asyncio.Semaphore(1000)

    async def one(index):
        tag = f"w{index}"
        try:
            async with connect_limit:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 60)
                writer.write(f"{size} {tag} {hold_ms}\n".encode())
                await writer.drain()
        except (OSError, asyncio.TimeoutError) as error:
            print(f"connection {index}: {error!r}", file=sys.stderr)
            return False
        try:
            return await asyncio.wait_for(reader.readexactly(size), hold_ms / 1000 + 120) == blob.blob(tag, size)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as error:
            print(f"connection {index}: {error!r}", file=sys.stderr)
            return False
        finally:
            writer.close()

    tasks = [asyncio.create_task(one(i)) for i in range(count)]
    print(f"opening {count}", flush=True)
    outcomes = await asyncio.gather(*tasks)
    exact = sum(1 for ok in outcomes if ok)
    print(f"{exact} of {count} replies correct in {time.monotonic() - started:.1f} s", flush=True)
    return exact == count


async def sequential(host, port, count, size, parallel):
    started = time.monotonic()
    semaphore = asyncio.Semaphore(parallel)
    failed = 0

    async def one(index):
        nonlocal failed
        try:
            if not await exchange(host, port, f"s{index % 97}", size, semaphore):
                failed += 1
        except (OSError, asyncio.IncompleteReadError) as error:
            failed += 1
            if failed <= 5:
                print(f"connection {index}: {error!r}", file=sys.stderr)

    # Created in batches: a hundred thousand pending tasks at once would only cost memory.
    for start in range(0, count, 5000):
        await asyncio.gather(*(one(i) for i in range(start, min(count, start + 5000))))
    elapsed = time.monotonic() - started
    print(f"{count - failed} of {count} exchanges correct in {elapsed:.1f} s ({count / elapsed:.0f}/s)", flush=True)
    return failed == 0


def udp(host, port, count, batch=200):
    """Each association is a fresh socket (a new source port): one datagram out, its echo back."""
    started = time.monotonic()
    answered = 0
    selector = selectors.DefaultSelector()
    for start in range(0, count, batch):
        pending = {}
        for index in range(start, min(count, start + batch)):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.sendto(f"assoc-{index}".encode(), (host, port))
            pending[sock] = index
            selector.register(sock, selectors.EVENT_READ)
        deadline = time.monotonic() + 3
        while pending and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=max(0.0, deadline - time.monotonic())):
                sock = key.fileobj
                try:
                    data = sock.recv(2048)
                except BlockingIOError:
                    continue
                if data == f"assoc-{pending[sock]}".encode():
                    answered += 1
                selector.unregister(sock)
                sock.close()
                del pending[sock]
        for sock in pending:
            selector.unregister(sock)
            sock.close()
    elapsed = time.monotonic() - started
    print(f"{answered} of {count} associations answered in {elapsed:.1f} s ({count / elapsed:.0f}/s)", flush=True)
    return answered >= count * 0.99


def main(argv):
    raise_nofile()
    mode, host, port = argv[1], argv[2], int(argv[3])
    if mode == "hold":
        return asyncio.run(hold(host, port, int(argv[4]), float(argv[5])))
    if mode == "idle":
        return asyncio.run(hold(host, port, int(argv[4]), float(argv[5]), silent=True))
    if mode == "wave":
        return asyncio.run(wave(host, port, int(argv[4]), int(argv[5]), int(argv[6])))
    if mode == "sequential":
        return asyncio.run(sequential(host, port, int(argv[4]), int(argv[5]), int(argv[6])))
    if mode == "udp":
        return udp(host, port, int(argv[4]), int(argv[5]) if len(argv) > 5 else 200)
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv) else 1)
