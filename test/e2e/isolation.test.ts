// Jobs side by side: two jobs of one user on the same nodes, leftovers of crashed jobs,
// twenty runs in a row, and a second user (bob) who tries to get into alice's job.
import { readdirSync } from "node:fs";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { refusalSummaries } from "./attacker.js";
import {
  ALICE_UID,
  BOB_UID,
  cancelAllJobs,
  clusterSize,
  figure,
  findNodeProcesses,
  IMAGE,
  inNode,
  jobNodes,
  leftoversOn,
  nodeContainers,
  run,
  runAs,
  startAs,
  waitFor,
} from "./cluster.js";
import { createWorkspace, type Workspace } from "./workspace.js";

let ws: Workspace;
let bob: Workspace;

beforeAll(() => {
  expect(clusterSize(), "the test cluster must be up with 4 nodes").toBeGreaterThanOrEqual(4);
  ws = createWorkspace("alice", ALICE_UID);
  bob = createWorkspace("bob", BOB_UID);
  ws.write("quick.sh", '#!/bin/bash\nmpirun -H "$hostlist" -np "$np" hostname\n', 0o755);
  ws.write("long.sh", '#!/bin/bash\necho "started $(hostname)"\nmpirun -H "$hostlist" -np "$np" sleep 300\n', 0o755);
  ws.write(
    "slow.sh",
    '#!/bin/bash\necho "start $TAG"\nsleep 6\nmpirun -H "$hostlist" -np "$np" hostname\necho "end $TAG"\n',
    0o755,
  );
});

afterEach(async () => {
  await cancelAllJobs("alice", ALICE_UID, [1, 2, 3, 4]);
  await cancelAllJobs("bob", BOB_UID, [1, 2, 3, 4]);
});

const cd = (cmd: string) => `cd ${ws.dir} && ${cmd}`;
const tool = (args: string) => `srun-docker --container=${IMAGE} ${args}`;

async function runningJobNamed(name: string): Promise<string> {
  return waitFor(
    `job ${name} running`,
    async () => {
      const r = await run("squeue", ["-h", "-u", "alice", "-t", "R", "-n", name, "-o", "%A"]);
      const id = r.stdout.trim();
      if (!id) return undefined;
      for (const k of await jobNodes(id))
        if ((await nodeContainers(k, `label=srun-docker.job=${id}`)).length === 0) return undefined;
      return id;
    },
    60_000,
    200,
  );
}

/** A container as a crashed earlier job leaves it: our labels, a job that has ended. */
async function plantStaleContainer(node: number, port: number): Promise<string> {
  const name = `srun-docker-alice-1.0-node${node}`;
  const labels = [
    "srun-docker=1",
    "srun-docker.uid=1001",
    "srun-docker.user=alice",
    "srun-docker.job=1",
    "srun-docker.step=0",
    `srun-docker.node=node${node}`,
  ];
  const r = await runAs(
    "alice",
    `srun -N1 -w node${node} docker run -d --net=host --name ${name} ${labels.map((l) => `--label ${l}`).join(" ")} ${IMAGE} python3 -m http.server ${port}`,
  );
  expect(r.code, r.stderr).toBe(0);
  return name;
}

