/**
 * How the container's sshd starts (`--remote=sshd`): on the first of the job's ports it can bind
 * itself, so no port waits unbound between a check and sshd's start, when another user could
 * take it. OpenSSH has no option for that, and its clients cannot try several ports, so a small
 * sh (all the image needs besides sshd) starts sshd on each port in turn: sshd writes its pid
 * file only once it listens, and exits at once when it cannot bind. The first sshd that writes
 * it is the one: the port goes into the switch dir's REMOTE_PORT_FILE (core/engine/dead-man-switch.ts)
 * for srun-docker, which tells the other nodes (core/ports/remote-ports.ts) before the job starts.
 *
 * `AddressFamily inet`: one socket per port, so a port that another program holds for IPv4 only
 * fails sshd's start as a whole, instead of leaving sshd on IPv6 while IPv4 clients reach the
 * other program. The clients (core/ssh/ssh-config.ts) use IPv4 alike.
 */
import { REMOTE_PORT_FILE, SWITCH_MOUNT } from "./dead-man-switch.js";

/** Where the start finds sshd, and the switch dir as the container sees it; a test's own. */
export interface SshdStartPaths {
  readonly sshd: string;
  readonly switchDir: string;
}

const IN_CONTAINER: SshdStartPaths = { sshd: "/usr/sbin/sshd", switchDir: SWITCH_MOUNT };

/** $0 of the sh, as `ps` shows it in the container. */
const START_NAME = "srun-docker-sshd";

/**
 * $1 the sshd config, then the ports in order. sshd writes its pid file (in the switch dir: the
 * `-o PidFile` wins over any config) once it listens. It exits 255 when it cannot bind the port,
 * and for a bad config too: only when `sshd -t` finds the config good is the next port tried;
 * any other failure (no sshd: 127) ends the start at once, sshd's or the shell's own words last.
 */
function startScript({ sshd, switchDir }: SshdStartPaths): string {
  const pidFile = `${switchDir}/sshd.pid`;
  const options = `-f "$config" -p "$port" -o AddressFamily=inet -o PidFile=${pidFile}`;
  return [
    "config=$1; shift",
    "for port; do",
    `  rm -f ${pidFile}`,
    `  ${sshd} -D -e ${options} &`,
    "  sshd=$!",
    `  while [ ! -s ${pidFile} ] && kill -0 "$sshd" 2>/dev/null; do sleep 0.01; done`,
    `  if [ -s ${pidFile} ]; then printf '%s\\n' "$port" >${switchDir}/${REMOTE_PORT_FILE}; wait "$sshd"; exit $?; fi`,
    '  wait "$sshd"; code=$?',
    `  [ "$code" -eq 255 ] && ${sshd} -t ${options} >/dev/null 2>&1 || exit "$code"`,
    "done",
    'echo "srun-docker: sshd could not listen on any of its ports ($*)" >&2',
    "exit 255",
  ].join("\n");
}

/** The container's main command for sshd: its start over `ports`, in order. */
export function buildSshdStart(
  configPath: string,
  ports: readonly number[],
  paths: SshdStartPaths = IN_CONTAINER,
): string[] {
  return ["/bin/sh", "-c", startScript(paths), START_NAME, configPath, ...ports.map(String)];
}
