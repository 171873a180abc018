/**
 * A bound on the connections a server holds before they authenticate (the rendezvous master,
 * the agent server), so that another user flooding its port cannot exhaust it. A newcomer is
 * always admitted: when the slots are full, the oldest connection of the source that holds
 * the most slots makes room. Refusing newcomers instead would let a flood that is merely held
 * open (each connection until the handshake timeout, then again) keep every real peer out;
 * this way a flood displaces itself, and a real peer, which answers the challenge within a
 * round trip, is displaced only by another `limit` connections arriving within that round trip
 * (and from its own address only once no other address holds more). An authenticated connection
 * has left the slots and is never displaced. Pure; the servers close what it displaces.
 */

export interface HandshakeSlots<T> {
  /** Takes a slot for `item`, connected from `source` (its address); returns what it displaced. */
  admit(item: T, source: string): T | undefined;
  /** The item authenticated or closed: its slot is free. Unknown items are ignored. */
  release(item: T): void;
  readonly size: number;
}

/** Slots for the rendezvous: every expected worker may be in its handshake at once, and more. */
export function rendezvousHandshakeLimit(expectedWorkers: number): number {
  return expectedWorkers + 64;
}

/** Slots for the agent: far more than mpirun's or pdsh's fan-out to one node. */
export const AGENT_HANDSHAKE_LIMIT = 256;

export function createHandshakeSlots<T>(limit: number): HandshakeSlots<T> {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`internal error: handshake limit ${limit}`);
  const sourceOf = new Map<T, string>();
  /** Each source's items, oldest first (a Set keeps insertion order). */
  const bySource = new Map<string, Set<T>>();
  /** The admission order of each item, to tell the older of two sources' oldest items. */
  const order = new Map<T, number>();
  let admitted = 0;

  const remove = (item: T): void => {
    const source = sourceOf.get(item);
    if (source === undefined) return;
    sourceOf.delete(item);
    order.delete(item);
    const items = bySource.get(source);
    items?.delete(item);
    if (items?.size === 0) bySource.delete(source);
  };

  const chooseVictim = (): T | undefined => {
    let victim: T | undefined;
    let most = 0;
    for (const items of bySource.values()) {
      const oldest = items.values().next().value as T;
      const older = victim === undefined || (order.get(oldest) ?? 0) < (order.get(victim) ?? 0);
      if (items.size > most || (items.size === most && older)) {
        most = items.size;
        victim = oldest;
      }
    }
    return victim;
  };

  return {
    admit(item, source) {
      remove(item);
      const victim = sourceOf.size >= limit ? chooseVictim() : undefined;
      if (victim !== undefined) remove(victim);
      sourceOf.set(item, source);
      order.set(item, admitted++);
      const items = bySource.get(source) ?? new Set<T>();
      items.add(item);
      bySource.set(source, items);
      return victim;
    },
    release: remove,
    get size() {
      return sourceOf.size;
    },
  };
}