describe("jobs side by side", () => {
  test("two jobs of one user on the same two nodes: both run; cancelling one leaves the other", async () => {
    const a = startAs(
      "alice",
      cd(`TAG=A salloc -N 2 -w node[1-2] -J side-a srun ${tool("--script=./slow.sh --envlist=TAG")}`),
    );
    const b = startAs(
      "alice",
      cd(`TAG=B salloc -N 2 -w node[1-2] -J side-b srun ${tool("--script=./slow.sh --envlist=TAG")}`),
    );
    await runningJobNamed("side-a");
    const idB = await runningJobNamed("side-b");
    const both = (await nodeContainers(1, "label=srun-docker.uid=1001")).length;
    await runAs("alice", `scancel ${idB}`);
    const [ra, rb] = await Promise.all([a.result, b.result]);
    figure(
      "two jobs on node[1-2]",
      `${both} containers on node1 at once; A exit ${ra.code}, cancelled B exit ${rb.code}`,
    );
    expect(both).toBe(2);
    expect(ra.code, ra.stderr).toBe(0);
    expect(ra.stdout).toContain("end A");
    expect(
      ra.stdout
        .split("\n")
        .filter((l) => /^node[12]$/.test(l))
        .sort(),
    ).toEqual(["node1", "node2"]);
    expect(rb.code).not.toBe(0);
    expect(rb.stdout).not.toContain("end B");
  });

  test("a crashed job's container holding our port is removed with a message", async () => {
    const port = 29_901;
    await plantStaleContainer(2, port);
    const r = await runAs(
      "alice",
      cd(`salloc -N 2 -w node[1-2] srun ${tool(`--script=./quick.sh --sshdport=${port}`)}`),
    );
    figure(
      "stale container on node2 holding the sshd port",
      `exit ${r.code}; "${/removing 1 container\(s\)[^\n]*/.exec(r.stderr)?.[0] ?? "no message"}"`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /\[node2 worker\] removing 1 container\(s\) left by ended jobs: srun-docker-alice-1\.0-node2/,
    );
    expect(await leftoversOn([1, 2])).toEqual({ containers: [], processes: [] });
  });

  test("a live job's port is never taken over: the second job fails with a clear message", async () => {
    const port = 29_911;
    const a = startAs(
      "alice",
      cd(`salloc -N 2 -w node[1-2] -J live-a srun ${tool(`--script=./long.sh --sshdport=${port}`)}`),
    );
    const idA = await runningJobNamed("live-a");
    await waitFor("the live job's script to start", async () => a.output().includes("started"), 60_000);
    const r = await runAs(
      "alice",
      cd(`salloc -N 2 -w node[1-2] srun ${tool(`--script=./quick.sh --sshdport=${port}`)}`),
    );
    const stillThere =
      (await nodeContainers(1, `label=srun-docker.job=${idA}`)).length +
      (await nodeContainers(2, `label=srun-docker.job=${idA}`)).length;
    figure("second job on a live job's port", `exit ${r.code}; live job's containers kept: ${stillThere}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`sshd port ${port} is already in use on node[12]`));
    expect(stillThere).toBe(2);
    await runAs("alice", `scancel ${idA}`);
    await a.result;
  });

  test("srun-docker clean removes a crashed job's container by hand", async () => {
    const name = await plantStaleContainer(3, 29_921);
    const r = await runAs("alice", "srun -N1 -w node3 srun-docker clean");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`removing ${name} (job 1)`);
    expect(await nodeContainers(3, "label=srun-docker.uid=1001")).toEqual([]);
  });
});

describe("twenty runs in a row", () => {
  test("nothing grows: containers, processes, job files, listening ports", async () => {
    const jobsDir = `${ws.home}/.srun-docker/jobs`;
    const rows: string[] = [];
    const durations: number[] = [];
    let baseline: number | undefined;
    for (let i = 1; i <= 20; i++) {
      const r = await runAs("alice", cd(`salloc -N 2 -w node[3-4] srun ${tool("--script=./quick.sh")}`));
      expect(r.code, r.stderr).toBe(0);
      durations.push(r.ms);
      const left = await leftoversOn([3, 4]);
      const jobFiles = readdirSync(jobsDir, { recursive: true }).length;
      const listening = (await inNode(3, ["ss", "-Htln"])).stdout.split("\n").filter(Boolean).length;
      rows.push(`${left.containers.length}/${left.processes.length}/${jobFiles}/${listening}`);
      expect(left).toEqual({ containers: [], processes: [] });
      // Killed runs of other cases may have left job dirs on other nodes; ours must not grow.
      baseline ??= jobFiles;
      expect(jobFiles).toBeLessThanOrEqual(baseline);
    }
    const listenCounts = new Set(rows.map((r) => r.split("/")[3]));
    durations.sort((x, y) => x - y);
    figure(
      "20 runs in a row",
      `leftovers after each (containers/processes/job dirs/listening sockets on node3): ${[...new Set(rows)].join(", ")}; median run ${(durations[10] ?? 0) / 1000} s`,
    );
    expect(listenCounts.size).toBe(1);
  });
});

describe("a second user on the same nodes", () => {
  test("bob cannot read any of alice's key material, nor can erin's own rootless container", async () => {
    const material = `${ws.home}/.srun-docker`;
    const files = (await run("find", [material, "-type", "f"])).stdout.split("\n").filter(Boolean);
    expect(files.map((f) => f.slice(material.length + 1))).toContain("secret");
    const list = files.map((f) => `'${f}'`).join(" ");
    const direct = await runAs("bob", `for f in ${list}; do cat "$f"; done`);
    figure("alice's material read by bob", `${files.length} files tried, ${direct.stdout.length} bytes read`);
    expect(direct.stdout).toBe("");
    expect(direct.stderr.match(/Permission denied/g)?.length).toBe(files.length);
    // A rootless container is root only in its own user namespace: on the host it is erin.
    const inContainer = await runAs(
      "erin",
      `srun -N1 -w node1 podman run --rm -v ${ws.home}:/victim ${IMAGE} sh -c 'for f in ${files.map((f) => `/victim${f.slice(ws.home.length)}`).join(" ")}; do cat "$f"; done'`,
    );
    figure("alice's material read from erin's rootless container", `${inContainer.stdout.length} bytes read`);
    expect(inContainer.stdout).toBe("");
    expect(inContainer.stderr).toMatch(/Permission denied/);
  });

  test("bob cannot log into alice's container sshd; no passwords, no root", async () => {
    const port = 29_931;
    const a = startAs(
      "alice",
      cd(`salloc -N 2 -w node[1-2] -J iso-ssh srun ${tool(`--script=./long.sh --sshdport=${port}`)}`),
    );
    await runningJobNamed("iso-ssh");
    // The script's first line comes once every node's sshd answers.
    await waitFor("alice's job script to start", async () => a.output().includes("started"), 60_000);
    await runAs(
      "bob",
      "mkdir -p -m 700 ~/.ssh && test -f ~/.ssh/id_ed25519 || ssh-keygen -q -t ed25519 -N '' -f ~/.ssh/id_ed25519",
    );
    const opts = `-p ${port} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5`;
    const attempts = {
      "bob's key as alice": await runAs("bob", `srun -N1 -w node2 ssh ${opts} alice@node2 true`),
      "bob as bob": await runAs("bob", `srun -N1 -w node2 ssh ${opts} bob@node2 true`),
      password: await runAs(
        "bob",
        `srun -N1 -w node2 ssh ${opts} -o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive alice@node2 true`,
      ),
      root: await inNode(2, ["ssh", ...opts.split(" "), "root@node2", "true"]),
    };
    for (const [name, r] of Object.entries(attempts)) {
      figure(`ssh into alice's sshd: ${name}`, `exit ${r.code}`);
      expect(r.code, name).toBe(255);
      expect(r.stderr, name).toMatch(/Permission denied \(publickey\)/);
    }
    await runAs("alice", "scancel -n iso-ssh");
    await a.result;
  });

  test("bob cannot start alice's job early, nor stop it, through the rendezvous port", async () => {
    const port = 29_941;
    bob.write(
      "attack.cjs",
      `// Pretends to be node2: a forged hello, ready, exited, then garbage, again and again.
const net = require("node:net");
const [host, port, ms] = process.argv.slice(2);
const until = Date.now() + Number(ms);
let tries = 0;
function once() {
  if (Date.now() > until) { console.log("attempts", tries); return; }
  tries++;
  const s = net.connect(Number(port), host);
  s.on("error", () => {});
  s.on("data", (d) => {
    const nonce = (/"nonce":"([0-9a-f]{32})"/.exec(String(d)) || [])[1] || "0".repeat(32);
    // The channel's frames: a hello (2), then messages (0x40), then a frame too long to take.
    const frame = (type, value) => {
      const payload = Buffer.from(typeof value === "string" ? value : JSON.stringify(value));
      const header = Buffer.alloc(5);
      header.writeUInt8(type, 0);
      header.writeUInt32BE(payload.length, 1);
      return Buffer.concat([header, payload]);
    };
    s.write(frame(2, { node: "node2", nonce, mac: "ab".repeat(32), about: { rank: 1 } }));
    s.write(Buffer.concat([frame(0x40, { type: "ready" }), frame(0x40, { type: "exited", exitCode: 0 }), frame(0x40, { type: "done", exitCode: 0 }), frame(0x40, "x".repeat(70000))]));
    // And the same in the line protocol of older versions, which must mean nothing either.
    s.write(JSON.stringify({ type: "hello", node: "node2", rank: 1, nonce, mac: "ab".repeat(32) }) + "\\n");
    s.write('{"type":"ready"}\\n{"type":"exited","exitCode":0}\\n{"type":"done","exitCode":0}\\n' + "x".repeat(70000) + "\\n");
  });
  s.on("close", () => setTimeout(once, 50));
}
once();
`,
    );
    ws.write("ran.sh", "#!/bin/bash\necho SCRIPT-RAN\n", 0o755);
    // Start early: the master waits for node2, which never comes; bob plays node2.
    const early = startAs(
      "alice",
      cd(
        `srun -N1 -w node1 -J iso-early ${tool(`--debug --script=./ran.sh --nodelist=node1,node2 --rendezvous-port=${port} --timeout=8`)}`,
      ),
    );
    const attack = await runAs("bob", `srun -N1 -w node3 node ${bob.dir}/attack.cjs node1 ${port} 7000`);
    const r = await early.result;
    // The master counts (with --debug) the forged hellos it turned away: they reached it.
    const attempts = Number(/attempts (\d+)/.exec(attack.stdout)?.[1] ?? 0);
    // Counted by the master and said in summary lines (core/channel/refusal-tally.ts).
    const rejected = refusalSummaries(
      r.stderr
        .split("\n")
        .filter((line) => line.includes("[node1 master] rendezvous: "))
        .join("\n"),
    ).reduce((sum, summary) => sum + (summary.kinds.rejected ?? 0), 0);
    figure(
      "forged rendezvous, start early",
      `${attempts} attempts by bob, ${rejected} rejected by the master; alice exit ${r.code}, script ran: ${r.stdout.includes("SCRIPT-RAN")}`,
    );
    expect(attempts).toBeGreaterThan(5);
    // Attempts made after the master gave up (its --timeout) found no one listening.
    expect(rejected).toBeGreaterThan(5);
    expect(rejected).toBeLessThanOrEqual(attempts);
    expect(r.stdout).not.toContain("SCRIPT-RAN");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/node2: never connected/);

    // Stop early: a running 2-node job keeps going while bob hammers its rendezvous port.
    ws.write("steady.sh", "#!/bin/bash\nsleep 5\necho STEADY-DONE\n", 0o755);
    const steady = startAs(
      "alice",
      cd(
        `salloc -N 2 -w node[1-2] -J iso-steady srun ${tool(`--debug --script=./steady.sh --rendezvous-port=${port + 1}`)}`,
      ),
    );
    await runningJobNamed("iso-steady");
    const hammer = await runAs("bob", `srun -N1 -w node3 node ${bob.dir}/attack.cjs node1 ${port + 1} 3000`);
    const rs = await steady.result;
    const hammered = Number(/attempts (\d+)/.exec(hammer.stdout)?.[1] ?? 0);
    const turnedAway = refusalSummaries(
      rs.stderr
        .split("\n")
        .filter((line) => line.includes("[node1 master] rendezvous: "))
        .join("\n"),
    ).reduce((sum, summary) => sum + (summary.kinds.rejected ?? 0), 0);
    figure(
      "forged rendezvous, stop early",
      `${hammered} attempts, ${turnedAway} rejected; alice exit ${rs.code}, script finished: ${rs.stdout.includes("STEADY-DONE")}`,
    );
    expect(turnedAway).toBeGreaterThan(5);
    expect(turnedAway).toBeLessThanOrEqual(hammered);
    expect(rs.code, rs.stderr).toBe(0);
    expect(rs.stdout).toContain("STEADY-DONE");
    expect(await findNodeProcesses(1, ALICE_UID, /srun-docker/)).toEqual([]);
  });
});
