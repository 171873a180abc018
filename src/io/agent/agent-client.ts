/**
 * `ssh` inside a job's container: srun-docker's own binary, first on the job's PATH. It takes
 * ssh's command line (core/ssh/ssh-argv.ts); a node of the job is reached through that node's
 * agent (io/agent/agent-client-session.ts); any other host goes to the image's real ssh, if it has
 * one. mpirun and pdsh start one of these per remote node, so this file and what it imports
 * stay small; the fallback is loaded only when it is needed.
 */
import type { Socket } from "node:net";
import type { ExecRequest } from "../../core/agent/index.js";
import { EXIT_SSH_FAILURE } from "../../core/agent/index.js";
import { type AgentNode, planSshCall, type SshPlan } from "../../core/ssh/index.js";
import { realTimers, type Timers } from "../process/index.js";
import { type ClientSignals, type ClientStreams, runRemoteCommand } from "./agent-client-session.js";
import { withParentWatch } from "./parent-watch.js";

export interface AgentClientOptions {
  /** Every node of the job. */
  nodes: readonly AgentNode[];
  /** The job's agent ports, in the order every node's agent tries them. */
  ports: readonly number[];
  /** The job's secret (the same bytes every node's agent holds). */
  secret: Buffer;
  /** The job's user: the only one `-l`/`user@` may name for a node of the job. */
  user: string;
  /** Binds the handshake to this job step ("12.0"). */
  jobKey: string;
  /** Default: this process's stdio. */
  streams?: ClientStreams;
  /** TERM and LANG for the remote, PATH for the real ssh. Default: process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  signals?: ClientSignals;
  /** Connecting plus the handshake; default 10 s. */
  timeoutMs?: number;
  /** Longest one port may take to prove it is the agent (io/agent/agent-connect.ts). */
  candidateTimeoutMs?: number;
  timers?: Timers;
  connect?: (port: number, host: string) => Socket;
  /** Files that are this program (skipped when looking for the real ssh). */
  selfFiles?: readonly string[];
  /** Runs the image's ssh with the original argv; default: io/ssh/real-ssh.ts. */
  runElsewhere?: (argv: readonly string[], reason: string) => Promise<number>;
}

/** ssh's command line in, an exit code out (the remote's, or 255 with one line on stderr). */
export async function runAgentClient(argv: readonly string[], options: AgentClientOptions): Promise<number> {
  const streams: ClientStreams = options.streams ?? {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
  };
  const env = options.env ?? process.env;
  const plan: SshPlan = planSshCall(argv, { nodes: options.nodes, user: options.user });
  switch (plan.kind) {
    case "refuse":
      streams.stderr.write(`srun-docker ssh: ${plan.message}\n`);
      return EXIT_SSH_FAILURE;
    case "elsewhere":
      return (options.runElsewhere ?? ((args, reason) => runImageSsh(args, reason, env, options, streams)))(
        argv,
        plan.reason,
      );
    case "agent": {
      const pty =
        plan.pty === "yes" || (plan.pty === "auto" && plan.command === undefined && streams.stdin.isTTY === true);
      const request = buildExecRequest(plan.command, pty, env, streams);
      return runRemoteCommand({
        node: plan.node,
        ports: options.ports,
        request,
        noStdin: plan.noStdin,
        secret: options.secret,
        jobKey: options.jobKey,
        streams,
        // ssh's parent dying (mpirun killed) ends the remote command, as a hang-up would.
        signals: options.signals ?? withParentWatch(process),
        timers: options.timers ?? realTimers,
        timeoutMs: options.timeoutMs ?? 10_000,
        ...(options.candidateTimeoutMs === undefined ? {} : { candidateTimeoutMs: options.candidateTimeoutMs }),
        ...(options.connect === undefined ? {} : { connect: options.connect }),
      });
    }
    default: {
      const unreachable: never = plan;
      throw new Error(`internal error: unexpected ssh plan ${JSON.stringify(unreachable)}; please report`);
    }
  }
}

function buildExecRequest(
  command: string | undefined,
  pty: boolean,
  env: Readonly<Record<string, string | undefined>>,
  streams: ClientStreams,
): ExecRequest {
  const request: ExecRequest = { pty };
  if (command !== undefined) request.command = command;
  // As ssh: TERM goes with a pty only; LANG always (Debian's default SendEnv).
  if (pty && env.TERM !== undefined && env.TERM.length <= 256) request.term = env.TERM;
  if (env.LANG !== undefined && env.LANG.length <= 256) request.lang = env.LANG;
  const size = streams.stdout as { columns?: number; rows?: number; isTTY?: boolean };
  if (pty && size.isTTY === true && size.columns !== undefined && size.rows !== undefined) {
    request.cols = size.columns;
    request.rows = size.rows;
  }
  return request;
}

async function runImageSsh(
  argv: readonly string[],
  reason: string,
  env: Readonly<Record<string, string | undefined>>,
  options: AgentClientOptions,
  streams: ClientStreams,
): Promise<number> {
  const { findRealSsh, runRealSsh } = await import("../ssh/index.js");
  const self = options.selfFiles ?? [process.execPath, process.argv[1] ?? process.execPath];
  const ssh = await findRealSsh(env.PATH, self);
  if (ssh !== undefined) return runRealSsh(ssh, argv);
  streams.stderr.write(`srun-docker ssh: ${reason}, and this image has no ssh client of its own\n`);
  return EXIT_SSH_FAILURE;
}
