#!/usr/bin/env python3
"""Measures transparent proxies side by side on the namespace testbed (scripts/netns-testbed.sh, RULES=tproxy-udp).

The testbed must be up (run.sh brings it up and always down). Every proxy runs in PREFIX-gw on :: port 1080
(ss-libev on 0.0.0.0 for UDP: its `-b ::` relays no IPv4 UDP) against Debian's ss-server in PREFIX-wan, and
the proxies take turns (A B A B ...) so background load hits them alike. Writes raw figures as JSON; report.py
turns them into the table, docs/performance.md and the chart.
"""
import argparse
import json
import os
import platform
import resource
import secrets
import signal
import subprocess
import sys
import time

WAN_V4 = "10.231.2.2"
SERVER_PORT = 8388
REDIR_PORT = 1080
HTTP_PORT = 80
IDLE_PORT = 9100
IPERF_PORT = 5201
HERE = os.path.dirname(os.path.abspath(__file__))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Downloaded by each connection of the burst-memory figure before it idles: enough for receive buffers to grow to
# their largest.
BURST_BYTES = 1 << 20


class BenchError(Exception):
    pass


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Process:
    """A child started with `ip netns exec` (which execs, so the pid is the program's own)."""

    def __init__(self, name: str, popen: subprocess.Popen, log_path: str):
        self.name, self.popen, self.log_path = name, popen, log_path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, errors="replace") as file:
                return "".join(file.readlines()[-lines:])
        except OSError:
            return ""


