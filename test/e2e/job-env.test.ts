// A job's environment and a user's first steps: the job's Slurm variables inside the container
// (an `sbatch --array` sweep, with each launcher and each remote), any order of subcommands on
// a fresh home, and the same tag built on each node. Runs as bob (agent.test.ts and
// isolation.test.ts use bob too; the e2e lock keeps them apart).
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { cancelAllJobs, clusterSize, IMAGE, inNode, leftoversOn, NOSSH_IMAGE, runAs, STATE, USERS } from "./cluster.js";
import { createWorkspace, type Workspace } from "./workspace.js";

const BOB = USERS.bob;
const ALL_NODES = [1, 2, 3, 4];
let ws: Workspace;

beforeAll(() => {
  expect(clusterSize(), "the test cluster must be up with 4 nodes").toBeGreaterThanOrEqual(4);
  ws = createWorkspace("bob", BOB);
});

afterEach(async () => {
  await cancelAllJobs("bob", BOB, ALL_NODES);
});

const cd = (cmd: string) => `cd ${ws.dir} && ${cmd}`;
const nothingLeft = async () => expect(await leftoversOn(ALL_NODES, BOB)).toEqual({ containers: [], processes: [] });

/** `sbatch --wait --array`: one output file per array task, read back by task id. */
async function sbatchArray(array: string, nodes: number, srunDocker: string): Promise<Map<number, string>> {
  const out = `${path.basename(ws.dir)}-%a.out`;
  const r = await runAs(
    "bob",
    cd(`sbatch --wait --parsable --array=${array} -N${nodes} -o ${ws.dir}/${out} --wrap 'srun ${srunDocker}'`),
    240_000,
  );
  expect(r.code, r.stdout + r.stderr).toBe(0);
  const outputs = new Map<number, string>();
  for (const id of expandArray(array)) {
    const file = path.join(ws.dir, out.replace("%a", String(id)));
    outputs.set(id, existsSync(file) ? readFileSync(file, "utf8") : `(no ${file})`);
  }
  return outputs;
}

function expandArray(array: string): number[] {
  const [lo = "0", hi = lo] = array.split("-");
  return Array.from({ length: Number(hi) - Number(lo) + 1 }, (_, i) => Number(lo) + i);
}

/** `key=value` words of the output line that starts with `tag` (from the node that printed it). */
function fields(output: string, tag: string): Record<string, string>[] {
  return output
    .split("\n")
    .filter((line) => line.startsWith(`${tag} `))
    .map((line) =>
      Object.fromEntries(
        line
          .split(" ")
          .slice(1)
          .map((word) => word.split("=") as [string, string]),
      ),
    );
}

const SHOW = `#!/bin/bash
show() {
  echo "$1 task=$SLURM_ARRAY_TASK_ID count=$SLURM_ARRAY_TASK_COUNT array_job=$SLURM_ARRAY_JOB_ID job=$SLURM_JOB_ID restart=\${SLURM_RESTART_COUNT-unset} nodes=$SLURM_JOB_NODELIST nnodes=$SLURM_NNODES submit=$SLURM_SUBMIT_DIR node=$SLURMD_NODENAME rank=$NODE_RANK ntasks=\${SLURM_NTASKS-unset} procid=\${SLURM_PROCID-unset} jobid=\${SLURM_JOBID-unset} taskpid=\${SLURM_TASK_PID-unset}"
}
`;

