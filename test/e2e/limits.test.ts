// The container gets what Slurm allocated: CPUs and memory from the step, a pids
// limit, the out-of-memory line, and nothing when Slurm gives nothing. The cluster allocates
// cores and memory (select/cons_tres, CR_Core_Memory, DefMemPerCPU) and binds with task/affinity.
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { ALICE_UID, cancelAllJobs, clusterSize, figure, IMAGE, leftoversOn, runAs } from "./cluster.js";
import { createWorkspace, type Workspace } from "./workspace.js";

let ws: Workspace;

// What each container sees of its own cgroups (cgroup v1: docker mounts the container's own
// directories at /sys/fs/cgroup/<controller>), one line per node.
const SHOW_LIMITS = [
  "#!/bin/bash",
  "show='echo \"$(hostname) cpus=$(cat /sys/fs/cgroup/cpuset/cpuset.cpus) quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes) pids=$(cat /sys/fs/cgroup/pids/pids.max) nproc=$(nproc)\"'",
  'for node in $(echo "$hostlist" | tr , " " | sed "s/:[0-9]*//g"); do ssh "$node" "$show"; done',
  "",
].join("\n");

beforeAll(() => {
  expect(clusterSize(), "the test cluster must be up with 4 nodes").toBeGreaterThanOrEqual(4);
  ws = createWorkspace("alice", ALICE_UID);
  ws.write("show-limits.sh", SHOW_LIMITS, 0o755);
  // 512 MiB on node2, in a job that has 256 MiB per node: the kernel kills it there.
  ws.write(
    "hog.sh",
    '#!/bin/bash\nssh node2 python3 -c "\'x = bytearray(512 * 1024 * 1024); print(len(x))\'"\necho "hog exit $?"\nexit 3\n',
    0o755,
  );
});

afterEach(async () => {
  await cancelAllJobs("alice", ALICE_UID, [1, 2]);
});

const cd = (cmd: string) => `cd ${ws.dir} && ${cmd}`;
const tool = (args: string) => `srun-docker --container=${IMAGE} ${args}`;

interface Seen {
  cpus: string;
  quota: number;
  mem: number;
  pids: string;
  nproc: number;
}

function seenByNode(stdout: string): Map<string, Seen> {
  const seen = new Map<string, Seen>();
  for (const m of stdout.matchAll(/^(node\d+) cpus=(\S+) quota=(-?\d+) mem=(\d+) pids=(\S+) nproc=(\d+)$/gm)) {
    seen.set(m[1] as string, {
      cpus: m[2] as string,
      quota: Number(m[3]),
      mem: Number(m[4]),
      pids: m[5] as string,
      nproc: Number(m[6]),
    });
  }
  return seen;
}

const countCpus = (list: string) =>
  list.split(",").reduce((n, part) => {
    const [lo, hi = lo] = part.split("-").map(Number);
    return n + ((hi as number) - (lo as number) + 1);
  }, 0);

