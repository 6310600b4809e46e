#!/usr/bin/env bash
# make deb: builds dist/ss-redir_<version>_<arch>.deb with Debian's own tools and no downloads.
# One binary: ss-redir, built release with the Swift standard library linked in (--static-swift-stdlib) under
# its own scratch path (.build-deb: the flag is on every compile command, so in .build it would rebuild every
# release module, and `make release` would rebuild them back), linked by lld in the order that keeps its
# memory at start small (docs/debian.md), stripped; ss-server and ss-local are links to it (it runs the
# program its name says). Laid out by `make install` (PREFIX=/usr), with the Depends that
# dpkg-shlibdeps computes from the libraries it loads. DEB_BIN_DIR=dir packages an ss-redir already built
# there instead (its --version is what that build recorded).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
swift=${SWIFT:-swift}

fail() {
    echo "build-deb: $*" >&2
    exit 1
}

version=$(sed -n 's/^ *public static let current = "\([^"]*\)".*/\1/p' Sources/Redir/SSRedirVersion.swift)
[[ $version =~ ^[0-9][0-9A-Za-z.+~-]*$ ]] || fail "no version in Sources/Redir/SSRedirVersion.swift"
arch=$(dpkg --print-architecture)
deb="dist/ss-redir_${version}_${arch}.deb"

if [[ -n ${DEB_BIN_DIR:-} ]]; then
    bin_dir=$DEB_BIN_DIR
