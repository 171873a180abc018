/**
 * What a Slurm command typed in a container becomes, pure: the request the container's side
 * sends (core/slurm-relay/slurm-relay-protocol.ts), and the program, argv and environment the
 * node's srun-docker runs for it on the host.
 *
 * The host runs the command with its own environment (the job's, as Slurm gave it to
 * srun-docker's step on that node) and its own PATH; from the container only the variables that
 * Slurm's clients read as their options pass (`SBATCH_*`, `SQUEUE_FORMAT`, ...), never one that
 * chooses what runs (PATH, LD_PRELOAD, SLURM_CONF: a slurm.conf names the plugins a client
 * loads).
 */
import { MAX_COMMAND_BYTES, type SlurmCommand, type SlurmRequest } from "./slurm-relay-protocol.js";

/** The container's variables that reach the host's command: Slurm's clients' own input variables. */
const RELAYED_NAME = /^(SLURM|SBATCH|SRUN|SALLOC|SQUEUE|SACCT|SCANCEL|SCONTROL)_[A-Z0-9_]+$/;
/** Of those, the ones that would choose code for the client to load, not an option of it. */
const HOST_ONLY = new Set(["SLURM_CONF"]);

export function isRelayedVariable(name: string): boolean {
  return RELAYED_NAME.test(name) && !HOST_ONLY.has(name);
}

/** The variables of `env` that the container sends with a command. */
export function relayedEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const [name, value] of Object.entries(env))
    if (value !== undefined && isRelayedVariable(name)) picked[name] = value;
  return picked;
}

export type ClientPlan =
  | { kind: "request"; request: SlurmRequest; readsStdin: boolean }
  | { kind: "refuse"; message: string };

/**
 * Whether the container's stdin goes to the host's command. A relay reads ahead what it passes
 * on, so a command that never reads its stdin must not take it: `squeue` in a `while read`
 * loop would eat the loop's input (as `ssh` without `-n` does). Those that may read it:
 * `srun` (its tasks' input), `sbatch` (a script on stdin), `scontrol` with no arguments (its
 * prompt).
 */
export function readsStdin(program: SlurmCommand, args: readonly string[]): boolean {
  if (program === "srun" || program === "sbatch") return true;
  return program === "scontrol" && args.length === 0;
}

/** The request for `program args...` typed in the container, in `cwd`, with the container's `env`. */
export function planSlurmRequest(
  program: SlurmCommand,
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
): ClientPlan {
  const request: SlurmRequest = { program, args: [...args], cwd, env: relayedEnv(env) };
  const bytes = Buffer.byteLength(JSON.stringify(request), "utf8");
  if (bytes > MAX_COMMAND_BYTES) {
    return {
      kind: "refuse",
      message: `the command line is too long for the Slurm relay (${bytes} bytes; at most ${MAX_COMMAND_BYTES})`,
    };
  }
  return { kind: "request", request, readsStdin: readsStdin(program, args) };
}

export interface HostCommand {
  readonly program: SlurmCommand;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/**
 * What the host runs for an authentic request: the same program and arguments (plus
 * `--overlap --mem=0` for an `srun` inside the job's step, see `withOverlap`), in the host's
 * environment with the container's relayed variables over it.
 */
export function planHostCommand(
  request: SlurmRequest,
  hostEnv: Readonly<Record<string, string | undefined>>,
): HostCommand {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(hostEnv)) if (value !== undefined) env[name] = value;
  for (const [name, value] of Object.entries(request.env)) if (isRelayedVariable(name)) env[name] = value;
  const inStep = hostEnv.SLURM_STEP_ID !== undefined;
  const args = request.program === "srun" ? withOverlap(request.args, inStep) : request.args;
  return { program: request.program, args, env };
}

/**
 * srun-docker runs as a step of the job, which holds the allocation's CPUs and its memory. Slurm
 * (since 20.11) starts a second step there only with `--overlap`, else it waits for the CPUs;
 * and with memory as a consumable resource (CR_*_Memory), a step that asks for memory of its own
 * finds none ("Memory required by task is not available", Slurm 22.05), while `--mem=0` gives it
 * the job's. So an `srun` from the container gets `--overlap` and `--mem=0` first, each unless
 * the command line already says it (`--overlap`; `--mem`, `--mem-per-cpu`, `--mem-per-gpu`),
 * and neither when it asks for a step of its own (`--exclusive`) or srun-docker runs outside
 * any step. The words are looked for anywhere on the line, the program's own arguments too.
 */
export function withOverlap(args: readonly string[], inStep: boolean): readonly string[] {
  if (!inStep || args.some((arg) => arg === "--exclusive" || arg.startsWith("--exclusive="))) return args;
  const added = [
    ...(args.includes("--overlap") ? [] : ["--overlap"]),
    ...(args.some((arg) => MEMORY_OPTION.test(arg)) ? [] : ["--mem=0"]),
  ];
  return [...added, ...args];
}

const MEMORY_OPTION = /^--mem(-per-(cpu|gpu))?(=|$)/;
