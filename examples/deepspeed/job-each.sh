#!/bin/bash
# DeepSpeed without ssh, for `srun-docker --launcher=each`: every node runs this script and
# DeepSpeed starts only this node's ranks (--no_ssh, --node_rank). The hostfile still tells
# it the world: every node's slots.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export NCCL_SOCKET_IFNAME=${NCCL_SOCKET_IFNAME:-^docker0,lo}
exec deepspeed --hostfile="$HOSTFILE" --no_ssh --node_rank="$NODE_RANK" \
  --master_addr="$MASTER_ADDR" --master_port="$MASTER_PORT" \
  "$here/train.py" --deepspeed --deepspeed_config="$here/ds_config.json" "$@"
