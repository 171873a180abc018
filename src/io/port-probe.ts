// Is a TCP port free on this node? Asked before a container's sshd tries to bind it, so a
// clash (another job, a leftover process) is one clear error instead of sshd's log line.
import { createServer } from "node:net";

export function isPortFree(port: number, host?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen({ port, ...(host === undefined ? {} : { host }), exclusive: true }, () =>
      server.close(() => resolve(true)),
    );
  });
}
