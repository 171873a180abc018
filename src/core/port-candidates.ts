/**
 * When a derived port is taken on a node (another user bound it, maybe on purpose: job ids are
 * predictable), the job falls back through a short list of candidates that every node of the
 * job computes alike: the derived port first, then ports drawn by a stable hash of the job step,
 * the kind of port and a seed. The seed comes from the job's secret (io/port-seed.ts), so
 * another user, who can predict the derived ports, cannot predict the fallbacks. A port the
 * user gave (`--sshdport`, `--rendezvous-port`) is the only candidate: it is never replaced.
 * Pure: io probes which candidates are free; core/remote-ports.ts picks the agent's or sshd's.
 */
import { deriveJobPorts, type JobPorts, PORT_RANGE_END, PORT_RANGE_START } from "./ports.js";
import type { JobContext } from "./slurm-context.js";
import { hashString } from "./stable-hash.js";

/**
 * The agent's or sshd's port (every node), the rendezvous (the master), MASTER_PORT (the
 * master), and the image relay of `--pull-once` (every node its own, told to the master).
 */
export type PortKind = "remote" | "rendezvous" | "master" | "relay";

/**
 * How many candidates each kind has. The remote port is bound on every node (each takes its own
 * first free one), so it gets more; the others are bound on one node each.
 */
export const CANDIDATE_COUNTS: Readonly<Record<PortKind, number>> = {
  remote: 16,
  rendezvous: 8,
  master: 8,
  relay: 8,
};

export type PortCandidates = Readonly<Record<PortKind, readonly number[]>>;

export interface CandidateInput {
  /** The ports derived from the job (core/ports.ts), overrides applied. */
  readonly derived: JobPorts;
  /** Which ports the user gave: those have no fallback. */
  readonly explicit: { readonly remote: boolean; readonly rendezvous: boolean };
  /** `${jobId}.${stepId}`. */
  readonly jobKey: string;
  /** The same on every node of the job, unknown to other users. */
  readonly seed: string;
}

// The relay is drawn last, so that it never moves the other kinds' candidates.
const KINDS: readonly PortKind[] = ["remote", "rendezvous", "master", "relay"];

/**
 * The candidates of each kind, in the order to try them: no port twice, all in the derived range.
 * The relay has no derived port: each node tells the master which one it listens on, so all of
 * its candidates can be ones that other users cannot predict.
 */
export function derivePortCandidates(input: CandidateInput): PortCandidates {
  const first: Record<PortKind, number | undefined> = {
    remote: input.derived.sshdPort,
    rendezvous: input.derived.rendezvousPort,
    master: input.derived.masterPort,
    relay: undefined,
  };
  const used = new Set(Object.values(first).filter((port) => port !== undefined));
  const span = PORT_RANGE_END - PORT_RANGE_START;
  const lists = {} as Record<PortKind, number[]>;
  for (const kind of KINDS) {
    const derived = first[kind];
    const list = derived === undefined ? [] : [derived];
    lists[kind] = list;
    if ((kind === "remote" || kind === "rendezvous") && input.explicit[kind]) continue;
    // Bounded: a draw that hits a port already taken is skipped, and there are few of those.
    for (let draw = 1; list.length < CANDIDATE_COUNTS[kind] && draw < 64 * CANDIDATE_COUNTS[kind]; draw++) {
      const port = PORT_RANGE_START + (hashString(`${input.seed}|${input.jobKey}|${kind}|${draw}`) % span);
      if (used.has(port)) continue;
      used.add(port);
      list.push(port);
    }
  }
  return lists;
}

/** A job step's candidates from the options (the ports the user gave) and the context. */
export function jobPortCandidates(
  options: { readonly sshdPort: number | undefined; readonly rendezvousPort: number | undefined },
  ctx: Pick<JobContext, "jobId" | "stepId">,
  seed: string,
): PortCandidates {
  const { sshdPort, rendezvousPort } = options;
  return derivePortCandidates({
    derived: deriveJobPorts(ctx.jobId, ctx.stepId, { sshdPort, rendezvousPort }),
    explicit: { remote: sshdPort !== undefined, rendezvous: rendezvousPort !== undefined },
    jobKey: `${ctx.jobId}.${ctx.stepId}`,
    seed,
  });
}

/**
 * What every node, listener and port error says when candidates are taken: "all 8 rendezvous
 * port candidates (a, b, ...) are in use", or "agent port 5 is in use" for a single one. `what`
 * names the port: "agent port", "MASTER_PORT".
 */
export function describeTakenCandidates(what: string, candidates: readonly number[]): string {
  return candidates.length === 1
    ? `${what} ${candidates[0]} is in use`
    : `all ${candidates.length} ${what} candidates (${candidates.join(", ")}) are in use`;
}
