/**
 * Where each expected worker stands in the master's rendezvous, and the two summaries the
 * master needs from it: every worker ready, or the list of those that are not and why. Pure;
 * `C` is the master's connection type.
 */
import type { MissingNodeState } from "./rendezvous-failure.js";

export type NodeState<C> =
  | { kind: "waiting"; note?: string }
  | { kind: "authenticated"; conn: C; rank: number }
  | { kind: "ready"; conn: C; rank: number }
  /** Its own job script ended ("each" launcher); it waits for done/abort, and leaving is no loss. */
  | { kind: "exited"; conn: C; rank: number; exitCode: number }
  | { kind: "failed"; message: string }
  | { kind: "gone"; reason: string };

export type Roster<C> = Map<string, NodeState<C>>;

/**
 * What the master learns of each node once all are ready. Small on purpose: a field joins it
 * when a caller needs it (the image each node runs, the port it used), typed, never a bag.
 */
export interface ReadyWorker {
  node: string;
  rank: number;
}

export function createRoster<C>(expectedNodes: readonly string[]): Roster<C> {
  return new Map(expectedNodes.map((node) => [node, { kind: "waiting" }]));
}

/** Every worker in expected order once all are ready, else undefined. */
export function listReadyWorkers<C>(roster: Roster<C>): ReadyWorker[] | undefined {
  const workers: ReadyWorker[] = [];
  for (const [node, state] of roster) {
    if (state.kind !== "ready") return undefined;
    workers.push({ node, rank: state.rank });
  }
  return workers;
}

/** The nodes no message has reached yet: they never authenticated. */
export function listUnreachedNodes<C>(roster: Roster<C>): string[] {
  return [...roster].filter(([, state]) => state.kind === "waiting").map(([node]) => node);
}

/** Each worker not ready and why, `first` (the one that ended the wait) leading. */
export function listMissingWorkers<C>(roster: Roster<C>, first?: string): MissingNodeState[] {
  const missing: MissingNodeState[] = [];
  for (const [node, state] of roster) {
    // An exited worker was ready first: the job ran there.
    if (state.kind === "ready" || state.kind === "exited") continue;
    const entry = describeState(node, state);
    if (node === first) missing.unshift(entry);
    else missing.push(entry);
  }
  return missing;
}

function describeState<C>(node: string, state: Exclude<NodeState<C>, { kind: "ready" | "exited" }>): MissingNodeState {
  switch (state.kind) {
    case "waiting":
      return { node, state: "never-connected", ...(state.note === undefined ? {} : { note: state.note }) };
    case "authenticated":
      return { node, state: "connected-not-ready" };
    case "failed":
      return { node, state: "failed", message: state.message };
    case "gone":
      return { node, state: "disconnected", reason: state.reason };
    default: {
      const unreachable: never = state;
      return unreachable;
    }
  }
}

/**
 * Whether an authentic hello from `node` may take its place in the roster: undefined when it
 * may, else the one line the worker is told. `about` is its hello's parsed `about`, undefined
 * when malformed. A node joins once: a second hello for it is someone else, or a stale retry.
 */
export function refuseHello<C>(roster: Roster<C>, node: string, about: object | undefined): string | undefined {
  if (about === undefined) return `node ${node} sent a malformed hello`;
  const state = roster.get(node);
  if (state === undefined) return `node ${node} is not part of this job step`;
  if (state.kind !== "waiting") return `node ${node} already joined this job step`;
  return undefined;
}
