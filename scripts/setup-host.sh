#!/usr/bin/env bash
# Installs what srun-docker's tests and demo need on a fresh Debian 12 machine (as root):
# Docker engine, Slurm, munge, debootstrap, and the project's npm packages. Package scripts
# must not start daemons on the host: the test cluster starts its own, one set per node.
set -euo pipefail
cd "$(dirname "$0")/.."

# libpmix-dev: Debian's Slurm PMIx plugin (srun --mpi=pmix, for --launcher=srun) dlopens
# pmix2/lib/libpmix.so, which only that package ships; slurmd loads it when it starts.
# docker-registry (distribution 2.8), apache2-utils (htpasswd -B), openssl, skopeo (pushes
# the test images) and curl: the test cluster's TLS registries (test/cluster/registry.sh).
# tcpdump: the security suite captures a job's own handshakes on the cluster's bridge to
# replay them (test/e2e/security.test.ts).
# lintian, man-db and groff-base: `npm run release`'s Debian package is checked by lintian, its
# man page rendered by groff and man (src/cli/man-page.test.ts, test/e2e/install.test.ts).
# lua5.3 and its modules: Lmod, which that test runs from /opt/sdtc-lmod (below).
packages=(docker.io slurmctld slurmd slurm-client munge openssh-client openssh-server libpmix-dev debootstrap iproute2
  dnsmasq-base iptables jq procps psmisc util-linux passwd ca-certificates time
  podman uidmap fuse-overlayfs slirp4netns catatonit
  docker-registry apache2-utils openssl skopeo curl tcpdump lintian man-db groff-base
  lua5.3 lua-posix lua-filesystem lua-term lua-json tcl)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  created_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  ((created_policy)) && rm -f /usr/sbin/policy-rc.d
fi

# Debian's Lmod, unpacked but not installed: installed, its /etc/profile.d hook would set
# BASH_ENV and MODULEPATH in every login shell of the machine, the test users' included.
# test/e2e/install.test.ts runs its `lmod` from here to load the release's modulefile.
if [[ ! -x /opt/sdtc-lmod/usr/share/lmod/lmod/libexec/lmod ]]; then
  lmod_tmp=$(mktemp -d)
  (cd "$lmod_tmp" && apt-get download -q lmod)
  mkdir -p /opt/sdtc-lmod
  dpkg -x "$lmod_tmp"/lmod_*.deb /opt/sdtc-lmod
  rm -rf "$lmod_tmp"
fi

# The unit tests check generated sshd configs with `sshd -t`, which as root wants sshd's
# privilege separation directory (systemd makes it when it starts sshd; nothing starts it here).
install -d -m 0755 /run/sshd

[[ -d node_modules ]] || npm ci --no-audit --no-fund
npm run build
