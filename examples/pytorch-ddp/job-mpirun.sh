#!/bin/bash
# For the ssh launcher (the default): srun-docker runs this script in the first node's
# container; mpirun starts one python process per slot on every node through srun-docker's
# agent (OMPI_MCA_plm_rsh_agent), so the image needs no sshd or ssh. Open MPI numbers the
# ranks (OMPI_COMM_WORLD_*); PyTorch reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and
# MASTER_PORT, so each rank maps the one onto the other before python starts. -x hands
# MASTER_ADDR, MASTER_PORT and what this script sets to every rank.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
echo "hostlist=$hostlist np=$np master=$MASTER_ADDR:$MASTER_PORT"
export SHELL=/bin/bash OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
exec mpirun -H "$hostlist" -np "$np" --bind-to none --map-by slot \
  -x MASTER_ADDR -x MASTER_PORT -x OMP_NUM_THREADS -x SHELL \
  bash -c 'export RANK=$OMPI_COMM_WORLD_RANK WORLD_SIZE=$OMPI_COMM_WORLD_SIZE LOCAL_RANK=$OMPI_COMM_WORLD_LOCAL_RANK
exec python3 "$@"' train "$here/train.py" "$@"
