/**
 * Per-job private files (passwd, group, ssh config, hostfile...) under
 * <material dir>/jobs/<jobId>.<stepId>/<node>/: per node, because the home is shared and every
 * node writes its own. Each file is written under a temporary name and renamed, so a reader
 * (the container, ssh) never sees half a file.
 */
import { mkdir, rm, rmdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { isErrno } from "../../core/common/index.js";
import { checkSegment } from "../../core/slurm/index.js";
import { writeFileAtomic } from "./atomic-file.js";

export interface JobFile {
  content: string | Buffer;
  mode: number;
  /** Mounted into the container by itself: see rewriteJobFiles. */
  boundAsFile?: true;
}

/** Creates `jobDir` (0700) and writes each file atomically with exactly its mode. */
export async function writeJobFiles(jobDir: string, files: Record<string, JobFile>): Promise<Record<string, string>> {
  await mkdir(jobDir, { recursive: true, mode: 0o700 });
  const written: Record<string, string> = {};
  for (const [name, file] of Object.entries(files)) {
    const path = join(jobDir, checkSegment("file name", name));
    await writeFileAtomic(path, file.content, file.mode);
    written[name] = path;
  }
  return written;
}

/**
 * Writes the files whose content changed since `before`; the names written. One mounted into
 * the container by itself keeps its inode (rewritten in place: it is read only once the job
 * starts, after this); the others are replaced atomically, as the container may read them now.
 */
export async function rewriteJobFiles(
  jobDir: string,
  before: Readonly<Record<string, JobFile>>,
  after: Readonly<Record<string, JobFile>>,
): Promise<string[]> {
  const written: string[] = [];
  for (const [name, file] of Object.entries(after)) {
    const old = before[name]?.content;
    if (old !== undefined && Buffer.from(old).equals(Buffer.from(file.content))) continue;
    const path = join(jobDir, checkSegment("file name", name));
    if (file.boundAsFile === true && before[name] !== undefined) await writeFile(path, file.content);
    else await writeFileAtomic(path, file.content, file.mode);
    written.push(name);
  }
  return written;
}

/** Removes this node's job dir, and the job's dir once no node's is left in it. */
export async function removeJobDir(jobDir: string): Promise<void> {
  await rm(jobDir, { recursive: true, force: true });
  try {
    await rmdir(dirname(jobDir));
  } catch (error) {
    if (!isErrno(error, "ENOTEMPTY", "EEXIST", "ENOENT")) throw error;
  }
}
