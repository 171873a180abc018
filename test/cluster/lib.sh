# Functions behind cluster.sh. Everything of ours is named "sdtc" (srun-docker test cluster)
# so that `down` can find and remove exactly what `up` made, even after a killed run.

STATE=${SDTC_STATE:-/var/lib/srun-docker-testcluster}
IMAGE=${SDTC_IMAGE:-srun-docker-test:latest}
# The same + Debian's python3-torch (CPU), for the PyTorch DDP example (build-image.sh torch).
TORCH_IMAGE=${SDTC_TORCH_IMAGE:-srun-docker-test-torch:latest}
# Every image also comes without sshd or an ssh client, as most images people run are (NGC,
# python): srun-docker-test-nossh:latest, srun-docker-test-torch-nossh:latest (nossh_name).
BRIDGE=sdtc0
NET_PREFIX=10.213.0          # used only on the bridge and inside the node namespaces
HEAD_ADDR=$NET_PREFIX.254
SLURM_CONF=/etc/slurm/slurm.conf
MARKER="# managed by srun-docker test cluster (sdtc)"
# Users whose suites run rootless Podman: the test image is imported into their per-node storage.
PODMAN_USERS=${SDTC_PODMAN_USERS:-erin}

die() { echo "cluster.sh: $*" >&2; exit 1; }
need_root() { [[ $(id -u) == 0 ]] || die "must run as root"; }
node_names() { local n=$1; if [[ $n == 1 ]]; then echo node1; else echo "node[1-$n]"; fi; }

# A pid counts as gone once it has exited or is a zombie: PID 1 here reaps orphans only
# now and then, so a zombie may linger long after the process ended.
pid_alive() {
  local pid=$1 state
  [[ -n $pid && -d /proc/$pid ]] || return 1
  state=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}
alive_word() { if pid_alive "$1"; then echo "up($1)"; else echo down; fi; }

# Stops a process we started, by the pid in its pidfile, only if it still is that program
# (a pid left by a killed run may have been reused by someone else's process).
stop_pid() {
  local name=$1 pid=$2 i
  pid_alive "$pid" || return 0
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name"* ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do pid_alive "$pid" || return 0; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  for i in $(seq 1 25); do pid_alive "$pid" || return 0; sleep 0.2; done
  echo "cluster.sh: warning: $name ($pid) did not stop" >&2
}
stop_pidfile() { local pid; pid=$(cat "$2" 2>/dev/null || true); stop_pid "$1" "$pid"; rm -f "$2"; }

ensure_users() {
  getent group docker >/dev/null || groupadd --system docker
  getent group research >/dev/null || groupadd -g 2001 research
  local spec user uid
  # alice and bob for the orchestrator and isolation suites; carol, dave, erin and frank so
  # that other suites (bench, examples, podman, registry) never touch the same user's jobs,
  # containers and logins.
  for spec in alice:1001 bob:1002 carol:1003 dave:1004 erin:1005 frank:1006; do
    user=${spec%%:*} uid=${spec##*:}
    id "$user" >/dev/null 2>&1 || useradd -m -u "$uid" -s /bin/bash "$user"
    usermod -aG docker "$user"
    # Home mode 0711, the reference's `chmod o+x $HOME` pitfall made explicit.
    chmod 0711 "/home/$user"
  done
  usermod -aG research alice
}

start_munge() {
  mkdir -p "$STATE/munge"
  chmod 0700 "$STATE/munge"
  [[ -s $STATE/munge/munge.key ]] || mungekey --create --keyfile="$STATE/munge/munge.key" >/dev/null
  chmod 0400 "$STATE/munge/munge.key"
  munged --force --socket="$STATE/munge/munge.socket" --key-file="$STATE/munge/munge.key" \
    --pid-file="$STATE/run/munged.pid" --log-file="$STATE/log/munged.log" \
    --seed-file="$STATE/munge/munged.seed"
  # Users' srun/sbatch talk to munged through this socket; its directory must be searchable.
  chmod 0755 "$STATE/munge"
}

write_hosts() {
  local n=$1 k
  {
    for k in $(seq 1 "$n"); do echo "$NET_PREFIX.$k node$k"; done
    echo "$HEAD_ADDR sdtc-head $REGISTRY_NAME"
  } >"$STATE/hosts"
}

start_bridge() {
  ip link add "$BRIDGE" type bridge
  ip addr add "$HEAD_ADDR/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # The host's FORWARD policy may be DROP (bridged traffic can pass through iptables).
  iptables -I FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT -m comment --comment sdtc
}

stop_bridge() {
  while iptables -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT -m comment --comment sdtc 2>/dev/null; do :; done
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE"; fi
}

# Answers only the cluster's names, so a container whose /etc/hosts Docker rewrote (any
# --add-host does that) still resolves the other nodes, as on a real cluster.
start_dns() {
  dnsmasq --conf-file=/dev/null --no-resolv --no-hosts --no-poll --domain-needed \
    --addn-hosts="$STATE/hosts" --listen-address="$HEAD_ADDR" --bind-interfaces \
    --pid-file="$STATE/run/dnsmasq.pid" --log-facility="$STATE/log/dnsmasq.log"
}

# Profiles of slurm.conf. default: the Epilog line the docs give to admins, KillWait=30 (the
# demo). strict: no Epilog and KillWait=5, so that no test of teardown can pass because Slurm
# cleaned up for us.
profile_settings() {
  case $1 in
    default) echo "30 Epilog=$STATE/bin/epilog" ;;
    strict) echo "5 # no Epilog: srun-docker's own teardown and dead man's switch only" ;;
    *) die "unknown profile '$1' (default or strict)" ;;
  esac
}

