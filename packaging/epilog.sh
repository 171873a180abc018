#!/bin/sh
# Slurm Epilog snippet for srun-docker (runs as root on each node when a job ends). A second net
# beside each run's own teardown: it removes the job's containers that a killed srun-docker left.
# Install it as /etc/slurm/epilog.d/srun-docker.sh, or call it from the script Epilog= names in
# slurm.conf. An Epilog that fails drains the node, so this one logs what it could not remove
# and exits 0. Epilogs run with a minimal PATH: name srun-docker by its full path if need be.
srun-docker clean --job "$SLURM_JOB_ID" 2>&1 | logger -t srun-docker-epilog
exit 0
