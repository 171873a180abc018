// README "Security", "Nor take your ports": another user (erin) against the ports of a victim's
// (frank's) next job. No port is derived from the job id alone any more, so erin cannot know
// the job's ports; to try the worst case anyway, the test plays a clairvoyant attacker: as root
// it reads frank's secret and computes the job's real candidates, and erin binds the first
// ones. The rendezvous's and MASTER_PORT's on node1 before the job starts (the rendezvous one
// relaying the handshake to the real master), and in the gap on node2, once the worker talks
// to the rendezvous and before the container's agent or sshd starts, the agent's or sshd's
// first port and the ports of the job id alone (attacker/gap.cjs, relaying to the real agent).
// The job must run on the next candidates, exit with its script's code and leave nothing.
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { FrameType } from "../../src/core/channel/index.js";
import { jobPortCandidates, type PortCandidates } from "../../src/core/ports/index.js";
import { PROTOCOL_VERSION } from "../../src/core/rendezvous/index.js";
import { createPortDraw, deriveJobSecret } from "../../src/io/channel/index.js";
import { installAttackerPrograms, startInNode } from "./attacker.js";
import {
  cancelAllJobs,
  clusterSize,
  figure,
  findNodeProcesses,
  IMAGE,
  leftoversOn,
  NOSSH_IMAGE,
  run,
  runAs,
  startAs,
  USERS,
  waitFor,
} from "./cluster.js";
import { expectReadmeQuote } from "./readme-quotes.js";
import { createWorkspace, type Workspace } from "./workspace.js";

const VICTIM = "frank";
const VICTIM_UID = USERS.frank;
const ATTACKER = "erin";
const ATTACKER_UID = USERS.erin;
const NODES = [1, 2];

let victim: Workspace;
let attacker: Workspace;

beforeAll(async () => {
  expect(clusterSize(), "the test cluster must be up with 2 nodes or more").toBeGreaterThanOrEqual(2);
  victim = createWorkspace(VICTIM, VICTIM_UID);
  attacker = createWorkspace(ATTACKER, ATTACKER_UID);
  installAttackerPrograms(attacker);
  attacker.write("gap.cjs", readFileSync(path.join(import.meta.dirname, "attacker/gap.cjs"), "utf8"));
  // The secret the job's ports are drawn from: a first run makes it, if none did yet.
  victim.write("true.sh", "#!/bin/bash\ntrue\n", 0o755);
  const first = await runAs(
    VICTIM,
    cd(`salloc -N 1 -w node1 srun srun-docker --container=${NOSSH_IMAGE} --script=./true.sh`),
  );
  expect(first.code, first.stderr).toBe(0);
}, 180_000);

afterEach(async () => {
  await cancelAllJobs(VICTIM, VICTIM_UID, NODES);
  // The attacker's programs end through their stdin; what a failed case left is ended here, each by its pid.
  const left: number[] = [];
  for (const k of NODES)
    left.push(...(await findNodeProcesses(k, ATTACKER_UID, new RegExp(`${attacker.dir}/\\w+\\.cjs`))));
  for (const pid of left) process.kill(pid, "SIGKILL");
  expect(left, "the attacker's programs outlived their case").toEqual([]);
});

const cd = (cmd: string) => `cd ${victim.dir} && ${cmd}`;

/** The ports the version before this one derived from the job id alone (job N, step S): public, since squeue shows N. */
function portsOfTheJobIdAlone(jobId: number, stepId = 0) {
  const base = 20_000 + ((jobId * 8 + stepId) % 4253) * 3;
  return { remote: base, rendezvous: base + 1, master: base + 2 };
}

/** A job step's candidates, as only the victim's nodes can draw them: root reads his secret. */
function clairvoyantCandidates(jobId: string, stepId = 0): PortCandidates {
  const jobKey = `${jobId}.${stepId}`;
  const secret = deriveJobSecret(readFileSync(`${victim.home}/.srun-docker/secret`), jobKey);
  return jobPortCandidates({ sshdPort: undefined, rendezvousPort: undefined }, createPortDraw(secret, jobKey));
}

/** A job of the victim's on node[1-2] that waits for `go-TAG` before its step starts (the job id is known then). */
function jobWaitingForGo(tag: string, step: string) {
  const job = startAs(
    VICTIM,
    cd(`salloc -N 2 -w node[1-2] -J ports-${tag} bash -c 'until [ -e go-${tag} ]; do sleep 0.1; done; ${step}'`),
  );
  const id = waitFor(
    `the victim's job ports-${tag}`,
    async () =>
      (await run("squeue", ["-h", "-u", VICTIM, "-n", `ports-${tag}`, "-t", "R", "-o", "%A"])).stdout.trim() ||
      undefined,
    120_000,
    200,
  );
  return { result: job.result, id };
}

