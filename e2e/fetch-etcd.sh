#!/usr/bin/env bash
# Fetches etcd from another Debian release's package, without installing it,
# and prints the path of its `etcd` binary. The benchmarks use it to compare
# etcd versions: Debian 12 (what CI and `e2e/test.sh` install) ships etcd
# 3.4, whose create-if-absent transactions (what every apiserver create
# sends) run at about half the speed of plain puts under load; etcd 3.5
# (Debian 13) fixed that.
#
#   cargo bench -p apiserver --bench apiserver -- --etcd "$(e2e/fetch-etcd.sh)"
#
# usage: e2e/fetch-etcd.sh [SUITE]   (default trixie)
# The package comes through apt from deb.debian.org and is checked against
# the release's signature like any other; it lands in .cache/etcd-SUITE/.
set -euo pipefail

suite="${1:-trixie}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.cache/etcd-$suite"
bin="$dir/root/usr/bin/etcd"
if [[ -x "$bin" ]]; then
    echo "$bin"
    exit 0
fi
mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
    > "$dir/sources.list"
apt_opts=(
    -o "Dir::Etc::sourcelist=$dir/sources.list"
    -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$dir/lists"
    -o "Dir::Cache=$dir/cache"
    -o "APT::Sandbox::User=root"
)
apt-get -qq "${apt_opts[@]}" update >&2
(cd "$dir" && apt-get -qq "${apt_opts[@]}" download etcd-server >&2)
dpkg-deb -x "$dir"/etcd-server_*.deb "$dir/root"
"$bin" --version >&2
echo "$bin"
