/**
 * How the rendezvous master ends: the farewell (done or abort) to every joined worker, then,
 * for an abort, a linger for the nodes that have not joined yet (the master failed before they
 * started, or the rendezvous timed out): each late worker that authenticates is answered with
 * the abort at once, rather than retrying until its own deadline. Then the listener closes and
 * every socket is destroyed once its farewell was read or the grace passed.
 */
import type { Server } from "node:net";
import type { MasterMessage } from "../../core/rendezvous/index.js";
import { listUnreachedNodes } from "../../core/rendezvous/index.js";
import { advance, type Connection, type MasterContext, send } from "./rendezvous-master-context.js";
import type { MasterSession } from "./rendezvous-master-session.js";

export interface MasterShutdown {
  /**
   * Sends `last` to every joined worker; with `lingerMs`, keeps listening until every node not
   * yet joined was told too; then closes everything within the grace period. `last` undefined
   * drops everything at once. Runs once: later calls get the same promise, and one without a
   * linger (a cancel: every node got the signal itself) cuts a linger short.
   */
  shutdown(last: MasterMessage | undefined, lingerMs?: number): Promise<void>;
  /** A worker that joined while lingering: tells it the farewell. */
  greetLateWorker(conn: Connection): void;
  /** Drops everything at once, cutting a linger short. */
  closeNow(): void;
}

export function createMasterShutdown(
  ctx: MasterContext,
  server: Server,
  session: MasterSession,
  closeGraceMs: number,
): MasterShutdown {
  const { timers } = ctx;
  /** One per worker told the farewell: settles when its socket has closed. */
  const farewells: Promise<void>[] = [];
  let endLinger: () => void = () => {};
  /** Nodes not yet joined when the linger began: each joins at most once. */
  let unreachedLeft = 0;
  let done: Promise<void> | undefined;

  /** Sends the last message and half-closes, so it arrives before the FIN. */
  function sayFarewell(conn: Connection, last: MasterMessage): void {
    farewells.push(new Promise((resolve) => conn.socket.once("close", () => resolve())));
    send(conn, last);
    conn.socket.end();
  }

  async function run(last: MasterMessage | undefined, lingerMs: number): Promise<void> {
    if (ctx.state.phase === "gathering") session.fail("aborted");
    session.stopHeartbeat();
    const unreached = listUnreachedNodes(ctx.roster);
    const linger = last !== undefined && lingerMs > 0 && unreached.length > 0;
    advance(ctx, linger ? { type: "linger", farewell: last } : { type: "close" });
    for (const conn of ctx.connections) {
      if (conn.node !== undefined && last !== undefined) sayFarewell(conn, last);
      // A connection still in its handshake may be a late worker: it is told once it is in.
      else if (!linger) conn.socket.destroy();
    }
    if (linger) {
      unreachedLeft = unreached.length;
      ctx.emit({ type: "lingering", nodes: unreached, lingerMs });
      await new Promise<void>((resolve) => {
        const timer = timers.setTimeout(resolve, lingerMs);
        endLinger = () => {
          timers.clearTimeout(timer);
          resolve();
        };
      });
    }
    advance(ctx, { type: "close" });
    server.close();
    for (const conn of ctx.connections) if (conn.node === undefined) conn.socket.destroy();
    if (farewells.length > 0) {
      let graceTimer: unknown;
      await Promise.race([
        Promise.all(farewells),
        new Promise<void>((resolve) => {
          graceTimer = timers.setTimeout(resolve, closeGraceMs);
        }),
      ]);
      timers.clearTimeout(graceTimer);
    }
    for (const conn of ctx.connections) conn.socket.destroy();
  }

  function shutdown(last: MasterMessage | undefined, lingerMs = 0): Promise<void> {
    if (done !== undefined && lingerMs === 0) endLinger();
    done ??= run(last, lingerMs);
    return done;
  }

  return {
    shutdown,
    greetLateWorker(conn) {
      if (ctx.state.phase !== "lingering") return;
      sayFarewell(conn, ctx.state.farewell);
      // Counted down rather than a scan of the roster per late joiner, which made a linger O(N²).
      unreachedLeft--;
      if (unreachedLeft <= 0 && listUnreachedNodes(ctx.roster).length === 0) endLinger();
    },
    closeNow() {
      void shutdown(undefined);
      endLinger();
      server.close();
      for (const conn of ctx.connections) conn.socket.destroy();
    },
  };
}
