#!/bin/bash
# Runs in the master node's container. srun-docker has set hostlist (node:slots,...) and np;
# mpirun reaches the other nodes' containers over the generated ssh setup.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
echo "hostlist=$hostlist np=$np"
mpirun -H "$hostlist" -np "$np" python3 "$here/allreduce.py"
