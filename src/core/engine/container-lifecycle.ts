/**
 * The lifecycle of a node's one container, as data:
 *
 *   idle ──start──▶ starting ──created──▶ up ──remove──▶ removing ──removed──▶ removed
 *     │                │                   │              ▲   │
 *     │                └──────remove───────┼──────────────┘   └─remove-failed─▶ up, or died
 *     │                                  died                  │
 *     │                                    ▼                   │
 *     └──remove──▶ removed               died ───remove────────┘
 *
 * A removal wins in every state: asked for while starting, it waits until the engine's
 * `run` has returned (a container may exist by then), prevents everything after it, and
 * removes. Nothing can start once a removal was asked for. A failed removal goes back to
 * where it came from, so the next request tries again instead of returning a stale failure.
 *
 * `died` is the container ending by itself while up (killed, its init gone, its engine lost):
 * the watch that saw it carries how, and the job ends. Once a removal was asked for, the end
 * the watch sees is our own doing, not a death.
 */
import type { ContainerEnd } from "./container-end.js";

export type ContainerState =
  | { readonly phase: "idle" | "starting" | "up" | "removed" }
  | { readonly phase: "died"; readonly end: ContainerEnd }
  /** `end`: it had died before the removal (a failed removal goes back there). */
  | { readonly phase: "removing"; readonly end?: ContainerEnd };

export type ContainerPhase = ContainerState["phase"];

export type ContainerEvent =
  /** start() was called. */
  | "start"
  /** The engine's `run` returned, with or without a container. */
  | "created"
  /** The watch saw the container end without our teardown. */
  | { readonly died: ContainerEnd }
  /** remove() was called. */
  | "remove"
  /** The engine confirmed the container is gone. */
  | "removed"
  | "remove-failed";

const STARTING: ContainerState = { phase: "starting" };
const UP: ContainerState = { phase: "up" };
const REMOVING: ContainerState = { phase: "removing" };
const REMOVED: ContainerState = { phase: "removed" };

/** The next state, or undefined when the event cannot happen in this state (a bug). */
export function nextContainerState(state: ContainerState, event: ContainerEvent): ContainerState | undefined {
  const died = typeof event === "object" ? event.died : undefined;
  switch (state.phase) {
    case "idle":
      return event === "start" ? STARTING : event === "remove" ? REMOVED : undefined;
    case "starting":
      return event === "created" ? UP : event === "remove" ? REMOVING : undefined;
    case "up":
      if (died !== undefined) return { phase: "died", end: died };
      return event === "remove" ? REMOVING : undefined;
    case "died":
      return event === "remove" ? { phase: "removing", end: state.end } : undefined;
    case "removing":
      return fromRemoving(state, event);
    case "removed":
      return event === "remove" ? REMOVED : undefined;
    default:
      return assertNever(state);
  }
}

function fromRemoving(state: Extract<ContainerState, { phase: "removing" }>, event: ContainerEvent) {
  // `created` comes when the removal waited for a `run` that was in flight; a death seen now
  // is the removal's own doing.
  if (event === "remove" || event === "created" || typeof event === "object") return state;
  if (event === "removed") return REMOVED;
  if (event !== "remove-failed") return undefined;
  return state.end === undefined ? UP : { phase: "died" as const, end: state.end };
}

function assertNever(value: never): never {
  throw new Error(`internal error: unexpected container state ${JSON.stringify(value)} (please report)`);
}

/**
 * What became of the engine's `run` for this container: not asked yet; asked; or cut short
 * (killed by the step's signal, or failed while a removal was asked for), when the container
 * it asked for may still appear a moment later.
 */
export type EngineRun = "not-asked" | "asked" | "interrupted";

/** The engine calls a removal makes, by what became of the `run`. */
export function removalSteps(run: EngineRun): { readonly remove: boolean; readonly awaitLateArrival: boolean } {
  return { remove: run !== "not-asked", awaitLateArrival: run === "interrupted" };
}
