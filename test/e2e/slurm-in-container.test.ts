// Slurm's commands inside the job's container (README "Slurm commands inside the container"):
// `scontrol`, `squeue`, `sacct`, `sbatch`, `scancel` and `srun` in the master's container run the
// host's own, through the node's Slurm relay, on an image without any Slurm client. A hostile
// program in the container, which holds the job step's secret, gets nothing else run, and a
// client without the secret is refused. Strict profile: nothing may count on an Epilog.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, expect, test } from "vitest";
import {
  clusterProfile,
  clusterSize,
  leftoversOn,
  NOSSH_IMAGE,
  run,
  runAs,
  startAs,
  USERS,
  waitFor,
} from "./cluster.js";
import { createWorkspace, type Workspace } from "./workspace.js";

const USER = "erin";
const UID = USERS.erin;
const NODES = [1, 2];
let ws: Workspace;

beforeAll(() => {
  expect(clusterSize(), "the test cluster must be up with 4 nodes").toBeGreaterThanOrEqual(4);
  expect(clusterProfile(), "these cases must not count on an Epilog: run the strict profile").toBe("strict");
  ws = createWorkspace(USER, UID);
  ws.write("slurm-relay.py", readFileSync(path.join(import.meta.dirname, "attacker/slurm-relay.py"), "utf8"));
});

/**
 * The script in the master's container. First run: the commands, exit codes, stdin, the
 * hostile command lines, the attacker, the dependent job, then `scontrol requeue` of its own
 * job. Second run (the requeued job): says so and ends well, which lets the dependent job run.
 */
const INSIDE = (marker: string) => `#!/bin/bash
echo "run \${SLURM_RESTART_COUNT:-0} in $PWD"
if [ "\${SLURM_RESTART_COUNT:-0}" != 0 ]; then echo "second run"; exit 0; fi
command -v scontrol
echo "hostnames: $(scontrol show hostnames | tr '\\n' ' ')"
echo "squeue: $(squeue -h -j "$SLURM_JOB_ID" -o '%i %u')"
srun -N1 -n1 sh -c 'exit 7'; echo "srun exit=$?"
echo "through stdin" | srun -N1 -n1 cat
scontrol show job 999999999 >/dev/null 2>&1; echo "missing job exit=$?"
scontrol "; touch ${marker}" '$(touch ${marker})' "\\\`touch ${marker}\\\`" 2>/dev/null; echo "hostile exit=$?"
scontrol $(python3 -c 'print(" ".join(["x" * 65536] * 16))') 2>&1 | cut -c1-80; echo "megabyte exit=\${PIPESTATUS[0]}"
python3 ./slurm-relay.py ${marker}
echo "$(sbatch --parsable --dependency=afterok:$SLURM_JOB_ID -o next.out next.sh)" > next.id
scontrol requeue "$SLURM_JOB_ID"
sleep 300
echo "not requeued"
exit 1
`;

const NEXT = `#!/bin/sh
echo "next ran, after $(cat next.dep)"
`;

/** `scontrol show job`'s state, read before MinJobAge forgets the job. */
async function finished(id: string, timeoutMs: number): Promise<{ state: string; restarts: string }> {
  return waitFor(
    `job ${id} to finish`,
    async () => {
      const out = (await run("scontrol", ["show", "job", id])).stdout;
      const state = /JobState=(\S+)/.exec(out)?.[1] ?? "";
      if (!/^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL)$/.test(state)) return undefined;
      return { state, restarts: /Restarts=(\d+)/.exec(out)?.[1] ?? "" };
    },
    timeoutMs,
    1000,
  );
}

