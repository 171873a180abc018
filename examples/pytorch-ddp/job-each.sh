#!/bin/bash
# For `--launcher=each`: srun-docker runs this script in every node's container, with
# NNODES, NODE_RANK, NPROC_PER_NODE (= --slots_per_node), MASTER_ADDR and MASTER_PORT set.
# torchrun starts NPROC_PER_NODE ranks here and meets the other nodes at MASTER_ADDR.
# Nothing here uses ssh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
echo "node $NODE_RANK of $NNODES on $(hostname): $NPROC_PER_NODE ranks, master $MASTER_ADDR:$MASTER_PORT"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# `python3 -m torch.distributed.run` is torchrun; some distributions ship no torchrun command.
# --redirects=1 --tee=1 (stdout to a log and copied to ours, lines prefixed "[default0]:"):
# torch 1.13 on Python 3.11, as in Debian 12, fails at start with the default redirect
# setting (0, "none"), which its parser no longer finds among the flag's members.
exec python3 -m torch.distributed.run \
  --nnodes="$NNODES" --node_rank="$NODE_RANK" --nproc_per_node="$NPROC_PER_NODE" \
  --master_addr="$MASTER_ADDR" --master_port="$MASTER_PORT" --redirects=1 --tee=1 \
  "$here/train.py" "$@"
