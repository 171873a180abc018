// Pyxis's option names on the cluster, every one in the README's "Coming from Pyxis" table, with
// Docker (alice) and rootless Podman (dave), and Pyxis's own README examples (examples/pyxis/).
// Each job batches several options and prints one line per node of what it saw, so one job
// checks many options without a job per option. The image comes from the cluster's open
// registry in enroot's `REGISTRY#IMAGE` form: the test image plus an entrypoint that marks the
// environment, and an ENV the host's value must override.
import { randomBytes } from "node:crypto";
import { chownSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  clusterSize,
  inNode,
  leftovers,
  NOSSH_IMAGE,
  REPO,
  registry,
  runAs,
  STATE,
  TORCH_NOSSH_IMAGE,
  USERS,
} from "./cluster.js";
import { buildPushAndForget, removeRepoFrom } from "./registry-images.js";
import { createWorkspace, type Workspace } from "./workspace.js";

const JOB_TIMEOUT_MS = 240_000;
let alice: Workspace;
let dave: Workspace;
/** `sdtc-registry:5443/pyxis-entry:TAG`, and the same as Pyxis writes it. */
let imageRef: string;
let enrootRef: string;

/** The test image with an entrypoint that marks the environment, and an ENV the host's value must win over. */
async function pushEntrypointImage(): Promise<string> {
  const ref = `${registry().open.host}/pyxis-entry:${randomBytes(4).toString("hex")}`;
  const dir = mkdtempSync(path.join(STATE, "pyxis-test-"));
  try {
    writeFileSync(
      path.join(dir, "Dockerfile"),
      `FROM ${NOSSH_IMAGE}\nENV FOO=from-image\nCOPY entry.sh /entry.sh\nENTRYPOINT ["/entry.sh"]\n`,
    );
    writeFileSync(path.join(dir, "entry.sh"), '#!/bin/sh\nexport FROM_ENTRYPOINT=yes\nexec "$@"\n', { mode: 0o755 });
    await buildPushAndForget(1, dir, ref);
    return ref;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  expect(clusterSize(), "the test cluster must be up: bash test/cluster/cluster.sh up 4").toBeGreaterThanOrEqual(2);
  alice = createWorkspace("alice", USERS.alice);
  dave = createWorkspace("dave", USERS.dave);
  for (const ws of [alice, dave]) ws.write("data/f.txt", "hello-data\n");
  imageRef = await pushEntrypointImage();
  enrootRef = imageRef.replace("/", "#");
}, 300_000);

afterAll(async () => {
  // The nodes keep only their loaded images: take back what the jobs pulled.
  const nodes = Array.from({ length: clusterSize() }, (_, i) => i + 1);
  await removeRepoFrom(nodes, imageRef.slice(0, imageRef.lastIndexOf(":")));
  await runAs(
    "dave",
    `srun -N 2 -w node[1-2] podman rmi -f ${imageRef} >/dev/null 2>&1; srun -N 2 -w node[1-2] podman system migrate; true`,
  );
}, 120_000);

/** What each node's program or script saw, one `SAW host key=value ...` line each. */
const PROBE = [
  'echo "SAW $(hostname)',
  "pwd=$(pwd)",
  "id=$(id -u)",
  "home=$HOME",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a JS template
  "foo=${FOO:-unset}",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a JS template
  "entrypoint=${FROM_ENTRYPOINT:-no}",
  "data=$(cat /in/f.txt 2>/dev/null || echo none)",
  'in=$(grep -m1 " /in " /proc/mounts | cut -d" " -f4 | cut -d, -f1)',
  'scratch=$(grep -c " /scratch tmpfs " /proc/mounts)',
  'root=$(grep -m1 " / " /proc/mounts | cut -d" " -f4 | cut -d, -f1)',
  "tmp=$(touch /tmp/probe 2>/dev/null && echo rw || echo ro)",
  'homedir=$(test -e /home/$USER_NAME/bin/srun-docker && echo mounted || echo absent)"',
].join(" ");

