"""WAN-side target for the end-to-end tests, on all addresses (IPv4 and IPv6).

HTTP (port 80 by default):
  GET /blob/N[?tag=T]  -> N deterministic bytes (blob.chunks), header X-SHA256 with their digest
  PUT or POST          -> hex sha256 of the request body (send `Expect:` empty to skip 100-continue)
Line protocol (port 9000 by default):
  client sends "SIZE TAG DELAY_MS\n"; the server waits DELAY_MS, sends SIZE bytes of blob(TAG) and
  closes. It replies as soon as it has the line and never waits for the client's EOF, so a client
  that shuts down its write side right after the line must still get the whole reply.
"""

import argparse
import asyncio
import hashlib
import http.server
import socket
import sys
import threading
import urllib.parse

import blob


class DualStackHTTPServer(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True
    request_queue_size = 512

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "blob" or not parts[1].isdigit():
            self.send_error(404)
            return
        size = int(parts[1])
        tag = urllib.parse.parse_qs(url.query).get("tag", ["blob"])[0]
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.send_header("X-SHA256", blob.sha256(tag, size))
        self.end_headers()
        for chunk in blob.chunks(tag, size):
            self.wfile.write(chunk)

    def do_PUT(self):
        remaining = int(self.headers.get("Content-Length", "0"))
        digest = hashlib.sha256()
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            digest.update(chunk)
            remaining -= len(chunk)
        body = (digest.hexdigest() + "\n").encode()
        self.send_response(200 if remaining == 0 else 400)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT

    def log_message(self, format, *args):
        sys.stderr.write("http %s %s\n" % (self.client_address[0], format % args))


async def serve_line(reader, writer):
    try:
        line = await reader.readline()
        size, tag, delay_ms = line.decode().split()
        await asyncio.sleep(int(delay_ms) / 1000)
        for chunk in blob.chunks(tag, int(size)):
            writer.write(chunk)
            await writer.drain()
        # ss-libev's ss-server drops what it still buffers for its client when the target closes (it frees the
        # connection on EOF without flushing); give it time to pass the tail on before closing.
        await asyncio.sleep(0.3)
    except (ConnectionError, ValueError) as error:
        print(f"line: {error!r}", file=sys.stderr)
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--http-port", type=int, default=80)
    parser.add_argument("--line-port", type=int, default=9000)
    parser.add_argument("--backlog", type=int, default=512)
    args = parser.parse_args()

    httpd = DualStackHTTPServer(("::", args.http_port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    # host None binds every address of both families.
    server = await asyncio.start_server(serve_line, host=None, port=args.line_port, backlog=args.backlog)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
