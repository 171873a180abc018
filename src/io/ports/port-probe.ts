// Is a TCP port free on this node? Asked for MASTER_PORT's candidates (the job's own program
// binds it later) and for a port the user gave with --sshdport, so a clash (another job, a
// leftover process) is one clear error instead of sshd's log line. The ports srun-docker's own
// servers use are bound by the servers themselves, never probed for them.
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
