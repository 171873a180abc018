// Faults on the real cluster, on the strict profile (no Epilog): a node that cannot take
// part, a container that dies while it starts, exit codes. Cancellation and killed processes
// are in teardown.test.ts. Every case prints its figure as `FIGURE | case | value`.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import {
  ALICE_UID,
  CLUSTER_SH,
  cancelAllJobs,
  clusterProfile,
  clusterSize,
  figure,
  IMAGE,
  inNode,
  leftoversOn,
  registry,
  run,
  runAs,
  STATE,
  startAs,
  waitFor,
} from "./cluster.js";
import { expectReadmeQuote } from "./readme-quotes.js";
import { buildPushAndForget, removeRepoFrom } from "./registry-images.js";
import { createWorkspace, type Workspace } from "./workspace.js";

let ws: Workspace;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

beforeAll(() => {
  expect(
    clusterSize(),
    "the test cluster must be up with 4 nodes: bash test/cluster/cluster.sh up 4",
  ).toBeGreaterThanOrEqual(4);
  expect(clusterProfile(), "faults run where no Epilog cleans up: SDTC_PROFILE=strict").toBe("strict");
  ws = createWorkspace("alice", ALICE_UID);
  ws.write("quick.sh", '#!/bin/bash\nmpirun -H "$hostlist" -np "$np" hostname\n', 0o755);
});

// A failed case must not leave its job running into the next one.
afterEach(async () => {
  await cancelAllJobs("alice", ALICE_UID, [1, 2, 3, 4]);
});

const cd = (cmd: string) => `cd ${ws.dir} && ${cmd}`;
const tool = (args: string) => `srun-docker --container=${IMAGE} ${args}`;

describe("a node that cannot take part", () => {
  test("the image is missing on one node: one error naming it, exit 1, nothing left", async () => {
    // A build of node1's own (its own ID), in no registry: node2 has nothing it could run instead.
    const only = "srun-docker-test:only-node1";
    const built = await inNode(1, [
      "sh",
      "-c",
      `printf 'FROM ${IMAGE}\\nLABEL only=node1\\n' | docker build -q -t ${only} -`,
    ]);
    expect(built.code, built.stderr).toBe(0);
    try {
      const r = await runAs(
        "alice",
        cd(`salloc -N 2 -w node[1-2] srun srun-docker --container=${only} --script=./quick.sh --timeout=30`),
      );
      figure("image missing on node2", `exit ${r.code} after ${seconds(r.ms)}`);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/node2 does not have the image srun-docker-test:only-node1 \(it is in no registry/);
      expectReadmeQuote(r.stderr, "node2 does not have the image IMG (it is in no registry");
      expectReadmeQuote(r.stderr, "srun-docker: error: a node failed after 0.4 s");
      expect(r.ms).toBeLessThan(30_000);
      expect(await leftoversOn([1, 2])).toEqual({ containers: [], processes: [] });
    } finally {
      await inNode(1, ["docker", "rmi", only]);
    }
  });

  test("the docker daemon is stopped on one node: one error naming it, exit 1, nothing left", async () => {
    await run("bash", [CLUSTER_SH, "stop-docker", "2"]);
    try {
      const r = await runAs("alice", cd(`salloc -N 2 -w node[1-2] srun ${tool("--script=./quick.sh --timeout=30")}`));
      figure("dockerd down on node2", `exit ${r.code} after ${seconds(r.ms)}`);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/node2: .*docker is not usable on node2/);
      expectReadmeQuote(r.stderr, "srun-docker: error: a node failed after 0.4 s");
      expect(r.ms).toBeLessThan(30_000);
    } finally {
      await run("bash", [CLUSTER_SH, "start-docker", "2"]);
    }
    expect(await leftoversOn([1, 2])).toEqual({ containers: [], processes: [] });
  });

  test("a worker whose sshd never answers: the deadline fires and names it", async () => {
    const port = 29_999;
    const rule = ["INPUT", "-i", "eth0", "-p", "tcp", "--dport", String(port), "-j", "DROP"];
    await run("ip", ["netns", "exec", "sdtc-node2", "iptables", "-I", ...rule]);
    try {
      const r = await runAs(
        "alice",
        cd(`salloc -N 2 -w node[1-2] srun ${tool(`--script=./quick.sh --sshdport=${port}`)}`),
      );
      figure("sshd silent on node2", `exit ${r.code} after ${seconds(r.ms)}`);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`node2:${port} did not answer`));
      expect(r.ms).toBeLessThan(30_000);
    } finally {
      await run("ip", ["netns", "exec", "sdtc-node2", "iptables", "-D", ...rule]);
    }
    expect(await leftoversOn([1, 2])).toEqual({ containers: [], processes: [] });
  });
});

