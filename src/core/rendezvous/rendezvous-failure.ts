/**
 * The words for a failed rendezvous: where each node that kept it from completing stood, and
 * the text the user reads. Pure.
 */

/** Where each node that kept the rendezvous from completing stood. */
export type MissingNodeState =
  | { node: string; state: "never-connected"; note?: string }
  | { node: string; state: "connected-not-ready" }
  | { node: string; state: "failed"; message: string }
  | { node: string; state: "disconnected"; reason: string };

export interface RendezvousFailure {
  /** What ended the wait: the deadline, or the first node that failed or went away. */
  reason: "deadline" | "worker-failed" | "worker-disconnected" | "aborted";
  missing: MissingNodeState[];
  elapsedMs: number;
}

export function describeMissingNode(missing: MissingNodeState): string {
  switch (missing.state) {
    case "never-connected":
      return `${missing.node}: never connected${missing.note === undefined ? "" : ` (${missing.note})`}`;
    case "connected-not-ready":
      return `${missing.node}: connected but never reported ready`;
    case "failed":
      return `${missing.node}: reported failure: ${missing.message}`;
    case "disconnected":
      return `${missing.node}: disconnected before the job ended (${missing.reason})`;
    default: {
      const unreachable: never = missing;
      return String(unreachable);
    }
  }
}

/** One line per missing node under a headline, for the user. */
export function describeRendezvousFailure(failure: RendezvousFailure): string {
  const seconds = (failure.elapsedMs / 1000).toFixed(1);
  const headline = {
    deadline: `not every node was ready within ${seconds} s`,
    "worker-failed": `a node failed after ${seconds} s`,
    "worker-disconnected": `a node went away after ${seconds} s`,
    aborted: `the rendezvous was aborted after ${seconds} s`,
  }[failure.reason];
  return [headline, ...failure.missing.map((m) => `  ${describeMissingNode(m)}`)].join("\n");
}
