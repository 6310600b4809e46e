#!/usr/bin/env bash
# End-to-end demo on a namespace testbed (run as root; deps installed, binary built by the caller):
#   lan curl -> gw nftables REDIRECT -> ss-redir :1080 -> wan ss-server :8388 -> wan HTTP server :80
# Binary: env SS_REDIR_BIN, default .build/release/ss-redir relative to the repo root.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
testbed="$repo_root/scripts/netns-testbed.sh"
prefix=ssdemo
lan="$prefix-lan" gw="$prefix-gw" wan="$prefix-wan"
wan_ip=10.231.2.2 ss_port=8388 redir_port=1080 method=aes-256-gcm

ss_redir_bin=${SS_REDIR_BIN:-.build/release/ss-redir}
[[ $ss_redir_bin == /* ]] || ss_redir_bin="$repo_root/$ss_redir_bin"

fail() {
    echo "demo: FAIL: $*" >&2
    exit 1
}

[[ $(id -u) -eq 0 ]] || fail "needs root (network namespaces)"
[[ -x $ss_redir_bin ]] || fail "no executable at $ss_redir_bin (build it, or set SS_REDIR_BIN)"
for tool in ip nft ss ss-server curl python3 sha256sum; do
    command -v "$tool" >/dev/null || fail "missing $tool"
done

work=$(mktemp -d /tmp/ssdemo.XXXXXX)
cleanup() {
    "$testbed" down "$prefix" || true
    rm -rf "$work"
}
trap cleanup EXIT

# Waits until something listens on TCP PORT inside namespace NS, at most 10 s.
wait_listening() {
    local ns=$1 port=$2 i
    for ((i = 0; i < 100; i++)); do
        if [[ -n $(ip netns exec "$ns" ss -Hltn "sport = :$port") ]]; then
            return 0
        fi
        sleep 0.1
    done
    fail "nothing listening on $ns :$port after 10 s"
}

# Fails with the tail of LOG when the process PID has exited.
check_alive() {
    local pid=$1 name=$2 log=$3
    if ! kill -0 "$pid" 2>/dev/null; then
        tail -n 20 "$log" >&2 || true
        fail "$name exited"
    fi
}

password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')

echo "== testbed $prefix: $lan (10.231.1.2) <-> $gw (10.231.1.1 | 10.231.2.1) <-> $wan ($wan_ip)"
"$testbed" down "$prefix"
REDIR_PORT=$redir_port "$testbed" up "$prefix"

mkdir -p "$work/www"
head -c 64M /dev/urandom >"$work/www/big.bin"
cat >"$work/www/index.html" <<'EOF'
<!doctype html>
<title>ss-redir demo</title>
<p>Hello from the WAN side, reached through ss-redir and ss-server.</p>
EOF
expected_sha=$(sha256sum "$work/www/big.bin" | cut -d' ' -f1)

ip netns exec "$wan" ss-server -s "$wan_ip" -p "$ss_port" -k "$password" -m "$method" -v \
    >"$work/ss-server.log" 2>&1 &
ss_server_pid=$!
ip netns exec "$wan" python3 -m http.server --bind "$wan_ip" --directory "$work/www" 80 \
    >"$work/http.log" 2>&1 &
http_pid=$!
ip netns exec "$gw" "$ss_redir_bin" -s "$wan_ip" -p "$ss_port" -l "$redir_port" -b :: \
    -k "$password" -m "$method" -v >"$work/ss-redir.log" 2>&1 &
ss_redir_pid=$!

wait_listening "$wan" "$ss_port"
wait_listening "$wan" 80
wait_listening "$gw" "$redir_port"
check_alive "$ss_server_pid" ss-server "$work/ss-server.log"
check_alive "$http_pid" "http server" "$work/http.log"
check_alive "$ss_redir_pid" ss-redir "$work/ss-redir.log"

echo
echo "== lan: curl http://$wan_ip/"
ip netns exec "$lan" curl -sS --fail --max-time 10 "http://$wan_ip/" || fail "page fetch failed"

echo
echo "== lan: curl http://$wan_ip/big.bin (64 MiB)"
stats=$(ip netns exec "$lan" curl -sS --fail --max-time 120 -o "$work/big.download" \
    -w '%{size_download} %{speed_download}' "http://$wan_ip/big.bin") || fail "download failed"
read -r size speed <<<"$stats"
got_sha=$(sha256sum "$work/big.download" | cut -d' ' -f1)
awk -v s="$size" -v v="$speed" 'BEGIN { printf "received %d bytes at %.1f MiB/s\n", s, v / 1048576 }'
echo "sha256 sent     $expected_sha"
echo "sha256 received $got_sha"
[[ $got_sha == "$expected_sha" ]] || fail "sha256 mismatch"

check_alive "$ss_redir_pid" ss-redir "$work/ss-redir.log"
echo
echo "== ss-redir log (gw) for connections to $wan_ip:80"
grep -m 5 -E "$wan_ip\]?:80\b" "$work/ss-redir.log" ||
    fail "ss-redir did not log the original destination $wan_ip:80 (is -v on?)"
echo "== ss-server log (wan) for connections to $wan_ip:80"
grep -m 5 -E "$wan_ip\]?:80\b" "$work/ss-server.log" ||
    fail "ss-server did not log a connection to $wan_ip:80"

echo
echo "== path: lan 10.231.1.2 -> gw ss-redir :$redir_port -> ss-server $wan_ip:$ss_port -> $wan_ip:80"
echo "demo: OK"
