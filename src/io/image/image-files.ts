/**
 * The image's own /etc/passwd and /etc/group, so the user's entries can be added to what the
 * image needs. Read through the CLI (`create`, `cp -L`, `rm`): once per image id, ever, as it
 * is cached by that id, so it is not worth a tar reader for the API's archive endpoint.
 */
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { isErrno } from "../../core/common/index.js";
import type { Cli } from "../engine/index.js";
import { writeFileAtomic } from "../files/index.js";

export interface ImageFiles {
  passwd: string;
  group: string;
}

/** Cached per image id in `cacheDir`; `fail` turns the CLI's words into the caller's error. */
export async function readImageFiles(
  bin: string,
  cli: Cli,
  imageId: string,
  cacheDir: string,
  fail: (stderr: string) => Error,
): Promise<ImageFiles> {
  const key = imageId.replace(/[^a-zA-Z0-9]/g, "_");
  const cached = path.join(cacheDir, `${key}.json`);
  try {
    return JSON.parse(await readFile(cached, "utf8")) as ImageFiles;
  } catch {
    // Not cached yet (or unreadable): read it from the image below.
  }
  const created = await cli(["create", "--entrypoint", "/bin/true", imageId]);
  if (created.exitCode !== 0) throw fail(created.stderr);
  const id = created.stdout.trim();
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  const scratch = await mkdtemp(path.join(cacheDir, "read-"));
  try {
    const passwd = await copyOut(bin, cli, id, "/etc/passwd", scratch);
    const group = await copyOut(bin, cli, id, "/etc/group", scratch);
    const files = { passwd, group };
    await writeFileAtomic(cached, JSON.stringify(files), 0o600);
    return files;
  } finally {
    await cli(["rm", "-f", id]);
    await rm(scratch, { recursive: true, force: true });
  }
}

async function copyOut(bin: string, cli: Cli, id: string, file: string, dir: string): Promise<string> {
  const target = path.join(dir, path.basename(file));
  // podman cp has no -L; /etc/passwd and /etc/group are plain files in the images we meet.
  const follow = bin === "podman" ? [] : ["-L"];
  const r = await cli(["cp", ...follow, `${id}:${file}`, target]);
  if (r.exitCode !== 0) return "";
  // An engine that says it copied yet wrote nothing: the image has no such file for us.
  return readFile(target, "utf8").catch((error: unknown) => (isErrno(error, "ENOENT") ? "" : Promise.reject(error)));
}
