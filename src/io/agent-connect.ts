/**
 * How srun-docker's ssh connects to a node's agent. A refused connect is tried again, from 10 ms
 * doubling to 200 ms, within the timeout: the job's script starts once every container runs, not
 * once every agent listens (an agent is a Node program that needs 0.05-0.15 s to start; see
 * core/node-plan.ts, awaitedBeforeJob), so the script's first `ssh node2` may come before node2's
 * agent listens. OpenSSH would fail at once; this client is the only one the agent serves, so
 * the wait lives here.
 */
import { connect as netConnect, type Socket } from "node:net";
import { formatSeconds, sleep, type Timers } from "./timers.js";

const REFUSED_RETRY_FIRST_MS = 10;
const REFUSED_RETRY_MAX_MS = 200;

export interface AgentTarget {
  port: number;
  address: string;
  timeoutMs: number;
  timers: Timers;
  open?: ((port: number, host: string) => Socket) | undefined;
}

/** A connected socket, or why none (a refused connect is tried again until the timeout). */
export async function connectUnlessRefusedTooLong(target: AgentTarget, where: string): Promise<Socket | string> {
  const { timers, timeoutMs } = target;
  const open = target.open ?? ((port, host) => netConnect({ port, host }));
  const startedAt = timers.now();
  for (let pause = REFUSED_RETRY_FIRST_MS; ; pause = Math.min(pause * 2, REFUSED_RETRY_MAX_MS)) {
    const left = timeoutMs - (timers.now() - startedAt);
    const attempt = await connectOnce(() => open(target.port, target.address), timers, left);
    if (typeof attempt !== "string") return attempt;
    if (attempt === "timed-out") return `no answer from ${where} within ${formatSeconds(timeoutMs)}`;
    const waited = timers.now() - startedAt;
    if (attempt !== "ECONNREFUSED" || waited + pause >= timeoutMs) return describeConnectError(attempt, where, waited);
    await sleep(pause, timers);
  }
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
