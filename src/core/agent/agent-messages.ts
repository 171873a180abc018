/**
 * The agent's control messages (JSON inside a frame of core/channel/agent-frames.ts), their validation,
 * and which frames each side may send when. Pure.
 *
 * One TCP connection per remote command, the authenticated channel (core/channel/handshake.ts):
 * the hello names the node the client wants; then
 *   client → exec {command?, pty, term?, lang?, cols?, rows?}      (only after an authentic welcome)
 *   then stdin / stdin-eof / signal one way, stdout / stderr / stdin-window and one exit the other.
 *
 * Input flows in a window (as in ssh's channels): the client sends at most STDIN_WINDOW_BYTES
 * that the command has not consumed yet, and the server grants more as the command's stdin
 * takes them. So the server never stops reading its socket for a slow command, and always
 * sees at once when the client goes away (a paused socket would hide that), while what it
 * holds for the command stays bounded: a client past its window is dropped.
 * The client checks the welcome before it sends the command, so a stranger listening on the
 * port learns neither the command nor its input; the server spawns only for an authentic hello.
 * An agent takes the first of the job's ports it can bind, so a client tries them in order, and
 * a stranger on an earlier one that relays the handshake to the real agent gets the hello
 * refused there (its MAC names the stranger's port).
 */
import * as z from "zod/mini";
import { FrameType, MAX_CONTROL_BYTES, MAX_DATA_BYTES, MAX_EXEC_BYTES } from "../channel/index.js";
import { parseJsonAs } from "../common/index.js";

/** 4: the handshake is the authenticated channel's (core/channel/). 3: the MACs name the port the client reached. 2: they are keyed with the job step's secret, not the user's. */
export const AGENT_PROTOCOL_VERSION = 4;
/** Bytes of stdin a client may send before the server grants more. */
export const STDIN_WINDOW_BYTES = 1024 * 1024;

/** Signals a client may ask the server to forward to the command's process group. */
export const FORWARDABLE_SIGNALS = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGKILL", "SIGUSR1", "SIGUSR2"] as const;
export type ForwardableSignal = (typeof FORWARDABLE_SIGNALS)[number];

// A NUL cannot go into an argv string or an environment variable: spawn() would refuse it.
const noNul = /^[^\0]*$/;
const envValue = z.string().check(z.maxLength(256), z.regex(noNul));
const dimension = z.int().check(z.minimum(1), z.maximum(10_000));

const schemas = {
  [FrameType.exec]: z.strictObject({
    command: z.optional(z.string().check(z.maxLength(128 * 1024), z.regex(noNul))),
    pty: z.boolean(),
    term: z.optional(envValue),
    lang: z.optional(envValue),
    cols: z.optional(dimension),
    rows: z.optional(dimension),
  }),
  [FrameType.signal]: z.strictObject({ name: z.enum(FORWARDABLE_SIGNALS) }),
  [FrameType.stdinWindow]: z.strictObject({ bytes: z.int().check(z.minimum(1), z.maximum(2 ** 31)) }),
  [FrameType.exit]: z.union([
    z.strictObject({ code: z.int().check(z.minimum(0), z.maximum(255)) }),
    z.strictObject({ signal: z.int().check(z.minimum(1), z.maximum(127)) }),
  ]),
};

type Schemas = typeof schemas;
export type ControlFrameType = keyof Schemas;
export type ControlMessage<T extends ControlFrameType> = z.infer<Schemas[T]>;
export type ExecRequest = ControlMessage<typeof FrameType.exec>;
/** How the remote command ended: its exit code, or the number of the signal that killed it. */
export type ExitStatus = ControlMessage<typeof FrameType.exit>;

/** A control frame's payload, or undefined when it is not valid JSON of the expected shape. */
export function parseControl<T extends ControlFrameType>(type: T, payload: Buffer): ControlMessage<T> | undefined {
  return parseJsonAs(schemas[type] as z.ZodMiniType, payload.toString("utf8")) as ControlMessage<T> | undefined;
}

export function encodeControl<T extends ControlFrameType>(_type: T, message: ControlMessage<T>): Buffer {
  return Buffer.from(JSON.stringify(message), "utf8");
}

/** The exit code a local process reports for a remote status: the code, or 128+n for signal n. */
export function exitCodeOfStatus(status: ExitStatus): number {
  return "code" in status ? status.code : 128 + status.signal;
}

/** Where the server's connection stands, as far as which frames it may receive. */
export type ServerReceivePhase = "exec" | "running";

/**
 * What the server accepts from a client after the handshake (before it, the channel's limits:
 * core/channel/server.ts): only the exec; then input and signals.
 */
export function clientFrameLimit(phase: ServerReceivePhase, type: number): number | undefined {
  switch (phase) {
    case "exec":
      return type === FrameType.exec ? MAX_EXEC_BYTES : undefined;
    case "running":
      if (type === FrameType.stdin) return MAX_DATA_BYTES;
      if (type === FrameType.stdinEof) return 0;
      if (type === FrameType.signal) return MAX_CONTROL_BYTES;
      return undefined;
    default: {
      const unreachable: never = phase;
      return unreachable;
    }
  }
}

/** What the client accepts from the server after the handshake: output and the exit. */
export function serverFrameLimit(type: number): number | undefined {
  if (type === FrameType.stdout || type === FrameType.stderr) return MAX_DATA_BYTES;
  if (type === FrameType.exit || type === FrameType.stdinWindow) return MAX_CONTROL_BYTES;
  return undefined;
}