describe("limits from the allocation", () => {
  test("-c 1 --mem=256M: every container has one CPU's worth and 256 MiB, no more", async () => {
    const r = await runAs(
      "alice",
      cd(`salloc -N 2 -w node[1-2] -c 1 --mem=256M srun ${tool("--script=./show-limits.sh")}`),
    );
    expect(r.code, r.stderr).toBe(0);
    const seen = seenByNode(r.stdout);
    figure("limits of -c 1 --mem=256M", JSON.stringify(Object.fromEntries(seen)));
    expect([...seen.keys()].sort()).toEqual(["node1", "node2"]);
    for (const [node, s] of seen) {
      expect(s.mem, node).toBe(256 * 1024 * 1024);
      // Bound by task/affinity: a one-CPU cpuset; else a quota of one CPU (period 100000).
      expect(countCpus(s.cpus) === 1 || s.quota === 100_000, `${node}: ${JSON.stringify(s)}`).toBe(true);
      expect(s.nproc, node).toBe(1);
      expect(s.pids, node).toBe("4096");
    }
    expect(await leftoversOn([1, 2])).toEqual({ containers: [], processes: [] });
  });

  test("512 MiB on node2 with 256 MiB per node: node2 says it ran out of memory, srun exits 137, nothing left", async () => {
    const r = await runAs("alice", cd(`salloc -N 2 -w node[1-2] -c 1 --mem=256M srun ${tool("--script=./hog.sh")}`));
    const line = /srun-docker: error: node2: the job ran out of memory \(limit 256 MiB from --mem\)/g;
    figure("out of memory on node2", `exit ${r.code}; ${r.stderr.match(line)?.length ?? 0} line(s)`);
    expect(r.code, r.stderr).toBe(137);
    expect(r.stderr.match(line), r.stderr).toHaveLength(1);
    expect(r.stdout).toContain("hog exit 137");
    expect(r.stdout).not.toMatch(/^536870912$/m);
    expect(await leftoversOn([1, 2])).toEqual({ containers: [], processes: [] });
  });

  test("--limits=none and --dockopts: the user's word wins, and the dry run says where each limit came from", async () => {
    const dry = await runAs(
      "alice",
      cd(`salloc -N 1 -w node1 -c 1 --mem=256M srun ${tool("--script=./show-limits.sh --dry-run")}`),
    );
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^# limits: .*memory 256 MiB, no swap beyond it \(from --mem\); pids 4096 \(from /m);
    expect(dry.stdout).toContain("--memory=268435456b");
    const none = await runAs(
      "alice",
      cd(`salloc -N 1 -w node1 -c 1 --mem=256M srun ${tool("--script=./show-limits.sh --limits=none")}`),
    );
    expect(none.code, none.stderr).toBe(0);
    const free = seenByNode(none.stdout).get("node1");
    expect(free?.mem).toBeGreaterThan(256 * 1024 * 1024);
    expect(free?.quota).toBe(-1);
    expect(free?.pids).toBe("max");
    const own = await runAs(
      "alice",
      cd(`salloc -N 1 -w node1 -c 1 --mem=256M srun ${tool('--script=./show-limits.sh --dockopts="--memory=128m"')}`),
    );
    expect(own.code, own.stderr).toBe(0);
    expect(seenByNode(own.stdout).get("node1")?.mem).toBe(128 * 1024 * 1024);
  });

  test("the whole node and no --mem: no CPU or memory limit (the dry run says so); only the pids limit", async () => {
    const r = await runAs(
      "alice",
      cd(`salloc -N 2 -w node[1-2] --exclusive srun ${tool("--script=./show-limits.sh")}`),
    );
    expect(r.code, r.stderr).toBe(0);
    const seen = seenByNode(r.stdout);
    expect([...seen.keys()].sort()).toEqual(["node1", "node2"]);
    for (const [node, s] of seen) {
      expect(s.quota, node).toBe(-1);
      expect(s.nproc, node).toBe(2);
      expect(s.mem, node).toBeGreaterThan(1024 ** 4);
      expect(s.pids, node).toBe("4096");
    }
    const dry = await runAs(
      "alice",
      cd(`salloc -N 1 -w node1 --exclusive srun ${tool("--script=./show-limits.sh --dry-run")}`),
    );
    expect(dry.stdout).toMatch(/^# limits: pids 4096 \(from 1024 per CPU, at least 4096\)$/m);
    expect(dry.stdout).not.toMatch(/--memory|--cpuset-cpus|--cpus=/);
  });

  test("--launcher=srun, one task: a quota of the job's CPUs on the node (its own binding is one task's)", async () => {
    const r = await runAs(
      "alice",
      cd(
        `salloc -N 1 -w node1 -n 1 --mem=300M srun srun-docker --launcher=srun --container=${IMAGE} -- sh -c 'echo quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)'`,
      ),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`quota=100000 mem=${300 * 1024 * 1024}`);
    expect(await leftoversOn([1])).toEqual({ containers: [], processes: [] });
  });
});
