import { formatBytes, formatDuration, formatRate } from "../common/index.js";
import type { NodePullSnapshot } from "./pull-layer-tally.js";

/**
 * The master's view of a job's pull: each node's snapshot (core/image/pull-layer-tally.ts), where
 * its image comes from, when it started and finished; rendered as one bar on a terminal, a
 * line at most every 10 s elsewhere, and one summary line at the end. Pure: state + now in,
 * text out, so the display is a table test and the clock is the caller's.
 */
export type PullSource =
  | { readonly kind: "registry" }
  | { readonly kind: "peer"; readonly node: string }
  /** The node had the image already (`--pull=missing`). */
  | { readonly kind: "present" };

export interface NodePullState {
  readonly node: string;
  readonly source: PullSource | undefined;
  readonly snapshot: NodePullSnapshot;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  readonly failed: boolean;
}

export interface PullProgress {
  /** As the user wrote it. */
  readonly image: string;
  readonly startedAt: number;
  readonly nodes: readonly NodePullState[];
}

export type PullProgressEvent =
  | { readonly kind: "started"; readonly node: string; readonly source: PullSource; readonly at: number }
  | { readonly kind: "progress"; readonly node: string; readonly snapshot: NodePullSnapshot; readonly at: number }
  | { readonly kind: "finished"; readonly node: string; readonly at: number }
  | { readonly kind: "failed"; readonly node: string; readonly at: number };

const NO_BYTES: NodePullSnapshot = { layers: 0, layersDone: 0, bytesDone: 0, bytesTotal: 0 };
/** Without a terminal, a line at most this often: enough to see it move, little for a log. */
export const LINE_INTERVAL_MS = 10_000;

export function startPullProgress(image: string, nodes: readonly string[], now: number): PullProgress {
  return {
    image,
    startedAt: now,
    nodes: nodes.map((node) => ({
      node,
      source: undefined,
      snapshot: NO_BYTES,
      startedAt: undefined,
      finishedAt: undefined,
      failed: false,
    })),
  };
}

/** One node's news; a node the job does not have, or news after its end, changes nothing. */
export function applyPullProgress(state: PullProgress, event: PullProgressEvent): PullProgress {
  const nodes = state.nodes.map((n) => {
    if (n.node !== event.node || n.finishedAt !== undefined) return n;
    const startedAt = n.startedAt ?? event.at;
    switch (event.kind) {
      case "started":
        return { ...n, source: event.source, startedAt };
      case "progress":
        return { ...n, snapshot: event.snapshot, startedAt };
      case "finished":
        return { ...n, startedAt, finishedAt: event.at };
      case "failed":
        return { ...n, startedAt, finishedAt: event.at, failed: true };
      default:
        return assertNever(event);
    }
  });
  return { ...state, nodes };
}

export interface PullTotals {
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly layersDone: number;
  readonly layers: number;
  readonly nodesDone: number;
  readonly nodesFailed: number;
  readonly nodes: number;
}

export function pullTotals(state: PullProgress): PullTotals {
  const sum = (pick: (n: NodePullState) => number) => state.nodes.reduce((total, n) => total + pick(n), 0);
  return {
    bytesDone: sum((n) => n.snapshot.bytesDone),
    bytesTotal: sum((n) => n.snapshot.bytesTotal),
    layersDone: sum((n) => n.snapshot.layersDone),
    layers: sum((n) => n.snapshot.layers),
    nodesDone: state.nodes.filter((n) => n.finishedAt !== undefined && !n.failed).length,
    nodesFailed: state.nodes.filter((n) => n.failed).length,
    nodes: state.nodes.length,
  };
}

/** Rate since the pull began, and the time left at that rate (undefined while unknown). */
function pace(state: PullProgress, totals: PullTotals, now: number): { rate: number; etaMs: number | undefined } {
  const seconds = (now - state.startedAt) / 1000;
  const rate = seconds > 0 ? totals.bytesDone / seconds : 0;
  const left = totals.bytesTotal - totals.bytesDone;
  return { rate, etaMs: rate > 0 && left > 0 ? (left / rate) * 1000 : undefined };
}

/**
 * Done/total as bytes where sizes are known (docker), as layers where they are not (podman);
 * before the engine said either, "starting" (not a count of nothing: "layers 0/0 (0%)").
 */
function amount(totals: PullTotals): { fraction: number; text: string; known: boolean } {
  if (totals.bytesTotal > 0) {
    return {
      fraction: totals.bytesDone / totals.bytesTotal,
      text: `${formatBytes(totals.bytesDone)} / ${formatBytes(totals.bytesTotal)}`,
      known: true,
    };
  }
  if (totals.layers === 0) return { fraction: 0, text: "starting", known: false };
  return {
    fraction: totals.layersDone / totals.layers,
    text: `layers ${totals.layersDone}/${totals.layers}`,
    known: true,
  };
}

