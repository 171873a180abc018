/**
 * The Slurm relay's wire, pure: how `scontrol`, `squeue`, `sacct`, `sbatch`, `scancel` and `srun`
 * typed in a job's container ask the node's srun-docker (on the host) to run the host's own
 * command. One connection per command, on the authenticated channel (core/channel/handshake.ts,
 * protocol "slurm"), then
 *   client → command {program, args, cwd, env}                (only after an authentic welcome)
 *   then stdin / stdin-eof / signal one way, stdout / stderr / stdin-window and one exit the other,
 * in the agent's frames and with its control messages (core/agent/agent-messages.ts): the same
 * stdin window, the same signal names, the same exit.
 *
 * `program` is one of six names, never a path: the host resolves it on its own PATH
 * (io/slurm-relay/), so nothing a container sends names another binary. `args` is an array that
 * reaches the program as its argv, through no shell.
 */
import * as z from "zod/mini";
import { FrameType, MAX_CONTROL_BYTES, MAX_DATA_BYTES, MAX_EXEC_BYTES } from "../channel/index.js";
import { parseJsonAs } from "../common/index.js";

/** The only programs the relay runs: Slurm's own clients. */
export const SLURM_COMMANDS = ["scontrol", "squeue", "sacct", "sbatch", "scancel", "srun"] as const;
export type SlurmCommand = (typeof SLURM_COMMANDS)[number];

export function isSlurmCommand(name: string): name is SlurmCommand {
  return (SLURM_COMMANDS as readonly string[]).includes(name);
}

export const SLURM_RELAY_PROTOCOL_VERSION = 1;

/** client → server, control: the command. Its own type, after the agent's and the image relay's. */
export const SLURM_COMMAND_FRAME = 0x50 as FrameType;

/** The command message at most: the agent's limit for one command line. */
export const MAX_COMMAND_BYTES = MAX_EXEC_BYTES;

// A NUL cannot go into an argv string, a path or an environment variable: spawn() would refuse it.
const noNul = /^[^\0]*$/;
const text = z.string().check(z.maxLength(MAX_COMMAND_BYTES), z.regex(noNul));
const envName = z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/));

const commandSchema = z.strictObject({
  program: z.enum(SLURM_COMMANDS),
  args: z.array(text).check(z.maxLength(8192)),
  cwd: z.string().check(z.minLength(1), z.maxLength(4096), z.regex(/^\/[^\0]*$/)),
  env: z.record(envName, text),
});

export type SlurmRequest = z.infer<typeof commandSchema>;

/** The command's message, or undefined when it is not valid JSON of that shape. */
export function parseSlurmRequest(payload: Buffer): SlurmRequest | undefined {
  return parseJsonAs(commandSchema, payload.toString("utf8"));
}

export function encodeSlurmRequest(request: SlurmRequest): Buffer {
  return Buffer.from(JSON.stringify(request), "utf8");
}

/** Where the server's connection stands, as far as which frames it may receive. */
export type RelayReceivePhase = "command" | "running";

/** What the server accepts after the handshake: the command once; then input and signals. */
export function relayClientFrameLimit(phase: RelayReceivePhase, type: number): number | undefined {
  if (phase === "command") return type === SLURM_COMMAND_FRAME ? MAX_COMMAND_BYTES : undefined;
  if (type === FrameType.stdin) return MAX_DATA_BYTES;
  if (type === FrameType.stdinEof) return 0;
  if (type === FrameType.signal) return MAX_CONTROL_BYTES;
  return undefined;
}

/** What the client accepts from the server after the handshake: output, the window, the exit. */
export function relayServerFrameLimit(type: number): number | undefined {
  if (type === FrameType.stdout || type === FrameType.stderr) return MAX_DATA_BYTES;
  if (type === FrameType.exit || type === FrameType.stdinWindow) return MAX_CONTROL_BYTES;
  return undefined;
}
