#!/bin/bash
# For `--launcher=each`: every node runs this in its container; srun-docker passes the
# SIGUSR1 that Slurm sends (`--signal=USR1@T`, `scancel --signal=USR1`) on to it. `exec`, so
# that python is the process that gets it (a shell would run its trap only after python ends).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export OMP_NUM_THREADS=1
exec python3 "$here/train.py" --checkpoint="${CHECKPOINT:-$here/checkpoint.pt}" "$@"