write_slurm_conf() {
  local n=$1 profile=${2:-default} k settings killwait epilog_line hardware
  settings=$(profile_settings "$profile")
  hardware=$(node_hardware "$n")
  killwait=${settings%% *} epilog_line=${settings#* }
  if [[ -f $SLURM_CONF ]] && ! grep -qF "$MARKER" "$SLURM_CONF"; then
    cp -p "$SLURM_CONF" "$STATE/slurm.conf.orig"
  fi
  mkdir -p /etc/slurm "$STATE/slurmctld"
  rm -rf "${STATE:?}/slurmctld/"*
  {
    echo "$MARKER"
    sed -e "s|@STATE@|$STATE|g" -e "s|@HEAD@|$(hostname -s)($HEAD_ADDR)|" \
      -e "s|@KILLWAIT@|$killwait|" -e "s|@EPILOG_LINE@|$epilog_line|" "$here/slurm.conf.in"
    for k in $(seq 1 "$n"); do
      echo "NodeName=node$k NodeAddr=$NET_PREFIX.$k $hardware State=UNKNOWN"
    done
    echo "PartitionName=debug Nodes=$(node_names "$n") Default=YES MaxTime=INFINITE State=UP"
  } >"$SLURM_CONF"
  echo "$profile" >"$STATE/run/profile"
  mkdir -p "$STATE/bin"
  cp "$here/node-bin/"* "$STATE/bin/"
}

# What every node declares: the CPUs, sockets, cores and threads that this machine has (as
# `slurmd -C` sees them, so task/affinity binds to CPUs that exist) and an equal share of its
# memory, so that the nodes together never promise more than the machine has.
node_hardware() {
  local n=$1 line cpus memory
  line=$(slurmd -C | head -n1)
  cpus=$(grep -o 'CPUs=.* ThreadsPerCore=[0-9]*' <<<"$line") || die "slurmd -C: no CPUs in '$line'"
  memory=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$line")
  [[ -n $memory ]] || die "slurmd -C: no RealMemory in '$line'"
  echo "$cpus RealMemory=$((memory / n))"
}

remove_slurm_conf() {
  if [[ -f $SLURM_CONF ]] && grep -qF "$MARKER" "$SLURM_CONF"; then rm -f "$SLURM_CONF"; fi
  if [[ -f $STATE/slurm.conf.orig ]]; then mv "$STATE/slurm.conf.orig" "$SLURM_CONF"; fi
}

start_node() {
  local k=$1 ns=sdtc-node$1 dir=$STATE/nodes/node$1 i
  mkdir -p "$dir/etc/docker" "$STATE/slurmd/node$k" /etc/docker
  write_node_podman_conf "$k"
  install_registry_ca "$dir/etc"
  { echo "127.0.0.1 localhost"; echo "::1 localhost ip6-localhost"; cat "$STATE/hosts"; } >"$dir/etc/hosts"
  printf 'nameserver %s\noptions timeout:1 attempts:2\n' "$HEAD_ADDR" >"$dir/etc/resolv.conf"
  ip netns add "$ns"
  ip link add "sdtc-v$k" type veth peer name eth0 netns "$ns"
  ip link set "sdtc-v$k" master "$BRIDGE" up
  ip -n "$ns" addr add "$NET_PREFIX.$k/24" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  rm -f "$STATE/run/node$k.ready"
  # The holder: enters the netns, then gets its own hostname and a private mount namespace
  # (slave, so host mounts still arrive) with the node's /etc/hosts, resolv.conf, /run and /tmp.
  setsid nsenter --net="/run/netns/$ns" -- unshare --uts --mount --propagation slave -- /bin/sh -c "
    set -e
    hostname node$k
    mount --bind '$dir/etc/hosts' /etc/hosts
    mount --bind '$dir/etc/resolv.conf' /etc/resolv.conf
    mount --bind '$dir/etc/docker' /etc/docker
    if [ -d /etc/containers ]; then mount --bind '$dir/etc/containers' /etc/containers; fi
    mount -t tmpfs -o mode=0755 sdtc-run /run
    mkdir -p /run/lock /run/sshd
    mount -t tmpfs -o mode=1777 sdtc-tmp /tmp
    touch '$STATE/run/node$k.ready'
    exec sleep infinity" </dev/null >>"$STATE/log/holder-node$k.log" 2>&1 &
  echo $! >"$STATE/run/holder-node$k.pid"
  for i in $(seq 1 100); do [[ -e $STATE/run/node$k.ready ]] && break; sleep 0.05; done
  [[ -e $STATE/run/node$k.ready ]] || die "node$k: holder did not start (see $STATE/log/holder-node$k.log)"
  start_dockerd "$k"
}

# `nvidia` stands in for nvidia-docker2's runtime (no GPUs here): --nvdock2 runs end to end.
# Closes every descriptor but stdin, stdout and stderr in this (sub)shell, before it starts a
# daemon. A fault test that restarts a daemon may run under `flock LOCK npx vitest ...`: the
# lock's descriptor, inherited, would be held for the daemon's whole life, and every later test
# run waiting on it would hang.
close_inherited_fds() {
  local fd
  for fd in $(ls "/proc/$BASHPID/fd"); do
    if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

start_dockerd() {
  local k=$1 dir=$STATE/nodes/node$1
  (
    close_inherited_fds
    in_node "$k" env PATH="$STATE/bin:/usr/sbin:/usr/bin:/sbin:/bin" setsid dockerd \
      --data-root "$dir/docker" --exec-root /run/docker --pidfile "$STATE/run/dockerd-node$k.pid" \
      -H unix:///run/docker.sock --group docker --bridge=none --iptables=false --ip6tables=false \
      --ip-masq=false --userland-proxy=false --cgroup-parent="/sdtc-node$k" --log-level=warn \
      --add-runtime "nvidia=$STATE/bin/runc"
  ) </dev/null >>"$STATE/log/dockerd-node$k.log" 2>&1 &
}

wait_dockerd() {
  local k=$1 i
  for i in $(seq 1 150); do node_docker "$k" version >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "node$k: dockerd did not answer (see $STATE/log/dockerd-node$k.log)"
}

in_node() {
  local k=$1 holder
  shift
  holder=$(cat "$STATE/run/holder-node$k.pid")
  nsenter -t "$holder" --net --uts --mount -- "$@"
}

node_docker() {
  local k=$1
  shift
  docker -H "unix:///proc/$(cat "$STATE/run/holder-node$k.pid")/root/run/docker.sock" "$@"
}

# Usage: prepare_node_docker K TARBALL IMAGE [TARBALL IMAGE]...
prepare_node_docker() {
  local k=$1
  shift
  wait_dockerd "$k"
  # A fresh boot of the cluster: containers from an earlier run of it are gone.
  node_docker "$k" ps -aq | xargs -r docker -H "unix:///proc/$(cat "$STATE/run/holder-node$k.pid")/root/run/docker.sock" rm -f >/dev/null
  while [[ $# -ge 2 ]]; do
    import_image "$k" "$1" "$2"
    derive_nossh_image "$k" "$2"
    shift 2
  done
}

# The images node1 made (each also -nossh), saved once per set of image IDs into one archive
# under $STATE/images (world-readable: rootless Podman loads it as its user). Prints its path.
save_node1_images() {
  local names=() ids="" image archive
  while [[ $# -ge 2 ]]; do
    names+=("$2" "$(nossh_name "$2")")
    shift 2
  done
  for image in "${names[@]}"; do ids+=$(node_docker 1 image inspect -f '{{.Id}}' "$image"); done
  mkdir -p "$STATE/images"
  chmod 755 "$STATE/images"
  archive="$STATE/images/images-$(echo "$ids" | sha256sum | cut -c1-16).tar"
  if [[ ! -s $archive ]]; then
    rm -f "$STATE"/images/images-*.tar
    node_docker 1 save -o "$archive.tmp" "${names[@]}"
    chmod 644 "$archive.tmp"
    mv "$archive.tmp" "$archive"
  fi
  echo "$archive"
}

# Node K's Docker gets node1's images (loaded unless it has those IDs already).
share_node1_images() {
  local k=$1 archive=$2 names=() image want have stale=0
  shift 2
  while [[ $# -ge 2 ]]; do
    names+=("$2" "$(nossh_name "$2")")
    shift 2
  done
  if [[ $k != 1 ]]; then
    wait_dockerd "$k"
    node_docker "$k" ps -aq | xargs -r docker -H "unix:///proc/$(cat "$STATE/run/holder-node$k.pid")/root/run/docker.sock" rm -f >/dev/null
    for image in "${names[@]}"; do
      want=$(node_docker 1 image inspect -f '{{.Id}}' "$image")
      have=$(node_docker "$k" image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
      [[ $have == "$want" ]] || stale=1
    done
    if [[ $stale == 1 ]]; then
      node_docker "$k" load -q -i "$archive" >/dev/null
      node_docker "$k" image prune -f >/dev/null
    fi
  fi
}

# Each Podman user's store on node K gets node1's images too. Run one node at a time: rootless
# Podman commands of one user running at once on several nodes raced each other's pause process.
share_node1_images_podman() {
  local k=$1 archive=$2 names=() image want have stale user
  shift 2
  while [[ $# -ge 2 ]]; do
    names+=("$2" "$(nossh_name "$2")")
    shift 2
  done
  command -v podman >/dev/null || return 0
  for user in $PODMAN_USERS; do
    node_podman "$k" "$user" rm -af >/dev/null
    stale=0
    for image in "${names[@]}"; do
      want=$(node_docker 1 image inspect -f '{{.Id}}' "$image")
      have=$(node_podman "$k" "$user" image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
      [[ sha256:$have == "$want" || $have == "$want" ]] || stale=1
    done
    [[ $stale == 0 ]] || node_podman "$k" "$user" load -q -i "$archive" >/dev/null
    # Ends the user's pause process (what holds rootless podman's user namespace): the tests
    # count every process a user leaves on a node.
    node_podman "$k" "$user" system migrate
  done
}

# repo:tag → repo-nossh:tag
nossh_name() {
  echo "${1%:*}-nossh:${1##*:}"
}

# IMAGE without sshd and the ssh client: Debian's openmpi-bin and pdsh depend on
# openssh-client, so debootstrap cannot leave it out; the files go afterwards (one small
# layer on top). Redone when IMAGE changed.
derive_nossh_image() {
  local k=$1 image=$2 target image_id have
  target=$(nossh_name "$image")
  # The recipe's version rides along, so a change to it is redone too.
  image_id=$(node_docker "$k" image inspect -f '{{.Id}}' "$image")-2
  have=$(node_docker "$k" image inspect -f '{{index .Config.Labels "sdtc.base"}}' "$target" 2>/dev/null || true)
  [[ $have == "$image_id" ]] && return 0
  node_docker "$k" rm -f sdtc-nossh >/dev/null 2>&1 || true
  # The image has no ENTRYPOINT: the command is the rm, and CMD is put back to the image's.
  node_docker "$k" run --name sdtc-nossh "$image" rm -f \
    /usr/sbin/sshd /usr/bin/ssh /usr/bin/scp /usr/bin/slogin /usr/bin/sftp >/dev/null
  node_docker "$k" commit -c 'CMD ["/bin/bash"]' -c "LABEL sdtc.base=$image_id" sdtc-nossh "$target" >/dev/null
  node_docker "$k" rm -f sdtc-nossh >/dev/null
  # The image it replaces, untagged now.
  node_docker "$k" image prune -f >/dev/null
}

# Imports a rootfs tarball as IMAGE unless the node already has this very tarball (the
# sdtc.rootfs label holds its size and mtime), so a rebooted cluster skips the import.
import_image() {
  local k=$1 tarball=$2 image=$3 stamp have
  stamp=$(stat -c '%s-%Y' "$tarball")
  have=$(node_docker "$k" image inspect -f '{{index .Config.Labels "sdtc.rootfs"}}' "$image" 2>/dev/null || true)
  if [[ $have != "$stamp" ]]; then
    node_docker "$k" import -c "LABEL sdtc.rootfs=$stamp" -c 'CMD ["/bin/bash"]' "$tarball" "$image" >/dev/null
  fi
}

# Rootless Podman keeps each user's images and containers under a graphroot that must be on
# node-local disk (as podman-hpc does): the shared home would be one store written by every
# node at once. A node sees its own /etc/containers (the host's files plus a storage.conf)
# whose rootless_storage_path points into the node's directory; podman expands $USER there.
write_node_podman_conf() {
  local k=$1 dir=$STATE/nodes/node$1
  [[ -d /etc/containers ]] || return 0
  mkdir -p "$dir/etc/containers" "$dir/podman"
  chmod 1777 "$dir/podman"
  cp -a /etc/containers/. "$dir/etc/containers/"
  # Native overlay: rootless fuse-overlayfs needs /dev/fuse, which only root may open here.
  cat >"$dir/etc/containers/storage.conf" <<EOF
$MARKER
[storage]
driver = "overlay"
runroot = "/run/containers/storage"
graphroot = "$dir/podman/root"
rootless_storage_path = "$dir/podman/\$USER"
EOF
}

# Podman as the user inside node K, with the node's config and none of root's environment.
node_podman() {
  local k=$1 user=$2
  shift 2
  in_node "$k" runuser -u "$user" -- env -i -C / HOME="/home/$user" USER="$user" LOGNAME="$user" \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin podman "$@" 2> >(grep -v 'is not a shared mount' >&2)
}


start_slurmctld() {
  slurmctld -c -i
}

start_slurmd() {
  in_node "$1" slurmd -N "node$1"
}

wait_nodes_idle() {
  local n=$1 i idle
  for i in $(seq 1 120); do
    idle=$(sinfo -h -N -o '%T' 2>/dev/null | grep -c '^idle$' || true)
    [[ $idle == "$n" ]] && return 0
    sleep 0.5
  done
  sinfo -N 2>&1 >&2 || true
  die "up: $idle of $n nodes idle after 60 s (see $STATE/log)"
}

existing_node_indexes() {
  local n=$1
  {
    seq 1 "$n"
    ip netns list 2>/dev/null | sed -n 's/^sdtc-node\([0-9]*\).*/\1/p'
    ls "$STATE/run" 2>/dev/null | sed -n 's/^holder-node\([0-9]*\)\.pid$/\1/p'
  } | sort -un | grep -v '^0$' || true
}

stop_node() {
  local k=$1 ns=sdtc-node$1 holder pids pid i
  holder=$(cat "$STATE/run/holder-node$k.pid" 2>/dev/null || true)
  if pid_alive "$holder" && [[ -S /proc/$holder/root/run/docker.sock ]]; then
    node_docker "$k" ps -aq 2>/dev/null | xargs -r timeout 30 docker -H "unix:///proc/$holder/root/run/docker.sock" rm -f >/dev/null 2>&1 || true
  fi
  stop_pidfile slurmd "$STATE/run/slurmd-node$k.pid"
  stop_pidfile dockerd "$STATE/run/dockerd-node$k.pid"
  # Whatever still runs in the node's network namespace was started by us or our jobs.
  if ip netns list 2>/dev/null | grep -q "^$ns\b"; then
    for i in 1 2 3; do
      pids=$(ip netns pids "$ns" 2>/dev/null || true)
      [[ -z $pids ]] && break
      for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
      sleep 0.3
    done
    ip netns del "$ns" 2>/dev/null || true
  fi
  stop_pid sleep "$holder"
  ip link del "sdtc-v$k" 2>/dev/null || true
  local cg
  for cg in /sys/fs/cgroup/*/sdtc-node"$k"; do
    [[ -d $cg ]] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rm -f "$STATE/run/holder-node$k.pid" "$STATE/run/node$k.ready"
  return 0
}