test("scontrol, squeue, srun, sbatch --dependency and scontrol requeue from the master's container; nothing else runs", async () => {
  const marker = path.join(ws.dir, "marker");
  ws.write("inside.sh", INSIDE(marker), 0o755);
  ws.write("next.sh", NEXT, 0o755);
  const out = path.join(ws.dir, "job.out");
  const submit = await runAs(
    USER,
    `cd ${ws.dir} && sbatch --parsable -N 2 -w node[1-2] --requeue --open-mode=append -o ${out} --wrap 'srun srun-docker --container=${NOSSH_IMAGE} --script=./inside.sh'`,
  );
  const id = submit.stdout.trim().split(";")[0] ?? "";
  expect(id, submit.stderr).toMatch(/^\d+$/);
  ws.write("next.dep", id);
  // A requeued job waits about two minutes (its BeginTime) before its second run.
  const final = await finished(id, 360_000);
  const said = existsSync(out) ? readFileSync(out, "utf8") : "";
  expect(final, said).toEqual({ state: "COMPLETED", restarts: "1" });
  expect(said).toMatch(new RegExp(`^run 0 in ${ws.dir}$`, "m"));
  expect(said).toMatch(/^\/opt\/srun-docker\/bin\/scontrol$/m);
  expect(said).toMatch(/^hostnames: node1 node2 $/m);
  expect(said).toMatch(new RegExp(`^squeue: ${id} ${USER}$`, "m"));
  expect(said).toMatch(/^srun exit=7$/m);
  expect(said).toMatch(/^through stdin$/m);
  expect(said).toMatch(/^missing job exit=1$/m);
  expect(said).toMatch(/^hostile exit=1$/m);
  expect(said).toMatch(/^srun-docker: scontrol: the command line is too long for the Slurm relay/m);
  expect(said).toMatch(/^megabyte exit=126$/m);
  // The attacker: its honest request runs (so the others fail for their flaw), a forged hello is
  // refused, and every other request ends the connection with nothing run.
  expect(said).toMatch(/^case honest frames=0x1,0x3,0x12,0x15 exit=0$/m);
  expect(said).toMatch(/^case forged frames=0x1,0x4 exit=none$/m);
  for (const name of ["path", "dotdot", "other", "string", "megabyte"])
    expect(said).toMatch(new RegExp(`^case ${name} frames=0x1,0x3 exit=none$`, "m"));
  expect(existsSync(marker), said).toBe(false);
  expect(said).toMatch(/^run 1 in /m);
  expect(said).toMatch(/^second run$/m);
  expect(said).not.toMatch(/not requeued|srun-docker: error/);
  // The job chained from the container ran once its first job completed.
  const next = readFileSync(path.join(ws.dir, "next.id"), "utf8").trim();
  expect(next).toMatch(/^\d+$/);
  expect(await finished(next, 60_000)).toMatchObject({ state: "COMPLETED" });
  expect(readFileSync(path.join(ws.dir, "next.out"), "utf8")).toBe(`next ran, after ${id}\n`);
  // Nothing left: no container, no process, no relay socket (the job dirs are gone).
  expect(await leftoversOn(NODES, UID)).toEqual({ containers: [], processes: [] });
  const jobs = path.join(ws.home, ".srun-docker/jobs");
  expect(existsSync(jobs) ? readdirSync(jobs).filter((e) => e.startsWith(`${id}.`)) : []).toEqual([]);
}, 480_000);

test("another user cannot reach the relay's socket; the job's own script can", async () => {
  ws.write(
    "hold.sh",
    `#!/bin/bash
echo "$SRUN_DOCKER_SLURM_RELAY" > relay.path
for i in $(seq 1 600); do [ -e relay.done ] && break; sleep 0.1; done
echo "after: $(squeue -h -j "$SLURM_JOB_ID" -o %u)"
`,
    0o755,
  );
  const job = startAs(
    USER,
    `cd ${ws.dir} && salloc -N 1 -w node1 srun srun-docker --container=${NOSSH_IMAGE} --script=./hold.sh`,
  );
  const socket = await waitFor("the script to name its relay", async () => {
    const file = path.join(ws.dir, "relay.path");
    return existsSync(file) ? readFileSync(file, "utf8").trim() || undefined : undefined;
  });
  expect(socket).toMatch(new RegExp(`^${ws.home}/\\.srun-docker/jobs/\\d+\\.0/node1/slurm\\.sock$`));
  const probe = `node -e 'require("net").connect(process.argv[1]).on("connect", () => { console.log("connected"); process.exit(0) }).on("error", (e) => console.log(e.code))' ${socket}`;
  const frank = await runAs("frank", probe);
  expect(frank.stdout.trim(), frank.stderr).toBe("EACCES");
  ws.write("relay.done", "");
  const r = await job.result;
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`^after: ${USER}$`, "m"));
  expect(await leftoversOn([1], UID)).toEqual({ containers: [], processes: [] });
  expect(existsSync(socket)).toBe(false);
}, 120_000);
