// The fake engine's sshd (fake-node.test-support.ts), started as the real one starts
// (core/engine/sshd-start.ts): on the first of the plan's ports it can take, saying which in the
// container's switch dir (core/engine/dead-man-switch.ts), a banner on each connection.
import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import path from "node:path";
import { MAIN_EXIT_FILE, REMOTE_PORT_FILE, SWITCH_MOUNT } from "../../core/engine/index.js";

/** The host side of the container's switch dir, from `docker run`'s `-v DIR:/run/srun-docker`. */
function switchDirOf(args: readonly string[]): string {
  const mount = args.find((arg) => arg.endsWith(`:${SWITCH_MOUNT}`)) ?? "";
  return mount.slice(0, -(SWITCH_MOUNT.length + 1));
}

/**
 * A fake sshd on the first of `ports` not `taken` on this node, saying it in the switch dir of
 * `runArgs`. Another node of a test job on this host may serve a port already: then it shares
 * that one. Every port taken: it exits as sshd's start would, its code in main.exit.
 */
export async function startFakeSshd(
  ports: readonly number[],
  runArgs: readonly string[],
  taken: readonly number[] = [],
): Promise<Server | undefined> {
  const switchDir = switchDirOf(runArgs);
  const port = ports.find((p) => !taken.includes(p));
  if (port === undefined) {
    await writeFile(path.join(switchDir, MAIN_EXIT_FILE), "255\n");
    return undefined;
  }
  const server = await serveBanner(port);
  await writeFile(path.join(switchDir, REMOTE_PORT_FILE), `${port}\n`);
  return server;
}

/** A fake sshd; undefined when another node of a test job on this host serves the port already. */
async function serveBanner(port: number): Promise<Server | undefined> {
  const server = createServer((socket) => socket.end("SSH-2.0-fake\r\n"));
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      error.code === "EADDRINUSE" ? resolve(undefined) : reject(error),
    );
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}
