// The MPI flow with rootless Podman instead of Docker, as erin: the user's own uid inside
// (--userns=keep-id), host network, home mounted; the image lives in erin's node-local
// Podman store (test/cluster/lib.sh imports it at `cluster.sh up`). Leftovers are read from
// that store's files, not with podman: any podman command would start the very pause
// process whose absence the test checks.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import {
  clusterProfile,
  clusterSize,
  figure,
  IMAGE,
  nodeUserProcesses,
  registry,
  run,
  runAs,
  STATE,
  startAs,
  USERS,
  waitFor,
} from "./cluster.js";
import { pushTestImage } from "./registry-images.js";
import { type CaseTimes, killSrunDocker, nothingLeftOn, reportCase, runningJob } from "./teardown-cases.js";
import { createWorkspace, type Workspace } from "./workspace.js";

const USER = "erin";
const UID = USERS.erin;
let ws: Workspace;

/** erin's rootless store on node K (lib.sh's rootless_storage_path). */
function store(k: number): string {
  return path.join(STATE, `nodes/node${k}/podman/${USER}`);
}

function readNames(file: string): string[] {
  if (!existsSync(file)) return [];
  return (JSON.parse(readFileSync(file, "utf8")) as Array<{ names?: string[] }>).flatMap((e) => e.names ?? []);
}

/** Podman containers (any, running or not) and live processes erin has on nodes 1..n. */
async function podmanLeftovers(n: number): Promise<{ containers: string[]; processes: string[] }> {
  const containers: string[] = [];
  const processes: string[] = [];
  for (let k = 1; k <= n; k++) {
    for (const name of readNames(path.join(store(k), "overlay-containers/containers.json")))
      containers.push(`node${k}:${name}`);
    for (const p of await nodeUserProcesses(k, UID)) processes.push(`node${k}:${p}`);
  }
  return { containers, processes };
}

beforeAll(() => {
  const n = clusterSize();
  expect(n, "the test cluster must be up: bash test/cluster/cluster.sh up 4").toBeGreaterThanOrEqual(2);
  for (let k = 1; k <= n; k++) {
    const images = readNames(path.join(store(k), "overlay-images/images.json"));
    expect(images, `node${k}: ${USER}'s podman store lacks ${IMAGE} (cluster.sh up imports it)`).toContain(
      `localhost/${IMAGE}`,
    );
  }
  ws = createWorkspace(USER, UID);
});

