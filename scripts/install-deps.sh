#!/usr/bin/env bash
# Installs the Debian packages ss-redir builds against and its tests run with. Needs root.
set -euo pipefail

packages=(
    # build: OpenSSL libcrypto (all ciphers), libmnl + libnftnl (nftables over netlink)
    libssl-dev libmnl-dev libnftnl-dev pkg-config
    # run and test: nft, namespaces, a real Shadowsocks peer, real clients
    nftables iproute2 shadowsocks-libev curl socat dnsutils dnsmasq-base python3 procps
    # lint: shellcheck on scripts/ (the install test also runs systemd-analyze verify when systemd is present)
    shellcheck
    # make bench (scripts/bench): load generators, a web server in the wan namespace, the chart
    iperf3 wrk nginx-light python3-matplotlib
)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
# Debian starts a default ss-server service on install; the tests run their own.
systemctl disable --now shadowsocks-libev.service >/dev/null 2>&1 || true
# Likewise nginx (port 80) and iperf3's server: the benchmark starts its own inside a namespace.
systemctl disable --now nginx.service iperf3.service >/dev/null 2>&1 || true
