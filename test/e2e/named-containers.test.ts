// --container-name (the job's named container) and --container-save on the real cluster, with
// --launcher=srun: later steps of a job run in the container the first one made, on the nodes
// that have it, and make it where they do not; it ends with the job, not the step, with no
// Epilog (strict profile).
import { beforeAll, describe, expect, test } from "vitest";
import {
  clusterProfile,
  clusterSize,
  figure,
  IMAGE,
  inNode,
  leftoversOn,
  NOSSH_IMAGE,
  run,
  runAs,
  startAs,
  USERS,
  waitFor,
} from "./cluster.js";
import { createWorkspace, type Workspace } from "./workspace.js";

let carol: Workspace;
let bob: Workspace;
const ALL = [1, 2, 3, 4];

beforeAll(() => {
  expect(clusterSize(), "the test cluster must be up with 4 nodes").toBeGreaterThanOrEqual(4);
  expect(clusterProfile(), "no Epilog may clean up for us: SDTC_PROFILE=strict").toBe("strict");
  carol = createWorkspace("carol", USERS.carol);
  bob = createWorkspace("bob", USERS.bob);
});

/** The run options of every step here: the srun launcher, the job's container `dev`. */
const named = (image = NOSSH_IMAGE, runtime = "docker") =>
  `srun-docker --launcher=srun --runtime=${runtime} --container=${image} --container-name=dev`;

/** What `uid` has on the nodes, waited for until nothing is left (the job's end is polled every 2 s). */
async function nothingLeft(uid: number): Promise<number> {
  const since = Date.now();
  await waitFor(
    "the job's named containers to go",
    async () => {
      const left = await leftoversOn(ALL, uid);
      return left.containers.length === 0 && left.processes.length === 0;
    },
    // Within KillWait of the strict profile (5 s): no Epilog, only the job-long holder.
    5_000,
    100,
  );
  return Date.now() - since;
}

async function containersNamed(k: number, uid: number): Promise<string[]> {
  const r = await inNode(k, ["docker", "ps", "--format", "{{.Names}}", "--filter", `label=srun-docker.uid=${uid}`]);
  return r.stdout.split("\n").filter((n) => n.includes(".name-dev"));
}