/** The `SAW` lines by host, each as its key=value pairs. */
function seen(stdout: string): Map<string, Record<string, string>> {
  const lines = new Map<string, Record<string, string>>();
  for (const m of stdout.matchAll(/^SAW (\S+) (.*)$/gm)) {
    lines.set(m[1] ?? "", Object.fromEntries((m[2] ?? "").split(" ").map((kv) => kv.split("=", 2))));
  }
  return lines;
}

function expectEveryNode(stdout: string, hosts: number, expected: Record<string, string>): void {
  const byHost = seen(stdout);
  expect(byHost.size, stdout).toBe(hosts);
  for (const [host, values] of byHost) expect(values, host).toEqual(expected);
}

describe("Docker (alice)", () => {
  test("registry#image, mounts with flags, workdir, env, entrypoint, home, writable: the srun launcher on 2 nodes", async () => {
    const r = await runAs(
      "alice",
      `cd ${alice.dir} && FOO=from-host USER_NAME=alice salloc -N 2 -w node[1-2] srun srun-docker --container-image=${enrootRef}` +
        " --container-mounts=./data:/in:ro+rprivate,tmpfs:/scratch:size=8m --container-workdir=/in" +
        " --container-env=FOO,USER_NAME --container-entrypoint --container-entrypoint-log --container-writable" +
        ` --container-mount-home --no-container-remap-root -- sh -c '${PROBE}'`,
      JOB_TIMEOUT_MS,
    );
    expect(r.code, r.stderr).toBe(0);
    expectEveryNode(r.stdout, 2, {
      pwd: "/in",
      id: String(USERS.alice),
      home: "/home/alice",
      foo: "from-host",
      entrypoint: "yes",
      data: "hello-data",
      in: "ro",
      scratch: "1",
      root: "rw",
      tmp: "rw",
      homedir: "mounted",
    });
    expect(await leftovers(2, USERS.alice)).toEqual({ containers: [], processes: [] });
  });

  test("dockerd://, remap-root, read-only, no home, no entrypoint: the ssh launcher's script and its ssh to node2", async () => {
    alice.write(
      "job.sh",
      `#!/bin/sh\n${PROBE}\nother=$(echo "$hostlist" | tr , "\\n" | cut -d: -f1 | grep -vx "$(hostname)")\nssh "$other" 'cd ${alice.dir} && ${PROBE}'\necho root >${alice.dir}/by-root.txt\n`,
      0o755,
    );
    const r = await runAs(
      "alice",
      `cd ${alice.dir} && USER_NAME=alice salloc -N 2 -w node[1-2] srun srun-docker --container-image=dockerd://${NOSSH_IMAGE}` +
        ` --container-remap-root --container-readonly --no-container-mount-home --no-container-entrypoint` +
        ` --container-mounts=${alice.dir},${alice.dir}/data:/in --envlist=USER_NAME --script=./job.sh`,
      JOB_TIMEOUT_MS,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/pulling/);
    expectEveryNode(r.stdout, 2, {
      pwd: alice.dir,
      id: "0",
      home: "/root",
      foo: "unset",
      entrypoint: "no",
      data: "hello-data",
      in: "rw",
      scratch: "0",
      root: "ro",
      tmp: "rw",
      homedir: "absent",
    });
    // Docker's root is the host's: what it writes under a mount belongs to root (README).
    expect(statSync(path.join(alice.dir, "by-root.txt")).uid).toBe(0);
    expect(await leftovers(2, USERS.alice)).toEqual({ containers: [], processes: [] });
  });

  test("usage errors: a flag Docker cannot apply, a squashfs file, two images", async () => {
    for (const [args, line] of [
      ["--container-image=x --container-mounts=/d:/d:ro+nosuid", "docker cannot mount `/d:/d:ro+nosuid` with `nosuid`"],
      ["--container-image=/images/app.sqsh", "names a squashfs file"],
      ["--container=a --container-image=b", "`--container` and `--container-image` name the same thing twice"],
    ] as const) {
      const r = await runAs("alice", `srun -N 1 srun-docker ${args} -- true`);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(line);
    }
  });
});

