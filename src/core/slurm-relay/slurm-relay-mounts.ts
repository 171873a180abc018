/**
 * What a container gets for the Slurm relay (with `--remote=agent`, where srun-docker's single
 * executable is in it already): the same file under each of the six names, in the agent's
 * directory, first on the PATH, and the variable that names its node's relay socket.
 */
import { join as joinPath } from "node:path";
import type { Mount } from "../engine/index.js";
import { SLURM_COMMANDS } from "./slurm-relay-protocol.js";

/** Names the relay's socket inside the container (the job dir is mounted at its own path). */
export const SLURM_RELAY_VARIABLE = "SRUN_DOCKER_SLURM_RELAY";
/** The relay's socket, in the node's job dir. */
export const SLURM_RELAY_SOCKET = "slurm.sock";

export function slurmCommandMounts(binary: string, binDir: string): Mount[] {
  return SLURM_COMMANDS.map((name) => ({ source: binary, target: joinPath(binDir, name), readOnly: true }));
}
