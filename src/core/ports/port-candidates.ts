/**
 * The ports a job step may use, drawn so that another user cannot know them in advance: each
 * candidate is an HMAC of the user's secret, the job step, the kind of port and its place in the
 * list (io/channel/key.ts's createPortDraw), so every node of the job computes the same
 * lists and nobody else can. No candidate comes from the job id alone, which `squeue` shows to
 * everyone. A port the user gave (`--sshdport`, `--rendezvous-port`) is the only candidate of
 * its kind: it is never replaced. Pure: io binds or probes them.
 */
import { PORT_RANGE_END, PORT_RANGE_START } from "./ports.js";

/**
 * The agent's or sshd's port (every node's container binds the first it can, itself), the
 * rendezvous (the master listens), MASTER_PORT (the master's, bound by the job's own program),
 * and the image relay of `--pull-once` (every node its own, told to the master).
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

/**
 * A number drawn for `label` from the job step and the user's secret: the same on every node of
 * the job, unknowable to anyone without the secret, and unrelated from one label to the next.
 */
export type PortDraw = (label: string) => number;

export interface CandidateInput {
  /** The ports the user gave: each is the only candidate of its kind. */
  readonly given: { readonly remote: number | undefined; readonly rendezvous: number | undefined };
  readonly draw: PortDraw;
}

// The order of the kinds is the order of the draws: the relay, drawn last, never moves another's.
const KINDS: readonly PortKind[] = ["remote", "rendezvous", "master", "relay"];

/** The candidates of each kind, in the order to try them: no port twice, drawn ones all in range. */
export function derivePortCandidates(input: CandidateInput): PortCandidates {
  const given: Partial<Record<PortKind, number>> = {};
  if (input.given.remote !== undefined) given.remote = input.given.remote;
  if (input.given.rendezvous !== undefined) given.rendezvous = input.given.rendezvous;
  const used = new Set(Object.values(given));
  const span = PORT_RANGE_END - PORT_RANGE_START;
  const lists = {} as Record<PortKind, number[]>;
  for (const kind of KINDS) {
    const own = given[kind];
    const list = own === undefined ? [] : [own];
    lists[kind] = list;
    if (own !== undefined) continue;
    // Bounded: a draw that hits a port already taken is skipped, and there are few of those.
    for (let draw = 0; list.length < CANDIDATE_COUNTS[kind] && draw < 64 * CANDIDATE_COUNTS[kind]; draw++) {
      const port = PORT_RANGE_START + (input.draw(`${kind}|${draw}`) % span);
      if (used.has(port)) continue;
      used.add(port);
      list.push(port);
    }
  }
  return lists;
}

/** A job step's candidates from the ports the user gave and the job step's draw. */
export function jobPortCandidates(
  options: { readonly sshdPort: number | undefined; readonly rendezvousPort: number | undefined },
  draw: PortDraw,
): PortCandidates {
  return derivePortCandidates({ given: { remote: options.sshdPort, rendezvous: options.rendezvousPort }, draw });
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