describe("the job's Slurm variables in the container", () => {
  test("sbatch --array=0-2 on 2 nodes: the script, ssh to the other node, and mpirun with np > Slurm's tasks", async () => {
    ws.write(
      "array.sh",
      `${SHOW}show local
second=$(echo "$hostlist" | cut -d, -f2 | cut -d: -f1)
ssh "$second" "$(declare -f show); show remote"
echo "mpirun$(mpirun -H "$hostlist" -np "$np" hostname | sort | uniq -c | awk '{printf " %s=%s", $2, $1}')"
`,
      0o755,
    );
    const outputs = await sbatchArray(
      "0-2",
      2,
      `srun-docker --container=${NOSSH_IMAGE} --slots-per-node=2 --script=./array.sh`,
    );
    const jobs = new Set<string>();
    for (const [task, output] of outputs) {
      const [local] = fields(output, "local");
      const [remote] = fields(output, "remote");
      expect(local, output).toMatchObject({
        task: String(task),
        count: "3",
        restart: "unset",
        nnodes: "2",
        submit: ws.dir,
        rank: "0",
        ntasks: "unset",
        procid: "unset",
        jobid: "unset",
        taskpid: "unset",
      });
      expect(local?.nodes, output).toMatch(/^node\[\d[-,]\d\]$/);
      expect(local?.job).toMatch(/^\d+$/);
      jobs.add(local?.job ?? "");
      expect(remote, output).toMatchObject({
        task: String(task),
        count: "3",
        array_job: local?.array_job,
        job: local?.job,
        nodes: local?.nodes,
        rank: "1",
        procid: "unset",
        ntasks: "unset",
      });
      expect(remote?.node).not.toBe(local?.node);
      // Open MPI saw no Slurm allocation: 2 ranks on each node, as -H $hostlist says.
      const [mpirun] = fields(output, "mpirun");
      expect(Object.values(mpirun ?? {}), output).toEqual(["2", "2"]);
    }
    expect(jobs.size).toBe(3);
    await nothingLeft();
  });

  test("--launcher=each: every node's script sees its own node's variables", async () => {
    ws.write("each.sh", `${SHOW}show each\n`, 0o755);
    const outputs = await sbatchArray(
      "5",
      2,
      `srun-docker --launcher=each --container=${NOSSH_IMAGE} --script=./each.sh`,
    );
    const output = outputs.get(5) ?? "";
    const lines = fields(output, "each").sort((a, b) => Number(a.rank) - Number(b.rank));
    expect(
      lines.map((l) => [l.task, l.rank, l.ntasks, l.procid]),
      output,
    ).toEqual([
      ["5", "0", "unset", "unset"],
      ["5", "1", "unset", "unset"],
    ]);
    expect(new Set(lines.map((l) => l.node)).size).toBe(2);
    await nothingLeft();
  });

  test("--remote=sshd: a remote command gets them through the job's authorized_keys", async () => {
    ws.write(
      "sshd.sh",
      `${SHOW}second=$(echo "$hostlist" | cut -d, -f2 | cut -d: -f1)\nssh "$second" "$(declare -f show); show remote"\n`,
      0o755,
    );
    const outputs = await sbatchArray("7", 2, `srun-docker --remote=sshd --container=${IMAGE} --script=./sshd.sh`);
    const output = outputs.get(7) ?? "";
    expect(fields(output, "remote"), output).toEqual([
      expect.objectContaining({ task: "7", rank: "1", procid: "unset", jobid: "unset" }),
    ]);
    await nothingLeft();
  });
});

describe("any order of subcommands on a fresh home", () => {
  const material = `/home/bob/.srun-docker`;

  /** Runs `body` with bob's ~/.srun-docker moved aside, and puts it back after. */
  async function onFreshHome(body: () => Promise<void>): Promise<void> {
    const aside = `${material}.job-env-aside`;
    rmSync(aside, { recursive: true, force: true });
    if (existsSync(material)) renameSync(material, aside);
    try {
      await body();
    } finally {
      rmSync(material, { recursive: true, force: true });
      if (existsSync(aside)) renameSync(aside, material);
    }
  }

  const hello = () => ws.write("hello.sh", '#!/bin/bash\necho "hello from $NODE_RANK of $NNODES"\n', 0o755);
  const runJob = () =>
    runAs("bob", cd(`salloc -N2 -w node[1-2] srun srun-docker --container=${NOSSH_IMAGE} --script=./hello.sh`));

  test("clean, then asuser, then a run", async () => {
    hello();
    await onFreshHome(async () => {
      const clean = await runAs("bob", cd("srun -N2 -w node[1-2] srun-docker clean"));
      expect(clean.code, clean.stderr).toBe(0);
      expect(existsSync(material)).toBe(false);
      const asuser = await runAs(
        "bob",
        cd(`srun -N1 -w node1 srun-docker asuser --noninteractive --container=${IMAGE} --dockcmd="id -un"`),
      );
      expect(asuser.code, asuser.stderr).toBe(0);
      expect(asuser.stdout.trim()).toBe("bob");
      // What asuser leaves: the directory, without the secret (the state that failed every run).
      expect(existsSync(material)).toBe(true);
      expect(existsSync(`${material}/secret`)).toBe(false);
      const r = await runJob();
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain("hello from 0 of 2");
      expect(existsSync(`${material}/secret`)).toBe(true);
      expect(existsSync(`${material}/.fill`)).toBe(false);
    });
    await nothingLeft();
  });

  test("pull first, then a run", async () => {
    hello();
    await onFreshHome(async () => {
      const pull = await runAs("bob", cd(`srun -N2 -w node[1-2] srun-docker pull ${NOSSH_IMAGE}`));
      expect(pull.code, pull.stderr).toBe(0);
      const r = await runJob();
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain("hello from 0 of 2");
    });
    await nothingLeft();
  });
});

