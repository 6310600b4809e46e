#!/usr/bin/env bash
# Installs the Debian packages ss-redir builds against and its tests run with. Needs root.
set -euo pipefail

packages=(
    # build: OpenSSL libcrypto (all ciphers), libmnl + libnftnl (nftables over netlink)
    libssl-dev libmnl-dev libnftnl-dev pkg-config
    # run and test: nft, namespaces, a real Shadowsocks peer, real clients
    nftables iproute2 shadowsocks-libev curl socat dnsutils dnsmasq-base python3 procps
    # SIP003 plugins the plugin tests run on both ends (obfs-local/obfs-server, ss-v2ray-plugin)
    simple-obfs shadowsocks-v2ray-plugin
    # lint: shellcheck on scripts/ (the install test also runs systemd-analyze verify when systemd is present)
    shellcheck
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
