#!/usr/bin/env bash
# Brings up an oxkube cluster on this machine with the embedded store (no
# etcd, no set-up) and writes a kubeconfig for kubectl.
#
#   ./deploy/up.sh            # serves on 127.0.0.1:6443, data in ./.oxkube
#   OXKUBE_PORT=7443 ./deploy/up.sh
set -euo pipefail
cd "$(dirname "$0")/.."
port="${OXKUBE_PORT:-6443}"
dir="${OXKUBE_DIR:-$PWD/.oxkube}"
mkdir -p "$dir"
cargo build --release --bin kube-apiserver
cat > "$dir/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: oxkube
  cluster:
    server: http://127.0.0.1:$port
users:
- name: admin
  user: {}
contexts:
- name: oxkube
  context:
    cluster: oxkube
    user: admin
current-context: oxkube
KUBECONFIG
echo "oxkube: API on http://127.0.0.1:$port, data in $dir"
echo "oxkube: in another shell:  export KUBECONFIG=$dir/kubeconfig; kubectl get namespaces"
exec ./target/release/kube-apiserver --data-dir "$dir" --secure-port "$port"