describe("the same tag built on each node", () => {
  const tag = `job-env-build-${randomBytes(4).toString("hex")}`;
  const marks = { 1: `node1-${randomBytes(4).toString("hex")}`, 2: `node2-${randomBytes(4).toString("hex")}` };
  const ids: Record<number, string> = {};
  const short = (id: string | undefined) => `sha256:${(id ?? "").replace(/^sha256:/, "").slice(0, 12)}`;

  /** `docker build -t TAG` on node K from a context of its own: another image ID on each node. */
  async function buildOn(k: 1 | 2): Promise<string> {
    const dir = mkdtempSync(path.join(STATE, "job-env-build-"));
    try {
      writeFileSync(path.join(dir, "Dockerfile"), `FROM ${NOSSH_IMAGE}\nCOPY mark /build-mark\n`);
      writeFileSync(path.join(dir, "mark"), `${marks[k]}\n`);
      const r = await inNode(k, ["bash", "-c", `set -e; tar -C ${dir} -c . | docker build -q -t ${tag} -`], 180_000);
      if (r.code !== 0) throw new Error(`building ${tag} on node${k}: ${r.stderr}`);
      return r.stdout.trim();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const idOn = async (k: number) =>
    (await inNode(k, ["docker", "image", "inspect", "-f", "{{.Id}}", tag])).stdout.trim();

  beforeAll(async () => {
    ids[1] = await buildOn(1);
    ids[2] = await buildOn(2);
    expect(ids[1]).not.toBe(ids[2]);
    ws.write(
      "marks.sh",
      '#!/bin/bash\necho "mark node1 $(cat /build-mark)"\nssh node2 \'echo "mark node2 $(cat /build-mark)"\'\n',
      0o755,
    );
  }, 400_000);

  afterAll(async () => {
    for (const k of [1, 2])
      await inNode(k, ["sh", "-c", `docker rmi -f ${tag} ${ids[1]} ${ids[2]} >/dev/null 2>&1; true`]);
  });

  const job = (more: string) =>
    runAs("bob", cd(`salloc -N2 -w node[1-2] srun srun-docker --container=${tag} ${more} --script=./marks.sh`));

  test("the run says node2's is another build, naming both IDs and both ways out", async () => {
    const r = await job("");
    expect(r.code, r.stdout).toBe(1);
    expect(r.stderr).toContain(`node2's ${tag} is another build (${short(ids[2])} there, ${short(ids[1])} on node1)`);
    expect(r.stderr).toMatch(/hint: --pull-once copies node1's build .* --image-per-node runs each node's own build/);
    expect(r.stderr).not.toContain("does not have");
    expect(r.stdout).not.toContain("mark");
    await nothingLeft();
  });

  test("--image-per-node: each node runs its own build, and node2 says so", async () => {
    const r = await job("--image-per-node");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`mark node1 ${marks[1]}`);
    expect(r.stdout).toContain(`mark node2 ${marks[2]}`);
    expect(r.stderr).toContain(`[node2 worker] warning: runs its own build of ${tag} (${short(ids[2])}), not node1's`);
    expect(await idOn(2)).toBe(ids[2]);
    await nothingLeft();
  });

  test("--pull-once: node1's build runs on both, and node2's tag moves to it", async () => {
    const r = await job("--pull-once");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`mark node1 ${marks[1]}`);
    expect(r.stdout).toContain(`mark node2 ${marks[1]}`);
    expect(r.stderr).toContain(`${tag} here now names node1's build (${short(ids[1])}), as docker pull would`);
    expect(await idOn(2)).toBe(ids[1]);
    await nothingLeft();
  });
});