def cpu_seconds(pid: int) -> float:
    """utime + stime of all the process's threads (proc(5), fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def finished_children_cpu_seconds() -> float:
    """utime + stime of this script's children that have been waited for (wrk, iperf3 clients, curl)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def rss_kib(pid: int) -> int:
    """Resident set from a page-table walk (smaps_rollup); /proc/PID/status's VmRSS comes from per-CPU counters
    that may lag."""
    for path, field in ((f"/proc/{pid}/smaps_rollup", "Rss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            with open(path) as file:
                for line in file:
                    if line.startswith(field):
                        return int(line.split()[1])
        except OSError:
            continue
    raise BenchError(f"no resident set size for pid {pid}")


def listening(pid: int, port: int, udp: bool) -> bool:
    """Whether the process's network namespace has a TCP listener (or bound UDP socket) on the port."""
    want_state = "07" if udp else "0A"
    for table in ("udp", "udp6") if udp else ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as file:
                next(file)
                for line in file:
                    fields = line.split()
                    if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == want_state:
                        return True
        except OSError:
            return False
    return False


def udp_receive_buffer_errors(pid: int) -> int:
    """Datagrams the kernel dropped for full socket receive buffers in the process's namespace (Udp and Udp6)."""
    total = 0
    with open(f"/proc/{pid}/net/snmp") as file:
        lines = [line.split() for line in file if line.startswith("Udp:")]
    if len(lines) == 2:
        total += int(lines[1][lines[0].index("RcvbufErrors")])
    with open(f"/proc/{pid}/net/snmp6") as file:
        for line in file:
            if line.startswith("Udp6RcvbufErrors"):
                total += int(line.split()[1])
    return total


def percentile(values: list, fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.processes: list = []
        self.workdir = args.workdir
        os.makedirs(self.workdir, exist_ok=True)
        self.deadline = time.monotonic() + args.max_minutes * 60
        self.password = secrets.token_hex(16)

    def ns(self, role: str) -> str:
        return f"{self.args.prefix}-{role}"

    # -- processes -------------------------------------------------------------------------------------------

    def spawn(self, role: str, name: str, argv: list, stdin=subprocess.DEVNULL, fresh_log: bool = False) -> Process:
        log_path = os.path.join(self.workdir, f"{name}.log")
        log_file = open(log_path, "wb" if fresh_log else "ab")
        popen = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(role)] + argv, stdin=stdin, stdout=log_file, stderr=subprocess.STDOUT)
        log_file.close()
        process = Process(name, popen, log_path)
        self.processes.append(process)
        return process

    def run(self, role: str, argv: list, timeout: float) -> str:
        self.check_deadline()
        try:
            done = subprocess.run(
                ["ip", "netns", "exec", self.ns(role)] + argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BenchError(f"{argv[0]} in {role} took longer than {timeout:.0f}s")
        if done.returncode != 0:
            raise BenchError(f"{' '.join(argv)} in {role} exited {done.returncode}: {done.stderr.strip()[-400:]}")
        return done.stdout

    def stop(self, process: Process) -> None:
        if process.alive():
            process.popen.send_signal(signal.SIGTERM)
            try:
                process.popen.wait(timeout=3)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait(timeout=3)
        if process in self.processes:
            self.processes.remove(process)

    def stop_all(self) -> None:
        for process in list(reversed(self.processes)):
            self.stop(process)

    def wait_listening(self, process: Process, port: int, udp: bool = False, timeout: float = 10) -> None:
        limit = time.monotonic() + timeout
        while time.monotonic() < limit:
            if not process.alive():
                raise BenchError(f"{process.name} exited: {process.log_tail()}")
            if listening(process.pid, port, udp):
                return
            time.sleep(0.05)
        raise BenchError(f"{process.name} not listening on {'udp' if udp else 'tcp'} :{port} after {timeout}s")

    def check_deadline(self) -> None:
        if time.monotonic() > self.deadline:
            raise BenchError(f"over the time limit of {self.args.max_minutes} minutes")

    # -- the fixed parts of the testbed ----------------------------------------------------------------------

    def start_wan_services(self) -> None:
        iperf = self.spawn("wan", "iperf3-server", ["iperf3", "-s", "-B", WAN_V4, "-p", str(IPERF_PORT)])
        self.wait_listening(iperf, IPERF_PORT)
        idle = self.spawn("wan", "idle-server",
                          ["python3", "-B", os.path.join(HERE, "idle_connections.py"), "serve", WAN_V4, str(IDLE_PORT)])
        self.wait_listening(idle, IDLE_PORT)
        nginx_dir = os.path.join(self.workdir, "nginx")
        os.makedirs(nginx_dir, exist_ok=True)
        config = os.path.join(nginx_dir, "nginx.conf")
        with open(config, "w") as file:
            file.write(f"""daemon off;
worker_processes 1;
pid {nginx_dir}/nginx.pid;
error_log {nginx_dir}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {nginx_dir}/body;
    proxy_temp_path {nginx_dir}/proxy;
    fastcgi_temp_path {nginx_dir}/fastcgi;
    uwsgi_temp_path {nginx_dir}/uwsgi;
    scgi_temp_path {nginx_dir}/scgi;
    keepalive_requests 1000000;
    server {{
        listen {WAN_V4}:{HTTP_PORT} backlog=4096;
        location / {{ default_type text/plain; return 200 "hello from wan\\n"; }}
    }}
}}
""")
        nginx = self.spawn("wan", "nginx", ["nginx", "-p", nginx_dir, "-c", config])
        self.wait_listening(nginx, HTTP_PORT)

    def start_ss_server(self, cipher: str) -> Process:
        server = self.spawn("wan", f"ss-server-{cipher}", [
            "ss-server", "-s", WAN_V4, "-p", str(SERVER_PORT), "-k", self.password, "-m", cipher, "-u", "--no-delay"])
        self.wait_listening(server, SERVER_PORT)
        self.wait_listening(server, SERVER_PORT, udp=True)
        self.server = server
        return server

    # -- the proxies under test ------------------------------------------------------------------------------

    def start_proxy(self, impl: str, cipher: str, udp_phase: bool) -> Process:
        # The same flags for both ss-redirs; --control only keeps ours off the default /run socket.
        common = ["-s", WAN_V4, "-p", str(SERVER_PORT), "-l", str(REDIR_PORT), "-k", self.password, "-m", cipher,
                  "-u", "--no-delay"]
        if impl in ("ours", "baseline"):
            binary = self.args.ours if impl == "ours" else self.args.baseline
            argv = [binary] + common + ["-b", "::", "--control", os.path.join(self.workdir, "control.sock")]
            name = os.environ.get("BENCH_SERVER_NAME")
            if name:
                # The server by host name, as most configurations give it (ss-libev resolves its -s once at start).
                hosts = os.path.join(self.workdir, "hosts")
                with open(hosts, "w") as file:
                    file.write(f"{WAN_V4} {name}\n")
                argv[argv.index(WAN_V4)] = name
                argv += ["--hosts-file", hosts]
        elif impl == "ss-libev":
            argv = [self.args.libev] + common + ["-b", "0.0.0.0" if udp_phase else "::"]
        elif impl == "sing-box":
            argv = [self.args.sing_box, "run", "-c", self.sing_box_config(cipher)]
        else:
            raise BenchError(f"unknown implementation {impl}")
        process = self.spawn("gw", f"{impl}-{cipher}", argv)
        self.wait_listening(process, REDIR_PORT)
        self.wait_listening(process, REDIR_PORT, udp=True)
        time.sleep(self.args.settle)
        return process

    def sing_box_config(self, cipher: str) -> str:
        path = os.path.join(self.workdir, f"sing-box-{cipher}.json")
        config = {
            "log": {"level": "error"},
            "inbounds": [
                {"type": "redirect", "tag": "redirect-in", "listen": "::", "listen_port": REDIR_PORT},
                {"type": "tproxy", "tag": "tproxy-in", "listen": "::", "listen_port": REDIR_PORT, "network": "udp"},
            ],
            "outbounds": [{"type": "shadowsocks", "tag": "proxy", "server": WAN_V4, "server_port": SERVER_PORT,
                           "method": cipher, "password": self.password}],
            "route": {"final": "proxy"},
        }
        with open(path, "w") as file:
            json.dump(config, file)
        return path

    # -- measurements ----------------------------------------------------------------------------------------

    def peers_cpu_seconds(self) -> float:
        """CPU seconds of every process in wan (ss-server, nginx and its worker, iperf3, the idle holder)."""
        out = subprocess.run(["ip", "netns", "pids", self.ns("wan")], capture_output=True, text=True).stdout
        total = 0.0
        for pid in out.split():
            try:
                total += cpu_seconds(int(pid))
            except (OSError, ValueError, IndexError):
                continue  # gone meanwhile
        return total

    def hold_connections(self, count: int, download: int = 0) -> Process:
        """A lan client holding `count` connections through the proxy, each answered once end to end (with
        `download` bytes when given)."""
        client = self.spawn("lan", "idle-client", [
            "python3", "-B", os.path.join(HERE, "idle_connections.py"), "hold", WAN_V4, str(IDLE_PORT), str(count),
            "120", str(download)], stdin=subprocess.PIPE, fresh_log=True)
        try:
            limit = time.monotonic() + 90
            held = False
            while time.monotonic() < limit and client.alive():
                if "held" in client.log_tail(2):
                    held = True
                    break
                time.sleep(0.1)
            if not held:
                raise BenchError(f"idle client did not hold {count} connections: {client.log_tail()}")
            return client
        except BaseException:
            self.release(client)
            raise

    def release(self, client: Process) -> None:
        client.popen.stdin.close()
        self.stop(client)

    def idle_memory(self, proxy: Process, figures: dict) -> None:
        # A few connections first, so one-time costs (first cipher context, thread arenas) are not counted per
        # connection.
        self.release(self.hold_connections(50))
        time.sleep(0.5)
        before = rss_kib(proxy.pid)
        count = self.args.idle_connections
        client = self.hold_connections(count)
        try:
            time.sleep(1)  # let the proxy finish its per-connection setup before reading its memory
            figures["rss_idle_per_1k_mib"] = (rss_kib(proxy.pid) - before) / count * 1000 / 1024
        finally:
            self.release(client)

    def burst_count(self) -> int:
        """Connections of the burst-memory figure: a quarter of the idle ones (each moves BURST_BYTES)."""
        return max(10, self.args.idle_connections // 4)

    def burst_memory(self, proxy: Process, figures: dict) -> None:
        """What a connection keeps once idle after a download burst: each of `burst_count` connections received
        BURST_BYTES first (receive and decode buffers grown for the burst may stay with the connection)."""
        count = self.burst_count()
        time.sleep(0.5)
        before = rss_kib(proxy.pid)
        client = self.hold_connections(count, download=BURST_BYTES)
        try:
            time.sleep(1)
            figures["rss_burst_per_1k_mib"] = (rss_kib(proxy.pid) - before) / count * 1000 / 1024
        finally:
            self.release(client)

    def hold_idle(self, figures: dict, download: int = 0) -> None:
        """The idle (and burst) scenario for a profile: holds the memory figure's connections for a moment."""
        count = self.args.idle_connections if download == 0 else self.burst_count()
        client = self.hold_connections(count, download)
        try:
            time.sleep(1)
            figures["idle_connections"] = count
        finally:
            self.release(client)

    def bulk(self, proxy: Process, reverse: bool, figures: dict) -> None:
        key = "tcp_down" if reverse else "tcp_up"
        start, server_start = cpu_seconds(proxy.pid), cpu_seconds(self.server.pid)
        out = self.run("lan", ["iperf3", "-c", WAN_V4, "-p", str(IPERF_PORT), "-t", str(self.args.duration), "-J",
                               "--connect-timeout", "3000"] + (["-R"] if reverse else []),
                       timeout=self.args.duration + 20)
        cpu = cpu_seconds(proxy.pid) - start
        result = json.loads(out)["end"]["sum_received"]
        figures[f"{key}_gbps"] = result["bytes"] * 8 / result["seconds"] / 1e9
        figures[f"{key}_cpu_s_per_gib"] = cpu / (result["bytes"] / 2**30)
        # ss-server relays the one flow on one thread: near 100 % of a core, the rate is its rate, not the proxy's.
        figures[f"{key}_server_core_pct"] = (cpu_seconds(self.server.pid) - server_start) / result["seconds"] * 100

    def wrk(self, extra: list, connections: int, threads: int) -> dict:
        out = self.run("lan", ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{self.args.duration}s",
                               "--timeout", "5s", "-s", os.path.join(HERE, "wrk-summary.lua")] + extra
                       + [f"http://{WAN_V4}:{HTTP_PORT}/"], timeout=self.args.duration + 20)
        for line in out.splitlines():
            if line.startswith("BENCH-JSON "):
                return json.loads(line[len("BENCH-JSON "):])
        raise BenchError(f"wrk printed no summary: {out[-400:]}")

    def new_connections(self, proxy: Process, figures: dict) -> None:
        start, peers_start = cpu_seconds(proxy.pid), self.peers_cpu_seconds() + finished_children_cpu_seconds()
        result = self.wrk(["-H", "Connection: close"], connections=32, threads=2)
        cpu = cpu_seconds(proxy.pid) - start
        requests = max(1, result["requests"])
        # The testbed's ceiling: wrk, nginx and ss-server share the cores with the proxy. With all of the cores
        # theirs (a proxy that cost no CPU), they would make at most this many connections a second. (Work
        # outside the testbed, a build say, is not counted.)
        peers = self.peers_cpu_seconds() + finished_children_cpu_seconds() - peers_start
        figures["cores"] = os.cpu_count() or 1
        figures["conn_ceiling_per_s"] = requests / max(1e-9, peers) * figures["cores"]
        figures["conn_per_s"] = result["requests"] / (result["duration_us"] / 1e6)
        figures["conn_cpu_ms_per_1k"] = cpu * 1000 / requests * 1000
        figures["conn_errors"] = sum(result[k] for k in
                                     ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts"))

    def new_connections_held(self, proxy: Process, figures: dict) -> None:
        """New connections while the idle figure's connections stay open (a router's LAN keeps many): what a
        connection costs when each event loop already tracks thousands of others (timers, tables)."""
        client = self.hold_connections(self.args.idle_connections)
        try:
            held: dict = {}
            self.new_connections(proxy, held)
            figures["held_conn_per_s"] = held["conn_per_s"]
            figures["held_conn_cpu_ms_per_1k"] = held["conn_cpu_ms_per_1k"]
        finally:
            self.release(client)

    def keepalive_latency(self, figures: dict, proxy: Process = None) -> None:
        start = cpu_seconds(proxy.pid) if proxy else 0.0
        result = self.wrk([], connections=4, threads=1)
        if proxy:
            # The proxy's CPU per request: on shared cores what one request costs is what delays the others.
            figures["keepalive_cpu_us_per_req"] = (cpu_seconds(proxy.pid) - start) * 1e6 / max(1, result["requests"])
        figures["keepalive_p50_ms"] = result["p50_us"] / 1000
        figures["keepalive_p99_ms"] = result["p99_us"] / 1000

    def first_byte(self, figures: dict) -> None:
        count = self.args.ttfb_requests
        out = self.run("lan", ["curl", "-s", "-o", "/dev/null", "-H", "Connection: close", "--max-time", "5",
                               "-w", "%{time_starttransfer}\\n", f"http://{WAN_V4}:{HTTP_PORT}/?n=[1-{count}]"],
                       timeout=60)
        times = [float(line) * 1000 for line in out.split()]
        if len(times) != count:
            raise BenchError(f"curl timed {len(times)} of {count} requests")
        figures["ttfb_p50_ms"] = percentile(times, 0.5)
        figures["ttfb_p99_ms"] = percentile(times, 0.99)

    def udp(self, proxy: Process, rate_mbit: int, figures: dict) -> None:
        start = cpu_seconds(proxy.pid)
        gw_drops, wan_drops = udp_receive_buffer_errors(proxy.pid), udp_receive_buffer_errors(self.server.pid)
        out = self.run("lan", ["iperf3", "-c", WAN_V4, "-p", str(IPERF_PORT), "-u", "-l", "1200", "-b", f"{rate_mbit}M",
                               "-t", str(self.args.duration), "-J", "--connect-timeout", "3000"],
                       timeout=self.args.duration + 20)
        cpu = cpu_seconds(proxy.pid) - start
        received = json.loads(out)["end"]["sum_received"]  # the server's side: what came out of the tunnel
        figures[f"udp{rate_mbit}_mbps"] = received["bytes"] * 8 / received["seconds"] / 1e6
        figures[f"udp{rate_mbit}_loss_pct"] = received["lost_percent"]
        figures[f"udp{rate_mbit}_cpu_s_per_gib"] = cpu / max(1e-9, received["bytes"] / 2**30)
        # Where the loss happened: full receive buffers in gw (the proxy's sockets) or in wan (server, iperf3).
        figures[f"udp{rate_mbit}_gw_rcvbuf_drops"] = udp_receive_buffer_errors(proxy.pid) - gw_drops
        figures[f"udp{rate_mbit}_wan_rcvbuf_drops"] = udp_receive_buffer_errors(self.server.pid) - wan_drops

    # -- sessions --------------------------------------------------------------------------------------------

    def attempt(self, what: str, action, errors: list) -> None:
        """One measurement; a failure is recorded and the run goes on (the figure stays empty)."""
        try:
            action()
        except (BenchError, KeyError, ValueError, OSError) as error:
            if isinstance(error, BenchError) and "time limit" in str(error):
                raise
            log(f"  {what} failed: {error}")
            errors.append(f"{what}: {error}")

    def tcp_session(self, impl: str, cipher: str) -> dict:
        figures: dict = {}
        errors: list = []
        proxy = self.start_proxy(impl, cipher, udp_phase=False)
        try:
            figures["rss_start_mib"] = rss_kib(proxy.pid) / 1024
            self.attempt("idle memory", lambda: self.idle_memory(proxy, figures), errors)
            self.attempt("memory after a burst", lambda: self.burst_memory(proxy, figures), errors)
            time.sleep(0.5)
            self.attempt("bulk upload", lambda: self.bulk(proxy, False, figures), errors)
            self.attempt("bulk download", lambda: self.bulk(proxy, True, figures), errors)
            self.attempt("new connections", lambda: self.new_connections(proxy, figures), errors)
            self.attempt("keep-alive latency", lambda: self.keepalive_latency(figures, proxy), errors)
            self.attempt("first byte", lambda: self.first_byte(figures), errors)
            # Last: releasing the 2,000 held connections would disturb whatever is measured next.
            figures["rss_after_mib"] = rss_kib(proxy.pid) / 1024
            self.attempt("new connections, idle ones held",
                         lambda: self.new_connections_held(proxy, figures), errors)
            if not proxy.alive():
                errors.append(f"{impl} exited during the session: {proxy.log_tail()}")
        finally:
            self.stop(proxy)
        figures["errors"] = errors
        return figures

    def udp_session(self, impl: str, cipher: str) -> dict:
        figures: dict = {}
        errors: list = []
        proxy = self.start_proxy(impl, cipher, udp_phase=True)
        try:
            for rate in self.args.udp_rates:
                self.attempt(f"udp {rate} Mbit/s", lambda: self.udp(proxy, rate, figures), errors)
        finally:
            self.stop(proxy)
        figures["errors"] = errors
        return figures

    def profile(self, scenario: str, impl: str, cipher: str) -> str:
        """Runs one scenario with `perf record` attached to the proxy; returns the report path."""
        self.start_wan_services()
        server = self.start_ss_server(cipher)
        proxy = self.start_proxy(impl, cipher, udp_phase=scenario.startswith("udp"))
        data = os.path.join(self.workdir, f"perf-{impl}-{scenario}.data")
        if self.args.call_graph == "strace":
            # Syscall counts of every thread instead of samples: what the proxy asks of the kernel per unit of work.
            data = data.replace(".data", ".strace")
            recorder = ["strace", "-c", "-f", "-q", "-o", data, "-p", str(proxy.pid)]
        elif self.args.call_graph == "heaptrack":
            # Heap allocations by backtrace (heaptrack attaches through gdb); the report ranks them by peak bytes,
            # which for the idle scenario is the memory held per open connection.
            data = data.replace(".data", ".heaptrack")
            recorder = ["heaptrack", "-o", data, "-p", str(proxy.pid)]
        elif self.args.call_graph == "stat":
            # Event counts (BENCH_STAT_EVENTS, e.g. a uprobe made by `perf probe -x libc.so.6 malloc`).
            data = data.replace(".data", ".stat")
            events = os.environ.get("BENCH_STAT_EVENTS", "task-clock,context-switches,cpu-migrations,page-faults")
            recorder = ["perf", "stat", "-e", events, "-o", data, "-p", str(proxy.pid)]
        else:
            # Frame pointers (fp) walk Swift and NIO frames; dwarf also walks libc/libcrypto (larger files, lower
            # rate).
            graph = (["--call-graph", "dwarf,32768", "-F", "499"] if self.args.call_graph == "dwarf"
                     else ["-g", "-F", "1999"])
            # BENCH_RECORD_EVENT samples another event, e.g. every call of a `perf probe` uprobe such as malloc.
            event = os.environ.get("BENCH_RECORD_EVENT")
            if event:
                graph = [arg for arg in graph if arg not in ("-F", "1999", "499")] + ["-e", event, "-c", "1"]
            recorder = ["perf", "record", "-q"] + graph + ["-p", str(proxy.pid), "-o", data]
        perf = subprocess.Popen(recorder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        figures: dict = {}
        try:
            time.sleep(3 if self.args.call_graph == "heaptrack" else 0.3)  # gdb injects heaptrack's library
            actions = {
                "up": lambda: self.bulk(proxy, False, figures),
                "down": lambda: self.bulk(proxy, True, figures),
                "conn": lambda: self.new_connections(proxy, figures),
                "connheld": lambda: self.new_connections_held(proxy, figures),
                "latency": lambda: self.keepalive_latency(figures, proxy),
                "idle": lambda: self.hold_idle(figures),
                "burst": lambda: self.hold_idle(figures, download=BURST_BYTES),
            }
            # udpRATE: RATE Mbit/s offered (udp200, udp500, udp1000, ...).
            if scenario.startswith("udp") and scenario[3:].isdigit():
                actions[scenario] = lambda: self.udp(proxy, int(scenario[3:]), figures)
            if scenario not in actions:
                raise BenchError(f"unknown scenario {scenario} ({', '.join(actions)}, udpRATE)")
            actions[scenario]()
        finally:
            perf.send_signal(signal.SIGINT)
            perf.wait(timeout=60)
            self.stop(proxy)
            self.stop(server)
        log(f"{impl} {scenario}: {({k: round(v, 3) for k, v in figures.items()})}")
        if self.args.call_graph in ("strace", "stat"):
            return data
        if self.args.call_graph == "heaptrack":
            recorded = next((path for path in sorted(os.listdir(self.workdir)) if path.startswith(
                os.path.basename(data))), None)
            if recorded is None:
                raise BenchError(f"heaptrack wrote no data next to {data}")
            report = data + ".txt"
            with open(report, "w") as file:
                subprocess.run(["heaptrack_print", "-f", os.path.join(self.workdir, recorded), "--print-peaks",
                                "--peak-limit", "25", "--print-allocators=0", "--print-temporary=0"],
                               stdout=file, stderr=subprocess.DEVNULL, timeout=300)
            return report
        report = data.replace(".data", ".txt")
        with open(report, "w") as file:
            subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--percent-limit", "0.7",
                            "--sort", "dso,symbol", "-g", "none"], stdout=file, stderr=subprocess.DEVNULL, timeout=300)
        return report

    def measure(self) -> list:
        runs = []
        self.start_wan_services()
        for cipher in self.args.ciphers:
            server = self.start_ss_server(cipher)
            for round_index in range(self.args.rounds):
                for phase, session in (("tcp", self.tcp_session), ("udp", self.udp_session)):
                    if phase not in self.args.phases:
                        continue
                    for impl in self.args.impls:
                        self.check_deadline()
                        log(f"{cipher} round {round_index + 1}/{self.args.rounds} {phase} {impl}")
                        figures = session(impl, cipher)
                        shown = {k: round(v, 3) for k, v in figures.items() if isinstance(v, (int, float))}
                        log(f"  {shown}")
                        runs.append({"cipher": cipher, "round": round_index + 1, "phase": phase, "impl": impl,
                                     "loadavg": os.getloadavg()[0], **figures})
                        time.sleep(1)  # let sockets in FIN/TIME_WAIT drain between proxies
            self.stop(server)
        return runs


def command_output(argv: list) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine_description(args: argparse.Namespace) -> dict:
    cpu_model = ""
    with open("/proc/cpuinfo") as file:
        for line in file:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    repo = os.path.dirname(os.path.dirname(HERE))
    # What the measured binary says of itself: "ss-redir 0.1.0 (commit …, Swift …)".
    ours_version = command_output([args.ours, "--version"]).splitlines()
    packages = command_output(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", "shadowsocks-libev", "iperf3",
                               "wrk", "nginx-light", "curl"])
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "kernel": platform.release(),
        "ours": (ours_version[0] if ours_version else "ss-redir (no --version)")
                + f", tree {command_output(['git', '-C', repo, 'rev-parse', '--short', 'HEAD'])}",
        "swift": command_output(["swift", "--version"]).splitlines()[0] if command_output(["swift", "--version"]) else "",
        "packages": packages.splitlines(),
        "sing_box": command_output([args.sing_box, "version"]).splitlines()[0] if args.sing_box else "",
        "baseline": (args.baseline_label or args.baseline) if args.baseline else "",
        "loadavg_start": os.getloadavg(),
    }