describe("srun-docker --runtime=podman on the cluster (rootless)", () => {
  test("mpirun across two nodes from salloc + srun, as the user's own uid", async () => {
    ws.write(
      "mpi.sh",
      [
        "#!/bin/bash",
        'echo "np=$np hostlist=$hostlist"',
        'echo "inside=$(id -u):$(id -g) user=$(id -un) home=$HOME engine=$([ -e /run/.containerenv ] && echo podman || echo other)"',
        'echo "written by $(hostname)" >"$PWD/out-$(hostname).txt"',
        'mpirun -H "$hostlist" -np "$np" hostname',
        "",
      ].join("\n"),
      0o755,
    );
    const r = await runAs(
      USER,
      `cd ${ws.dir} && salloc -N 2 srun srun-docker --runtime=podman --container=${IMAGE} --script=./mpi.sh`,
    );
    figure("podman: salloc -N 2 srun srun-docker (mpirun hostname)", `${(r.ms / 1000).toFixed(1)} s`);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code, r.stderr).toBe(0);
    const hostlist = /^np=2 hostlist=(node\d):1,(node\d):1$/m.exec(r.stdout);
    expect(hostlist, r.stdout).not.toBeNull();
    expect(r.stdout).toContain(`inside=${UID}:${UID} user=${USER} home=/home/${USER} engine=podman`);
    const names = r.stdout
      .split("\n")
      .filter((l) => /^node\d$/.test(l))
      .sort();
    expect(names).toEqual([hostlist?.[1], hostlist?.[2]].sort());
    expect(new Set(names).size).toBe(2);
    // The script ran on the master; its file in the shared home belongs to erin, not a subuid.
    const out = path.join(ws.dir, `out-${hostlist?.[1]}.txt`);
    expect(readFileSync(out, "utf8")).toBe(`written by ${hostlist?.[1]}\n`);
    expect(statSync(out).uid).toBe(UID);
    expect(statSync(out).gid).toBe(UID);
    expect(await podmanLeftovers(clusterSize())).toEqual({ containers: [], processes: [] });
  });

  test("--launcher=srun: ranks started by srun --mpi=pmix in rootless containers, nothing left", async () => {
    ws.write(
      "allreduce.py",
      "from mpi4py import MPI\nimport os\nc = MPI.COMM_WORLD\nprint('rank', c.rank, os.getuid(), c.allreduce(c.rank + 1), flush=True)\n",
    );
    const r = await runAs(
      USER,
      `cd ${ws.dir} && salloc -N 2 --ntasks-per-node=2 -O srun --mpi=pmix srun-docker --runtime=podman` +
        ` --launcher=srun --container=${IMAGE} -- python3 allreduce.py`,
    );
    expect(r.code, r.stderr).toBe(0);
    const ranks = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("rank "))
      .sort();
    expect(ranks).toEqual([0, 1, 2, 3].map((rank) => `rank ${rank} ${UID} 10`));
    expect(await podmanLeftovers(clusterSize())).toEqual({ containers: [], processes: [] });
  });

  test("an image from the registry: rootless podman pulls the master's digest on every node, then runs it", async () => {
    const image = await pushTestImage(registry().open.host, "sdtc-podman", randomBytes(4).toString("hex"));
    ws.write(
      "which.sh",
      '#!/bin/bash\nfor n in $(echo "$hostlist" | tr , " " | sed "s/:[0-9]*//g"); do ssh "$n" \'echo "$(hostname) $(md5sum </token | cut -c1-12)"\'; done\n',
      0o755,
    );
    try {
      const r = await runAs(
        USER,
        `cd ${ws.dir} && salloc -N 2 -w node[1-2] srun srun-docker --runtime=podman --container=${image.ref} --script=./which.sh`,
      );
      expect(r.code, r.stderr).toBe(0);
      const seen = r.stdout.match(/^node[12] \w{12}$/gm)?.sort() ?? [];
      expect(seen.map((l) => l.split(" ")[0])).toEqual(["node1", "node2"]);
      expect(new Set(seen.map((l) => l.split(" ")[1])).size).toBe(1);
      expect(r.stderr).toMatch(/pulled \S+sdtc-podman:\w+@sha256:[0-9a-f]{12} on 2 nodes: .*\(2 from the registry\)/);
      for (const k of [1, 2]) {
        const names = readNames(path.join(store(k), "overlay-images/images.json"));
        expect(names, `node${k}`).toContain(image.ref);
      }
    } finally {
      await runAs(
        USER,
        `srun -N 2 -w node[1-2] podman rmi -f ${image.ref} >/dev/null 2>&1; srun -N 2 -w node[1-2] podman system migrate; true`,
      );
    }
    expect(await podmanLeftovers(clusterSize())).toEqual({ containers: [], processes: [] });
  });

  test("an image missing from the user's store (--pull=never): the node named, nothing left", async () => {
    const r = await runAs(
      USER,
      `cd ${ws.dir} && salloc -N 2 srun srun-docker --runtime=podman --pull=never --container=sdtc-no-such-image:1 --script=./mpi.sh`,
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/srun-docker: error: node1 does not have the image sdtc-no-such-image:1 \(--pull=never\)/);
    expect(r.stderr).not.toContain("level=warning");
    expect(await podmanLeftovers(clusterSize())).toEqual({ containers: [], processes: [] });
  });
});

/** Milliseconds from `t0` until erin has no container and no process on `nodes`. */
function podmanNothingLeft(nodes: readonly number[], t0: number): Promise<number> {
  return nothingLeftOn(nodes, UID, t0, 15_000, (on) => podmanLeftovers(Math.max(...on)));
}

/** erin's containers of one job on node K, read from the store's files. */
async function storeContainers(k: number, filter = ""): Promise<string[]> {
  const job = /srun-docker\.job=(\d+)/.exec(filter)?.[1] ?? "";
  return readNames(path.join(store(k), "overlay-containers/containers.json")).filter((n) => n.includes(`-${job}.`));
}

