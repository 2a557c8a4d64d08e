#!/usr/bin/env bash
# Builds an optional Jupyter session image locally (no registry needed):
#   localhost/berth-jupyter  Debian bookworm's Jupyter Notebook 6.4 (jupyter-notebook,
#                            python3-ipykernel) on :8888 as user jovyan, tini as init,
#                            declared with the label berth.service-ports=jupyter:http:8888
# Jupyter runs without a token or password: Berth's app proxy admits only the
# session's owner. It trusts the proxy's X-Forwarded-* headers and accepts any
# Origin and Host, since it is reached as http://<label>.apps.localhost:<port>.
#
# The root file system comes from debootstrap and Debian's mirror (the one in
# /etc/apt/sources.list.d/debian.sources, or BERTH_DEBIAN_MIRROR); downloaded
# packages stay in var/cache/debootstrap (git-ignored) for the next build.
# Needs root (debootstrap chroots). Takes a few minutes.
# Usage: examples/images/jupyter/build.sh [--if-missing]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
image=localhost/berth-jupyter:latest
suite=bookworm
cache="$repo/var/cache/debootstrap"
hash=$(sha256sum <"$here/build.sh" | cut -c1-16)

case "${1:-}" in
  "" | --if-missing) ;;
  *) echo "usage: $0 [--if-missing]" >&2; exit 2 ;;
esac

if [ "${1:-}" = "--if-missing" ] && podman image exists "$image" 2>/dev/null; then
  # rebuild only when this script changed since the image was built
  stamp=$(podman image inspect --format '{{index .Labels "berth.source-hash"}}' "$image" 2>/dev/null || true)
  [ "$stamp" = "$hash" ] && { echo "image $image is up to date"; exit 0; }
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "building $image needs root (debootstrap chroots): sudo $0 $*" >&2
  command -v debootstrap >/dev/null || echo "it also needs debootstrap: sudo apt-get install debootstrap" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null; then
  echo "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

mirror=${BERTH_DEBIAN_MIRROR:-}
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list.d/debian.sources ]; then
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
mirror=${mirror:-http://deb.debian.org/debian}

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-jupyter.XXXXXX")
root="$work/rootfs"
cleanup() {
  # debootstrap mounts proc and sys in the target; a failed run can leave them behind
  awk -v r="$root/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" || true
  done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

start=$SECONDS
mkdir -p "$cache"
echo "debootstrap $suite from $mirror (cache $cache)"
# python3-cffi-backend and libboost-regex1.74.0 provide virtual packages that
# python3-zmq and gdb (via ipykernel → debugpy) need: debootstrap does not resolve those.
if ! debootstrap --variant=minbase --cache-dir="$cache" \
  --include=python3,jupyter-notebook,python3-notebook,python3-ipykernel,python3-cffi-backend,libboost-regex1.74.0,tini \
  "$suite" "$root" "$mirror" >"$work/debootstrap.out" 2>&1; then
  tail -n 20 "$work/debootstrap.out" >&2
  [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 20 "$root/debootstrap/debootstrap.log" >&2
  echo "debootstrap failed" >&2
  exit 1
fi
echo "debootstrap done in $((SECONDS - start)) s"

chroot "$root" useradd -m -u 1000 -U -s /bin/bash jovyan

# keep later apt installs (podman build FROM this image) lean
mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
printf '%s\n' 'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright' \
  'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/info/*' \
  'path-exclude=/usr/share/locale/*' 'path-include=/usr/share/locale/locale.alias' \
  >"$root/etc/dpkg/dpkg.cfg.d/01-nodoc"

# trim: the copied .debs, apt lists, man/info, docs except copyright, translations, logs
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* \
  "$root"/var/log/* "$root"/tmp/* "$root"/var/tmp/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
  "$root/usr/share/lintian" "$root/debootstrap"
find "$root/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
: >"$root/etc/machine-id"

old=$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
tar -C "$root" --numeric-owner -cf - . | podman import -q \
  --change 'ENTRYPOINT ["/usr/bin/tini", "-s", "--"]' \
  --change 'CMD ["jupyter", "notebook", "--no-browser", "--ip=0.0.0.0", "--port=8888", "--NotebookApp.token=", "--NotebookApp.password=", "--NotebookApp.allow_origin=*", "--NotebookApp.allow_remote_access=True", "--NotebookApp.trust_xheaders=True", "--NotebookApp.disable_check_xsrf=True", "--NotebookApp.notebook_dir=/home/jovyan"]' \
  --change 'USER jovyan' --change 'WORKDIR /home/jovyan' \
  --change 'ENV HOME=/home/jovyan' --change 'ENV LANG=C.UTF-8' --change 'ENV SHELL=/bin/bash' \
  --change 'ENV PYDEVD_DISABLE_FILE_VALIDATION=1' --change 'EXPOSE 8888' \
  --change 'LABEL berth.service-ports=jupyter:http:8888' \
  --change "LABEL berth.source-hash=$hash" \
  --change 'LABEL org.opencontainers.image.title=berth-jupyter' \
  - "$image" >/dev/null
# drop the image this one replaced, unless something still uses it
new=$(podman image inspect --format '{{.Id}}' "$image")
if [ -n "$old" ] && [ "$old" != "$new" ]; then
  podman rmi "$old" >/dev/null 2>&1 || true
fi
echo "built $image in $((SECONDS - start)) s"
