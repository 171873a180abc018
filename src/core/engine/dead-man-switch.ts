import type { Runtime } from "../common/index.js";

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
 *
 * The server of remote commands binds its port itself, the first of the job's candidates that
 * it can (core/ports/port-candidates.ts), so that no port waits unbound between a check and its use:
 * once it listens, it writes that port into REMOTE_PORT_FILE here (the agent itself, sshd's
 * start script of core/engine/sshd-start.ts for sshd), which srun-docker watches as it watches the exit.
 */

/** Where the node's switch directory is mounted in the container. */
export const SWITCH_MOUNT = "/run/srun-docker";
export const LIFELINE_FILE = "lifeline";
export const MAIN_EXIT_FILE = "main.exit";
/** The port the agent or sshd listens on, and a newline; written once it listens. */
export const REMOTE_PORT_FILE = "remote.port";

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

/**
 * In the switch directory: rootless Podman's runtime directory, once srun-docker has learned it
 * (from conmon's environment, io/engine/podman-pause.ts). It holds the pause process's pid file;
 * without it the release asks `podman info`, which takes a second or more (it looks up the
 * version of every package it uses).
 */
export const PODMAN_RUNTIME_DIR_FILE = "podman-runtime-dir";

/**
 * Rootless Podman's pause process (what keeps the user's namespace) outlives every podman
 * command, and nothing in Slurm's linuxproc tracking ends it. These sh lines wait (≤ 5 s) until
 * the user has no container left on the node (the switch's `--rm` is under way), then end it.
 * `$podman_run` is the runtime directory when known, else empty.
 */
const RELEASE_PAUSE_LINES = [
  "i=0",
  'while [ -n "$(podman ps -aq 2>/dev/null)" ]; do i=$((i + 1)); [ "$i" -gt 50 ] && exit 0; sleep 0.1; done',
  'if [ -z "$podman_run" ]; then',
  "  sock=$(podman info --format '{{.Host.RemoteSocket.Path}}' 2>/dev/null) || exit 0",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a JS template
  "  podman_run=${sock%/*}; podman_run=${podman_run%/*}",
  "fi",
  'pause=$(cat "$podman_run/libpod/tmp/pause.pid" 2>/dev/null) || exit 0',
  // A stale pid file may name a reused pid: only a pause process is ended.
  'case $(tr "\\0" " " <"/proc/$pause/cmdline" 2>/dev/null) in *catatonit*|*podman*) kill -KILL "$pause" ;; esac',
];

/**
 * srun-docker ends the pause process itself once the user has no container left; when it is
 * killed, this watcher does: it waits on the same lifeline, and if srun-docker died without
 * its own teardown (the switch dir `$3` is still there), releases the namespace.
 * A watcher that sees srun-docker finish its teardown exits without doing anything.
 * Arguments: $1 lifeline, $2 srun-docker's pid, $3 the switch dir.
 */
export const PODMAN_RELEASE_WATCH_SCRIPT = [
  'exec 4<>"$1" 3<"$1" 4>&-',
  "read -r line <&3",
  "exec 3<&-",
  'while [ -d "/proc/$2" ]; do [ -d "$3" ] || exit 0; sleep 0.1; done',
  '[ -d "$3" ] || exit 0',
  `podman_run=$(cat "$3/${PODMAN_RUNTIME_DIR_FILE}" 2>/dev/null)`,
  ...RELEASE_PAUSE_LINES,
].join("\n");

/**
 * `asuser --daemon` inside a job: the container belongs to the job, not to the srun-docker
 * that started it (which exits at once). This sh takes over the lifeline (inherited as fd 3)
 * and keeps it while Slurm still lists job `$1` as active; then it lets go, and the switch ends
 * the container (with Podman, it then releases the user's namespace). A failing squeue
 * (controller busy) is no reason to end anyone's container.
 */
export function buildJobHolderScript(runtime: Runtime): string {
  return [
    "while :; do",
    '  out=$(squeue -h -j "$1" -t PD,R,CG,S,CF,RS -o %A 2>&1) && [ -z "$out" ] && break',
    '  case $out in *"nvalid job id"*) break ;; esac',
    "  sleep 2",
    "done",
    "exec 3>&-",
    ...(runtime === "podman" ? ["podman_run=", ...RELEASE_PAUSE_LINES] : []),
  ].join("\n");
}