describe("docker", () => {
  test("three steps: the first writes, later steps (N=2, 2 tasks per node) run in it; it ends with the job", async () => {
    const job = [
      `${named()} -- sh -c 'echo one >/tmp/mark'`,
      // node1 has it (the file is there); node2 does not yet: this step makes it there.
      `${named()} -- sh -c 'echo "$(hostname) $(cat /tmp/mark 2>/dev/null || echo none)"; echo two >/tmp/mark2'`,
      `${named()} -- sh -c 'echo "$(hostname) $(cat /tmp/mark2)"'`,
    ];
    carol.write(
      "three.sh",
      [
        "#!/bin/sh",
        "set -e",
        `srun -N1 -n1 -w node1 ${job[0]}`,
        `srun -N2 --ntasks-per-node=2 --mpi=pmix -l ${job[1]}`,
        `srun -N2 --ntasks-per-node=1 ${job[2]} | sort`,
        "",
      ].join("\n"),
      0o755,
    );
    const r = await runAs("carol", `cd ${carol.dir} && salloc -N 2 -w node[1-2] --ntasks-per-node=2 ./three.sh`);
    expect(r.code, r.stderr).toBe(0);
    const step2 = [...r.stdout.matchAll(/^(\d): (node\d) (\S+)$/gm)].map((m) => `${m[2]} ${m[3]}`).sort();
    expect(step2).toEqual(["node1 one", "node1 one", "node2 none", "node2 none"]);
    expect(r.stdout).toMatch(/^node1 two\nnode2 two$/m);
    figure("named container gone after the job", `${((await nothingLeft(USERS.carol)) / 1000).toFixed(1)} s`);
  });

  test("two steps at once share it, exec enters it; --dry-run says create, then reuse", async () => {
    carol.write(
      "overlap.sh",
      [
        "#!/bin/sh",
        `srun --overlap -n1 ${named()} --dry-run -- true | grep 'container \`dev\`'`,
        `srun --overlap -n1 ${named()} -- sh -c 'echo a >/tmp/a; i=0; until [ -e /tmp/b ]; do i=$((i+1)); [ $i -gt 100 ] && exit 7; sleep 0.1; done; echo A saw b' &`,
        `srun --overlap -n1 ${named()} -- sh -c 'echo b >/tmp/b; i=0; until [ -e /tmp/a ]; do i=$((i+1)); [ $i -gt 100 ] && exit 8; sleep 0.1; done; echo B saw a'`,
        "wait $! || exit 9",
        // `srun-docker exec` finds it as it finds any step's container.
        "srun --overlap -n1 srun-docker exec --step=name-dev -- cat /tmp/a /tmp/b",
        `srun --overlap -n1 ${named()} --dry-run -- true | grep 'container \`dev\`'`,
        "",
      ].join("\n"),
      0o755,
    );
    const r = await runAs("carol", `cd ${carol.dir} && salloc -N 1 -w node3 -n 2 ./overlap.sh`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("A saw b");
    expect(r.stdout).toContain("B saw a");
    expect(r.stdout).toContain("a\nb\n");
    expect(r.stdout).toMatch(/container `dev` on node3: create .*\n(.*\n)*container `dev` on node3: reuse /);
    await nothingLeft(USERS.carol);
  });

  test("another image is one line naming the node and both images; the container stays", async () => {
    bob.write(
      "mismatch.sh",
      [
        "#!/bin/sh",
        `srun -n1 ${named()} -- true || exit 5`,
        `srun -n1 ${named(IMAGE)} -- true && exit 6`,
        `srun -n1 ${named()} -- echo still here`,
        "",
      ].join("\n"),
      0o755,
    );
    const r = await runAs("bob", `cd ${bob.dir} && salloc -N 1 -w node4 ./mismatch.sh`);
    expect(r.code, r.stderr).toBe(0);
    const errors = r.stderr.split("\n").filter((l) => l.startsWith("srun-docker: error:"));
    expect(errors).toEqual([`srun-docker: error: node4: container \`dev\` runs \`${NOSSH_IMAGE}\`, not \`${IMAGE}\``]);
    expect(r.stdout).toContain("still here");
    await nothingLeft(USERS.bob);
  });

  test("scancel of the job: nothing left within KillWait, no Epilog", async () => {
    carol.write("hold.sh", `#!/bin/sh\nsrun -N2 ${named()} -- true && sleep 300\n`, 0o755);
    const job = startAs("carol", `cd ${carol.dir} && sbatch --parsable -N 2 -w node[1-2] -o /dev/null ./hold.sh`);
    const id = (await job.result).stdout.trim();
    expect(id).toMatch(/^\d+$/);
    await waitFor(
      "the named container on both nodes",
      async () =>
        (await containersNamed(1, USERS.carol)).length === 1 && (await containersNamed(2, USERS.carol)).length === 1,
      60_000,
    );
    await run("scancel", [id]);
    await nothingLeft(USERS.carol);
  });

  test("--container-save: node1's container as an archive, and a new job starts from it", async () => {
    const archive = `${carol.dir}/saved.tar`;
    const save = `srun-docker --launcher=srun --container=${NOSSH_IMAGE} --container-save=${archive}`;
    const r = await runAs(
      "carol",
      `cd ${carol.dir} && salloc -N 2 -w node[1-2] srun -N2 ${save} -- sh -c 'echo "saved on $(hostname)" >/tmp/kept'`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`saved node1's container \\(the first of 2 nodes\\) to ${archive}`));
    const again = await runAs(
      "carol",
      `cd ${carol.dir} && salloc -N 2 -w node[3-4] srun -N2 srun-docker --launcher=srun --container=${archive} -- cat /tmp/kept`,
    );
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe("saved on node1\nsaved on node1\n");
    // The image's own entrypoint and command, not the dead man's switch.
    const config = (ref: string) =>
      inNode(3, ["docker", "image", "inspect", "--format", "{{json .Config.Entrypoint}} {{json .Config.Cmd}}", ref]);
    const loaded = await inNode(3, ["docker", "load", "-q", "-i", archive]);
    const ref = /Loaded image(?: ID)?: (\S+)/.exec(loaded.stdout)?.[1] ?? "";
    const [own, saved] = [(await config(NOSSH_IMAGE)).stdout, (await config(ref)).stdout];
    // No entrypoint of its own: `[""]`, which docker runs as none (core/job-container/container-save.ts).
    expect(saved).toBe(own.replace(/^null /, '[""] '));
    expect((await inNode(3, ["docker", "run", "--rm", ref, "cat", "/tmp/kept"])).stdout).toBe("saved on node1\n");
    await inNode(3, ["docker", "image", "rm", ref]);
    await nothingLeft(USERS.carol);
  });
});
