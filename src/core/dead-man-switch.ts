/**
 * The dead man's switch inside every container: when the node's srun-docker process dies, even
 * by SIGKILL, its container ends and (run with `--rm`) removes itself, with no Epilog and no
 * later run. It needs nothing in the image but `/bin/sh`.
 *
 * srun-docker holds the write end of a FIFO (the lifeline) for as long as it lives. The
 * container's first process after `--init` is a small sh that reads from the FIFO; the read
 * returns at EOF, which the kernel delivers once no writer is left, i.e. once srun-docker's
 * descriptor is closed by its exit, however it died. The sh then kills itself; the init
 * process sees its only child go and exits, and the kernel ends everything else in the
 * container's pid namespace. A line written to the FIFO ends it the same way.
 *
 * The main process (sshd, or nothing with `--launcher=each`) runs under that sh. When it exits
 * the container stays (so its logs can be read) and its exit code lands in a file beside the
 * lifeline, which srun-docker watches while the container starts: a container that cannot
 * start ends the job within a second instead of at `--timeout`.
 */

/** Where the node's switch directory is mounted in the container. */
export const SWITCH_MOUNT = "/run/srun-docker";
export const LIFELINE_FILE = "lifeline";
export const MAIN_EXIT_FILE = "main.exit";

/** $0 of the sh, as `ps` shows it in the container. */
const SWITCH_NAME = "srun-docker-switch";

// Opening the FIFO read-only would block until a writer shows up, and hang forever if
// srun-docker died before the container started. Opening it read-write first (fd 4) never
// blocks and makes the read-only open (fd 3) return at once; closing fd 4 then leaves
// srun-docker as the only writer, so a srun-docker already gone means EOF at once.
const SWITCH_SCRIPT = [
  `exec 4<>${SWITCH_MOUNT}/${LIFELINE_FILE} 3<${SWITCH_MOUNT}/${LIFELINE_FILE} 4>&-`,
  "(read -r line <&3; kill -KILL $$) &",
  "exec 3<&-",
  `if [ $# -gt 0 ]; then "$@"; echo $? >${SWITCH_MOUNT}/${MAIN_EXIT_FILE}; fi`,
  "wait",
].join("\n");

/** The container's entrypoint and command: the switch around `main` (may be empty). */
export function buildSwitchedCommand(main: readonly string[]): { entrypoint: string; command: string[] } {
  return { entrypoint: "/bin/sh", command: ["-c", SWITCH_SCRIPT, SWITCH_NAME, ...main] };
}
