/**
 * Completing the user's srun-docker directory (io/ssh/ssh-material.ts) when other subcommands made
 * it first: `asuser` and the image files' cache create ~/.srun-docker without keys, and any
 * order of subcommands must work.
 */
import { link, lstat, mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { isErrno, UserError } from "../../core/common/index.js";
import {
  checkMaterialFiles,
  type EntryKind,
  MATERIAL_SETS,
  type MaterialCheck,
  type MaterialSet,
  materialFileNames,
} from "../../core/ssh/index.js";
import { tempPathBeside } from "../files/index.js";

/** Where the nodes completing one directory agree on one set of files. */
const FILL = ".fill";

/**
 * Makes the sets of files the directory lacks (core/ssh/material-files.ts), once io/ssh/ssh-material.ts
 * found it ours and private; never through a symbolic link. The nodes of a job may all find it incomplete at
 * once on a shared home, and a set must come from one ssh-keygen run: each builds a whole set
 * under a private name, the first to rename it to `.fill` wins, and every node links the
 * winner's files into place (link, unlike rename, never replaces a file another node put
 * there). `.fill` goes once nothing is missing; one left by a killed run is a whole set.
 */
export async function completeMaterial(
  dir: string,
  fill: (temp: string) => Promise<void>,
  remake: string,
): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const check = await inspectMaterial(dir);
    if (check.kind === "complete") return removeFill(dir);
    if (check.kind === "broken") {
      throw new UserError("ssh-material", `${dir} is incomplete: ${check.file} is ${check.problem}`, { hint: remake });
    }
    if ((await lstat(dir)).isSymbolicLink()) {
      throw new UserError("ssh-material", `${dir} is incomplete, and a symbolic link srun-docker does not complete`, {
        hint: remake,
      });
    }
    await offerFill(dir, fill);
    await linkFromFill(dir, check.sets);
  }
  throw new UserError("ssh-material", `${dir} could not be completed: its files keep changing`, { hint: remake });
}

async function inspectMaterial(dir: string): Promise<MaterialCheck> {
  const entries: Record<string, EntryKind> = {};
  for (const name of materialFileNames()) entries[name] = await entryKind(join(dir, name));
  return checkMaterialFiles(entries);
}

async function entryKind(path: string): Promise<EntryKind> {
  const info = await lstat(path).catch((error: unknown) => {
    if (isErrno(error, "ENOENT")) return undefined;
    throw error;
  });
  return info === undefined ? "absent" : info.isFile() ? "file" : "other";
}

/** A whole set of our own at `.fill`, unless another node's is there first. */
async function offerFill(dir: string, fill: (temp: string) => Promise<void>): Promise<void> {
  const target = join(dir, FILL);
  if ((await entryKind(target)) !== "absent") return;
  const temp = tempPathBeside(target);
  try {
    await mkdir(temp, { mode: 0o700 });
    await fill(temp);
    await rename(temp, target);
  } catch (error) {
    if (!isErrno(error, "EEXIST", "ENOTEMPTY")) throw error;
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

async function linkFromFill(dir: string, sets: readonly MaterialSet[]): Promise<void> {
  for (const name of sets.flatMap((set) => MATERIAL_SETS[set])) {
    try {
      await link(join(dir, FILL, name), join(dir, name));
    } catch (error) {
      // EEXIST: another node linked it; ENOENT: that node already finished and took `.fill` away.
      if (isErrno(error, "ENOENT")) return;
      if (!isErrno(error, "EEXIST")) throw error;
    }
  }
}

/** Renamed aside first, so that no node ever finds `.fill` half removed. */
async function removeFill(dir: string): Promise<void> {
  const aside = tempPathBeside(join(dir, `${FILL}-old`));
  try {
    await rename(join(dir, FILL), aside);
  } catch (error) {
    if (isErrno(error, "ENOENT")) return;
    throw error;
  }
  await rm(aside, { recursive: true, force: true });
}
