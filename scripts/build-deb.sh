#!/usr/bin/env bash
# make deb: builds dist/ss-redir_<version>_<arch>.deb with Debian's own tools and no downloads.
# One binary: ss-redir, built release with the Swift standard library linked in (--static-swift-stdlib) under
# its own scratch path (.build-deb: the flag is on every compile command, so in .build it would rebuild every
# release module, and `make release` would rebuild them back), stripped; ss-server and ss-local are links to
# it (it runs the program its name says). Laid out by `make install` (PREFIX=/usr), with the Depends that
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
    swift_version=$("$swift" --version 2>/dev/null | sed -n 's/.*Swift version \([^ ]*\).*/Swift \1/p' | head -n 1)
    scratch=${DEB_SCRATCH:-.build-deb}
    started=$SECONDS
    # --no-export-dynamic: the static stdlib's link flags export every symbol of ours and NIO's, which keeps
    # them all alive through --gc-sections; nothing loads symbols from the executable (1.6 MB less).
    SS_REDIR_GIT_COMMIT=$commit SS_REDIR_SWIFT_VERSION=$swift_version \
        "$swift" build -c release --static-swift-stdlib -Xlinker --no-export-dynamic --scratch-path "$scratch" \
        --product ss-redir ||
        fail "swift build -c release --static-swift-stdlib failed"
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
