// Any image: jobs on an image with no sshd and no ssh client (--remote=agent, the default).
// mpirun (tree spawn), pdsh and plain `ssh node2 ...` in job scripts reach the other containers
// through srun-docker's own agent, and another user on the node cannot use it.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, test } from "vitest";
import { refusalSummaries } from "./attacker.js";
import {
  ALICE_UID,
  clusterSize,
  figure,
  inNode,
  leftoversOn,
  NOSSH_IMAGE,
  runAs,
  startAs,
  USERS,
  waitFor,
} from "./cluster.js";
import { runningJob } from "./teardown-cases.js";
import { createWorkspace, type Workspace } from "./workspace.js";

let ws: Workspace;
let bob: Workspace;

beforeAll(() => {
  expect(
    clusterSize(),
    "the test cluster must be up with 4 nodes: bash test/cluster/cluster.sh up 4",
  ).toBeGreaterThanOrEqual(4);
  ws = createWorkspace("alice", ALICE_UID);
  bob = createWorkspace("bob", USERS.bob);
});

const cd = (cmd: string) => `cd ${ws.dir} && ${cmd}`;
/** A job on nodes 1..n, the default remote (the agent), the image without sshd or ssh. */
const job = (n: number, script: string) =>
  cd(`salloc -N ${n} -w node[1-${n}] srun srun-docker --container=${NOSSH_IMAGE} --script=./${script}`);
const nothingLeft = async (nodes: number[]) =>
  expect(await leftoversOn(nodes, ALICE_UID)).toEqual({ containers: [], processes: [] });

test("the image really has neither sshd nor an ssh client", async () => {
  const r = await inNode(1, [
    "docker",
    "run",
    "--rm",
    NOSSH_IMAGE,
    "sh",
    "-c",
    "test ! -e /usr/sbin/sshd && ! command -v ssh && command -v mpirun && command -v pdsh",
  ]);
  expect(r.code, r.stdout + r.stderr).toBe(0);
});

describe.each([2, 4])("N=%i", (n) => {
  test("mpirun with mpi4py: every rank on every node gets the right sum", async () => {
    ws.write(
      "allreduce.sh",
      `#!/bin/bash
mpirun -H "$hostlist" -np "$np" python3 -c '
from mpi4py import MPI
import socket
c = MPI.COMM_WORLD
print("rank", c.rank, socket.gethostname(), c.allreduce(c.rank + 1), flush=True)'
`,
      0o755,
    );
    const r = await runAs("alice", job(n, "allreduce.sh"));
    expect(r.code, r.stderr).toBe(0);
    const ranks = r.stdout.split("\n").filter((l) => l.startsWith("rank "));
    expect(ranks).toHaveLength(n);
    for (const line of ranks) expect(line).toMatch(new RegExp(` ${(n * (n + 1)) / 2}$`));
    expect(new Set(ranks.map((l) => l.split(" ")[2])).size).toBe(n);
    figure(`agent: mpi4py allreduce at N=${n}`, `${(r.ms / 1000).toFixed(2)} s for the whole salloc`);
    await nothingLeft(Array.from({ length: n }, (_, i) => i + 1));
  });

  test("pdsh -R ssh reaches every node", async () => {
    ws.write(
      "pdsh.sh",
      '#!/bin/bash\npdsh -R ssh -w "$(echo "$hostlist" | sed "s/:[0-9]*//g")" \'echo "rank=$NODE_RANK"\' | sort\n',
      0o755,
    );
    const r = await runAs("alice", job(n, "pdsh.sh"));
    expect(r.code, r.stderr).toBe(0);
    const expected = Array.from({ length: n }, (_, i) => `node${i + 1}: rank=${i}`);
    expect(r.stdout.split("\n").filter((l) => l.includes(": rank="))).toEqual(expected);
  });
});

