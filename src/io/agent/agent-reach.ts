/**
 * The master's check that it reaches another node's agent over the network (not only that the
 * agent answers on its own node): the client's own search of the job's ports and its handshake
 * (io/agent/agent-client-session.ts), closed once the agent proved to be this job's, with no command.
 * A greeting alone would not do: another user's program on an earlier port can send one.
 */
import { EventEmitter } from "node:events";
import { Readable, Writable } from "node:stream";
import { realTimers, type Timers } from "../process/index.js";
import { runRemoteCommand } from "./agent-client-session.js";

export interface ReachTarget {
  readonly node: string;
  /** The job's agent ports, in the order every agent tries them. */
  readonly ports: readonly number[];
  readonly secret: Buffer;
  readonly jobKey: string;
  readonly timeoutMs: number;
  readonly timers?: Timers;
}

/** Undefined once the node's agent proved itself; else why not, in one line. */
export async function reachAgent(target: ReachTarget): Promise<string | undefined> {
  let said = "";
  const stderr = new Writable({
    write(chunk: Buffer, _encoding, done) {
      said += chunk.toString();
      done();
    },
  });
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  const code = await runRemoteCommand({
    node: { name: target.node, address: target.node },
    ports: target.ports,
    request: { pty: false },
    noStdin: true,
    secret: target.secret,
    jobKey: target.jobKey,
    streams: { stdin: Readable.from([]), stdout: sink, stderr },
    signals: new EventEmitter(),
    timers: target.timers ?? realTimers,
    timeoutMs: target.timeoutMs,
    probe: true,
  });
  return code === 0 ? undefined : said.trim().replace(/^srun-docker ssh: /, "");
}
