"""TCP forwarder that adds latency: LISTEN_PORT -> TARGET_HOST:TARGET_PORT, each chunk held for the number of
milliseconds written in DELAY_FILE (read per chunk, so a test can change it while running). tc netem is
not available on every kernel; this stands in for it on one link."""

import asyncio
import sys

listen_host, listen_port, target_host, target_port, delay_file = sys.argv[1:6]


def delay():
    try:
        with open(delay_file) as handle:
            return int(handle.read().strip() or 0) / 1000
    except (OSError, ValueError):
        return 0


async def pipe(reader, writer):
    try:
        while chunk := await reader.read(65536):
            pause = delay()
            if pause:
                await asyncio.sleep(pause)
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def handle(client_reader, client_writer):
    try:
        server_reader, server_writer = await asyncio.open_connection(target_host, int(target_port))
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))


async def main():
    server = await asyncio.start_server(handle, listen_host, int(listen_port))
    async with server:
        await server.serve_forever()


asyncio.run(main())
