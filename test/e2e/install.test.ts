// srun-docker installed the ways README "Install" gives, each then running a 2-node job on the
// test cluster: the npm package installed by a user with no registry in reach (it needs
// nothing from one, and its agent is the bundle on the Node running it, the containers having
// none), and the Debian package of `npm run release` installed on the nodes, run from
// /usr/bin/srun-docker, with its man page and completion, then removed without a trace. The
// test cluster's nodes share the machine's /usr and dpkg database (only their network, names,
// /run, /tmp and a few files in /etc are their own), so one `dpkg -i` in node1 installs it on
// every node, as a site's image or configuration management would.
import { chmodSync, chownSync, cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { clusterSize, inNode, leftovers, NOSSH_IMAGE, REPO, run, runAs, USERS } from "./cluster.js";
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

let released: Promise<string> | undefined;

/** `npm run release`'s files (the build is the suite's), made once for the file: their directory. */
function release(): Promise<string> {
  released ??= (async () => {
    const r = await run(process.execPath, [path.join(REPO, "scripts/release.mjs")], 300_000);
    expect(r.code, r.stderr).toBe(0);
    const dir = path.join(REPO, "dist/release");
    const sums = await run("sh", ["-c", `cd ${dir} && sha256sum -c SHA256SUMS`]);
    expect(sums.code, sums.stdout + sums.stderr).toBe(0);
    return dir;
  })();
  return released;
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

describe("the Debian package", () => {
  const USER = "dave";
  let ws: Workspace;
  let deb: string;
  beforeAll(async () => {
    ws = createWorkspace(USER, USERS.dave);
    const dir = await release();
    deb = path.join(dir, readdirSync(dir).find((f) => f.endsWith(".deb")) ?? "");
  }, 320_000);
  // Whatever a test left, the machine keeps no package of ours.
  afterAll(async () => {
    await inNode(1, ["dpkg", "-P", "srun-docker"]);
  });

  test("lintian finds nothing but what its overrides explain", async () => {
    const lintian = await run("lintian", ["--pedantic", "--fail-on", "error,warning,info,pedantic", deb], 180_000);
    // It says so when run as root, as the suite runs; no tag is said.
    const said = `${lintian.stdout}${lintian.stderr}`.split("\n").filter((l) => l !== "" && !/root privileges/.test(l));
    expect(said).toEqual([]);
    expect(lintian.code).toBe(0);
  }, 200_000);

  test("installed on the nodes, it runs a 2-node MPI job from /usr/bin/srun-docker, then goes without a trace", async () => {
    const install = await inNode(1, ["dpkg", "-i", deb], 120_000);
    expect(install.code, install.stdout + install.stderr).toBe(0);
    const files = (await inNode(1, ["dpkg", "-L", "srun-docker"])).stdout.split("\n").filter((f) => f !== "");
    expect(files).toEqual(
      expect.arrayContaining([
        "/usr/bin/srun-docker",
        "/usr/share/man/man1/srun-docker.1.gz",
        "/usr/share/bash-completion/completions/srun-docker",
        "/usr/share/doc/srun-docker/examples/config.toml",
      ]),
    );
    // Installed, the example config sets nothing: none is where srun-docker reads one.
    expect(files.filter((f) => f.startsWith("/etc/"))).toEqual([]);
    expect((await inNode(2, ["test", "-x", "/usr/bin/srun-docker"])).code).toBe(0);
    const installedFiles = files.filter((f) => statSync(f).isFile());

    const job = mpiJob(ws);
    const dry = await runAs(
      USER,
      `cd ${ws.dir} && srun -N 1 /usr/bin/srun-docker --dry-run --container=${NOSSH_IMAGE} --script=${job}`,
    );
    expect(dry.stdout, dry.stderr).toContain("-v /usr/bin/srun-docker:/opt/srun-docker/bin/ssh:ro");
    const r = await runAs(
      USER,
      `cd ${ws.dir}/mpi && salloc -N 2 srun /usr/bin/srun-docker --container=${NOSSH_IMAGE} --script=${job} --slots_per_node=2`,
      JOB_TIMEOUT_MS,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("agent: executable\n");
    expect(r.stdout).toContain("allreduce OK: 6 == 6");
    expect(await leftovers(2, USERS.dave)).toEqual({ containers: [], processes: [] });

    const man = await runAs(USER, "MANWIDTH=80 man srun-docker | cat");
    expect(man.code, man.stderr).toBe(0);
    expect(man.stdout).toMatch(/^SRUN-DOCKER\(1\)/);
    expect(man.stdout).toContain("--launcher <ssh|each|srun>");
    const completion = await runAs(
      USER,
      'source /usr/share/bash-completion/completions/srun-docker && for line in "srun-docker --la" "srun-docker --launcher="; do ' +
        `COMP_LINE=$line COMP_POINT=\${#line} _srun_docker; echo "\${COMPREPLY[*]}"; done`,
    );
    expect(completion.stdout).toBe("--launcher=\nssh each srun\n");

    const remove = await inNode(1, ["dpkg", "-r", "srun-docker"], 120_000);
    expect(remove.code, remove.stdout + remove.stderr).toBe(0);
    const purge = await inNode(1, ["dpkg", "-P", "srun-docker"], 120_000);
    expect(purge.code, purge.stdout + purge.stderr).toBe(0);
    const status = await inNode(1, ["dpkg-query", "-W", "srun-docker"]);
    expect(status.code, status.stdout).not.toBe(0);
    // Its files and its own directories, nothing else: /usr/share/man and the like stay.
    const ours = [...installedFiles, "/usr/share/doc/srun-docker/examples", "/usr/share/doc/srun-docker"];
    expect(ours.filter((f) => existsSync(f))).toEqual([]);
  });
});

describe("the release archive's modulefile", () => {
  const USER = "dave";
  // Debian's Lmod, unpacked by scripts/setup-host.sh rather than installed (why: there).
  const LMOD = "/opt/sdtc-lmod/usr/share/lmod/8.6.19";
  let ws: Workspace;
  let archive: string;
  beforeAll(async () => {
    ws = createWorkspace(USER, USERS.dave);
    const dir = await release();
    archive = path.join(dir, readdirSync(dir).find((f) => f.endsWith(".tar.gz")) ?? "");
  }, 320_000);

  test("`module load srun-docker` gives the archive's srun-docker, its man page and completion, and it runs a 2-node job", async () => {
    expect(existsSync(`${LMOD}/libexec/lmod`), "Lmod in /opt/sdtc-lmod: run scripts/setup-host.sh").toBe(true);
    const root = `${ws.dir}/${path.basename(archive, ".tar.gz")}`;
    const job = mpiJob(ws);
    const module = `module() { eval "$(LMOD_PKG=${LMOD} ${LMOD}/libexec/lmod bash "$@")"; }`;
    const r = await runAs(
      USER,
      `tar -xzf ${archive} -C ${ws.dir} && ${module} && module use ${root}/modulefiles && module load srun-docker && ` +
        "command -v srun-docker && man -w srun-docker && " +
        `for d in \${XDG_DATA_DIRS//:/ }; do test -f "$d/bash-completion/completions/srun-docker" && echo "completion in $d"; done; ` +
        `cd ${ws.dir}/mpi && salloc -N 2 srun srun-docker --container=${NOSSH_IMAGE} --script=${job} --slots_per_node=2`,
      JOB_TIMEOUT_MS,
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`${root}/bin/srun-docker\n`);
    expect(r.stdout).toContain(`${root}/share/man/man1/srun-docker.1\n`);
    expect(r.stdout).toContain(`completion in ${root}/share\n`);
    expect(r.stdout).toContain("agent: executable\n");
    expect(r.stdout).toContain("allreduce OK: 6 == 6");
    expect(await leftovers(2, USERS.dave)).toEqual({ containers: [], processes: [] });
  });
});
