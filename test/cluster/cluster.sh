#!/usr/bin/env bash
# A real multi-node Slurm + Docker cluster on one machine, for srun-docker's end-to-end tests.
#
# Each node is a separate host: its own network namespace (veth to a bridge), hostname (UTS
# namespace) and private mount namespace, held open by one long-lived "holder" process. The
# node's dockerd and slurmd are started inside the holder's namespaces, so the job steps that
# slurmd forks see the node's hostname, network and docker socket. slurmctld, munged, a
# DNS server for the cluster's names and two container registries run in the host namespace.
# Nodes declare the machine's CPUs and a share of its memory; Slurm allocates both and binds
# tasks to CPUs (slurm.conf.in).
#
#   cluster.sh up N        bring up N nodes (recovers from a half-dead earlier run first),
#                          with the images srun-docker-test and srun-docker-test-torch, each
#                          also as IMAGE-nossh (no sshd, no ssh client)
#                          (SDTC_TORCH=0: without the torch one), in the slurm.conf profile
#                          SDTC_PROFILE (default: `default`)
#   cluster.sh profile P   switch the running cluster to profile P: `default` (the Epilog
#                          line of the docs, KillWait=30) or `strict` (no Epilog, KillWait=5)
#   cluster.sh down        stop everything of ours; leaves only cached images (and the
#                          registries' storage, CA and password) on disk
#   cluster.sh status      what is running
#   cluster.sh exec K CMD  run CMD inside node K (as root; use `su - alice -c` for the user)
#   cluster.sh stop-docker K / start-docker K   take node K's docker daemon down / up again
#   cluster.sh registry stop|start [open|private]   take the registries (both, or one) away
#                          and bring them back; `up` starts both (registry.sh: TLS, htpasswd,
#                          the test images pushed to them, never pulled by the nodes)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=registry.sh
source "$here/registry.sh"

cmd_up() {
  local n=${1:?usage: cluster.sh up N} kind
  [[ $n =~ ^[1-9][0-9]?$ && $n -le 16 ]] || die "up: N must be 1..16, got '$n'"
  cmd_down >/dev/null
  need_root
  mkdir -p "$STATE/run" "$STATE/log" "$STATE/nodes"
  echo "$n" >"$STATE/run/size"
  ensure_users
  # The torch image is for the PyTorch DDP example; SDTC_TORCH=0 skips it (the quick demo).
  local images
  images=("$("$here/build-image.sh" base)" "$IMAGE")
  [[ ${SDTC_TORCH:-1} == 0 ]] || images+=("$("$here/build-image.sh" torch)" "$TORCH_IMAGE")
  start_munge
  write_hosts "$n"
  start_bridge
  start_dns
  setup_registries
  for kind in "${REGISTRY_KINDS[@]}"; do start_registry "$kind"; done
  write_slurm_conf "$n" "${SDTC_PROFILE:-default}"
  local k
  for k in $(seq 1 "$n"); do start_node "$k"; done
  start_slurmctld
  for k in $(seq 1 "$n"); do start_slurmd "$k"; done
  # node1 makes the images; every other node loads node1's very images (the same image IDs, as a
  # site's nodes get one image from a registry or one archive: srun-docker checks that they match).
  prepare_node_docker 1 "${images[@]}" || die "up: preparing node1's docker failed (see above)"
  local archive pids=()
  archive=$(save_node1_images "${images[@]}") || die "up: saving node1's images failed (see above)"
  for k in $(seq 1 "$n"); do
    share_node1_images "$k" "$archive" "${images[@]}" &
    pids+=($!)
  done
  local pid
  for pid in "${pids[@]}"; do wait "$pid" || die "up: loading node1's images on a node failed (see above)"; done
  for k in $(seq 1 "$n"); do
    share_node1_images_podman "$k" "$archive" "${images[@]}" || die "up: loading node1's images into node$k's Podman failed"
  done
  push_registry_images
  wait_nodes_idle "$n"
  echo "cluster up: $n nodes ($(node_names "$n")), profile $(cat "$STATE/run/profile"), images $(printf '%s\n' "${images[@]}" | sed -n '2~2p' | xargs), each also -nossh"
  echo "registries: $(registry_host open) (open), $(registry_host private) (private, user $REGISTRY_USER), see $REGISTRY_DIR/registry.json"
}

