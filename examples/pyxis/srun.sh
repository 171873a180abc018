#!/bin/bash
# Pyxis's README examples for srun, with srun-docker after srun. Run it inside an allocation
# (salloc -N 1 bash srun.sh); IMAGE is any image with grep, as Pyxis takes it
# (REGISTRY#IMAGE, docker://, dockerd://).
set -euo pipefail
IMAGE=${IMAGE:-almalinux:9}

# Run a command on a compute node
srun grep PRETTY /etc/os-release

# run the same command, but now inside of a container
srun srun-docker --container-image="$IMAGE" grep PRETTY /etc/os-release

# mount a file from the host and run the command on it, from inside the container
srun srun-docker --container-image="$IMAGE" --container-mounts=/etc/os-release:/host/os-release \
    grep PRETTY /host/os-release
