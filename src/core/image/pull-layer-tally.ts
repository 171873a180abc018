import type { PullStreamEvent } from "./pull-stream.js";

/**
 * One node's pull, layer by layer, from its engine's events; what it reports to the master
 * is the snapshot (four numbers), not the layers. Bytes are the download's (compressed, what
 * crosses the network); extracting is not counted twice. A layer the node already had is
 * done and adds no bytes.
 */
export interface LayerState {
  readonly current: number;
  readonly total: number | undefined;
  readonly done: boolean;
}

export type LayerTally = ReadonlyMap<string, LayerState>;

export interface NodePullSnapshot {
  readonly layers: number;
  readonly layersDone: number;
  readonly bytesDone: number;
  /** Of the layers whose size is known so far (docker says it when a download starts; podman never). */
  readonly bytesTotal: number;
}

export const EMPTY_TALLY: LayerTally = new Map();

export function tallyEvent(tally: LayerTally, event: PullStreamEvent): LayerTally {
  if (event.kind === "layers-complete") {
    return new Map([...tally].map(([id, layer]) => [id, finish(layer)]));
  }
  if (event.kind !== "layer") return tally;
  const before = tally.get(event.id) ?? { current: 0, total: undefined, done: false };
  const next = new Map(tally);
  next.set(event.id, advance(before, event));
  return next;
}

function advance(layer: LayerState, event: Extract<PullStreamEvent, { kind: "layer" }>): LayerState {
  switch (event.phase) {
    case "already-exists":
      return { current: 0, total: 0, done: true };
    case "downloading": {
      const total = event.total ?? layer.total;
      const current = Math.max(0, Math.min(event.current ?? layer.current, total ?? Number.POSITIVE_INFINITY));
      return { ...layer, current, total };
    }
    case "retrying":
      return { ...layer, current: 0 };
    case "verifying":
    case "downloaded":
    case "extracting":
      return { ...layer, current: layer.total ?? layer.current };
    case "done":
      return finish(layer);
    case "waiting":
    case "pulling":
      return layer;
    default:
      return assertNever(event.phase);
  }
}

function finish(layer: LayerState): LayerState {
  return { current: layer.total ?? layer.current, total: layer.total ?? layer.current, done: true };
}

export function snapshotOf(tally: LayerTally): NodePullSnapshot {
  let layersDone = 0;
  let bytesDone = 0;
  let bytesTotal = 0;
  for (const layer of tally.values()) {
    if (layer.done) layersDone++;
    bytesDone += layer.current;
    bytesTotal += layer.total ?? 0;
  }
  return { layers: tally.size, layersDone, bytesDone, bytesTotal };
}

function assertNever(phase: never): never {
  throw new Error(`internal error: unhandled layer phase ${String(phase)}; please report`);
}
