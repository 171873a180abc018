#!/usr/bin/env bash
# Builds the test image's root filesystem without any container registry: debootstrap a
# minimal Debian bookworm with sshd, the ssh client and OpenMPI, and pack it as a tarball
# that `docker import` takes. The tarball is cached, so reruns skip debootstrap.
set -euo pipefail

cache_dir=${SDTC_CACHE:-/var/cache/srun-docker-testcluster}
tarball="$cache_dir/rootfs-bookworm.tar"
packages=bash,openssh-server,openssh-client,openmpi-bin,python3,python3-mpi4py,procps,iproute2,iputils-ping,ca-certificates

if [[ -s "$tarball" && "$(cat "$tarball.packages" 2>/dev/null)" == "$packages" ]]; then
  echo "$tarball"
  exit 0
fi

mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$cache_dir"
work=$(mktemp -d "$cache_dir/rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT

debootstrap --variant=minbase --include="$packages" bookworm "$work/root" "$mirror" >&2
# Trim what a job never needs; keeps the import into every node fast.
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"* \
  "$work/root/usr/share/doc" "$work/root/usr/share/man" "$work/root/usr/share/locale"
tar --numeric-owner -C "$work/root" -cf "$tarball.tmp" .
mv "$tarball.tmp" "$tarball"
echo "$packages" >"$tarball.packages"
echo "$tarball"