/** The terminal's one line, redrawn in place by the caller; at most `columns` wide (give the width less one, so the cursor does not wrap). */
export function renderPullBar(state: PullProgress, now: number, columns = 80): string {
  const totals = pullTotals(state);
  const { rate, etaMs } = pace(state, totals, now);
  const { fraction, text } = amount(totals);
  const tail = [
    text,
    ...(totals.bytesTotal > 0 ? [formatRate(rate)] : []),
    ...(etaMs === undefined ? [] : [`ETA ${formatDuration(etaMs)}`]),
    `nodes ${totals.nodesDone}/${totals.nodes}`,
  ].join("  ");
  const head = `pulling ${state.image} `;
  const room = columns - tail.length - 3;
  const withName = room - head.length >= 10;
  const width = Math.max(0, Math.min(40, withName ? room - head.length : room - "pulling ".length));
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  const bar = width >= 10 ? `[${"#".repeat(filled)}${".".repeat(width - filled)}] ` : "";
  return `${withName ? head : "pulling "}${bar}${tail}`.slice(0, columns);
}

/**
 * Without a terminal: the line to print now, or undefined (the last one is under 10 s old,
 * or every node has ended: the summary says the rest).
 */
export function nextPullLine(state: PullProgress, now: number, lastLineAt: number | undefined): string | undefined {
  if (lastLineAt !== undefined && now - lastLineAt < LINE_INTERVAL_MS) return undefined;
  const totals = pullTotals(state);
  if (totals.nodesDone + totals.nodesFailed === totals.nodes) return undefined;
  const { rate, etaMs } = pace(state, totals, now);
  const { fraction, text, known } = amount(totals);
  const parts = [
    known ? `${text.replace(" / ", " of ")} (${Math.floor(fraction * 100)}%)` : text,
    ...(totals.bytesTotal > 0 ? [formatRate(rate)] : []),
    ...(etaMs === undefined ? [] : [`ETA ${formatDuration(etaMs)}`]),
    `${totals.nodesDone}/${totals.nodes} nodes done`,
  ];
  return `pulling ${state.image}: ${parts.join(", ")}`;
}

/**
 * `pulled IMG@sha256:1a2b3c4d5e6f on 4 nodes: 2.1 GB in 41 s (1 from the registry, 3 from node1)`.
 * The size is the largest node's download (the image, as one node fetched it).
 */
export function renderPullSummary(state: PullProgress, digest: string, now: number): string {
  const totals = pullTotals(state);
  const done = state.nodes.filter((n) => n.finishedAt !== undefined && !n.failed);
  const end = Math.max(state.startedAt, ...done.map((n) => n.finishedAt ?? now));
  const size = Math.max(0, ...done.map((n) => n.snapshot.bytesDone));
  const short = shortDigest(digest);
  const name = state.image.includes("@") ? state.image.slice(0, state.image.indexOf("@")) : state.image;
  const plural = totals.nodes === 1 ? "node" : "nodes";
  const nodes =
    done.length === totals.nodes ? `${totals.nodes} ${plural}` : `${done.length} of ${totals.nodes} ${plural}`;
  // Podman says no byte counts: then the layers, as its progress did.
  const layers = Math.max(0, ...done.map((n) => n.snapshot.layersDone));
  const amount = size > 0 || layers === 0 ? formatBytes(size) : `${layers} layer${layers === 1 ? "" : "s"}`;
  return `pulled ${name}@${short} on ${nodes}: ${amount} in ${formatDuration(end - state.startedAt)} (${sources(done)})`;
}

/** `srun-docker pull` when no node had to fetch: `IMG@sha256:1a2b3c4d5e6f was on all 4 nodes already`. */
export function renderPresentSummary(image: string, digest: string, nodes: number): string {
  const name = image.includes("@") ? image.slice(0, image.indexOf("@")) : image;
  const where = nodes === 1 ? "the node" : `all ${nodes} nodes`;
  return `${name}@${shortDigest(digest)} was on ${where} already`;
}

const shortDigest = (digest: string) => digest.replace(/^(sha\d+:[0-9a-f]{12})[0-9a-f]*$/, "$1");

/** `1 from the registry, 3 from node1, 2 had it`. */
function sources(nodes: readonly NodePullState[]): string {
  const counts = new Map<string, number>();
  for (const n of nodes) {
    const source = n.source ?? { kind: "registry" };
    const key =
      source.kind === "registry" ? "from the registry" : source.kind === "peer" ? `from ${source.node}` : "had it";
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, count]) => `${count} ${key}`).join(", ");
}

function assertNever(value: never): never {
  throw new Error(`internal error: unhandled pull progress event ${JSON.stringify(value)}; please report`);
}
