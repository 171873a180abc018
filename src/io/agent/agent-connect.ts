/**
 * How srun-docker's ssh finds a node's agent. Every node's agent listens on the first of the
 * job's agent ports (core/ports/port-candidates.ts) that it could bind itself, and nobody tells the
 * clients which: so a client tries the ports in the same order, and runs its command on the
 * first that proves, in the handshake, to be this job's agent on that node (the handshake binds
 * the port, so another user's program on an earlier port is skipped, relayed or not). Usually
 * the first port answers at once. A program that accepts and says nothing costs each `ssh` to
 * that node CANDIDATE_TIMEOUT_MS before the next port is tried.
 *
 * The ports that refused are tried again, from 10 ms doubling to 200 ms, within the timeout:
 * the job's script starts once every container runs, not once every agent listens (an agent is
 * a Node program that needs 0.05-0.15 s to start; see core/plan/node-plan.ts, awaitedBeforeJob), so
 * the script's first `ssh node2` may come before node2's agent listens. OpenSSH would fail at
 * once; this client is the only one the agent serves, so the wait lives here. A port that
 * answered is not tried again: it holds another program, or an agent that refused us, and an
 * agent binds its port once.
 */
import { connect as netConnect, type Socket } from "node:net";
import { formatSeconds, sleep, type Timers } from "../process/index.js";

const REFUSED_RETRY_FIRST_MS = 10;
const REFUSED_RETRY_MAX_MS = 200;
/** A live agent sends its challenge as it accepts: a port silent this long is not it (for now). */
export const CANDIDATE_TIMEOUT_MS = 1000;

export interface AgentTarget {
  /** The node's host name or address. */
  address: string;
  /** The job's agent ports, in the order every agent tries them. */
  ports: readonly number[];
  /** Connecting and the handshake, over every port and round. */
  timeoutMs: number;
  /** Longest one port may take to prove it is the agent; default CANDIDATE_TIMEOUT_MS. */
  candidateTimeoutMs?: number | undefined;
  timers: Timers;
  open?: ((port: number, host: string) => Socket) | undefined;
}

/** What one port came to: the command ran (its exit code), or this port is not the node's agent (why). */
export type PortOutcome = { kind: "ran"; exitCode: number } | { kind: "not-agent"; reason: string };

/**
 * Runs `session` on the first port that proves to be the agent: its exit code; else, once the
 * timeout passed (or nothing can change), why no port was, in one line.
 */
export async function onFirstAgentPort(
  target: AgentTarget,
  session: (socket: Socket, port: number, timeoutMs: number) => Promise<PortOutcome>,
): Promise<number | string> {
  const { timers, timeoutMs } = target;
  const open = target.open ?? ((port, host) => netConnect({ port, host }));
  const perPort = target.candidateTimeoutMs ?? CANDIDATE_TIMEOUT_MS;
  const startedAt = timers.now();
  const left = () => timeoutMs - (timers.now() - startedAt);
  const answers = new Map<number, string>();
  const refusals = new Set<number>();
  for (let pause = REFUSED_RETRY_FIRST_MS; ; pause = Math.min(pause * 2, REFUSED_RETRY_MAX_MS)) {
    let refused = false;
    for (const port of target.ports.filter((p) => !answers.has(p))) {
      const limitMs = Math.min(left(), perPort);
      if (limitMs <= 0) break;
      const attempt = await connectOnce(() => open(port, target.address), timers, limitMs);
      if (attempt === "ECONNREFUSED") {
        refused = true;
        refusals.add(port);
        continue;
      }
      refusals.delete(port);
      if (attempt === "timed-out")
        answers.set(port, `no answer from ${where(target, port)} within ${formatSeconds(limitMs)}`);
      // No route to the host: no other port of it will do better.
      else if (typeof attempt === "string") return describeConnectError(attempt, where(target, port));
      else {
        const outcome = await session(attempt, port, Math.max(1, Math.min(left(), perPort)));
        if (outcome.kind === "ran") return outcome.exitCode;
        answers.set(port, outcome.reason);
      }
    }
    // Only a refusal can turn into the agent later (it may not listen yet).
    const waited = timers.now() - startedAt;
    if (!refused || waited + pause >= timeoutMs) return describeNoAgent(target, answers, refusals.size, waited);
    await sleep(pause, timers);
  }
}

function where(target: AgentTarget, port: number): string {
  return `its agent at ${target.address}:${port}`;
}

/** Why no port was the agent: each that answered and what it did, the rest refused. */
function describeNoAgent(
  target: AgentTarget,
  answers: ReadonlyMap<number, string>,
  refusals: number,
  waitedMs: number,
): string {
  const [only] = target.ports;
  if (target.ports.length === 1 && only !== undefined) {
    return answers.get(only) ?? describeConnectError("ECONNREFUSED", where(target, only), waitedMs);
  }
  if (answers.size === 0) {
    const how = waitedMs < 1000 ? "" : ` for ${formatSeconds(waitedMs)}`;
    return `cannot connect to its agent at ${target.address} on any of the job's ${target.ports.length} agent ports: connection refused${how} (is the job's agent running there?)`;
  }
  const said = [...answers].map(([port, reason]) => `port ${port}: ${reason}`);
  const refused = refusals === 0 ? "" : `; ${refusals} other port(s) refused the connection`;
  return `no agent of this job answered at ${target.address} (${said.join("; ")}${refused})`;
}

/** The socket once connected; else the error's code, or "timed-out" after `timeoutMs`. */
function connectOnce(open: () => Socket, timers: Timers, timeoutMs: number): Promise<Socket | string> {
  return new Promise((resolve) => {
    const socket = open();
    const timer = timers.setTimeout(() => {
      socket.destroy();
      resolve("timed-out");
    }, timeoutMs);
    const onError = (error: NodeJS.ErrnoException): void => {
      timers.clearTimeout(timer);
      socket.destroy();
      resolve(error.code ?? error.message);
    };
    socket.once("error", onError);
    socket.once("connect", () => {
      timers.clearTimeout(timer);
      socket.off("error", onError);
      resolve(socket);
    });
  });
}

/** Why a connection to the agent failed, by the socket error's code (while connecting or later). */
export function describeConnectError(code: string, where: string, waitedMs?: number): string {
  switch (code) {
    case "ECONNREFUSED": {
      const how = waitedMs === undefined || waitedMs < 1000 ? "" : ` for ${formatSeconds(waitedMs)}`;
      return `cannot connect to ${where}: connection refused${how} (is the job's agent running there?)`;
    }
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `cannot connect to ${where}: no route to host`;
    case "ECONNRESET":
      return `${where} reset the connection`;
    default:
      return `cannot talk to ${where}: ${code}`;
  }
}
