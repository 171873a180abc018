#!/usr/bin/env bash
# The main job, end to end on this machine: installs what is missing, brings up a 2-node
# Slurm + Docker cluster (one network namespace per node), and runs the MPI allreduce
# example as the unprivileged user alice:
#   salloc -N 2 srun srun-docker --container=srun-docker-test-nossh:latest --script=./job.sh
# The cluster stays up for you to try more; `bash test/cluster/cluster.sh down` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=${SDTC_NODES:-2}

bash scripts/setup-host.sh >/dev/null
# Without the PyTorch test image (SDTC_TORCH=0): the MPI example needs only the base one.
SDTC_TORCH=0 bash test/cluster/cluster.sh up "$nodes"

# Install the tool the way HPC users do: one file in ~/bin on the shared home (the single
# executable: it is also the agent that the containers get, so the image needs no sshd).
install -D -o alice -g alice -m 0755 dist/srun-docker /home/alice/bin/srun-docker
install -d -o alice -g alice /home/alice/examples
cp -r examples/mpi /home/alice/examples/
chown -R alice:alice /home/alice/examples

echo "+ su - alice -c 'cd examples/mpi && salloc -N $nodes srun srun-docker --container=srun-docker-test-nossh:latest --script=./job.sh --slots_per_node=2'"
su - alice -c "cd examples/mpi && salloc -N $nodes srun srun-docker --container=srun-docker-test-nossh:latest --script=./job.sh --slots_per_node=2"
echo
echo "The cluster is still up: try 'su - alice', then salloc/srun/sbatch as in README.md."
echo "Remove it with: bash test/cluster/cluster.sh down"
