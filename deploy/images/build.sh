#!/usr/bin/env bash
# Builds oxkube's offline test images as OCI archives and, optionally, imports
# them into a containerd (namespace k8s.io, where the CRI plugin looks).
#
#   deploy/images/build.sh OUTDIR                 # writes OUTDIR/*.tar
#   deploy/images/build.sh OUTDIR --import SOCKET # ... and imports them
#
# No registry is needed: the userland is /bin/busybox from Debian's
# busybox-static (one static file with sh, httpd, nc, wget, sleep ...), and the
# pause image is pause.c compiled with `gcc -static`. Digests are reproducible:
# same inputs, same image IDs.
#
# Images (each also reachable by the short name a pod spec would use):
#   localhost/oxkube/pause:1.0      the sandbox image (sandbox_image in containerd)
#   localhost/oxkube/busybox:1.0    busybox userland; also tagged docker.io/library/busybox:latest
set -euo pipefail

out=${1:?usage: build.sh OUTDIR [--import CONTAINERD_SOCKET]}
sock=""
if [ "${2:-}" = "--import" ]; then sock=${3:?--import needs the containerd socket path}; fi
here=$(cd "$(dirname "$0")" && pwd)
busybox=${BUSYBOX:-/bin/busybox}

if ! [ -x "$busybox" ] || ! "$busybox" true; then
  echo "build.sh: $busybox is missing; install Debian's busybox-static" >&2
  exit 1
fi
command -v gcc >/dev/null || { echo "build.sh: gcc is needed to build the pause image" >&2; exit 1; }

mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sha() { sha256sum "$1" | cut -d' ' -f1; }

# oci_image NAME ROOTFS CMD_JSON TAG...  → $out/NAME.tar
oci_image() {
  local name=$1 rootfs=$2 cmd=$3
  shift 3
  local dir=$work/$name-oci
  rm -rf "$dir" && mkdir -p "$dir/blobs/sha256"
  # Deterministic layer: sorted, fixed mtime/owners, gzip without a timestamp.
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$work/layer.tar" .
  local diff_id; diff_id=$(sha "$work/layer.tar")
  gzip -n -9 -c "$work/layer.tar" >"$work/layer.tar.gz"
  local layer; layer=$(sha "$work/layer.tar.gz")
  local layer_size; layer_size=$(stat -c %s "$work/layer.tar.gz")
  mv "$work/layer.tar.gz" "$dir/blobs/sha256/$layer"

  printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":%s,"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"oxkube deploy/images/build.sh"}]}' \
    "$cmd" "$diff_id" >"$work/config.json"
  local config; config=$(sha "$work/config.json")
  local config_size; config_size=$(stat -c %s "$work/config.json")
  mv "$work/config.json" "$dir/blobs/sha256/$config"

  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "$config" "$config_size" "$layer" "$layer_size" >"$work/manifest.json"
  local manifest; manifest=$(sha "$work/manifest.json")
  local manifest_size; manifest_size=$(stat -c %s "$work/manifest.json")
  mv "$work/manifest.json" "$dir/blobs/sha256/$manifest"

  # One index entry per tag: containerd names each imported image after
  # the io.containerd.image.name annotation.
  local entries="" tag
  for tag in "$@"; do
    [ -n "$entries" ] && entries+=","
    entries+=$(printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}' \
      "$manifest" "$manifest_size" "$tag" "${tag##*:}")
  done
  printf '{"schemaVersion":2,"manifests":[%s]}' "$entries" >"$dir/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$dir" -cf "$out/$name.tar" .
  echo "built $out/$name.tar ($*)"
}

# pause
mkdir -p "$work/pause/bin"
gcc -static -Os -s -o "$work/pause/bin/pause" "$here/pause.c"
oci_image pause "$work/pause" '["/bin/pause"]' localhost/oxkube/pause:1.0

# busybox: the static binary plus one link per applet, a passwd/group with
# root and nobody (runAsUser tests), and /tmp.
rb=$work/busybox
mkdir -p "$rb/bin" "$rb/etc" "$rb/tmp" "$rb/var/www" "$rb/root"
chmod 1777 "$rb/tmp"
cp "$busybox" "$rb/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$rb/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rb/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rb/etc/group"
oci_image busybox "$rb" '["sh"]' localhost/oxkube/busybox:1.0 docker.io/library/busybox:latest

if [ -n "$sock" ]; then
  for image in pause busybox; do
    ctr --address "$sock" -n k8s.io images import "$out/$image.tar" >/dev/null
  done
  echo "imported into $sock (namespace k8s.io)"
fi
