/**
 * This node's image relay for `--pull-once` (core/relay/relay-protocol.ts): listens on the first of
 * its candidate ports free here (the node tells the master which, in its hello), lets the nodes
 * of the job that prove they hold its secret wait until this node has the image, then streams
 * each of them the engine's `save` archive, with back-pressure (a slow child slows its own
 * stream, nobody else's). Strangers are held in bounded handshake slots and dropped after a few
 * seconds, as at the rendezvous. One state per connection: core/relay/relay-serve-state.ts.
 */
import { createServer } from "node:net";
import { AGENT_HANDSHAKE_LIMIT, createHandshakeSlots } from "../../core/channel/index.js";
import type { RelayOffer } from "../../core/relay/index.js";
import { createRefusalLog } from "../channel/index.js";
import { listenTcpFallback } from "../ports/index.js";
import { realTimers } from "../process/index.js";
import { type RelayServerOptions, type ServedConnection, serveConnection } from "./relay-server-connection.js";

export type { RelayServerEvent, RelayServerOptions } from "./relay-server-connection.js";

export interface RelayServer {
  readonly port: number;
  /** This node has the image: serve it to every child waiting and to each that comes. */
  offer(image: { readonly id: string; readonly size?: number | undefined }): void;
  /** This node could not get it: tell every child, so it fetches from the registry itself. */
  withdraw(reason: string): void;
  close(): void;
}

export async function startRelayServer(options: RelayServerOptions): Promise<RelayServer> {
  const timers = options.timers ?? realTimers;
  const emit = options.onEvent ?? (() => {});
  const slots = createHandshakeSlots<ServedConnection>(AGENT_HANDSHAKE_LIMIT);
  const refusals = createRefusalLog(options.onRefusals ?? (() => {}), timers);
  const connections = new Set<ServedConnection>();
  let offer: RelayOffer = { kind: "pending" };
  let size: number | undefined;
  let closed = false;

  const server = createServer((socket) => {
    if (closed) {
      socket.destroy();
      return;
    }
    const conn = serveConnection(socket, options, timers, emit, () => ({ offer, size }), refusals.note);
    slots.admit(conn, socket.remoteAddress ?? "?")?.crowdOut();
    conn.onAuthenticated = () => slots.release(conn);
    connections.add(conn);
    socket.on("close", () => {
      slots.release(conn);
      connections.delete(conn);
    });
  });
  server.on("error", () => {});
  const port = await listenTcpFallback(server, options.candidates, options.host, "relay");
  const announce = (next: RelayOffer): void => {
    if (offer.kind !== "pending") return;
    offer = next;
    for (const conn of connections) conn.apply(offer);
  };
  return {
    port,
    offer: (image) => {
      size = image.size;
      announce({ kind: "ready", id: image.id });
    },
    withdraw: (reason) => announce({ kind: "failed", reason }),
    close: () => {
      closed = true;
      server.close();
      for (const conn of connections) conn.socket.destroy();
      refusals.close();
    },
  };
}
