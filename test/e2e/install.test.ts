// srun-docker installed the ways README "Install" gives, each then running a 2-node job on the
// test cluster: the npm package installed by a user with no registry in reach (it needs
// nothing from one, and its agent is the bundle on the Node running it, the containers having
// none), and the Debian package installed on the nodes, run from /usr/bin/srun-docker.
import { chmodSync, chownSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { clusterSize, leftovers, NOSSH_IMAGE, REPO, run, runAs, USERS } from "./cluster.js";
import { createWorkspace, type Workspace } from "./workspace.js";

// salloc may wait for other suites' jobs to free nodes.
const JOB_TIMEOUT_MS = 300_000;
// Where no registry answers: a refused port on loopback.
const NO_REGISTRY = "http://127.0.0.1:9/";

let packDir: string;

beforeAll(() => {
  expect(clusterSize(), "the test cluster must be up: bash test/cluster/cluster.sh up 4").toBeGreaterThanOrEqual(2);
  packDir = mkdtempSync(path.join(tmpdir(), "srun-docker-pack-"));
});
afterAll(() => rmSync(packDir, { recursive: true, force: true }));

function copyAsUser(from: string, to: string, uid: number): void {
  cpSync(from, to, { recursive: true });
  const chownTree = (p: string): void => {
    chownSync(p, uid, uid);
    if (statSync(p).isDirectory()) for (const entry of readdirSync(p)) chownTree(path.join(p, entry));
  };
  chownTree(to);
}

/**
 * The MPI example, preceded by a line saying which agent its containers got: the bundle's
 * files under /opt/srun-docker/lib, or the single executable alone.
 */
function mpiJob(ws: Workspace): string {
  copyAsUser(path.join(REPO, "examples", "mpi"), path.join(ws.dir, "mpi"), ws.uid);
  return ws.write(
    "mpi/agent-then-job.sh",
    [
      "#!/bin/bash",
      'if [ -e /opt/srun-docker/lib/srun-docker.cjs ]; then echo "agent: bundle"; else echo "agent: executable"; fi',
      'exec "$(dirname "$0")/job.sh"',
      "",
    ].join("\n"),
    0o755,
  );
}

async function pack(): Promise<string> {
  const r = await run("npm", ["pack", "--silent", "--pack-destination", packDir], 120_000);
  expect(r.code, r.stderr).toBe(0);
  const tarball = path.join(packDir, r.stdout.trim().split("\n").pop() ?? "");
  chmodSync(packDir, 0o755); // the user copies the tarball from it
  return tarball;
}

describe("the npm package", () => {
  const USER = "bob";
  let ws: Workspace;
  beforeAll(() => {
    ws = createWorkspace(USER, USERS.bob);
  });

  test("installed offline into a prefix, it runs the MPI example on 2 nodes in the default mode", async () => {
    const tarball = await pack();
    const prefix = `${ws.dir}/prefix`;
    // Offline, with a registry that refuses: a package that lists dependencies fails here.
    const npmEnv = `npm_config_offline=true npm_config_registry=${NO_REGISTRY} npm_config_cache=${ws.dir}/npm-cache`;
    const install = await runAs(
      USER,
      `cp ${tarball} ${ws.dir}/ && ${npmEnv} npm install -g --no-audit --no-fund --prefix ${prefix} ${ws.dir}/${path.basename(tarball)}`,
      120_000,
    );
    expect(install.code, install.stdout + install.stderr).toBe(0);
    const job = mpiJob(ws);
    const r = await runAs(
      USER,
      `export PATH=${prefix}/bin:$PATH && command -v srun-docker && cd ${ws.dir}/mpi && ` +
        `salloc -N 2 srun srun-docker --container=${NOSSH_IMAGE} --script=${job} --slots_per_node=2`,
      JOB_TIMEOUT_MS,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`${prefix}/bin/srun-docker\n`);
    expect(r.stdout).toContain("agent: bundle\n");
    expect(r.stdout).toContain("allreduce OK: 6 == 6");
    expect(await leftovers(2, USERS.bob)).toEqual({ containers: [], processes: [] });
  });
});
