// The master's one display of a job's pull: every node's progress, its own and what
// workers report through the rendezvous, drawn as one bar redrawn in place on a terminal, or
// as a line at most every 10 s in a log (sbatch), then one summary line. Rendering is
// core/image/pull-progress.ts; this keeps the state, the clock and the writes.

import type { NodePullSnapshot } from "../../../core/image/index.js";
import {
  applyPullProgress,
  nextPullLine,
  type PullProgress,
  type PullProgressEvent,
  type PullSource,
  renderPullBar,
  renderPullSummary,
  startPullProgress,
} from "../../../core/image/index.js";

export interface PullDisplayOptions {
  readonly image: string;
  readonly nodes: readonly string[];
  readonly write: (text: string) => void;
  /** A terminal: redraw one line; else print a line at most every 10 s. */
  readonly tty: boolean;
  readonly columns?: number;
  readonly now?: () => number;
}

/** A terminal redraw this often at most: smooth enough, and cheap. */
const REDRAW_MS = 250;

export class PullDisplay {
  private state: PullProgress | undefined;
  private lastDrawAt: number | undefined;
  private drawn = false;
  private readonly now: () => number;

  constructor(private readonly options: PullDisplayOptions) {
    this.now = options.now ?? (() => Date.now());
  }

  started(node: string, source: PullSource): void {
    this.apply({ kind: "started", node, source, at: this.now() });
  }

  progress(node: string, snapshot: NodePullSnapshot): void {
    this.apply({ kind: "progress", node, snapshot, at: this.now() });
  }

  /** `bytes`: what the node says it fetched in all (a worker's last progress report may be older). */
  finished(node: string, bytes?: number): void {
    const last = this.state?.nodes.find((n) => n.node === node)?.snapshot;
    if (bytes !== undefined && last !== undefined && bytes > last.bytesDone) {
      const snapshot = { ...last, bytesDone: bytes, bytesTotal: Math.max(last.bytesTotal, bytes) };
      this.apply({ kind: "progress", node, snapshot, at: this.now() });
    }
    this.apply({ kind: "finished", node, at: this.now() });
  }

  failed(node: string): void {
    this.apply({ kind: "failed", node, at: this.now() });
  }

  /** Whether any node pulled (or is pulling) at all. */
  get active(): boolean {
    return this.state !== undefined;
  }

  /** The summary, once every node has the image (nothing when none had to pull); whether it said one. */
  end(digest: string): boolean {
    if (this.state === undefined) return false;
    // The nodes that never pulled had it already: the summary counts them as such.
    const at = this.now();
    for (const node of this.state.nodes.filter((n) => n.startedAt === undefined)) {
      this.state = applyPullProgress(this.state, { kind: "started", node: node.node, source: { kind: "present" }, at });
      this.state = applyPullProgress(this.state, { kind: "finished", node: node.node, at });
    }
    this.clearBar();
    this.options.write(`${renderPullSummary(this.state, digest, this.now())}\n`);
    this.state = undefined;
    return true;
  }

  /** Stops drawing without a summary (the job failed: its error says what happened). */
  stop(): void {
    this.clearBar();
    this.state = undefined;
  }

  private apply(event: PullProgressEvent): void {
    this.state ??= startPullProgress(this.options.image, this.options.nodes, event.at);
    this.state = applyPullProgress(this.state, event);
    this.draw(event.at);
  }

  private draw(now: number): void {
    const state = this.state;
    if (state === undefined) return;
    if (!this.options.tty) {
      const line = nextPullLine(state, now, this.lastDrawAt);
      if (line !== undefined) {
        this.options.write(`${line}\n`);
        this.lastDrawAt = now;
      }
      return;
    }
    if (this.lastDrawAt !== undefined && now - this.lastDrawAt < REDRAW_MS) return;
    this.lastDrawAt = now;
    const columns = (this.options.columns ?? 80) - 1;
    this.options.write(`\r${renderPullBar(state, now, columns).padEnd(columns)}`);
    this.drawn = true;
  }

  private clearBar(): void {
    if (!this.drawn) return;
    this.options.write(`\r${" ".repeat((this.options.columns ?? 80) - 1)}\r`);
    this.drawn = false;
  }
}
