#!/bin/bash
# Horovod + TensorFlow 2 MNIST across the job's nodes, one rank per GPU (slot).
# Runs in the first node's container (ssh launcher); srun-docker sets hostlist and np.
# horovodrun reaches the other containers with plain `ssh`, which in the container is
# srun-docker's agent (first on PATH); it reads no ssh config, so ~/.ssh/config does not
# matter. (With --remote=sshd it is the image's ssh, and a Host block in ~/.ssh/config that
# matches the nodes overrides the job's client config: remove such blocks.) Extra arguments
# go to the training script.
set -euo pipefail
examples=${HOROVOD_EXAMPLES:-/horovod/examples}
[[ -d $examples ]] || examples=/examples
export SHELL=/bin/bash
# NCCL between nodes over the host network, never the loopback or a docker bridge.
export NCCL_SOCKET_IFNAME=${NCCL_SOCKET_IFNAME:-^docker0,lo}
echo "hostlist=$hostlist np=$np"
# --envlist names (ENVLIST) are forwarded to every rank, as the reference did.
exec horovodrun -np "$np" -H "$hostlist" \
  --mpi-args="-x NCCL_SOCKET_IFNAME${ENVLIST:+ -x ${ENVLIST//,/ -x }}" \
  python "$examples/tensorflow2/tensorflow2_mnist.py" "$@"
