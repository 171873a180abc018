// A user's working directory on the shared home, with srun-docker installed the way HPC
// users do it: one file dropped into ~/bin.
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { REPO, STATE } from "./cluster.js";

const BUNDLE = path.join(REPO, "dist/srun-docker.cjs");
/** The single executable (Node inside), for nodes without Node.js. */
export const SEA = path.join(REPO, "dist/srun-docker");

/**
 * Which build lands in ~/bin as `srun-docker`: the single executable (what --remote=agent, the
 * default, mounts into the containers), or the .cjs bundle (needs node on the nodes).
 */
export type ToolBuild = "bundle" | "sea";

export interface Workspace {
  user: string;
  uid: number;
  home: string;
  dir: string;
  /** Writes a file owned by the user; executable when `mode` says so. */
  write(name: string, content: string, mode?: number): string;
}

export function installTool(user: string, uid: number, build: ToolBuild = "sea"): void {
  const file = build === "sea" ? SEA : BUNDLE;
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build first`);
  const bin = `/home/${user}/bin`;
  mkdirSync(bin, { recursive: true });
  chownSync(bin, uid, uid);
  // Beside, then renamed over: a running copy (an agent in a container) keeps its own file, and
  // writing into a file being executed fails (ETXTBSY).
  const temp = `${bin}/.srun-docker.${process.pid}`;
  copyFileSync(file, temp);
  chownSync(temp, uid, uid);
  chmodSync(temp, 0o755);
  renameSync(temp, `${bin}/srun-docker`);
  // The Epilog that the docs give to admins calls the tool from the cluster's bin.
  copyFileSync(BUNDLE, path.join(STATE, "bin/srun-docker"));
  chmodSync(path.join(STATE, "bin/srun-docker"), 0o755);
}

export function createWorkspace(user: string, uid: number, build: ToolBuild = "sea"): Workspace {
  const home = `/home/${user}`;
  installTool(user, uid, build);
  const dir = mkdtempSync(path.join(home, "e2e-"));
  chownSync(dir, uid, uid);
  created.push(dir);
  return {
    user,
    uid,
    home,
    dir,
    write(name, content, mode = 0o644) {
      const file = path.join(dir, name);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, content);
      chmodSync(file, mode);
      chownSync(file, uid, uid);
      return file;
    },
  };
}

const created: string[] = [];

/**
 * Removes the workspaces this test file made, and what its jobs wrote beside them in the home
 * (`e2e-XXXX-node1.out`): the homes are the machine's own /home and outlive every run.
 * Called after each e2e file (test/e2e/setup.ts).
 */
export function removeWorkspaces(): void {
  for (const dir of created.splice(0)) {
    const home = path.dirname(dir);
    const prefix = `${path.basename(dir)}-`;
    rmSync(dir, { recursive: true, force: true });
    for (const name of readdirSync(home)) if (name.startsWith(prefix)) rmSync(path.join(home, name), { force: true });
  }
}
