#!/usr/bin/env python3
"""Writes packaging/debian/start-order.txt: the functions the packaged ss-redir runs while it starts.

scripts/build-deb.sh hands the file to lld (--symbol-ordering-file), which places those functions side by
side at the start of .text. The kernel maps a binary's code in 64 KiB windows around each page touched
(fault-around), so start-up code spread over the 15 MB of text made most of it resident; packed, the
windows cover little more than the code that runs (docs/debian.md, "Memory at start").

Each program of the multi-call binary is started under valgrind's callgrind the way it runs as a daemon
(ss-redir as scripts/bench/bench.py starts it, ss-server, ss-local; plus `ss-redir --version`); once it
listens, a callgrind dump lists every function it ran. Kept: the names the binary defines (a name that
several objects define locally is kept for all of them: callgrind cannot say which one ran, and each is a
few bytes). Regenerate after changes to what runs at start; names that no longer exist are ignored by the
linker, so a stale file only packs less.

Usage: scripts/start-order.py [--binary .build-deb/release/ss-redir] [--output packaging/debian/start-order.txt]
Needs valgrind (callgrind_control) and binutils (strip, nm); runs as any user, binds loopback ports only.
"""
import argparse
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench"))
from listening import wait_until_listening  # noqa: E402

PASSWORD = "start-order-profile"
SERVER_PORT = 18388
TEXT_SYMBOL_TYPES = set("tTwWiu")


def profile(name: str, argv: list, port: int, workdir: str) -> list:
    """Runs argv under callgrind; for a daemon (port > 0) dumps once it listens, then kills it. Returns the
    callgrind files with the start-up counts."""
    out = os.path.join(workdir, f"{name}.callgrind")
    command = ["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={out}.%p"] + argv
    log = open(os.path.join(workdir, f"{name}.log"), "wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    log.close()
    if port == 0:
        if process.wait(timeout=300) != 0:
            raise SystemExit(f"start-order: {name} exited {process.returncode}; see {workdir}/{name}.log")
        return glob.glob(f"{out}.*")
    try:
        wait_until_listening(process, port, 300, f"start-order: {name} did not listen on :{port}; see {workdir}/{name}.log")
        time.sleep(1)  # what the bench waits before it reads the resident set
        subprocess.run(["callgrind_control", "--dump", str(process.pid)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        dump = f"{out}.{process.pid}.1"
        limit = time.monotonic() + 60
        while not os.path.exists(dump) and time.monotonic() < limit:
            time.sleep(0.2)
        time.sleep(1)  # callgrind writes the dump in pieces
        if not os.path.exists(dump):
            raise SystemExit(f"start-order: no callgrind dump from {name}")
        return [dump]
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()


def functions(paths: list) -> set:
    names = set()
    for path in paths:
        with open(path, errors="replace") as file:
            for line in file:
                match = re.match(r"c?fn=\(\d+\) (.+)$", line)
                if match:
                    names.add(match.group(1).strip())
    return names


def main() -> None:
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(repo, ".build-deb/release/ss-redir"),
                        help="an ss-redir with its symbol table (the build's, before strip)")
    parser.add_argument("--output", default=os.path.join(repo, "packaging/debian/start-order.txt"))
    args = parser.parse_args()
    for tool in ("valgrind", "callgrind_control", "strip", "nm"):
        if shutil.which(tool) is None:
            raise SystemExit(f"start-order: needs {tool} (apt-get install valgrind binutils)")

    workdir = tempfile.mkdtemp(prefix="ss-redir-start-order.")
    # valgrind cannot read the DWARF of a Swift release build; the symbol table is all it needs.
    binary = os.path.join(workdir, "ss-redir")
    subprocess.run(["strip", "--strip-debug", "-o", binary, args.binary], check=True)
    for link in ("ss-server", "ss-local"):
        os.symlink("ss-redir", os.path.join(workdir, link))
    defined = set()
    for line in subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1] in TEXT_SYMBOL_TYPES:
            defined.add(fields[2])

    common = ["-s", "127.0.0.1", "-p", str(SERVER_PORT), "-k", PASSWORD, "-m", "aes-256-gcm"]
    runs = [
        ("ss-redir", [binary] + common + ["-l", "18390", "-u", "--no-delay", "-b", "::",
                                           "--control", os.path.join(workdir, "control.sock")], 18390),
        ("version", [binary, "--version"], 0),
        ("ss-server", [os.path.join(workdir, "ss-server"), "-s", "127.0.0.1", "-p", "18391", "-k", PASSWORD,
                       "-m", "aes-256-gcm", "-u"], 18391),
        ("ss-local", [os.path.join(workdir, "ss-local")] + common + ["-l", "18392"], 18392),
    ]
    # The server the clients probe at start, as in the bench (ours, not profiled).
    server = subprocess.Popen([os.path.join(workdir, "ss-server"), "-s", "127.0.0.1", "-p", str(SERVER_PORT),
                               "-k", PASSWORD, "-m", "aes-256-gcm"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ordered, seen = [], set()
    try:
        wait_until_listening(server, SERVER_PORT, 30, f"start-order: ss-server did not listen on :{SERVER_PORT}")
        for name, argv, port in runs:
            ran = functions(profile(name, argv, port, workdir)) & defined
            new = sorted(ran - seen)
            print(f"start-order: {name}: {len(ran)} functions, {len(new)} new", file=sys.stderr)
            seen.update(new)
            ordered += new
    finally:
        server.terminate()
        server.wait()

    with open(args.output, "w") as file:
        file.write("# Functions ss-redir, ss-server and ss-local run while they start (scripts/start-order.py);\n"
                   "# lld --symbol-ordering-file packs them at the start of .text. Generated, do not edit.\n")
        file.write("\n".join(ordered) + "\n")
    shutil.rmtree(workdir)
    print(f"start-order: wrote {len(ordered)} names to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
