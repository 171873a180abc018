#!/bin/bash
# Horovod + PyTorch MNIST across the job's nodes with mpirun, one rank per GPU (slot).
# Runs in the first node's container (ssh launcher); srun-docker sets hostlist and np, and
# OMPI_MCA_plm=rsh with OMPI_MCA_plm_rsh_agent, so mpirun starts the remote ranks through
# srun-docker's agent. Extra arguments go to the training script (e.g. --epochs 1).
set -euo pipefail
examples=${HOROVOD_EXAMPLES:-/horovod/examples}
[[ -d $examples ]] || examples=/examples
export SHELL=/bin/bash
export NCCL_SOCKET_IFNAME=${NCCL_SOCKET_IFNAME:-^docker0,lo}
forward=(-x PATH -x LD_LIBRARY_PATH -x SHELL -x NCCL_SOCKET_IFNAME)
for name in ${ENVLIST//,/ }; do forward+=(-x "$name"); done
echo "hostlist=$hostlist np=$np"
exec mpirun -H "$hostlist" -np "$np" "${forward[@]}" \
  --bind-to none --map-by slot -mca btl_tcp_if_exclude docker0,lo \
  python "$examples/pytorch/pytorch_mnist.py" "$@"
