// What the scale bench's processes say to each other over the fork IPC channel: the harness
// (scripts/bench-scale.mjs) drives one master process and several worker processes, each
// running the real rendezvous code from the bundle of scale-entry.ts.

/** A wall-clock instant in ms with sub-ms precision, comparable across processes of one machine. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Same as a real run's: the job step binds every MAC; the secret is the user's 32 bytes. */
export interface JobConfig {
  secretHex: string;
  jobKey: string;
  /** The worker nodes the master expects, in rank order (rank = index + 1). */
  nodes: string[];
  deadlineMs: number;
}

export type ToMaster = { type: "config"; job: JobConfig } | { type: "abort" } | { type: "exit" };

export type FromMaster =
  | { type: "listening"; port: number; pid: number }
  | {
      type: "ready";
      ok: boolean;
      failure?: string;
      /** Master-local ms from the first worker's authenticated hello to `ready` resolving. */
      firstHelloToReadyMs: number;
      /** Master-local ms from the first to the last authenticated hello. */
      firstToLastHelloMs: number;
      /** Master CPU seconds from listening to ready. */
      cpuGatherSeconds: number;
      rssBaselineBytes: number;
      rssReadyBytes: number;
      heapUsedReadyBytes: number;
      dropped: number;
    }
  | { type: "lost"; at: number; node: string; reason: string }
  | {
      type: "aborted";
      /** When abort() was called (wallNow). */
      at: number;
      /** How long until abort() resolved: every socket closed. */
      closedMs: number;
      /** Master CPU seconds from listening to the end of the abort. */
      cpuTotalSeconds: number;
      maxRssBytes: number;
    };

export type ToWorkers =
  | { type: "config"; job: JobConfig; port: number; ranks: number[] }
  | { type: "start" }
  | { type: "kill"; node: string }
  | { type: "exit" };

export type FromWorkers =
  | { type: "armed" }
  | {
      type: "joined";
      count: number;
      attemptFailures: number;
      failures: string[];
      /** This worker process's CPU seconds from start until every node joined. */
      cpuSeconds: number;
    }
  | { type: "killed"; at: number; node: string }
  | {
      type: "settled";
      kinds: Record<string, number>;
      /** The latest abort to arrive (wallNow), undefined when none did. */
      lastAbortAt?: number;
      examples: string[];
    };

/** The fork channel, typed: messages out, and a handler for messages in. */
export interface Channel<In, Out> {
  send(message: Out): void;
  onMessage(handler: (message: In) => void): void;
}

export function processChannel<In, Out>(): Channel<In, Out> {
  return {
    send: (message) => {
      process.send?.(message);
    },
    onMessage: (handler) => {
      process.on("message", (message) => handler(message as In));
    },
  };
}
