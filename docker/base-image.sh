#!/usr/bin/env bash
# Make the Debian bookworm base image locally (no registry needed): debootstrap a minimal root file
# system and `docker import` it. Only done when the image is missing, so CI pays ~30-60 s once per machine.
#   usage: docker/base-image.sh [IMAGE]        (default deepwell/base:bookworm)
set -euo pipefail
image=${1:-deepwell/base:bookworm}
if docker image inspect "$image" >/dev/null 2>&1; then
  echo "base image $image: cached"
  exit 0
fi
command -v debootstrap >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}
root=$(mktemp -d /tmp/deepwell-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "base image $image: debootstrap bookworm (minbase) into $root"
debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/tmp/deepwell-debootstrap.log 2>&1 \
  || { tail -20 /tmp/deepwell-debootstrap.log; exit 1; }
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import - "$image" >/dev/null
echo "base image $image: imported"
