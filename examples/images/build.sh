#!/usr/bin/env bash
# Builds Berth's default session images locally (no registry needed):
#   localhost/berth-hello  busybox shell + the berth-hello web app on :8080,
#                          declared with the label berth.service-ports=web:http:8080
# Usage: examples/images/build.sh [--if-missing]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=localhost/berth-hello:latest

if [ "${1:-}" = "--if-missing" ] && podman image exists "$image" 2>/dev/null; then
  # rebuild only when the sources changed since the image was built
  stamp=$(podman image inspect --format '{{index .Labels "berth.source-hash"}}' "$image" 2>/dev/null || true)
  want=$(cat "$here/build.sh" "$here/hello/main.go" | sha256sum | cut -c1-16)
  [ "$stamp" = "$want" ] && { echo "image $image is up to date"; exit 0; }
fi

busybox=$(command -v busybox || true)
[ -n "$busybox" ] && file -L "$busybox" 2>/dev/null | grep -q 'statically linked' || busybox=/bin/busybox
[ -x "$busybox" ] || { echo "busybox-static is needed: apt-get install busybox-static" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" "$root/usr/local/bin" "$root/home/work"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for a in $("$root/bin/busybox" --list); do
  [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
echo 'hosts: files dns' > "$root/etc/nsswitch.conf"
(cd "$here/hello" && CGO_ENABLED=0 GOFLAGS= go build -trimpath -ldflags='-s -w' -o "$root/usr/local/bin/berth-hello" .)
hash=$(cat "$here/build.sh" "$here/hello/main.go" | sha256sum | cut -c1-16)
cat > "$work/Containerfile" <<CF
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/bin PORT=8080 HOME=/root
WORKDIR /home/work
EXPOSE 8080
LABEL berth.service-ports="web:http:8080" berth.source-hash="$hash" org.opencontainers.image.title="berth-hello"
CMD ["/usr/local/bin/berth-hello"]
CF
podman build -q -t "$image" "$work" >/dev/null
echo "built $image"