interface SquatSummary {
  connections: number;
  relayed: number;
  faked: number;
  /** Connections where it told the worker abort, done and go itself. */
  orders: number;
  errors: string[];
}

interface GapSummary {
  connections: number;
  relayed: number;
  welcomes: number;
  rejects: number;
  late: string[];
  waitedMs: number;
}

/** Ends an attacker program and reads its JSON summary. */
async function summary<T>(program: ReturnType<typeof startInNode>): Promise<T> {
  const r = await program.stop();
  return JSON.parse(r.stdout.split("\n").filter(Boolean).at(-1) ?? "{}") as T;
}

/** The victim's `--debug` line of the port its node's agent or sshd bound. */
function listeningLine(stderr: string, node: string, remote: "agent" | "sshd") {
  const m = new RegExp(`\\[${node} (?:master|worker)\\] ${remote} listening on (\\d+) \\(([^)]*)\\)`).exec(stderr);
  if (m === null) throw new Error(`no listening line of ${node} in:\n${stderr}`);
  return { port: Number(m[1]), how: m[2] ?? "" };
}

describe("the ports of the victim's next job, taken by a clairvoyant attacker", () => {
  test.each(["agent", "sshd"] as const)(
    "--remote=%s: the first candidates taken, node2's agent or sshd port in the gap before it starts: the job runs on the next ones, exits with its script's code, leaves nothing",
    async (remote) => {
      victim.write(
        `ports-${remote}.sh`,
        '#!/bin/bash\necho "MASTER_PORT $(hostname) $MASTER_PORT"\nssh node2 \'echo "MASTER_PORT $(hostname) $MASTER_PORT"\'\nexit 7\n',
        0o755,
      );
      const image = remote === "agent" ? `--container=${NOSSH_IMAGE}` : `--container=${IMAGE} --remote=sshd`;
      const job = jobWaitingForGo(remote, `srun srun-docker --debug ${image} --script=./ports-${remote}.sh`);
      const jobId = await job.id;
      const ports = clairvoyantCandidates(jobId);
      const public_ = portsOfTheJobIdAlone(Number(jobId));
      const [rendezvous0 = 0, rendezvous1 = 0] = ports.rendezvous;
      const [remote0 = 0, remote1 = 0] = ports.remote;
      const [master0 = 0, master1 = 0] = ports.master;

      // node1, before the job starts: the first rendezvous and MASTER_PORT candidates, and the
      // public ones; the rendezvous one answers as a master (relayed to the real one once it listens).
      attacker.write(
        `squat-${remote}.json`,
        JSON.stringify({
          ports: [rendezvous0, master0, public_.rendezvous, public_.master],
          relay: rendezvous0,
          victimUid: VICTIM_UID,
          protocolVersion: PROTOCOL_VERSION,
        }),
      );
      const squatter = startInNode(1, ATTACKER, `node ${attacker.dir}/squat.cjs ${attacker.dir}/squat-${remote}.json`);
      expect((await squatter.line(/^squatting .*$/m))[0]).not.toMatch(/errors/);
      // node2, in the gap: node2's first agent or sshd candidate, and the public one.
      attacker.write(
        `gap-${remote}.json`,
        JSON.stringify({
          victimUid: VICTIM_UID,
          rendezvousPorts: [...ports.rendezvous, public_.rendezvous],
          ports: [remote0, public_.remote],
          relayAgent: remote === "agent",
          frames: { challenge: FrameType.challenge, welcome: FrameType.welcome, reject: FrameType.reject },
        }),
      );
      const gap = startInNode(2, ATTACKER, `node ${attacker.dir}/gap.cjs ${attacker.dir}/gap-${remote}.json`);
      await gap.line(/^watching$/m);

      let r: Awaited<typeof job.result>;
      let bound: string;
      let [atNode1, atNode2]: [SquatSummary | undefined, GapSummary | undefined] = [undefined, undefined];
      try {
        victim.write(`go-${remote}`, "");
        bound = (await gap.line(/^bound .*$/m, 120_000))[0];
        r = await job.result;
      } finally {
        atNode1 = await summary<SquatSummary>(squatter);
        atNode2 = await summary<GapSummary>(gap);
      }
      const [master, worker] = [listeningLine(r.stderr, "node1", remote), listeningLine(r.stderr, "node2", remote)];
      const left = await waitFor(
        "nothing of the victim's job left on node1 and node2",
        async () => {
          const found = await leftoversOn(NODES, VICTIM_UID);
          return found.containers.length + found.processes.length === 0 ? found : undefined;
        },
        15_000,
        500,
      ).catch(() => leftoversOn(NODES, VICTIM_UID));
      figure(
        `a clairvoyant attacker on the first ports, --remote=${remote}`,
        `exit ${r.code} (its script's 7); node2's ${remote} ${remote0} taken ${atNode2?.waitedMs} ms after go, in the gap (${bound}), it bound ${worker.port} (${worker.how}); rendezvous ${rendezvous0} (relayed ${atNode1?.relayed}, answered ${atNode1?.faked}) → ${rendezvous1}; MASTER_PORT ${master0} → ${master1}; on node2's first port ${atNode2?.connections} connection(s), ${atNode2?.relayed} relayed to the real agent, which refused ${atNode2?.rejects} and welcomed ${atNode2?.welcomes}`,
      );
      expect(r.code, r.stderr).toBe(7);
      // Erin held node2's first port before its agent or sshd came to it: nothing was late.
      expect(bound).toBe(`bound ${remote0} ${public_.remote} after ${atNode2?.waitedMs} ms`);
      expect(atNode2?.late).toEqual([]);
      expect(worker).toEqual({ port: remote1, how: "port 2 of 16: the ones before are taken here" });
      expect(master).toEqual({ port: remote0, how: "its first port" });
      // One MASTER_PORT on every node, the second candidate: drawn from the secret, not the job id.
      expect(r.stdout).toContain(`MASTER_PORT node1 ${master1}\n`);
      expect(r.stdout).toContain(`MASTER_PORT node2 ${master1}\n`);
      expect(r.stderr).toContain(`ports: rendezvous ${rendezvous1}, MASTER_PORT ${master1}`);
      expect(Object.values(public_)).not.toContain(master1);
      // The worker tried the squatted rendezvous port first and went on; its orders counted for nothing.
      expect(atNode1?.connections).toBeGreaterThanOrEqual(1);
      expect(atNode1?.orders).toBeGreaterThanOrEqual(1);
      if (remote === "sshd") {
        expect(r.stderr).toContain(
          `[node1 master] remote ports: node2 on ${remote1}, the others on ${remote0}; rewrote known_hosts, ssh_config`,
        );
        // sshd's clients were told node2's port: none came to erin's.
        expect(atNode2?.connections).toBe(0);
      } else {
        expectReadmeQuote(r.stderr, "agent listening on 27415 (port 2 of 16: the ones before are taken here)");
        expectReadmeQuote(r.stderr, "ports: rendezvous 23378, MASTER_PORT 30383");
        // node1's ssh came to erin's port first (and the master's check that it reaches node2):
        // each relayed hello was refused by the real agent, since it names erin's port.
        expect(atNode2?.relayed).toBeGreaterThanOrEqual(1);
        expect(atNode2?.welcomes).toBe(0);
        expect(atNode2?.rejects).toBe(atNode2?.relayed);
      }
      expect(left).toEqual({ containers: [], processes: [] });
    },
    300_000,
  );
});

