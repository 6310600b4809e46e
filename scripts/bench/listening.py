"""Waiting for a started server to listen on a TCP port (IPv4 or IPv6), read from /proc/net."""

import subprocess
import time


def listening(port: int) -> bool:
    """True when some socket is in LISTEN (state 0A) on `port`."""
    wanted = f":{port:04X} "
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as file:
                if any(wanted in line and line.split()[3] == "0A" for line in file):
                    return True
        except OSError:
            continue
    return False


def wait_until_listening(process: subprocess.Popen, port: int, seconds: float, failure: str) -> None:
    """Returns once `port` listens; exits with `failure` if `process` ends or `seconds` pass first."""
    limit = time.monotonic() + seconds
    while not listening(port):
        if process.poll() is not None or time.monotonic() > limit:
            raise SystemExit(failure)
        time.sleep(0.05)
