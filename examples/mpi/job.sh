#!/bin/bash
# Runs in the master node's container. srun-docker has set hostlist (node:slots,...) and np,
# and OMPI_MCA_plm=rsh with OMPI_MCA_plm_rsh_agent, so mpirun starts the other nodes' ranks
# through srun-docker's agent (not Slurm's launcher, which the container lacks); the image
# needs no sshd or ssh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
echo "hostlist=$hostlist np=$np"
mpirun -H "$hostlist" -np "$np" python3 "$here/allreduce.py"