describe("ssh node2 ... behaves like ssh", () => {
  test("words, stdin, exit codes, signals and 100 MB intact", async () => {
    ws.write(
      "ssh.sh",
      `#!/bin/bash
ssh node2 'echo "$NODE_RANK" "a b"'
echo data | ssh node2 cat
ssh node2 'exit 7'; echo "exit=$?"
ssh node2 'kill -9 $$'; echo "killed=$?"
ssh alice@node2 true; echo "user=$?"
ssh nosuchhost true 2>&1; echo "other=$?"
printf 'echo "shell $NODE_RANK $PWD"\nexit 3\n' | ssh node2; echo "shell-exit=$?"
ssh -tt node2 'test -t 0 && test -t 1 && echo "pty yes"' </dev/null | tr -d '\r'
ssh -x -q -o StrictHostKeyChecking=no -p 22 -l alice node2 'echo options-ok'

start=$(date +%s.%N)
echo "remote $(ssh node2 seq 1 15000000 | sha256sum)"
end=$(date +%s.%N)
echo "local $(seq 1 15000000 | sha256sum)"
echo "seconds $(echo "$end - $start" | bc 2>/dev/null || python3 -c "print($end - $start)")"
`,
      0o755,
    );
    const r = await runAs("alice", job(2, "ssh.sh"));
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines).toContain("1 a b");
    expect(lines).toContain("data");
    expect(lines).toContain("exit=7");
    expect(lines).toContain("killed=137");
    expect(lines).toContain("user=0");
    expect(lines).toContain("other=255");
    // No command: a login shell reading stdin, in the user's home, with the node's variables.
    expect(lines).toContain("shell 1 /home/alice");
    expect(lines).toContain("shell-exit=3");
    expect(lines).toContain("pty yes");
    expect(lines).toContain("options-ok");
    expect(r.stdout).toMatch(/nosuchhost/);
    const remote = /^remote (\w+)/m.exec(r.stdout)?.[1];
    expect(remote).toBeDefined();
    expect(/^local (\w+)/m.exec(r.stdout)?.[1]).toBe(remote);
    const seconds = Number(/^seconds ([\d.]+)/m.exec(r.stdout)?.[1]);
    const bytes = 113_888_897; // `seq 1 15000000 | wc -c`
    figure(
      "agent: bulk output node2 → node1",
      `${(bytes / 1e6 / seconds).toFixed(0)} MB/s (${bytes} bytes, checksum equal)`,
    );
  });

  test("killing the local ssh, or its parent, ends the remote command: nothing of it is left on the target", async () => {
    ws.write(
      "kill.sh",
      `#!/bin/bash
ssh node2 'sleep 300' &
pid=$!
for i in $(seq 50); do ssh node2 'pgrep -x sleep' >/dev/null && break; sleep 0.1; done
echo "running=$(ssh node2 'pgrep -x sleep | wc -l')"
kill -9 "$pid"
sleep 2
echo "left=$(ssh node2 'pgrep -x sleep | wc -l')"
# Its parent killed instead (mpirun -9): the orphaned ssh hangs the remote command up.
bash -c 'ssh node2 "sleep 301"; true' &
parent=$!
for i in $(seq 50); do ssh node2 'pgrep -fx "sleep 301"' >/dev/null && break; sleep 0.1; done
echo "orphan-running=$(ssh node2 'pgrep -fx "sleep 301" | wc -l')"
kill -9 "$parent"
sleep 2
echo "orphan-left=$(ssh node2 'pgrep -fx "sleep 301" | wc -l')"
`,
      0o755,
    );
    const r = await runAs("alice", job(2, "kill.sh"));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("running=1");
    expect(r.stdout).toContain("left=0");
    expect(r.stdout).toContain("orphan-running=1");
    expect(r.stdout).toContain("orphan-left=0");
  });
});

describe("another user", () => {
  test("cannot make alice's agent run anything: every attempt is refused and counted", async () => {
    ws.write("long.sh", '#!/bin/bash\nmpirun -H "$hostlist" -np "$np" sleep 300\n', 0o755);
    const alice = startAs("alice", job(2, "long.sh"));
    try {
      const { id } = await runningJob("alice", ALICE_UID, 2, /sleep 300/);
      const config = JSON.parse(readFileSync(`/home/alice/.srun-docker/jobs/${id}.0/node2/agent.json`, "utf8")) as {
        ports: number[];
      };
      // Every node's agent on the first of the job's ports it could bind: the first, here.
      const port = config.ports[0];
      // Bob knows everything but alice's job's secret: the nodes, the ports, the job key.
      bob.write(
        "agent.json",
        JSON.stringify({ ...config, user: "bob", node: "node1", secret: "62".repeat(32), env: {} }),
        0o600,
      );
      const attempts = [
        `SRUN_DOCKER_AGENT_CONFIG=${bob.dir}/agent.json ~/bin/srun-docker agent-ssh node2 'touch /tmp/pwned'`,
        `SRUN_DOCKER_AGENT_CONFIG=${bob.dir}/agent.json ~/bin/srun-docker agent-ssh node2`,
        `printf 'hello garbage\\n' | timeout 3 bash -c 'cat >/dev/tcp/node2/${port}; sleep 1'`,
        `head -c 100000 /dev/zero | timeout 3 bash -c 'cat >/dev/tcp/node2/${port}'`,
      ];
      const container = (
        await inNode(2, ["docker", "ps", "-q", "--filter", `label=srun-docker.job=${id}`])
      ).stdout.trim();
      const agentLog = async () => {
        const r = await inNode(2, ["docker", "logs", container]);
        return `${r.stdout}${r.stderr}`.split("\n").filter((l) => l.startsWith("[node2 agent]"));
      };
      // Refusals are counted into a summary line (1 s after the first); none came before bob's.
      const refusedSoFar = async () =>
        refusalSummaries((await agentLog()).join("\n")).reduce((sum, s) => sum + s.total, 0);
      expect(await refusedSoFar()).toBe(0);
      const codes: (number | null)[] = [];
      // From node1's namespace, as a user logged in there would.
      for (const attempt of attempts)
        codes.push((await inNode(1, ["su", "-", "bob", "-c", `cd ${bob.dir} && ${attempt}`])).code);
      expect(codes.slice(0, 2)).toEqual([255, 255]);
      const pwned = await inNode(2, ["docker", "exec", container, "test", "-e", "/tmp/pwned"]);
      expect(pwned.code, "bob's command ran in alice's container").toBe(1);
      const refused = await waitFor("the agent to count every refusal", async () => {
        const count = await refusedSoFar();
        return count >= attempts.length ? count : undefined;
      });
      expect(refused).toBe(attempts.length);
      figure("another user at alice's agent", `${attempts.length} attempts, ${refused} refused, 0 ran`);
    } finally {
      await runAs("alice", "scancel -u alice");
      await alice.result;
    }
    await waitFor("alice's job to be gone", async () => (await leftoversOn([1, 2], ALICE_UID)).containers.length === 0);
  });
});
