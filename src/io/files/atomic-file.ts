/**
 * Files and directories that appear whole or not at all: written under a temporary name
 * beside the target, then renamed (atomic within one file system). A reader (a container,
 * ssh, another node on the shared home) never sees half of one.
 */
import { randomBytes } from "node:crypto";
import { chmod, rename, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";

/** A hidden name beside `target`, unique across the nodes sharing a home and their processes. */
export function tempPathBeside(target: string): string {
  return join(
    dirname(target),
    `.${basename(target)}.tmp-${hostname()}-${process.pid}-${randomBytes(4).toString("hex")}`,
  );
}

/** Writes `content` with exactly `mode` (whatever the umask), then renames it into place. */
export async function writeFileAtomic(target: string, content: string | Buffer, mode: number): Promise<void> {
  const temp = tempPathBeside(target);
  try {
    await writeFile(temp, content, { mode, flag: "wx" });
    await chmod(temp, mode); // the umask may have taken bits away
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