describe("Podman (dave, rootless)", () => {
  test("every option again, two jobs: the srun launcher, then the ssh launcher's script", async () => {
    const first = await runAs(
      "dave",
      `cd ${dave.dir} && FOO=from-host USER_NAME=dave salloc -N 2 -w node[1-2] srun srun-docker --runtime=podman` +
        ` --container-image=${enrootRef} --container-mounts=./data:/in:ro+nosuid,tmpfs:/scratch` +
        " --container-workdir=/in --container-env=FOO,USER_NAME --container-entrypoint --container-remap-root" +
        ` --container-readonly --no-container-mount-home -- sh -c '${PROBE}; stat -c "OWNER %u" /in/f.txt; grep " /in " /proc/mounts'`,
      JOB_TIMEOUT_MS,
    );
    expect(first.code, first.stderr).toBe(0);
    expectEveryNode(first.stdout, 2, {
      pwd: "/in",
      id: "0",
      home: "/root",
      foo: "from-host",
      entrypoint: "yes",
      data: "hello-data",
      in: "ro",
      scratch: "1",
      root: "ro",
      tmp: "rw",
      homedir: "absent",
    });
    // Rootless Podman's root is dave: his own files are root's in the container (README).
    expect(first.stdout.match(/^OWNER 0$/gm)).toHaveLength(2);
    expect(first.stdout).toMatch(/ro,nosuid/);

    dave.write("job.sh", `#!/bin/sh\n${PROBE}\n`, 0o755);
    const second = await runAs(
      "dave",
      `cd ${dave.dir} && USER_NAME=dave salloc -N 1 -w node1 srun srun-docker --runtime=podman --container-image=dockerd://${imageRef}` +
        ` --container-writable --container-mount-home --no-container-remap-root --no-container-entrypoint` +
        ` --container-mounts=${dave.dir}/data:/in:rw --envlist=USER_NAME --script=./job.sh`,
      JOB_TIMEOUT_MS,
    );
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/pulling/);
    expectEveryNode(second.stdout, 1, {
      pwd: dave.dir,
      id: String(USERS.dave),
      home: "/home/dave",
      foo: "from-image",
      entrypoint: "no",
      data: "hello-data",
      in: "rw",
      scratch: "0",
      root: "rw",
      tmp: "rw",
      homedir: "mounted",
    });
    expect(await leftovers(2, USERS.dave)).toEqual({ containers: [], processes: [] });
  });
});

describe("Pyxis's README examples (examples/pyxis/)", () => {
  beforeAll(() => {
    const to = path.join(alice.dir, "pyxis");
    cpSync(path.join(REPO, "examples/pyxis"), to, { recursive: true });
    for (const name of ["", ...readdirSync(to)]) chownSync(path.join(to, name), USERS.alice, USERS.alice);
  });

  test("srun.sh: a command on the node, in a container, and on a mounted host file", async () => {
    const r = await runAs(
      "alice",
      `cd ${alice.dir}/pyxis && IMAGE='${enrootRef}' salloc -N 1 bash srun.sh`,
      JOB_TIMEOUT_MS,
    );
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split("\n").filter((line) => line.startsWith("PRETTY_NAME="));
    const host = (await inNode(1, ["grep", "PRETTY", "/etc/os-release"])).stdout.trim();
    expect(lines).toEqual([host, 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"', host]);
  });

  test("job.sbatch: sbatch --wait, torch's version from the container", async () => {
    const r = await runAs(
      "alice",
      `cd ${alice.dir}/pyxis && IMAGE='dockerd://${TORCH_NOSSH_IMAGE}' sbatch --wait -o slurm.out job.sbatch && cat slurm.out`,
      JOB_TIMEOUT_MS,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+/m);
    expect(await leftovers(2, USERS.alice)).toEqual({ containers: [], processes: [] });
  });
});