cmd_down() {
  need_root
  local n k kind
  n=$(cat "$STATE/run/size" 2>/dev/null || echo 0)
  # Nodes from an earlier, larger run may still exist: go by what is there, not by size.
  for k in $(existing_node_indexes "$n"); do stop_node "$k"; done
  stop_pidfile slurmctld "$STATE/run/slurmctld.pid"
  for kind in "${REGISTRY_KINDS[@]}"; do stop_registry "$kind"; done
  remove_registry_from_head
  stop_pidfile dnsmasq "$STATE/run/dnsmasq.pid"
  stop_pidfile munged "$STATE/run/munged.pid"
  stop_bridge
  remove_slurm_conf
  rm -f "$STATE/run/"*.pid "$STATE/run/"*.ready "$STATE/run/size"
  echo "cluster down"
}

cmd_profile() {
  local profile=${1:?usage: cluster.sh profile default|strict} n i
  need_root
  n=$(cat "$STATE/run/size" 2>/dev/null || echo 0)
  [[ $n != 0 ]] || die "profile: the cluster is not up"
  profile_settings "$profile" >/dev/null
  write_slurm_conf "$n" "$profile"
  scontrol reconfigure
  # slurmctld applies it at once; wait until it reports the profile's KillWait.
  local want config
  want=$(profile_settings "$profile")
  for i in $(seq 1 50); do
    config=$(scontrol show config 2>/dev/null || true)
    grep -Eq "^KillWait +=  *${want%% *} sec" <<<"$config" && { echo "profile $profile"; return 0; }
    sleep 0.2
  done
  die "profile: slurmctld did not take profile $profile"
}

cmd_status() {
  local n k holder
  n=$(cat "$STATE/run/size" 2>/dev/null || echo 0)
  if [[ $n == 0 ]]; then echo "cluster: down"; return 0; fi
  echo "cluster: $n nodes, profile $(cat "$STATE/run/profile" 2>/dev/null || echo '?'), state in $STATE"
  for k in $(seq 1 "$n"); do
    holder=$(cat "$STATE/run/holder-node$k.pid" 2>/dev/null || true)
    printf 'node%s holder=%s dockerd=%s slurmd=%s\n' "$k" \
      "$(alive_word "$holder")" \
      "$(alive_word "$(cat "$STATE/run/dockerd-node$k.pid" 2>/dev/null || true)")" \
      "$(alive_word "$(cat "$STATE/run/slurmd-node$k.pid" 2>/dev/null || true)")"
  done
  for kind in "${REGISTRY_KINDS[@]}"; do
    echo "registry $kind $(registry_host "$kind") $(alive_word "$(cat "$STATE/run/registry-$kind.pid" 2>/dev/null || true)")"
  done
  sinfo -N -h -o '%N %T' 2>/dev/null || echo "sinfo: controller not answering"
}

cmd_exec() {
  local k=${1:?usage: cluster.sh exec K CMD...}
  shift
  [[ $# -gt 0 ]] || die "exec: no command given"
  local holder
  holder=$(cat "$STATE/run/holder-node$k.pid" 2>/dev/null) || die "exec: node$k is not up"
  exec nsenter -t "$holder" --net --uts --mount -- "$@"
}

# A node whose docker daemon is down, for fault tests; containers it ran are gone with it.
cmd_stop_docker() {
  local k=${1:?usage: cluster.sh stop-docker K}
  stop_pidfile dockerd "$STATE/run/dockerd-node$k.pid"
}

cmd_start_docker() {
  local k=${1:?usage: cluster.sh start-docker K}
  pid_alive "$(cat "$STATE/run/dockerd-node$k.pid" 2>/dev/null || true)" && return 0
  start_dockerd "$k"
  wait_dockerd "$k"
}

# Takes the registries (both, or the one named) away, or brings them back with the same
# storage, certificate and password; the access logs go on.
cmd_registry() {
  local action=${1:-} kinds=("${REGISTRY_KINDS[@]}") kind
  [[ $action == stop || $action == start ]] || die "usage: cluster.sh registry stop|start [open|private]"
  [[ -z ${2:-} ]] || { registry_port "$2" >/dev/null; kinds=("$2"); }
  need_root
  [[ -s $REGISTRY_DIR/registry.json && -s $STATE/run/size ]] || die "registry: the cluster is not up"
  for kind in "${kinds[@]}"; do
    if [[ $action == stop ]]; then stop_registry "$kind"; else start_registry "$kind"; fi
  done
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  exec) shift; cmd_exec "$@" ;;
  profile) shift; cmd_profile "$@" ;;
  stop-docker) shift; cmd_stop_docker "$@" ;;
  start-docker) shift; cmd_start_docker "$@" ;;
  registry) shift; cmd_registry "$@" ;;
  *) echo "usage: cluster.sh up N | down | status | profile default|strict | exec K CMD... | stop-docker K | start-docker K | registry stop|start [open|private]" >&2; exit 2 ;;
esac
