/**
 * The job script's exec records its pid before it becomes the script, so that srun-docker can
 * pass Slurm's checkpoint signals on (`docker exec` forwards no signal). runc and crun start
 * every exec as the leader of its own session and process group, so that pid is also the
 * group of everything the script starts without a group of its own: mpirun, python, `ssh`.
 */
import { SWITCH_MOUNT } from "./dead-man-switch.js";

/** In the switch directory: the container sees it at SWITCH_MOUNT, the node in its job dir. */
export const SCRIPT_PID_FILE = "script.pid";

const RECORD_PID_THEN_EXEC = 'echo $$ >"$0" && exec "$@"';

/** `command`, run so that its pid lands in the switch directory first. */
export function recordingScriptPid(command: readonly string[]): string[] {
  return ["/bin/sh", "-c", RECORD_PID_THEN_EXEC, `${SWITCH_MOUNT}/${SCRIPT_PID_FILE}`, ...command];
}