describe("a container that dies while it starts", () => {
  test("--remote=sshd, an image without sshd: both nodes fail within seconds, naming the node and sshd's last words", async () => {
    const image = "srun-docker-test:no-sshd";
    await inNode(1, ["docker", "rm", "-f", "sdtc-no-sshd"]);
    const made = await inNode(1, [
      "docker",
      "run",
      "--name",
      "sdtc-no-sshd",
      "--entrypoint",
      "rm",
      IMAGE,
      "-f",
      "/usr/sbin/sshd",
    ]);
    expect(made.code, made.stderr).toBe(0);
    const committed = await inNode(1, ["docker", "commit", "sdtc-no-sshd", image]);
    expect(committed.code, committed.stderr).toBe(0);
    await inNode(1, ["docker", "rm", "-f", "sdtc-no-sshd"]);
    // One build, copied: a commit on each node would be two builds (their IDs differ with the
    // second the commit ran), which the run rightly refuses before any sshd starts.
    const copied = await run("bash", [
      "-c",
      `bash ${CLUSTER_SH} exec 1 docker save ${image} | bash ${CLUSTER_SH} exec 2 docker load`,
    ]);
    expect(copied.code, copied.stderr).toBe(0);
    try {
      const r = await runAs(
        "alice",
        cd(`salloc -N 2 -w node[1-2] srun srun-docker --container=${image} --remote=sshd --script=./quick.sh`),
      );
      figure("image without sshd (N=2, --timeout 120 s)", `exit ${r.code} after ${seconds(r.ms)}`);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /sshd in the container on node[12] exited with 127 before it was ready: .*\/usr\/sbin\/sshd.*not found/,
      );
      expectReadmeQuote(
        r.stderr,
        "sshd in the container on node2 exited with 127 before it was ready: srun-docker-sshd: 4: /usr/sbin/sshd: not found",
      );
      // Far inside --timeout (120 s): the exit is seen, not waited out.
      expect(r.ms).toBeLessThan(15_000);
      expect(await leftoversOn([1, 2])).toEqual({ containers: [], processes: [] });
    } finally {
      for (const k of [1, 2]) await inNode(k, ["docker", "rmi", image]);
    }
  });

  test("--remote=agent, an image the agent cannot start in (no libstdc++): the script, started meanwhile, is ended; the job fails naming the node and the agent's last words", async () => {
    // The script starts once the containers run, not once their agents listen: an agent that
    // dies then must still end the job, its script included, and leave nothing behind.
    const dir = mkdtempSync(path.join(STATE, "no-libstdcxx-"));
    const ref = `${registry().open.host}/no-libstdcxx:1`;
    try {
      writeFileSync(
        path.join(dir, "Dockerfile"),
        `FROM ${IMAGE}\nUSER root\nRUN rm -f /usr/lib/x86_64-linux-gnu/libstdc++.so.6*\n`,
      );
      await buildPushAndForget(1, dir, ref);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    ws.write("slow.sh", "#!/bin/sh\necho started\nsleep 30\necho finished\n", 0o755);
    try {
      const r = await runAs(
        "alice",
        cd(`salloc -N 2 -w node[1-2] srun srun-docker --container=${ref} --script=./slow.sh`),
      );
      figure("agent cannot start (N=2)", `exit ${r.code} after ${seconds(r.ms)}`);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /srun-docker's agent in the container on node[12] exited with 127 before it was ready: .*libstdc\+\+\.so\.6/,
      );
      expect(r.stdout).not.toContain("finished");
      expect(r.ms).toBeLessThan(20_000);
      expect(await leftoversOn([1, 2])).toEqual({ containers: [], processes: [] });
    } finally {
      await removeRepoFrom([1, 2], ref.replace(/:1$/, ""));
    }
  });

  test("--remote=sshd, a container killed while its sshd starts: the job fails at once, naming the node", async () => {
    // 2 % of a CPU makes sshd's start slow enough to kill its container before it answers.
    const job = startAs(
      "alice",
      cd(
        `salloc -N 2 -w node[1-2] srun srun-docker --container=${IMAGE} --remote=sshd --dockopts="--cpus=0.02" --script=./quick.sh`,
      ),
    );
    const id = await waitFor(
      "node2's container",
      async () =>
        (await inNode(2, ["docker", "ps", "-q", "--filter", `label=srun-docker.uid=${ALICE_UID}`])).stdout.trim() ||
        undefined,
      60_000,
      20,
    );
    const t0 = Date.now();
    const killed = await inNode(2, ["docker", "kill", id]);
    expect(killed.code, killed.stderr).toBe(0);
    const r = await job.result;
    const after = Date.now() - t0;
    figure("container killed during start-up (N=2)", `exit ${r.code}, ${seconds(after)} after the kill`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /the container on node2 was killed \(exit 137: out of memory, or SIGKILL\) before it was ready/,
    );
    expectReadmeQuote(
      r.stderr,
      "the container on node2 was killed (exit 137: out of memory, or SIGKILL) before it was ready",
    );
    expect(after).toBeLessThan(5000);
    expect(await leftoversOn([1, 2])).toEqual({ containers: [], processes: [] });
  });
});

describe("exit codes", () => {
  test.each([
    ["exit 3", "exit 3", 3],
    ["killed by SIGKILL", "kill -9 $$", 137],
  ])("script %s", async (_name, body, code) => {
    const file = `exit-${code}.sh`;
    ws.write(file, `#!/bin/bash\n${body}\n`, 0o755);
    const r = await runAs("alice", cd(`salloc -N 2 srun ${tool(`--script=./${file}`)}`));
    figure(`script ${body}`, `srun exit ${r.code}`);
    expect(r.code).toBe(code);
  });
});
