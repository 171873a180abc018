/**
 * The user's private srun-docker directory (default ~/.srun-docker, 0700): the secret every job
 * step's keys are derived from (io/files/job-keys.ts), and the per-job directories. The home is
 * usually shared by every node of a job and they all start at once, so the directory is built
 * under a private temporary name next to it and renamed into place: rename() is atomic, one
 * node wins, the others use its copy. (`generateKeyPair` is here for `srun-docker sshconfig`.)
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
import { isErrno, UserError } from "../../core/common/index.js";
import { tempPathBeside } from "../files/index.js";
import { runCommand } from "../process/index.js";
import { completeMaterial } from "./material-completion.js";

export const SECRET_BYTES = 32;

export interface UserMaterial {
  dir: string;
  /** The user's secret, from which each job step's keys are derived. */
  secret: Buffer;
  /** Parent of the per-job directories (jobs/<jobId>.<stepId>/<node>/). */
  jobsDir: string;
  /** Whether this call created the directory. */
  created: boolean;
}

export interface KeygenOptions {
  sshKeygen?: string;
  run?: typeof runCommand;
}

export interface UserMaterialOptions {
  /** The owner the directory must have; default the calling user. */
  uid?: number;
}

const SECRET_FILE = "secret";

export function defaultMaterialDir(): string {
  return join(homedir(), ".srun-docker");
}

export async function ensureUserMaterial(
  dir: string = defaultMaterialDir(),
  options: UserMaterialOptions = {},
): Promise<UserMaterial> {
  if (await exists(dir)) return loadUserMaterial(dir, options, false);
  await mkdir(dirname(dir), { recursive: true });
  const temp = tempPathBeside(dir);
  try {
    await mkdir(temp, { mode: 0o700 });
    await fillMaterialDir(temp);
    await rename(temp, dir);
    return await loadUserMaterial(dir, options, true);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    // Another node renamed its copy into place first: use the winner's.
    if (isErrno(error, "EEXIST", "ENOTEMPTY")) return loadUserMaterial(dir, options, false);
    throw error;
  }
}

/**
 * The secret, when a run made it already; undefined before. For the dry run, which reads but
 * never makes (the ports it shows are drawn from the secret).
 */
export async function readSecretIfMade(dir: string = defaultMaterialDir()): Promise<Buffer | undefined> {
  const secret = await readFile(join(dir, SECRET_FILE)).catch(() => undefined);
  return secret?.length === SECRET_BYTES ? secret : undefined;
}

async function fillMaterialDir(dir: string): Promise<void> {
  await writeFile(join(dir, SECRET_FILE), randomBytes(SECRET_BYTES), { mode: 0o600 });
  await mkdir(join(dir, "jobs"), { mode: 0o700 });
}

/** `ssh-keygen` for one key pair without a passphrase at `path` (+ `.pub`). */
export async function generateKeyPair(
  path: string,
  type: "ed25519" | "ecdsa",
  comment: string,
  { sshKeygen = "ssh-keygen", run = runCommand }: KeygenOptions = {},
): Promise<void> {
  const r = await run(sshKeygen, ["-q", "-t", type, "-N", "", "-C", comment, "-f", path]);
  if (r.exitCode !== 0) {
    throw new UserError(
      "ssh-keygen",
      `\`${sshKeygen}\` could not create ${path}: ${r.stderr.trim() || `exit ${r.exitCode}`}`,
      {
        hint: "srun-docker needs OpenSSH's ssh-keygen on the node that first creates its key material",
      },
    );
  }
}

async function loadUserMaterial(dir: string, options: UserMaterialOptions, created: boolean): Promise<UserMaterial> {
  const again = "srun-docker creates it again on the next run";
  const remake = `remove it (rm -rf ${dir}); ${again}`;
  const info = await stat(dir);
  if (!info.isDirectory()) {
    throw new UserError("ssh-material", `${dir} is not a directory`, { hint: `move it away; ${again}` });
  }
  const uid = options.uid ?? process.getuid?.();
  if (uid !== undefined && info.uid !== uid) {
    throw new UserError("ssh-material", `${dir} belongs to uid ${info.uid}, not to you (uid ${uid})`, { hint: remake });
  }
  if ((info.mode & 0o077) !== 0) {
    throw new UserError(
      "ssh-material",
      `${dir} is open to other users (mode ${octal(info.mode)}); it holds private keys`,
      {
        hint: `chmod 700 ${dir}, or ${remake} if others may have copied the keys`,
      },
    );
  }
  if (!created) await completeMaterial(dir, fillMaterialDir, remake);
  const secretPath = join(dir, SECRET_FILE);
  const file = await stat(secretPath).catch(() => undefined);
  if (!file?.isFile()) {
    throw new UserError("ssh-material", `${dir} is incomplete: ${basename(secretPath)} is missing`, { hint: remake });
  }
  if ((file.mode & 0o077) !== 0) {
    throw new UserError("ssh-material", `${secretPath} is open to other users (mode ${octal(file.mode)})`, {
      hint: `chmod 600 ${secretPath}`,
    });
  }
  const secret = await readFile(secretPath);
  if (secret.length !== SECRET_BYTES) {
    throw new UserError("ssh-material", `${secretPath} is damaged (${secret.length} bytes, expected ${SECRET_BYTES})`, {
      hint: remake,
    });
  }
  const jobsDir = join(dir, "jobs");
  await mkdir(jobsDir, { recursive: true, mode: 0o700 });
  return { dir, secret, jobsDir, created };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (isErrno(error, "ENOENT")) return false;
    throw error;
  }
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}
