#!/bin/bash
# DeepSpeed's own multi-node launcher (pdsh), from the first node's container.
# srun-docker writes $HOSTFILE (`node1 slots=8` lines, DeepSpeed's format; slots = GPUs per
# node or --slots_per_node) and sets MASTER_ADDR/MASTER_PORT. pdsh runs `ssh`, which in the
# container is srun-docker's agent (first on PATH); it reads no ssh config, so ~/.ssh/config
# does not matter. (With --remote=sshd it is the image's ssh, and a Host block in
# ~/.ssh/config that matches the nodes overrides the job's client config: remove such
# blocks.) Extra arguments go to train.py.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export NCCL_SOCKET_IFNAME=${NCCL_SOCKET_IFNAME:-^docker0,lo}
# DeepSpeed forwards the variables listed in ~/.deepspeed_env to the other nodes; it also
# forwards NCCL_* and PYTHON* by itself.
echo "hostfile $HOSTFILE:"; cat "$HOSTFILE"
exec deepspeed --hostfile="$HOSTFILE" --launcher=pdsh \
  --master_addr="$MASTER_ADDR" --master_port="$MASTER_PORT" \
  "$here/train.py" --deepspeed --deepspeed_config="$here/ds_config.json" "$@"
