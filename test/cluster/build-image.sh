#!/usr/bin/env bash
# Builds a test image's root filesystem without any container registry: debootstrap a
# minimal Debian bookworm with sshd, the ssh client and OpenMPI, and pack it as a tarball
# that `docker import` takes. The tarball is cached, so reruns skip debootstrap. (The image
# without sshd and ssh is made from the base one on each node: lib.sh, derive_nossh_image.)
#
#   build-image.sh [base]   rootfs-bookworm.tar        (srun-docker-test:latest, with pdsh)
#   build-image.sh torch    rootfs-bookworm-torch.tar  (the same + Debian's python3-torch, CPU;
#                           srun-docker-test-torch:latest, for the PyTorch DDP example)
#
# debootstrap installs Depends only, never Recommends, which keeps python3-torch's closure
# as small as Debian allows.
set -euo pipefail

cache_dir=${SDTC_CACHE:-/var/cache/srun-docker-testcluster}
packages=bash,openssh-server,openssh-client,openmpi-bin,python3,python3-mpi4py,procps,iproute2,iputils-ping,ca-certificates
case "${1:-base}" in
  # pdsh: DeepSpeed's and the reference's multi-node launcher (over ssh, or the agent as ssh).
  base) tarball="$cache_dir/rootfs-bookworm.tar" packages="$packages,pdsh" ;;
  torch) tarball="$cache_dir/rootfs-bookworm-torch.tar" packages="$packages,python3-torch" ;;
  *) echo "usage: build-image.sh [base|torch]" >&2; exit 2 ;;
esac

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
if [[ ${1:-base} == torch ]]; then
  # python3-torch's Depends drag in OpenCV, FFmpeg, GDAL and Qt (libtorch_cpu links them, so
  # they stay) and through them packages that `import torch` never loads: LLVM and Mesa for
  # OpenGL, libtorch's test binaries, sympy, OCR, map and keyboard data. Their files go (about
  # 400 MB); the dpkg database still lists them, which a throwaway test image can live with.
  for pkg in libllvm15 libz3-4 libgl1-mesa-dri libtorch-test python3-sympy python3-mpmath \
    libtesseract5 liblept5 proj-data gdal-data iso-codes xkb-data shared-mime-info fonts-dejavu-core; do
    for list in "$work/root/var/lib/dpkg/info/$pkg.list" "$work/root/var/lib/dpkg/info/$pkg:amd64.list"; do
      [[ -f $list ]] || continue
      while read -r file; do
        if [[ -L $work/root$file || -f $work/root$file ]]; then rm -f "$work/root$file"; fi
      done <"$list"
    done
  done
  rm -rf "$work/root/usr/lib/python3/dist-packages/sympy" "$work/root/usr/lib/python3/dist-packages/mpmath"
fi
# Trim what a job never needs; keeps the import into every node fast.
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"* \
  "$work/root/usr/share/doc" "$work/root/usr/share/man" "$work/root/usr/share/locale"
tar --numeric-owner -C "$work/root" -cf "$tarball.tmp" .
mv "$tarball.tmp" "$tarball"
echo "$packages" >"$tarball.packages"
echo "$tarball"
