/** Listening on a TCP port, with the usual failures (port taken, port < 1024) told to the user. */
import type { Server } from "node:net";
import { UserError } from "../../core/common/index.js";
import { describeTakenCandidates } from "../../core/ports/index.js";

/**
 * Resolves with the port bound (the real one when `port` is 0). `what` names the port: "rendezvous".
 * `backlog` is how many connections may wait to be accepted (Node's default 511; the kernel caps
 * it at net.core.somaxconn): one that finds the queue full is dropped and left to its SYN retry.
 */
export function listenTcp(
  server: Server,
  port: number,
  host: string | undefined,
  what: string,
  backlog?: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(listenError(error, port, host, what));
    server.once("error", onError);
    const where = { port, ...(host === undefined ? {} : { host }), ...(backlog === undefined ? {} : { backlog }) };
    server.listen(where, () => {
      server.off("error", onError);
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : port);
    });
  });
}

function listenError(error: NodeJS.ErrnoException, port: number, host: string | undefined, what: string): UserError {
  const where = host === undefined ? `${what} port ${port}` : `${what} port ${port} on ${host}`;
  const hint = `pick a free port with --${what}-port=<port>`;
  switch (error.code) {
    case "EADDRINUSE":
      return new UserError(`${what}-port-in-use`, `${where} is already in use`, {
        hint: `another job or program holds it; ${hint}`,
      });
    case "EACCES":
      return new UserError(`${what}-port-denied`, `not allowed to listen on ${where}`, {
        hint: `ports below 1024 need root; ${hint}`,
      });
    default:
      return new UserError(`${what}-listen-failed`, `cannot listen on ${where}: ${error.message}`, { hint });
  }
}

/**
 * Listens on the first of `ports` that nobody holds (core/ports/port-candidates.ts): the rest are
 * fallbacks for a port another user took. One port is today's listenTcp, errors and all.
 */
export async function listenTcpFallback(
  server: Server,
  ports: readonly number[],
  host: string | undefined,
  what: string,
  backlog?: number,
): Promise<number> {
  const [first, ...fallbacks] = ports;
  if (first === undefined) throw new Error(`internal error: no ${what} port to listen on; please report`);
  if (fallbacks.length === 0) return listenTcp(server, first, host, what, backlog);
  for (const port of ports) {
    try {
      return await listenTcp(server, port, host, what, backlog);
    } catch (error) {
      if (!(error instanceof UserError && error.code === `${what}-port-in-use`)) throw error;
    }
  }
  throw new UserError(`${what}-port-in-use`, describeTakenCandidates(`${what} port`, ports), {
    hint: `other programs hold them; pick a free port with --${what}-port=<port>`,
  });
}
