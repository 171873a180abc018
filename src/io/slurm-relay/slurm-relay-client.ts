/**
 * The Slurm relay's container end: `scontrol`, `squeue`, `sacct`, `sbatch`, `scancel` and `srun`
 * in a job's container are srun-docker's single executable under those names. Each connects to
 * its node's relay (a unix socket in the job dir, io/slurm-relay/slurm-relay-server.ts), proves
 * it holds the job step's secret and checks that the relay does too, sends the command, then
 * carries stdin (for the commands that read it), stdout, stderr and signals until the exit.
 */
import { connect as netConnect, type Socket } from "node:net";
import { type ForwardableSignal, parseControl } from "../../core/agent/index.js";
import { describeChannelFailure, type Frame, FrameType } from "../../core/channel/index.js";
import {
  encodeSlurmRequest,
  relayServerFrameLimit,
  SLURM_COMMAND_FRAME,
  SLURM_RELAY_PROTOCOL_VERSION,
  type SlurmRequest,
} from "../../core/slurm-relay/index.js";
import { createInputPump, type InputSource } from "../agent/index.js";
import { channelKey, openChannel, writeControl, writeFrame } from "../channel/index.js";

/** The exit code when the command never ran on the host (no relay, refused, too long). */
export const EXIT_RELAY_FAILURE = 126;

/** Signals this process passes on to the host's command, which decides what they mean. */
const PASSED_SIGNALS: readonly ForwardableSignal[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];

export interface SlurmClientStreams {
  stdin: InputSource;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface SlurmClientSignals {
  on(event: ForwardableSignal, listener: () => void): unknown;
  off(event: ForwardableSignal, listener: () => void): unknown;
}

export interface SlurmClientOptions {
  socketPath: string;
  secret: Buffer;
  jobKey: string;
  /** This container's node: the hello names it, and the relay serves only its own node. */
  node: string;
  request: SlurmRequest;
  readsStdin: boolean;
  streams: SlurmClientStreams;
  signals: SlurmClientSignals;
  connect?: (path: string) => Socket;
}

/** The host command's exit code (128+n for its signal n), or EXIT_RELAY_FAILURE with one line. */
export function runSlurmCommand(options: SlurmClientOptions): Promise<number> {
  const { streams } = options;
  const socket = (options.connect ?? ((path) => netConnect({ path })))(options.socketPath);
  return new Promise((resolve) => {
    let status: number | undefined;
    let failure: string | undefined;
    const pump = createInputPump(socket, streams.stdin, { noStdin: !options.readsStdin, pty: false });
    const forward = PASSED_SIGNALS.map(
      (name) => [name, () => writeControl(socket, FrameType.signal, { name })] as const,
    );
    const fail = (reason: string): void => {
      failure ??= reason;
      socket.destroy();
    };
    const receive = (frame: Frame): void => {
      if (frame.type === FrameType.stdout) streams.stdout.write(frame.payload);
      else if (frame.type === FrameType.stderr) streams.stderr.write(frame.payload);
      else if (frame.type === FrameType.stdinWindow)
        pump.grant(parseControl(FrameType.stdinWindow, frame.payload)?.bytes ?? 0);
      else if (frame.type === FrameType.exit) status = exitCodeOf(frame) ?? status;
    };
    const binding = {
      protocol: "slurm",
      version: SLURM_RELAY_PROTOCOL_VERSION,
      jobKey: options.jobKey,
      port: 0,
    } as const;
    openChannel(
      socket,
      { key: channelKey(options.secret), binding, node: options.node },
      {
        established(channel) {
          channel.frames.readWith({ limits: relayServerFrameLimit, frame: receive, error: fail });
          writeFrame(socket, SLURM_COMMAND_FRAME, encodeSlurmRequest(options.request));
          for (const [name, listener] of forward) options.signals.on(name, listener);
          pump.start();
        },
        failed: (channelFailure) => fail(describeChannelFailure(channelFailure, failureWords)),
      },
    );
    socket.on("error", (error: NodeJS.ErrnoException) => fail(describeSocketError(error, options.socketPath)));
    socket.on("close", () => {
      pump.stop();
      for (const [name, listener] of forward) options.signals.off(name, listener);
      if (status !== undefined) return resolve(status);
      streams.stderr.write(
        `srun-docker: ${options.request.program}: ${failure ?? "the node's Slurm relay closed the connection"}\n`,
      );
      resolve(EXIT_RELAY_FAILURE);
    });
  });
}

function exitCodeOf(frame: Frame): number | undefined {
  const exit = parseControl(FrameType.exit, frame.payload);
  if (exit === undefined) return undefined;
  return "code" in exit ? exit.code : 128 + exit.signal;
}

const failureWords = {
  server: "the node's Slurm relay",
  onPort: "the program on the relay's socket",
  notOurs: "not this job step's relay",
  refused: "this container",
  us: "this one",
};

function describeSocketError(error: NodeJS.ErrnoException, socketPath: string): string {
  if (error.code === "ENOENT" || error.code === "ECONNREFUSED") {
    return `the node's Slurm relay is not running (${socketPath}): srun-docker on the host has ended`;
  }
  return `cannot reach the node's Slurm relay at ${socketPath}: ${error.code ?? error.message}`;
}
