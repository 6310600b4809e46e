"""LAN-side load and fault clients for target_server.py's line protocol ("SIZE TAG DELAY_MS\n" -> SIZE bytes of
blob(TAG) after DELAY_MS). Exit status 0 only when every reply is exact. Raise RLIMIT_NOFILE (prlimit) for big
counts; the script raises its own soft limit to the hard one.

  hold HOST PORT COUNT SECONDS        open COUNT connections whose replies are delayed, hold them SECONDS,
                                      then close them all; prints "holding N" once they are open
  idle HOST PORT COUNT SECONDS        the same, sending nothing (a SOCKS5 client that never greets)
  wave HOST PORT COUNT SIZE           open COUNT connections (all open at once), then send each a distinct
                                      request and check each distinct reply
  sequential HOST PORT COUNT SIZE PARALLEL
                                      COUNT short connections, PARALLEL at a time, each one exchange
  udp HOST PORT COUNT                 COUNT UDP associations (one socket each, distinct source ports), one
                                      echo each through the proxy; prints how many were answered
"""

import asyncio
import resource
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


async def wave(host, port, count, size):
    started = time.monotonic()
    connect_limit = asyncio.Semaphore(2000)

    async def connect():
        async with connect_limit:
            return await asyncio.wait_for(asyncio.open_connection(host, port), 60)

    results = await asyncio.gather(*(connect() for _ in range(count)), return_exceptions=True)
    streams = [r for r in results if not isinstance(r, BaseException)]
    failures = [r for r in results if isinstance(r, BaseException)]
    print(f"{len(streams)} of {count} connected in {time.monotonic() - started:.1f} s", flush=True)
    for error in failures[:5]:
        print(f"connect: {error!r}", file=sys.stderr)

    async def one(index, reader, writer):
        tag = f"w{index}"
        try:
            writer.write(f"{size} {tag} 0\n".encode())
            await writer.drain()
            return await asyncio.wait_for(reader.readexactly(size), 120) == blob.blob(tag, size)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as error:
            print(f"connection {index}: {error!r}", file=sys.stderr)
            return False
        finally:
            writer.close()

    outcomes = await asyncio.gather(*(one(i, r, w) for i, (r, w) in enumerate(streams)))
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


def udp(host, port, count):
    started = time.monotonic()
    answered = 0
    batch = 500
    for start in range(0, count, batch):
        socks = []
        for index in range(start, min(count, start + batch)):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.sendto(f"assoc-{index}".encode(), (host, port))
            socks.append((index, sock))
        deadline = time.monotonic() + 5
        pending = dict(socks)
        while pending and time.monotonic() < deadline:
            for index, sock in list(pending.items()):
                try:
                    data = sock.recv(2048)
                except BlockingIOError:
                    continue
                if data == f"assoc-{index}".encode():
                    answered += 1
                pending.pop(index).close()
            time.sleep(0.002)
        for sock in pending.values():
            sock.close()
    print(f"{answered} of {count} associations answered in {time.monotonic() - started:.1f} s", flush=True)
    return answered >= count * 0.99


def main(argv):
    raise_nofile()
    mode, host, port = argv[1], argv[2], int(argv[3])
    if mode == "hold":
        return asyncio.run(hold(host, port, int(argv[4]), float(argv[5])))
    if mode == "idle":
        return asyncio.run(hold(host, port, int(argv[4]), float(argv[5]), silent=True))
    if mode == "wave":
        return asyncio.run(wave(host, port, int(argv[4]), int(argv[5])))
    if mode == "sequential":
        return asyncio.run(sequential(host, port, int(argv[4]), int(argv[5]), int(argv[6])))
    if mode == "udp":
        return udp(host, port, int(argv[4]))
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv) else 1)
