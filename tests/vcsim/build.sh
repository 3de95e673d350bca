#!/usr/bin/env bash
# Build the vCenter simulator launcher into <repo>/build/vcsim/vcsim-launcher and print its path.
# Needs Debian's golang-go and golang-github-vmware-govmomi-dev (govmomi 0.24.2); installs them if missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
outdir="$root/build/vcsim"
out="$outdir/vcsim-launcher"
export GOPATH=/usr/share/gocode GO111MODULE=off
govmomi="$GOPATH/src/github.com/vmware/govmomi/simulator"

mkdir -p "$outdir"
# Serialise concurrent builds (e.g. pytest-xdist workers starting together).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$outdir/.build.lock"
    flock 9
fi

if ! command -v go >/dev/null 2>&1 || [ ! -d "$govmomi" ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    pkgs=(golang-go golang-github-vmware-govmomi-dev)
    install() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${pkgs[@]}" >&2; }
    # Refresh the package lists when apt does not know the packages, or when its lists are stale.
    if ! apt-cache show "${pkgs[@]}" >/dev/null 2>&1 || ! install; then
        $sudo apt-get update >&2
        install
    fi
fi

# Up to date when no source is newer than the binary.
if [ -x "$out" ] && [ -z "$(find "$here" -maxdepth 1 \( -name '*.go' -o -name build.sh \) -newer "$out" -print -quit)" ]; then
    echo "$out"
    exit 0
fi

# go needs a writable build cache; fall back to one under build/ when HOME has none.
if [ -z "${GOCACHE:-}" ] && { [ -z "${HOME:-}" ] || [ ! -w "${HOME:-/nonexistent}" ]; }; then
    export GOCACHE="$outdir/gocache"
fi

start=$(date +%s)
(cd "$here" && go build -o "$out.tmp" .)
mv -f "$out.tmp" "$out"
echo "built in $(( $(date +%s) - start )) s" >&2
echo "$out"