def interrupted(signum, frame) -> None:
    raise KeyboardInterrupt()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", required=True, help="testbed namespace prefix (netns-testbed.sh up PREFIX)")
    parser.add_argument("--ours", required=True, help="our release ss-redir binary")
    parser.add_argument("--libev", default="/usr/bin/ss-redir", help="shadowsocks-libev's ss-redir")
    parser.add_argument("--sing-box", default="", help="sing-box binary: a third column (optional)")
    parser.add_argument("--baseline", default="", help="another build of ours (before a change): a column")
    parser.add_argument("--baseline-label", default="", help="what the baseline build is, for the report")
    parser.add_argument("--ciphers", default="aes-256-gcm,chacha20-ietf-poly1305")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per iperf3/wrk run")
    parser.add_argument("--udp-rates", default="200,500,1000", help="offered UDP rates, Mbit/s")
    parser.add_argument("--phases", default="tcp,udp", help="which sessions to run: tcp, udp or both")
    parser.add_argument("--idle-connections", type=int, default=2000)
    parser.add_argument("--ttfb-requests", type=int, default=200)
    parser.add_argument("--settle", type=float, default=1.0, help="seconds after a proxy starts before measuring")
    parser.add_argument("--max-minutes", type=float, default=45, help="abort the whole run after this long")
    parser.add_argument("--workdir", required=True, help="logs and configs")
    parser.add_argument("--out", help="results JSON")
    parser.add_argument("--profile", metavar="SCENARIO",
                        help="instead of the comparison: perf-record one proxy (the first of --only, first cipher) under one "
                             "load: up, down, conn, connheld, latency, idle, burst, udpRATE")
    parser.add_argument("--call-graph", choices=["fp", "dwarf", "strace", "stat", "heaptrack"], default="fp",
                        help="perf call graphs, strace -c syscall counts or perf stat counts (--profile)")
    parser.add_argument("--only", default="", help="comma-separated subset of ours,ss-libev,sing-box")
    args = parser.parse_args()
    args.ciphers = [c for c in args.ciphers.split(",") if c]
    args.udp_rates = [int(r) for r in args.udp_rates.split(",") if r]
    args.phases = [p for p in args.phases.split(",") if p in ("tcp", "udp")]
    args.impls = (["ours", "ss-libev"] + (["sing-box"] if args.sing_box else [])
                  + (["baseline"] if args.baseline else []))
    if args.only:
        args.impls = [impl for impl in args.only.split(",") if impl in args.impls]
    if not 1 <= args.rounds <= 20 or not 1 <= args.duration <= 60 or not 10 <= args.idle_connections <= 20000:
        parser.error("rounds 1-20, duration 1-60 s, idle connections 10-20000")

    # Inherited by every child: idle-connection runs need thousands of descriptors on each hop.
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    limit = 65536 if hard == resource.RLIM_INFINITY else min(65536, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    if limit < 2 * args.idle_connections + 100:
        parser.error(f"open-file limit {limit} is too low for {args.idle_connections} idle connections")
    bench = Bench(args)
    signal.signal(signal.SIGTERM, interrupted)
    if args.profile:
        try:
            report = bench.profile(args.profile, args.impls[0], args.ciphers[0])
        except (BenchError, KeyboardInterrupt) as error:
            log(f"stopped: {str(error) or 'interrupted'}")
            return 1
        finally:
            bench.stop_all()
        with open(report) as file:
            print("".join(line for line in file if line.strip() and not line.startswith("#"))[:6000])
        log(f"full report: {report}")
        return 0
    if not args.out:
        parser.error("--out is required (or --profile)")
    meta = machine_description(args)
    started = time.monotonic()
    try:
        runs = bench.measure()
    except (BenchError, KeyboardInterrupt) as error:
        log(f"stopped: {str(error) or 'interrupted'}")
        return 1
    finally:
        bench.stop_all()
    meta["loadavg_end"] = os.getloadavg()
    meta["minutes"] = round((time.monotonic() - started) / 60, 1)
    config = {k: getattr(args, k) for k in ("ciphers", "rounds", "duration", "udp_rates", "idle_connections",
                                             "ttfb_requests", "impls")}
    with open(args.out, "w") as file:
        json.dump({"meta": meta, "config": config, "runs": runs}, file, indent=1)
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
