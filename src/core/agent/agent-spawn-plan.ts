/**
 * What the agent server runs for one exec request, as argv (never a shell string of ours):
 * `sh -c CMD` like sshd, or the user's login shell when there is no command. Pure; the spawn
 * is in io/agent/agent-process.ts.
 *
 * A pty: Node has none without a native module, and the agent is one binary bind-mounted
 * into any image. When the image has util-linux's `script`, the command runs under
 * `script -qfec CMD /dev/null`, which gives it a real pty (stdout and stderr then arrive
 * merged, as with ssh -t); `-e` passes the command's exit status on. Without it the command
 * runs on pipes and the client is told so once. `script` runs `$SHELL -c CMD`, hence
 * SHELL=/bin/sh for it; the job's own SHELL is put back inside.
 */
import type { ExecRequest } from "./agent-messages.js";

/** The variable that marks every process of one session, so the server can find them all. */
export const SESSION_MARKER_VARIABLE = "SRUN_DOCKER_AGENT_SESSION";

export interface AgentSpawnInput {
  request: ExecRequest;
  /** The node's job environment, as the integration gives it. */
  jobEnv: Readonly<Record<string, string>>;
  /** The user's login shell (their passwd entry, or SHELL, or /bin/sh). */
  loginShell: string;
  /** Whether util-linux `script` can give the command a pty in this image. */
  scriptAvailable: boolean;
  /** This session's marker value (random). */
  sessionId: string;
}

export interface AgentSpawnPlan {
  file: string;
  args: string[];
  /** argv[0] when it differs from `file` ("-bash" marks a login shell, as sshd does). */
  argv0?: string;
  env: Record<string, string>;
  /** Said once on the command's stderr before it starts. */
  notice?: string;
}

export function buildAgentSpawn(input: AgentSpawnInput): AgentSpawnPlan {
  const { request, jobEnv, loginShell } = input;
  const env: Record<string, string> = { ...jobEnv };
  if (request.lang !== undefined) env.LANG = request.lang;
  if (request.pty && request.term !== undefined) env.TERM = request.term;
  env[SESSION_MARKER_VARIABLE] = input.sessionId;

  if (request.pty && input.scriptAvailable) {
    const parts: string[] = [];
    if (request.rows !== undefined && request.cols !== undefined) {
      parts.push(`stty rows ${request.rows} cols ${request.cols} 2>/dev/null;`);
    }
    parts.push(jobEnv.SHELL === undefined ? "unset SHELL;" : `SHELL=${quoteForSh(jobEnv.SHELL)}; export SHELL;`);
    parts.push(request.command ?? `exec ${quoteForSh(loginShell)} -l`);
    return { file: "script", args: ["-qfec", parts.join(" "), "/dev/null"], env: { ...env, SHELL: "/bin/sh" } };
  }
  const notice = request.pty
    ? "no pty: this image has no util-linux `script`; running without one (no job control, no line editing)"
    : undefined;
  const plan: AgentSpawnPlan =
    request.command === undefined
      ? { file: loginShell, args: [], argv0: `-${baseName(loginShell)}`, env }
      : { file: "/bin/sh", args: ["-c", request.command], env };
  return notice === undefined ? plan : { ...plan, notice };
}

/** sshd's PATH when the job gives none. */
const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

/**
 * The environment every session starts from: the job's, over what sshd would set (USER,
 * LOGNAME, HOME, SHELL, PATH), so a job environment that lacks one still gives a usual login.
 */
export function withSessionDefaults(
  jobEnv: Readonly<Record<string, string>>,
  defaults: { user: string | undefined; home: string; shell: string },
): Record<string, string> {
  const user = defaults.user === undefined ? {} : { USER: defaults.user, LOGNAME: defaults.user };
  return { PATH: DEFAULT_PATH, ...user, HOME: defaults.home, SHELL: defaults.shell, ...jobEnv };
}

/** `it's` → `'it'\''s'`: one word for sh, whatever it holds. */
export function quoteForSh(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}
