#!/usr/bin/env bash
# make test-deb (run by make test): checks the package `make deb` builds. Builds it first (scripts/build-deb.sh)
# unless DEB=path names one. Checks: Depends has no Swift and covers every library the binary loads; the exact
# file list and conffiles; the size budget (the binary <= 25 MB stripped, the .deb <= 12 MB); then, as root,
# installs it into a clean Debian root (debootstrap --variant=minbase, cached in .cache/ or DEB_TEST_ROOT, used
# through an overlay so the cache stays clean) with dpkg -i + apt-get -f install, runs the programs there, and
# checks that dpkg -r removes the rules setup made and every file but the conffiles, and dpkg -P those too.
# shellcheck disable=SC2016 # single-quoted $... are apt's and dpkg-query's fields and the namespace script's
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

fail() {
    echo "test-deb: FAIL: $*" >&2
    exit 1
}
ok() { echo "ok: $*"; }

version=$(sed -n 's/^ *public static let current = "\([^"]*\)".*/\1/p' Sources/Redir/SSRedirVersion.swift)
arch=$(dpkg --print-architecture)
deb=${DEB:-dist/ss-redir_${version}_${arch}.deb}
started=$SECONDS
if [[ -z ${DEB:-} ]]; then
    bash scripts/build-deb.sh || fail "make deb failed"
    echo "test-deb: make deb took $((SECONDS - started)) s"
