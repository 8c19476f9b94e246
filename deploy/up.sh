#!/usr/bin/env bash
# Brings up an oxkube cluster on this machine with the embedded store (no
# etcd, no set-up) and writes a kubeconfig for kubectl:
#   kube-apiserver  on 127.0.0.1:$OXKUBE_PORT, data in ./.oxkube
#   kube-scheduler  (leader election on, /healthz and /metrics on :10259)
#   kube-controller-manager (ReplicaSets, ReplicationControllers,
#                   Deployments, Endpoints/EndpointSlices, node lifecycle,
#                   node pod CIDRs from 10.244.0.0/16, default
#                   ServiceAccounts, garbage collection, namespace deletion)
#   oxkube-sim      $OXKUBE_SIM_NODES simulated nodes (kwok-like: they register,
#                   heartbeat and report their pods Running, but run no
#                   containers), until real kubelets join
#   kubelet         $OXKUBE_HOLLOW_NODES hollow nodes (default 0): the real
#                   kubelet against an in-memory runtime
#                   (--container-runtime-endpoint fake://), as kubemark does
#
#   ./deploy/up.sh
#   OXKUBE_PORT=7443 OXKUBE_SIM_NODES=0 ./deploy/up.sh
# Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${OXKUBE_PORT:-6443}"
dir="${OXKUBE_DIR:-$PWD/.oxkube}"
sim_nodes="${OXKUBE_SIM_NODES:-3}"
hollow_nodes="${OXKUBE_HOLLOW_NODES:-0}"
mkdir -p "$dir"
bins=(--bin kube-apiserver --bin kube-scheduler --bin kube-controller-manager --bin oxkube-sim)
[ "$hollow_nodes" -gt 0 ] && bins+=(--bin kubelet)
cargo build --release "${bins[@]}"
kubeconfig="$dir/kubeconfig"
cat > "$kubeconfig" <<KUBECONFIG
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

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

./target/release/kube-apiserver --data-dir "$dir" --secure-port "$port" &
apiserver=$!
pids+=("$apiserver")
ready() {
  # /readyz answers 200 once the caches are warm (bash's /dev/tcp: no curl needed)
  { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
  printf 'GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  head -n1 <&3 | grep -q ' 200 '
  local ok=$?
  exec 3>&- 3<&-
  return $ok
}
for _ in $(seq 1 300); do
  if ready; then break; fi
  if ! kill -0 "$apiserver" 2>/dev/null; then echo "oxkube: kube-apiserver exited" >&2; exit 1; fi
  sleep 0.1
done
./target/release/kube-scheduler --kubeconfig "$kubeconfig" &
pids+=($!)
./target/release/kube-controller-manager --kubeconfig "$kubeconfig" \
  --allocate-node-cidrs --cluster-cidr 10.244.0.0/16 &
pids+=($!)
if [ "$sim_nodes" -gt 0 ]; then
  ./target/release/oxkube-sim --kubeconfig "$kubeconfig" --nodes "$sim_nodes" &
  pids+=($!)
fi
for i in $(seq 1 "$hollow_nodes"); do
  h="$dir/hollow-$i"
  mkdir -p "$h/manifests"
  ./target/release/kubelet --kubeconfig "$kubeconfig" --container-runtime-endpoint fake:// \
    --hostname-override "hollow-$i" --node-ip 127.0.0.1 --pod-cidr "10.244.$((200 + i)).0/24" \
    --root-dir "$h" --pod-logs-dir "$h/logs" --pod-manifest-path "$h/manifests" \
    --port 0 --healthz-port 0 &
  pids+=($!)
done
echo "oxkube: API on http://127.0.0.1:$port, data in $dir, $sim_nodes simulated node(s), $hollow_nodes hollow node(s)"
echo "oxkube: in another shell:  export KUBECONFIG=$kubeconfig; kubectl get nodes; kubectl run web --image=nginx"
# Stop everything when the apiserver stops.
wait "$apiserver"
