#!/usr/bin/env bash
# Runs every test: installs what is missing, checks the commit messages, brings up a 4-node
# Slurm + Docker test cluster on this machine, runs `npm test` (type check, build, unit, CLI
# and end-to-end tests as the test user), and always brings the cluster down again, also
# when tests fail.
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=${SDTC_NODES:-4}

bash scripts/setup-host.sh
npm run lint:commits
trap 'bash test/cluster/cluster.sh down' EXIT
# strict: no Epilog and KillWait=5, so no teardown test passes because Slurm cleaned up for
# us; the one test of the Epilog line switches to `default` and back.
SDTC_PROFILE=strict bash test/cluster/cluster.sh up "$nodes"
npm test