describe("teardown without an Epilog (rootless: conmon is no child of the step)", () => {
  const runs = process.env.SDTC_SOAK === "1" ? 10 : 5;
  const foreground = () =>
    startAs(
      USER,
      `cd ${ws.dir} && salloc -N 2 srun srun-docker --runtime=podman --container=${IMAGE} --script=./long.sh`,
      120_000,
    );

  // A failed case must not leave its job running into the next one.
  afterEach(async () => {
    await run("scancel", ["-u", USER]);
    await waitFor(
      `${USER}'s jobs to end`,
      async () => (await run("squeue", ["-h", "-u", USER])).stdout.trim() === "",
      60_000,
      250,
    );
  });

  beforeAll(() => {
    expect(clusterProfile(), "teardown runs where no Epilog cleans up: SDTC_PROFILE=strict").toBe("strict");
    ws.write("long.sh", '#!/bin/bash\necho "started $(hostname)"\nmpirun -H "$hostlist" -np "$np" sleep 300\n', 0o755);
  });

  test.each([
    ["scancel", "scancel"],
    ["kill -9 of a worker's srun-docker", "kill-worker"],
    ["kill -9 of the master's srun-docker", "kill-master"],
  ])("%s: every container and process gone before KillWait", async (name, how) => {
    const times: CaseTimes = [];
    for (let i = 0; i < runs; i++) {
      const fg = foreground();
      const job = await runningJob(USER, UID, 2, /sleep 300/, storeContainers);
      const t0 = Date.now();
      if (how === "scancel") await runAs(USER, `scancel ${job.id}`);
      else await killSrunDocker(how === "kill-master" ? (job.nodes[0] ?? 0) : (job.nodes[1] ?? 0), UID);
      times.push(await podmanNothingLeft(job.nodes, t0));
      await fg.result;
      await waitFor(
        `job ${job.id} to end`,
        async () => (await run("squeue", ["-h", "-j", job.id])).stdout.trim() === "",
        60_000,
        200,
      );
    }
    reportCase(`podman: ${name}`, times);
    for (const ms of times) expect(ms).toBeLessThan(5000);
  });
});

describe("a container killed mid-job (rootless: no daemon, its main process is watched)", () => {
  afterEach(async () => {
    await run("scancel", ["-u", USER]);
  });

  test("podman kill of a worker's container: that node says so once, the job ends, nothing left", async () => {
    ws.write("hold.sh", '#!/bin/sh\necho "started $(hostname)"\nsleep 300\necho "slept: not ended"\n', 0o755);
    const fg = startAs(
      USER,
      `cd ${ws.dir} && salloc -N 2 srun srun-docker --runtime=podman --container=${IMAGE} --launcher=each --script=./hold.sh`,
      120_000,
    );
    const job = await runningJob(USER, UID, 2, /sleep 300/, storeContainers);
    const worker = job.nodes[1] ?? 0;
    const [name] = await storeContainers(worker, `label=srun-docker.job=${job.id}`);
    // As an admin or the OOM killer would, from outside the job's own processes.
    const kill = await runAs(USER, `srun --overlap --jobid=${job.id} -N1 -w node${worker} podman kill ${name}`);
    const killedAt = Date.now();
    expect(kill.code, kill.stderr).toBe(0);
    const r = await fg.result;
    const endedMs = Date.now() - killedAt;
    expect(r.code, r.stderr).not.toBe(0);
    const line = `srun-docker: error: node${worker}: the container exited during the job (137: killed; out of memory, or SIGKILL)`;
    expect(
      r.stderr.split("\n").filter((l) => l === line),
      r.stderr,
    ).toHaveLength(1);
    expect(r.stderr).not.toMatch(/; exit 0$/m);
    expect(r.stdout + r.stderr).not.toContain("slept: not ended");
    figure(
      "podman: a worker's container killed mid-job",
      `job ended ${(endedMs / 1000).toFixed(2)} s after podman kill returned`,
    );
    expect(endedMs).toBeLessThan(5000);
    await podmanNothingLeft(job.nodes, Date.now());
  });
});

describe("cleaning up rootless containers", () => {
  test("the Epilog line for Podman, run as the job's user, removes the job's containers", async () => {
    const r = await runAs(
      USER,
      `salloc -N1 -w node1 bash -c 'srun srun-docker asuser --runtime=podman --container=${IMAGE} --daemon --dockname=erin_daemon && srun srun-docker clean --runtime=podman --job "$SLURM_JOB_ID"'`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^erin_daemon\nremoving erin_daemon \(job \d+\)$/m);
    expect(await podmanLeftovers(1)).toMatchObject({ containers: [] });
    // The daemon's job holder polls the job every 2 s, then releases erin's namespace.
    await podmanNothingLeft([1], Date.now());
  });

  test("a daemon container inside a job goes with the job, pause process and all (no Epilog)", async () => {
    const r = await runAs(
      USER,
      `salloc -N1 -w node1 srun srun-docker asuser --runtime=podman --container=${IMAGE} --daemon --dockname=erin_daemon_job`,
    );
    expect(r.code, r.stderr).toBe(0);
    const gone = await podmanNothingLeft([1], Date.now());
    figure(
      "podman: asuser --daemon after its job ended",
      `nothing left ${(gone / 1000).toFixed(2)} s after salloc returned`,
    );
  });
});