describe("MASTER_PORT", () => {
  test("is drawn from the secret: the same on every node, none of the job id's, and another job step draws another", async () => {
    victim.write(
      "master-port.sh",
      '#!/bin/bash\necho "MP $(hostname) $MASTER_PORT"\nssh node2 \'echo "MP $(hostname) $MASTER_PORT"\'\n',
      0o755,
    );
    const step = `srun srun-docker --container=${NOSSH_IMAGE} --script=./master-port.sh`;
    const r = await runAs(
      VICTIM,
      cd(`salloc -N 2 -w node[1-2] bash -c '${step} && ${step} && echo "JOB $SLURM_JOB_ID"'`),
    );
    expect(r.code, r.stderr).toBe(0);
    const jobId = /^JOB (\d+)$/m.exec(r.stdout)?.[1] ?? "";
    const seen = [...r.stdout.matchAll(/^MP node(\d) (\d+)$/gm)].map((m) => Number(m[2]));
    const [step0 = 0, step1 = 0] = [0, 1].map((step) => clairvoyantCandidates(jobId, step).master[0]);
    figure(
      "MASTER_PORT of two steps of one job",
      `${seen.join(", ")} (of the job id alone: ${portsOfTheJobIdAlone(Number(jobId)).master}, ${portsOfTheJobIdAlone(Number(jobId), 1).master})`,
    );
    expect(seen.sort()).toEqual([step0, step0, step1, step1].sort());
    expect(step0).not.toBe(step1);
    for (const s of [0, 1]) expect(seen).not.toContain(portsOfTheJobIdAlone(Number(jobId), s).master);
  });
});