fi
[[ -f $deb ]] || fail "no package at $deb"
[[ $deb == /* ]] || deb="$repo_root/$deb"

work=$(mktemp -d /tmp/ss-redir-test-deb.XXXXXX)
mounts=()
cleanup() {
    local i
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# --- The control file: version, Depends (Debian packages only, one for every library loaded), conffiles.
[[ $(dpkg-deb -f "$deb" Package) == ss-redir ]] || fail "Package is not ss-redir"
[[ $(dpkg-deb -f "$deb" Version) == "$version" ]] || fail "Version is not $version (SSRedirVersion.current)"
[[ $(dpkg-deb -f "$deb" Architecture) == "$arch" ]] || fail "Architecture is not $arch"
depends=$(dpkg-deb -f "$deb" Depends)
[[ -n $depends ]] || fail "no Depends line"
if grep -qi swift <<<"$depends"; then fail "Depends names a Swift package: $depends"; fi
depends_names=$(tr ',|' '\n' <<<"$depends" | sed 's/(.*//; s/ //g' | grep -v '^$' | sort -u)
for name in libc6 libssl3 libmnl0 libnftnl11; do
    grep -qx "$name" <<<"$depends_names" || fail "Depends lacks $name: $depends"
done
[[ $(dpkg-deb -f "$deb" Conflicts) == shadowsocks-libev ]] ||
    fail "no Conflicts: shadowsocks-libev (both ship /usr/bin/ss-redir)"
dpkg-deb -x "$deb" "$work/unpacked"
dpkg-deb -e "$deb" "$work/control"
binary="$work/unpacked/usr/bin/ss-redir"
while read -r library; do
    # No early exit in the reader: with pipefail, a writer cut off by SIGPIPE fails the whole line.
    path=$(ldconfig -p | awk -v lib="$library" '$1 == lib && path == "" {path = $NF} END {print path}')
    [[ -n $path ]] || fail "ss-redir needs $library, which this machine does not have"
    owner=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null ||
        dpkg -S "/usr$path" 2>/dev/null) || fail "ss-redir needs $library ($path), which no Debian package ships"
    owner=${owner%%:*}
    grep -qx "$owner" <<<"$depends_names" || fail "ss-redir needs $library from $owner, not in Depends: $depends"
done < <(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
ok "Depends: $depends (every NEEDED library's package, nothing Swift)"
[[ $(cat "$work/control/conffiles") == "/etc/ss-redir/config.json.example" ]] ||
    fail "conffiles is not exactly /etc/ss-redir/config.json.example: $(cat "$work/control/conffiles")"
for script in postinst prerm postrm; do
    [[ -x $work/control/$script ]] || fail "no executable $script maintainer script"
done
if cat "$work/control/postinst" "$work/control/postrm" | grep -v '^ *#' | grep 'systemctl.*\(enable\|start\)'; then
    fail "a maintainer script enables or starts a unit"
fi
ok "conffiles and maintainer scripts"

# --- Every file, and no other (dpkg-deb -c lists the archive; directories aside).
expected="$work/expected"
{
    echo ./etc/ss-redir/config.json.example
    echo ./lib/systemd/system/ss-redir@.service
    echo ./lib/systemd/system/ss-server@.service
    for tool in ss-local ss-redir ss-server; do
        echo "./usr/bin/$tool"
        echo "./usr/share/man/man1/$tool.1.gz"
    done
    echo ./usr/share/bash-completion/completions/ss-redir
    echo ./usr/share/fish/vendor_completions.d/ss-redir.fish
    echo ./usr/share/zsh/vendor-completions/_ss-redir
    for rules in hosts-rules/*; do echo "./usr/share/ss-redir/$rules"; done
    echo ./usr/share/ss-redir/openwrt/ss-redir.init
    echo ./usr/share/doc/ss-redir/README.md
    echo ./usr/share/doc/ss-redir/copyright
    for doc in docs/*.md; do echo "./usr/share/doc/ss-redir/${doc#docs/}"; done
} | LC_ALL=C sort >"$expected"
dpkg-deb -c "$deb" >"$work/listing"
awk '$1 !~ /^d/ {print $6}' "$work/listing" | LC_ALL=C sort >"$work/listed"
diff -u "$expected" "$work/listed" >"$work/diff" || fail "dpkg-deb -c differs from the expected files:
$(cat "$work/diff")"
if awk '{print $2}' "$work/listing" | grep -v '^root/root$'; then fail "a file is not owned by root/root"; fi
grep -q '^-rwxr-xr-x .* \./usr/bin/ss-redir$' "$work/listing" || fail "/usr/bin/ss-redir is not a file of mode 0755"
for tool in ss-local ss-server; do
    grep -q "^l.* \./usr/bin/$tool -> ss-redir$" "$work/listing" || fail "/usr/bin/$tool is not a link to ss-redir"
done
ok "dpkg-deb -c lists the $(wc -l <"$expected") expected files, root-owned; ss-server and ss-local link to ss-redir"

# --- Size budget (issue 15): the stripped binary <= 25 MB, the package <= 12 MB.
mb=$((1000 * 1000)) # the budgets are decimal megabytes, the stricter reading
if readelf -S "$binary" | grep '\.symtab' >/dev/null; then fail "/usr/bin/ss-redir is not stripped"; fi
# No RUNPATH/RPATH: the loader must never look for libcrypto beside /usr/bin/ss-redir.
if readelf -d "$binary" | grep -E '\((RUNPATH|RPATH)\)' >/dev/null; then fail "/usr/bin/ss-redir has a run path: $(readelf -d "$binary" | grep -E 'R(UN)?PATH')"; fi
size=$(stat -c %s "$binary")
((size <= 25 * mb)) || fail "/usr/bin/ss-redir is $size bytes, over the 25 MB budget"
echo "size: ss-redir $size bytes ($((size * 10 / mb / 10)).$((size * 10 / mb % 10)) MB) stripped"
size=$(stat -c %s "$deb")
((size <= 12 * mb)) || fail "$deb is $size bytes, over the 12 MB budget"
echo "size: $(basename "$deb") $size bytes ($((size * 10 / mb / 10)).$((size * 10 / mb % 10)) MB)"
ok "size budget"

# --- A clean Debian root: nothing of the build machine (no Swift toolchain, no -dev package) inside.
if [[ $(id -u) -ne 0 ]]; then
    echo "skip: installing into a debootstrap root needs root"
    exit 0
fi
command -v debootstrap >/dev/null || fail "debootstrap is not installed (scripts/install-deps.sh)"
suite=$(sed -n 's/^VERSION_CODENAME=//p' /etc/os-release)
suite=${suite:-bookworm}
cache=${DEB_TEST_ROOT:-$repo_root/.cache/debian-$suite-minbase}
if [[ ! -x $cache/usr/bin/apt-get ]]; then
    # The Debian mirror this machine's apt already uses (DEB_TEST_MIRROR overrides it).
    mirror=${DEB_TEST_MIRROR:-$(apt-get indextargets --format '$(REPO_URI) $(CODENAME) $(COMPONENT)' \
        'Identifier: Packages' | awk -v suite="$suite" '$2 == suite && $3 == "main" && $1 !~ /security/ && found == "" {found = $1} END {print found}')}
    [[ -n $mirror ]] || fail "no Debian mirror for $suite in this machine's apt sources (set DEB_TEST_MIRROR)"
    rm -rf "$cache.new"
    mkdir -p "$(dirname "$cache")"
    bootstrap_started=$SECONDS
    debootstrap --variant=minbase "$suite" "$cache.new" "$mirror" >"$work/debootstrap.log" 2>&1 ||
        fail "debootstrap $suite: $(tail -n 20 "$work/debootstrap.log")"
    # This machine's apt settings that matter in there too (a mirror snapshot's Valid-Until, a proxy).
    apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|http::Proxy|https::Proxy) ' \
        >"$cache.new/etc/apt/apt.conf.d/99host" || true
    cp -L /etc/resolv.conf "$cache.new/etc/resolv.conf"
    chroot "$cache.new" apt-get update -q >"$work/update.log" 2>&1 || fail "apt-get update: $(tail "$work/update.log")"
    chroot "$cache.new" apt-get clean
    mv "$cache.new" "$cache"
    echo "test-deb: debootstrap --variant=minbase $suite took $((SECONDS - bootstrap_started)) s (cached in $cache)"
fi

chroot_started=$SECONDS
root="$work/root"
mkdir -p "$work/upper" "$work/overlay-work" "$root"
mount -t overlay overlay -o "lowerdir=$cache,upperdir=$work/upper,workdir=$work/overlay-work" "$root"
mounts+=("$root")
mount -t proc proc "$root/proc"
mounts+=("$root/proc")
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"; }
for path in /opt/swift /usr/bin/swift /usr/include/openssl; do
    [[ ! -e $root$path ]] || fail "the clean root has $path"
done

cp "$deb" "$root/tmp/ss-redir.deb"
# dpkg -i stops at the missing libraries (libssl3, libmnl0, libnftnl11); apt-get -f install brings them. It
# leaves out Recommends (apt install ./ss-redir.deb would not): nftables, which prerm uses to find tables made
# with --table, comes after.
in_root dpkg -i /tmp/ss-redir.deb >"$work/dpkg-i.log" 2>&1 || true
DEBIAN_FRONTEND=noninteractive in_root apt-get -f install -y -q >"$work/apt.log" 2>&1 ||
    fail "apt-get -f install in the clean root: $(tail -n 20 "$work/apt.log")"
DEBIAN_FRONTEND=noninteractive in_root apt-get install -y -q --no-install-recommends nftables >>"$work/apt.log" 2>&1 ||
    fail "apt-get install nftables in the clean root: $(tail -n 20 "$work/apt.log")"
rm -f "$root/tmp/ss-redir.deb"
status=$(in_root dpkg-query -W -f '${Status} ${Version}' ss-redir)
[[ $status == "install ok installed $version" ]] || fail "after apt-get -f install: $status"
ok "dpkg -i + apt-get -f install in a clean debootstrap root"

for tool in ss-redir ss-server ss-local; do
    if in_root ldd "/usr/bin/$tool" | grep -E 'not found|swift'; then fail "ldd /usr/bin/$tool in the clean root"; fi
    line=$(in_root "/usr/bin/$tool" --version) || fail "$tool --version failed in the clean root"
    [[ $line =~ ^$tool\ $version\ \(commit\ [^,]+,\ Swift\ [0-9] ]] ||
        fail "$tool --version says '$line', not '$tool $version (commit ..., Swift ...)'"
    if [[ -z ${DEB:-} && $line == *"commit unknown"* ]]; then fail "$tool --version has no commit: $line"; fi
done
ok "--version in the clean root: $line"
in_root ss-redir setup --dry-run -c /etc/ss-redir/config.json.example >"$work/dry-run" 2>&1 ||
    fail "ss-redir setup --dry-run with the sample config: $(cat "$work/dry-run")"
grep -q 'table inet ss_redir' "$work/dry-run" || fail "setup --dry-run printed no table: $(cat "$work/dry-run")"
ok "ss-redir setup --dry-run -c /etc/ss-redir/config.json.example"
for tool in ss-server ss-local; do
    in_root "$tool" --help >"$work/help" 2>&1 || fail "$tool --help: $(cat "$work/help")"
    grep -q "^USAGE: $tool " "$work/help" || fail "$tool --help is not $tool's: $(cat "$work/help")"
done
ok "ss-server --help, ss-local --help"
if find "$root/etc/systemd" -name 'ss-*' | grep .; then fail "installing enabled a unit"; fi

# Removal in a network namespace of its own: real rules from the sample config (the default table and one
# named with --table; nft matches the LAN interface by name, so br-lan need not exist) and a table that is not
# ours; dpkg -r must take away ours and their policy routing, and leave the other.
unshare --net bash -euc '
    root=$1
    ip link set lo up
    chroot "$root" /usr/bin/ss-redir setup -c /etc/ss-redir/config.json.example >/dev/null
    chroot "$root" /usr/bin/ss-redir setup -c /etc/ss-redir/config.json.example --table ss_custom >/dev/null
    nft add table inet not_ours
    [[ $(nft list tables | sort | tr "\n" " ") == "table inet not_ours table inet ss_custom table inet ss_redir " ]] ||
        { echo "setup made: $(nft list tables)"; exit 1; }
    ip rule list | grep "fwmark 0x1 lookup 100" >/dev/null || { echo "setup made no policy rule"; exit 1; }
    chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin dpkg -r ss-redir
    [[ $(nft list tables) == "table inet not_ours" ]] || { echo "after dpkg -r: $(nft list tables)"; exit 1; }
    if ip rule list | grep -E "fwmark|lookup 100"; then echo "dpkg -r left policy routing behind"; exit 1; fi
' unshare-removal "$root" >"$work/removal.log" 2>&1 || fail "removal with rules in place: $(cat "$work/removal.log")"
ok "dpkg -r runs teardown for both tables of ours, their policy routing goes, the other table stays"

left_of_ours() {
    local path
    while read -r path; do
        if [[ -e $root${path#.} || -L $root${path#.} ]]; then echo "${path#.}"; fi
    done <"$expected"
}
[[ $(in_root dpkg-query -W -f '${Status}' ss-redir) == "deinstall ok config-files" ]] ||
    fail "after dpkg -r: $(in_root dpkg-query -W -f '${Status}' ss-redir)"
[[ $(left_of_ours) == /etc/ss-redir/config.json.example ]] || fail "after dpkg -r, expected only the conffile:
$(left_of_ours)"
ok "dpkg -r leaves only the conffile"
in_root dpkg -P ss-redir >"$work/purge.log" 2>&1 || fail "dpkg -P: $(cat "$work/purge.log")"
[[ -z $(left_of_ours) ]] || fail "after dpkg -P: $(left_of_ours)"
# Nothing named after us anywhere (directories, dpkg's info files, enable links).
found=$(cd "$root" && find . -xdev \( -name '*ss-redir*' -o -name '*ss-server*' -o -name '*ss-local*' \) -print)
[[ -z $found ]] || fail "after dpkg -P: $found"
ok "dpkg -P leaves nothing"
echo "test-deb: the clean-root checks took $((SECONDS - chroot_started)) s; all of test-deb $((SECONDS - started)) s"
