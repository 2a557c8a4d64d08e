#!/usr/bin/env bash
# Installs the system packages Berth needs on Debian/Ubuntu, only those that
# are missing. As root it runs apt-get; otherwise it prints the command.
# It never touches /etc/containers/containers.conf or system services:
# Berth's own Podman service reads var/podman/containers.conf instead.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

have podman        || need+=(podman)
pkg runc           || need+=(runc)
pkg conmon         || need+=(conmon)
pkg netavark       || need+=(netavark)
pkg aardvark-dns   || need+=(aardvark-dns)
have iptables      || need+=(iptables)
pkg catatonit      || need+=(catatonit)
pkg slirp4netns    || need+=(slirp4netns)
pkg uidmap         || need+=(uidmap)
pkg busybox-static || need+=(busybox-static)
have curl          || need+=(curl)
have valkey-server || have redis-server || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || have initdb || need+=(postgresql)
have wat2wasm      || need+=(wabt)

if ! have go; then
  echo "Go 1.26 or newer is needed (https://go.dev/dl/); it is not in Debian 12's archive at that version." >&2
  exit 1
fi

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
cmd="apt-get install -y --no-install-recommends ${need[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "Berth needs these packages; run as root:" >&2
  echo "  apt-get update && $cmd" >&2
  exit 1
fi
echo "installing: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
$cmd -qq
