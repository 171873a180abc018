/**
 * The lifecycle of a node's one container, as data:
 *
 *   idle ──start──▶ starting ──created──▶ up ──remove──▶ removing ──removed──▶ removed
 *     │                │                                  ▲   │
 *     │                └──────────────remove──────────────┘   └─remove-failed─▶ up
 *     └──remove──▶ removed
 *
 * A removal wins in every state: asked for while starting, it waits until the engine's
 * `run` has returned (a container may exist by then), prevents everything after it, and
 * removes. Nothing can start once a removal was asked for. A failed removal goes back to
 * `up`, so the next request tries again instead of returning a stale failure.
 */
export type ContainerPhase = "idle" | "starting" | "up" | "removing" | "removed";

export type ContainerEvent =
  /** start() was called. */
  | "start"
  /** The engine's `run` returned, with or without a container. */
  | "created"
  /** remove() was called. */
  | "remove"
  /** The engine confirmed the container is gone. */
  | "removed"
  | "remove-failed";

/** The next phase, or undefined when the event cannot happen in this phase (a bug). */
export function nextContainerPhase(phase: ContainerPhase, event: ContainerEvent): ContainerPhase | undefined {
  switch (phase) {
    case "idle":
      return event === "start" ? "starting" : event === "remove" ? "removed" : undefined;
    case "starting":
      return event === "created" ? "up" : event === "remove" ? "removing" : undefined;
    case "up":
      return event === "remove" ? "removing" : undefined;
    case "removing":
      // `created` comes when the removal waited for a `run` that was in flight.
      if (event === "remove" || event === "created") return "removing";
      return event === "removed" ? "removed" : event === "remove-failed" ? "up" : undefined;
    case "removed":
      return event === "remove" ? "removed" : undefined;
    default:
      return assertNever(phase);
  }
}

function assertNever(value: never): never {
  throw new Error(`internal error: unexpected container phase ${String(value)} (please report)`);
}
