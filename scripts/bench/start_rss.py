#!/usr/bin/env python3
"""Resident set at start of ss-redir builds and of shadowsocks-libev's ss-redir, side by side.

Each binary is started the way bench.py starts it (the same flags, against Debian's ss-server on
127.0.0.1:8388, as in the bench), and 1 s after it listens its Rss and Anonymous are read from
/proc/PID/smaps_rollup (bench.py's rss_start_mib). File-backed pages count only where they are mapped, and
the kernel maps pages around each fault from what the page cache holds, so the figure depends on what the
cache holds of the binary: every binary is first dropped from the cache (POSIX_FADV_DONTNEED) and started
once, as after a reboot, then measured ROUNDS times in turns (A B A B). Binaries named ss-redir that are not
libev's are taken for ours (they get --control). Run as root, with nothing else on 8388 and 21000-21999.

Usage: scripts/bench/start_rss.py [--rounds 3] BINARY... (e.g. dist/.../ss-redir /usr/bin/ss-redir)
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from listening import wait_until_listening

PASSWORD = "start-rss-measurement"
LIBEV = "/usr/bin/ss-redir"


def smaps_rollup(pid: int) -> dict:
    figures = {}
    with open(f"/proc/{pid}/smaps_rollup") as file:
        for line in file:
            fields = line.split()
            if fields[0] in ("Rss:", "Anonymous:"):
                figures[fields[0][:-1]] = int(fields[1])
    return figures


def start(binary: str, port: int, workdir: str) -> dict:
    argv = [binary, "-s", "127.0.0.1", "-p", "8388", "-l", str(port), "-k", PASSWORD, "-m", "aes-256-gcm",
            "-u", "--no-delay", "-b", "::"]
    if binary != LIBEV:
        argv += ["--control", os.path.join(workdir, f"control-{port}.sock")]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_listening(process, port, 10, f"start_rss: {binary} did not listen on :{port}")
        time.sleep(1.0)  # bench.py's --settle
        return smaps_rollup(process.pid)
    finally:
        process.terminate()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("binaries", nargs="+")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="start-rss.")
    port = 21000
    server = subprocess.Popen(["ss-server", "-s", "127.0.0.1", "-p", "8388", "-k", PASSWORD, "-m", "aes-256-gcm",
                               "-u", "--no-delay"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_listening(server, 8388, 10, "start_rss: ss-server (shadowsocks-libev) did not listen on :8388")
        measure(args, workdir, port)
    finally:
        server.terminate()
        server.wait()
    shutil.rmtree(workdir, ignore_errors=True)


def measure(args, workdir: str, port: int) -> None:
    os.sync()
    for binary in args.binaries:
        descriptor = os.open(binary, os.O_RDONLY)
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(descriptor)
        port += 1
        cold = start(binary, port, workdir)
        print(f"{binary}: first start after dropping it from the page cache: Rss {cold['Rss'] / 1024:.2f} MiB")
    runs = {binary: [] for binary in args.binaries}
    for _ in range(args.rounds):
        for binary in args.binaries:
            port += 1
            runs[binary].append(start(binary, port, workdir))
    for binary, figures in runs.items():
        rss = [f["Rss"] / 1024 for f in figures]
        anonymous = [f["Anonymous"] / 1024 for f in figures]
        print(f"{binary}: Rss MiB {', '.join(f'{x:.2f}' for x in rss)} (median {statistics.median(rss):.2f}); "
              f"Anonymous MiB {', '.join(f'{x:.2f}' for x in anonymous)}")


if __name__ == "__main__":
    main()
