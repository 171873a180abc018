/**
 * Another user's flood of a port, for the tests of the rendezvous master and the agent server:
 * connections that never say a word. Imported by *.test.ts only.
 */
import { connect, type Socket } from "node:net";

export interface Flood {
  /** Junk connections open now. */
  open(): number;
  stop(): void;
}

/**
 * `count` connections to 127.0.0.1:`port` that send nothing and stay open until the server
 * closes them; with `reconnect`, each one closed is opened again at once, until stop().
 * Resolves once every first connection is established.
 */
export async function flood(
  port: number,
  count: number,
  options: { localAddress?: string; reconnect?: boolean } = {},
): Promise<Flood> {
  const sockets = new Set<Socket>();
  let stopped = false;
  let connected = 0;
  const open = (): void => {
    const from = options.localAddress === undefined ? {} : { localAddress: options.localAddress };
    const socket = connect({ port, host: "127.0.0.1", ...from });
    sockets.add(socket);
    socket.once("connect", () => connected++);
    socket.on("error", () => {});
    // Reads (and ignores) what the server says, so the close that follows is seen here too.
    socket.resume();
    socket.on("close", () => {
      sockets.delete(socket);
      if (options.reconnect && !stopped) open();
    });
  };
  for (let i = 0; i < count; i++) open();
  const until = Date.now() + 10_000;
  while (connected < count) {
    if (Date.now() > until) throw new Error(`only ${connected} of ${count} flood connections were made`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return {
    open: () => [...sockets].filter((socket) => !socket.destroyed && !socket.connecting).length,
    stop: () => {
      stopped = true;
      for (const socket of sockets) socket.destroy();
    },
  };
}
