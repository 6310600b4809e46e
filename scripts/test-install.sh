#!/usr/bin/env bash
# Checks `make install` / `make uninstall` in throwaway directories: the exact files laid out, a config.json of
# the user's left alone, the sample config accepted by ss-redir, and (if systemd-analyze is here) the rendered
# unit verified. Installs an already-built binary (env SS_REDIR_BIN, default .build/debug/ss-redir), so no
# release build. Needs no root; prints "skip: ..." for a check whose tool is missing.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
bin=${SS_REDIR_BIN:-.build/debug/ss-redir}
[[ $bin == /* ]] || bin="$repo_root/$bin"

fail() {
    echo "test-install: FAIL: $*" >&2
    exit 1
}

[[ -x $bin ]] || fail "no executable at $bin (swift build, or set SS_REDIR_BIN)"
work=$(mktemp -d /tmp/ss-redir-install.XXXXXX)
trap 'rm -rf "$work"' EXIT

files_under() {
    (cd "$1" && find . \( -type f -o -type l \) | sed 's|^\./||' | LC_ALL=C sort)
}

# What install must lay out under DESTDIR with the default PREFIX=/usr/local, and nothing else.
expected="$work/expected"
{
    echo etc/ss-redir/config.json.example
    echo usr/local/bin/ss-local
    echo usr/local/bin/ss-redir
    echo usr/local/bin/ss-server
    echo usr/local/lib/systemd/system/ss-redir@.service
    echo usr/local/lib/systemd/system/ss-server@.service
    echo usr/local/share/bash-completion/completions/ss-redir
    echo usr/local/share/man/man1/ss-local.1
    echo usr/local/share/man/man1/ss-redir.1
    echo usr/local/share/man/man1/ss-server.1
    echo usr/local/share/zsh/site-functions/_ss-redir
    echo usr/local/share/fish/vendor_completions.d/ss-redir.fish
    echo usr/local/share/ss-redir/openwrt/ss-redir.init
    for rules in hosts-rules/*; do echo "usr/local/share/ss-redir/$rules"; done
    echo usr/local/share/doc/ss-redir/README.md
    for doc in docs/*.md; do echo "usr/local/share/doc/ss-redir/${doc#docs/}"; done
} | LC_ALL=C sort >"$expected"

destdir="$work/destdir"
mkdir -p "$destdir"
make -s install DESTDIR="$destdir" SS_REDIR_BIN="$bin" >"$work/install.log" 2>&1 ||
    fail "make install DESTDIR=$destdir: $(cat "$work/install.log")"
diff -u "$expected" <(files_under "$destdir") >"$work/diff" || fail "installed files differ:
$(cat "$work/diff")"
echo "ok: make install DESTDIR lays out $(wc -l <"$expected") files"

cmp -s "$bin" "$destdir/usr/local/bin/ss-redir" || fail "installed binary differs from $bin"
[[ -x $destdir/usr/local/bin/ss-redir ]] || fail "installed binary is not executable"
unit="$destdir/usr/local/lib/systemd/system/ss-redir@.service"
! grep -n '@[A-Z]*@' "$unit" || fail "unsubstituted placeholder in $unit"
grep -qx 'ExecStart=/usr/local/bin/ss-redir run -c /etc/ss-redir/%i.json' "$unit" ||
    fail "ExecStart in $unit does not run /usr/local/bin/ss-redir with /etc/ss-redir/%i.json"
grep -q '^complete' "$destdir/usr/local/share/bash-completion/completions/ss-redir" ||
    fail "the bash completion script has no complete command"

# The sample config is one ss-redir accepts (setup --dry-run needs no privileges and reads every key).
"$bin" setup -c "$destdir/etc/ss-redir/config.json.example" --dry-run >"$work/dry-run" 2>&1 ||
    fail "ss-redir rejects the sample config: $(cat "$work/dry-run")"
echo "ok: the sample config is valid"

# A user's config survives install (never overwritten) and uninstall; everything else goes.
echo '{"server": "192.0.2.1"}' >"$destdir/etc/ss-redir/config.json"
cp "$destdir/etc/ss-redir/config.json" "$work/config.json"
make -s install DESTDIR="$destdir" SS_REDIR_BIN="$bin" >"$work/install.log" 2>&1 ||
    fail "second make install: $(cat "$work/install.log")"
make -s uninstall DESTDIR="$destdir" >"$work/uninstall.log" 2>&1 ||
    fail "make uninstall DESTDIR=$destdir: $(cat "$work/uninstall.log")"
left=$(files_under "$destdir")
[[ $left == "etc/ss-redir/config.json" ]] || fail "after uninstall expected only etc/ss-redir/config.json, found:
$left"
cmp -s "$work/config.json" "$destdir/etc/ss-redir/config.json" || fail "the user's config.json was changed"
[[ ! -e $destdir/usr/local/share/ss-redir && ! -e $destdir/usr/local/share/doc/ss-redir ]] ||
    fail "uninstall left ss-redir's own directories behind"
echo "ok: make uninstall removes exactly what install laid out and keeps config.json"

# systemd-analyze verify checks that ExecStart's binary exists, so verify a real PREFIX install (no DESTDIR).
if command -v systemd-analyze >/dev/null; then
    prefix="$work/prefix"
    make -s install PREFIX="$prefix/usr" SYSCONFDIR="$prefix/etc" SS_REDIR_BIN="$bin" >"$work/install.log" 2>&1 ||
        fail "make install PREFIX=$prefix/usr: $(cat "$work/install.log")"
    for name in ss-redir ss-server; do
        unit="$prefix/usr/lib/systemd/system/$name@.service"
        # Warnings (an unknown key, say) go to stderr with exit status 0: any output counts as a failure.
        if ! timeout 60 systemd-analyze verify --man=no "$unit" >"$work/verify" 2>&1 || [[ -s $work/verify ]]; then
            fail "systemd-analyze verify $unit: $(cat "$work/verify")"
        fi
        echo "ok: systemd-analyze verify $name@.service"
    done
else
    echo "skip: systemd-analyze verify (systemd-analyze not installed)"
fi
