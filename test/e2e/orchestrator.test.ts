// The reference scripts' flows with srun-docker in their place, on the real multi-node
// cluster, as the test user: salloc + srun, sbatch, subsets of nodes, every option that
// reaches the job script, and nothing left behind on any node afterwards.
import { readdirSync, statSync } from "node:fs";
import { beforeAll, describe, expect, test } from "vitest";
import { ALICE_UID, clusterSize, IMAGE, inNode, leftovers, NOSSH_IMAGE, runAs } from "./cluster.js";
import { createWorkspace, type Workspace } from "./workspace.js";

let ws: Workspace;

beforeAll(() => {
  expect(clusterSize(), "the test cluster must be up: bash test/cluster/cluster.sh up 4").toBeGreaterThanOrEqual(2);
  ws = createWorkspace("alice", ALICE_UID);
});

function inDir(cmd: string): string {
  return `cd ${ws.dir} && ${cmd}`;
}

async function expectNothingLeft(nodes = 2): Promise<void> {
  expect(await leftovers(nodes)).toEqual({ containers: [], processes: [] });
}

// Every flow with the agent on an image without sshd (the default), and with the containers'
// sshd as the reference scripts had it.
describe.each([
  { remote: "agent", image: NOSSH_IMAGE },
  { remote: "sshd", image: IMAGE },
])("srun-docker on the cluster (ssh launcher, --remote=$remote)", ({ remote, image }) => {
  const tool = `srun-docker --remote=${remote} --container=${image}`;
  test("mpirun across two nodes from salloc + srun", async () => {
    ws.write(
      "mpi.sh",
      '#!/bin/bash\necho "np=$np hostlist=$hostlist"\nmpirun -H "$hostlist" -np "$np" hostname\n',
      0o755,
    );
    const r = await runAs("alice", inDir(`salloc -N 2 srun ${tool} --script=./mpi.sh`));
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const hostlist = /^np=2 hostlist=(node\d):1,(node\d):1$/m.exec(r.stdout);
    expect(hostlist, r.stdout).not.toBeNull();
    const names = r.stdout
      .split("\n")
      .filter((l) => /^node\d$/.test(l))
      .sort();
    expect(names).toEqual([hostlist?.[1], hostlist?.[2]].sort());
    expect(new Set(names).size).toBe(2);
    await expectNothingLeft();
  });

  test("ranks that mpirun starts on other nodes see the job's variables too", async () => {
    ws.write(
      "env.sh",
      '#!/bin/bash\nmpirun -H "$hostlist" -np "$np" sh -c \'echo "rank-env $(hostname) rank=$NODE_RANK master=$MASTER_ADDR np=$np"\'\n',
      0o755,
    );
    const r = await runAs("alice", inDir(`salloc -N 2 srun ${tool} --script=./env.sh`));
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("rank-env "))
      .sort();
    expect(lines).toHaveLength(2);
    const master = /^rank-env (node\d) rank=0 master=(node\d) np=2$/m.exec(r.stdout);
    expect(master?.[1]).toBe(master?.[2]);
    expect(r.stdout).toMatch(new RegExp(`^rank-env node\\d rank=1 master=${master?.[1]} np=2$`, "m"));
    await expectNothingLeft();
  });

  test("--slots_per_node=2 gives np=4 with two ranks on each node", async () => {
    ws.write(
      "ranks.sh",
      '#!/bin/bash\necho "np=$np"\nmpirun -H "$hostlist" -np "$np" hostname | sort | uniq -c\n',
      0o755,
    );
    const r = await runAs("alice", inDir(`salloc -N 2 srun ${tool} --script=./ranks.sh --slots_per_node=2`));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("np=4");
    const perNode = [...r.stdout.matchAll(/^\s+(\d+) (node\d)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(perNode).toHaveLength(2);
    expect(perNode.every((line) => line.startsWith("2 node"))).toBe(true);
    await expectNothingLeft();
  });

  test("a subset of the allocation: srun -N 1 --exclude=node1 with --nodelist=node2", async () => {
    ws.write("where.sh", '#!/bin/bash\necho "ran-on=$(hostname) hostlist=$hostlist np=$np"\n', 0o755);
    const r = await runAs(
      "alice",
      inDir(`salloc -N 2 -w node[1-2] srun -N 1 --exclude=node1 ${tool} --nodelist=node2 --script=./where.sh`),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("ran-on=node2 hostlist=node2:1 np=1");
    await expectNothingLeft();
  });

  test("datamnts, dockopts, envlist, pass-through args and script_help reach the script", async () => {
    ws.write("data/input.txt", "shared-data\n");
    ws.write(
      "opts.sh",
      [
        "#!/bin/bash",
        `echo "data=$(cat ${ws.dir}/data/input.txt)"`,
        'echo "X=$X MYVAR=$MYVAR ENVLIST=$ENVLIST"',
        'for a in "$@"; do echo "arg=[$a]"; done',
        "",
      ].join("\n"),
      0o755,
    );
    const r = await runAs(
      "alice",
      inDir(
        `MYVAR=hello salloc -N 2 srun ${tool} --script=./opts.sh --datamnts=${ws.dir}/data` +
          ` --dockopts="-e X=1" --envlist=MYVAR --epochs=3 -- "two words" a:b`,
      ),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("data=shared-data");
    expect(r.stdout).toContain("X=1 MYVAR=hello");
    expect(r.stdout).toContain("arg=[--epochs=3]");
    expect(r.stdout).toContain("arg=[two words]");
    expect(r.stdout).toContain("arg=[a:b]");

    expect(r.stderr).not.toContain("--envlist names");

    const help = await runAs(
      "alice",
      inDir(`salloc -N 1 srun ${tool} --script=./opts.sh --script_help --envlist=NOT_SET_ANYWHERE`),
    );
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("arg=[--help]");
    // A name the caller never set: one warning, from the master only.
    expect(
      help.stderr.match(/warning: --envlist names NOT_SET_ANYWHERE, not set here: the job does not get it/g)?.length,
    ).toBe(1);
    await expectNothingLeft();
  });

  test("the same job from an sbatch script, and files in $HOME belong to the user", async () => {
    ws.write(
      "owned.sh",
      '#!/bin/bash\nmpirun -H "$hostlist" -np "$np" sh -c \'hostname > $HOME/$(basename $PWD)-$(hostname).out\'\n',
      0o755,
    );
    ws.write(
      "job.sbatch",
      `#!/bin/bash\n#SBATCH -N 2\n#SBATCH -o ${ws.dir}/sbatch.out\nsrun ${tool} --script=./owned.sh\n`,
    );
    const r = await runAs("alice", inDir("sbatch --wait job.sbatch"), 180_000);
    expect(r.code).toBe(0);
    const base = ws.dir.split("/").pop() ?? "";
    const outputs = readdirSync(ws.home).filter((f) => f.startsWith(`${base}-node`));
    expect(outputs).toHaveLength(2);
    for (const file of outputs) expect(statSync(`${ws.home}/${file}`).uid).toBe(ALICE_UID);
    await expectNothingLeft();
  });
});

describe("outside Slurm (pdsh/clush style launches)", () => {
  test("--nodelist and --node-rank on each node run the same job", async () => {
    ws.write(
      "plain.sh",
      '#!/bin/bash\necho "np=$np hostlist=$hostlist job=$SLURM_JOB_ID"\nmpirun -H "$hostlist" -np "$np" hostname\n',
      0o755,
    );
    // What pdsh -w node[1-2] would do: start the tool on each node, no Slurm step around it.
    const args = `--container=${IMAGE} --script=./plain.sh --nodelist=node[1-2]`;
    const [master, worker] = await Promise.all(
      [0, 1].map((rank) =>
        inNode(
          rank + 1,
          ["su", "-", "alice", "-c", `cd ${ws.dir} && srun-docker ${args} --node-rank=${rank}`],
          120_000,
        ),
      ),
    );
    expect(master?.code, master?.stderr).toBe(0);
    expect(worker?.code, worker?.stderr).toBe(0);
    expect(master?.stdout).toMatch(/^np=2 hostlist=node1:1,node2:1 job=local-[0-9a-f]+$/m);
    expect(
      master?.stdout
        .split("\n")
        .filter((l) => /^node\d$/.test(l))
        .sort(),
    ).toEqual(["node1", "node2"]);
    await expectNothingLeft();
  });
});

describe("srun-docker on the cluster (each launcher)", () => {
  /** A 2-node each job of alice's running `body` (bash) on every node. */
  function runEachJob(name: string, body: string) {
    ws.write(name, `#!/bin/bash\n${body}\n`, 0o755);
    return runAs(
      "alice",
      inDir(`salloc -N 2 srun srun-docker --container=${IMAGE} --script=./${name} --launcher=each`),
    );
  }

  test("--launcher=each runs the script on every node with NODE_RANK 0 and 1", async () => {
    const r = await runEachJob(
      "each.sh",
      'echo "rank=$NODE_RANK of $NNODES on $(hostname) master=$MASTER_ADDR world=$WORLD_SIZE"',
    );
    expect(r.code, r.stderr).toBe(0);
    const ranks = [...r.stdout.matchAll(/^rank=(\d) of 2 on (node\d) master=(node\d) world=2$/gm)];
    expect(ranks.map((m) => m[1]).sort(), `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toEqual(["0", "1"]);
    const master = ranks.find((m) => m[1] === "0");
    expect(master?.[2]).toBe(master?.[3]);
    await expectNothingLeft();
  });

  test("--launcher=each: rank 0 working on after the others ended runs to its end", async () => {
    // Rank 0 often does the last work alone (saving the model); it was once cut short, exit 0.
    const r = await runEachJob(
      "each-last.sh",
      'if [ "$NODE_RANK" = 0 ]; then sleep 1.5; echo "rank 0 saved the model"; fi',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^rank 0 saved the model$/m);
    await expectNothingLeft();
  });
});

describe("bad input on the cluster", () => {
  test.each([
    ["missing --container", "--script=./mpi.sh", /`--container`/],
    ["missing --script", `--container=${IMAGE}`, /`--script`/],
    ["script not found", `--container=${IMAGE} --script=./nope.sh`, /nope\.sh/],
    ["bad --slots_per_node", `--container=${IMAGE} --script=./mpi.sh --slots_per_node=zero`, /slots/],
    ["bad hostlist", `--container=${IMAGE} --script=./mpi.sh --nodelist=node[1-`, /nodelist|hostlist/],
  ])("%s: one clear error, exit 2, nothing left", async (_name, args, pattern) => {
    const r = await runAs("alice", inDir(`srun -N 1 srun-docker ${args}`));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr).toMatch(/^srun-docker: error: /m);
    expect(r.stderr).not.toMatch(/at .*\.cjs:\d+/);
    await expectNothingLeft(1);
  });

  test("an image missing on the node: exit 1 naming the image, nothing left", async () => {
    const r = await runAs(
      "alice",
      inDir("salloc -N 2 srun srun-docker --container=no-such-image:1 --script=./mpi.sh --timeout=30"),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no-such-image/);
    await expectNothingLeft();
  });

  test("not in a Slurm step and no --nodelist: exit 2 with a hint", async () => {
    const r = await runAs("alice", inDir(`srun-docker --container=${IMAGE} --script=./mpi.sh`));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nodelist|Slurm/);
    expect(r.stderr).toMatch(/hint: /);
  });
});