else
    # What --version reports: the commit ("-dirty" with uncommitted changes to tracked files) and the compiler.
    commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
    if [[ $commit != unknown ]] && ! git diff --quiet HEAD -- 2>/dev/null; then commit="$commit-dirty"; fi
    swift_version=$("$swift" --version 2>/dev/null | sed -n 's/.*Swift version \([^ ]*\).*/Swift \1/p' | sed -n 1p)
    scratch=${DEB_SCRATCH:-.build-deb}
    [[ $scratch == /* ]] || scratch="$repo_root/$scratch"
    mkdir -p "$scratch/link"
    # Memory at start (docs/debian.md): every function in a section of its own (-function-sections), linked
    # by lld, which packs the functions that run at start together (start-order.txt, scripts/start-order.py)
    # and Swift's unnamed local helpers too (text-layout.ld). The link inputs are copied under names with
    # their hash: SwiftPM relinks when a flag changes, not when a file a flag names does.
    link_inputs=()
    for file in packaging/debian/start-order.txt packaging/debian/text-layout.ld; do
        hash=$(sha256sum "$file" | cut -c1-12)
        base=$(basename "$file")
        cp "$file" "$scratch/link/${base%.*}-$hash.${base##*.}"
        link_inputs+=("$scratch/link/${base%.*}-$hash.${base##*.}")
    done
    # libstdc++ linked in: the Swift runtime uses a little of it, and loading the shared one costs 1 MiB of
    # resident pages (its symbol tables and relocations). The Swift driver asks for -lstdc++; a directory of
    # our own ahead of GCC's on the search path answers with the archive.
    libstdcxx=
    for cc in "$(dirname "$(readlink -f "$(command -v "$swift")")")/clang" clang gcc; do
        libstdcxx=$("$cc" -print-file-name=libstdc++.a 2>/dev/null) && [[ $libstdcxx == /* && -f $libstdcxx ]] &&
            break
        libstdcxx=
    done
    [[ -n $libstdcxx ]] || fail "no libstdc++.a (Debian: libstdc++-12-dev)"
    mkdir -p "$scratch/link/static-libstdc++"
    ln -sf "$libstdcxx" "$scratch/link/static-libstdc++/libstdc++.a"
    # The driver reuses a module's object when its sources did not change, even when -Xfrontend flags did:
    # a scratch path built without -function-sections is built again from nothing, once.
    compile_flags="-function-sections"
    if [[ $(cat "$scratch/link/compile-flags" 2>/dev/null) != "$compile_flags" && -e $scratch/release ]]; then
        echo "build-deb: $scratch was built with other compile flags; building it again"
        rm -rf "$(readlink -f "$scratch/release")"
    fi
    started=$SECONDS
    # --no-export-dynamic: the static stdlib's link flags export every symbol of ours and NIO's, which keeps
    # them all alive through --gc-sections; nothing loads symbols from the executable (1.6 MB less).
    # -z pack-relative-relocs (RELR, glibc 2.36): the 61,000 relative relocations of a PIE in 12 KB instead of
    # 1.45 MB, which the loader read at every start. --disable-local-rpath: no RUNPATH $ORIGIN (a library found
    # beside /usr/bin/ss-redir must never be loaded).
    SS_REDIR_GIT_COMMIT=$commit SS_REDIR_SWIFT_VERSION=$swift_version \
        "$swift" build -c release --static-swift-stdlib --disable-local-rpath --scratch-path "$scratch" --product ss-redir \
        -Xswiftc -Xfrontend -Xswiftc -function-sections -Xswiftc -use-ld=lld \
        -Xswiftc "-L$scratch/link/static-libstdc++" -Xlinker --no-export-dynamic \
        -Xlinker -z -Xlinker pack-relative-relocs -Xlinker "--symbol-ordering-file=${link_inputs[0]}" \
        -Xlinker --no-warn-symbol-ordering -Xlinker "${link_inputs[1]}" ||
        fail "swift build -c release --static-swift-stdlib failed"
    echo "$compile_flags" >"$scratch/link/compile-flags"
    echo "build-deb: release build took $((SECONDS - started)) s"
    bin_dir="$scratch/release"
fi
[[ -x $bin_dir/ss-redir ]] || fail "no $bin_dir/ss-redir"

work=$(mktemp -d /tmp/ss-redir-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
# Staged where dpkg-shlibdeps looks for a package's files: debian/<package>/ of a source tree.
stage="$work/src/debian/ss-redir"
# Debian's paths: programs in /usr/bin, units where bookworm's packages put theirs, zsh's vendor completions.
make -s install DESTDIR="$stage" PREFIX=/usr SYSTEMD_UNIT_DIR=/lib/systemd/system \
    ZSH_COMPLETION_DIR=/usr/share/zsh/vendor-completions \
    SS_REDIR_BIN="$bin_dir/ss-redir" SS_SERVER_BIN="$bin_dir/ss-redir" SS_LOCAL_BIN="$bin_dir/ss-redir" ||
    fail "make install DESTDIR=$stage failed"
strip --strip-all "$stage/usr/bin/ss-redir"
ln -sf ss-redir "$stage/usr/bin/ss-server"
ln -sf ss-redir "$stage/usr/bin/ss-local"
gzip -9n "$stage"/usr/share/man/man1/*.1
install -m 644 packaging/debian/copyright "$stage/usr/share/doc/ss-redir/copyright"

# Depends from the shared libraries the binaries load (dpkg-shlibdeps wants a debian/control to exist). It
# fails on a library no Debian package ships, so a dynamically linked Swift runtime cannot slip through.
mkdir -p "$stage/DEBIAN"
printf 'Source: ss-redir\n\nPackage: ss-redir\nArchitecture: any\n' >"$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O "$stage/usr/bin/ss-redir") ||
    fail "dpkg-shlibdeps found a library no Debian package provides"
depends=${shlibs#shlibs:Depends=}
[[ -n $depends && $depends != "$shlibs" ]] || fail "dpkg-shlibdeps printed no Depends: $shlibs"
if grep -qi swift <<<"$depends"; then fail "Depends names a Swift package: $depends"; fi
# Packed relocations need glibc 2.36 (the GLIBC_ABI_DT_RELR version the binary asks for), which
# dpkg-shlibdeps does not count: it only looks at the symbols.
libc_minimum=$(sed -nE 's/.*libc6 \(>= ([^)]*)\).*/\1/p' <<<"$depends")
if readelf -V "$stage/usr/bin/ss-redir" | grep GLIBC_ABI_DT_RELR >/dev/null &&
    dpkg --compare-versions "${libc_minimum:-0}" lt 2.36; then
    depends=$(sed -E 's/libc6( \([^)]*\))?/libc6 (>= 2.36)/' <<<"$depends")
fi

installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@INSTALLED_SIZE@|$installed_size|" \
    -e "s|@DEPENDS@|$depends|" packaging/debian/control.in >"$stage/DEBIAN/control"
(cd "$stage" && find etc -type f | sed 's|^|/|' | LC_ALL=C sort) >"$stage/DEBIAN/conffiles"
install -m 755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$stage/DEBIAN/"
(cd "$stage" && find usr lib -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"

mkdir -p dist
rm -f "$deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null || fail "dpkg-deb --build failed"
echo "build-deb: $deb ($(du -k "$deb" | cut -f1) KiB; Depends: $depends)"
