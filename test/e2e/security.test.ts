// What README "Security" claims, tried for real: another user (erin) against a victim's (dave's)
// jobs on the test cluster. Every port a running job listens on gets junk, well-formed but
// unauthenticated protocol messages, and the job's own handshakes replayed (captured with
// tcpdump on node1's link); the victim's key material is read; the ports of the victim's next
// job are taken before it starts; its rendezvous and agent ports are flooded; a rootless
// Podman job is looked for. Each case counts what it tried and prints it as a figure.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { FrameType } from "../../src/core/channel/index.js";
import { PROTOCOL_VERSION, RENDEZVOUS_MESSAGE } from "../../src/core/rendezvous/index.js";
import {
  clientStreams,
  firstMessage,
  framesOf,
  installAttackerPrograms,
  judgeAnswer,
  type Listener,
  listeningPorts,
  refusalSummaries,
  startInNode,
} from "./attacker.js";
import {
  cancelAllJobs,
  clusterSize,
  figure,
  findNodeProcesses,
  IMAGE,
  inNode,
  NOSSH_IMAGE,
  nodeUserProcesses,
  registry,
  run,
  runAs,
  startAs,
  USERS,
  waitFor,
} from "./cluster.js";
import { expectReadmeQuote } from "./readme-quotes.js";
import { createWorkspace, type Workspace } from "./workspace.js";

const VICTIM = "dave";
const VICTIM_UID = USERS.dave;
const ATTACKER = "erin";
const ATTACKER_UID = USERS.erin;
const ALL_NODES = [1, 2, 3, 4];
const address = (k: number) => `10.213.0.${k}`;

let victim: Workspace;
let attacker: Workspace;
/** The victim's Podman job pulls this into his own store (only the attacker's has the test image). */
let podmanImage: string | undefined;

beforeAll(async () => {
  expect(clusterSize(), "the test cluster must be up with 4 nodes").toBeGreaterThanOrEqual(4);
  expect((await run("tcpdump", ["--version"])).code, "tcpdump (scripts/setup-host.sh installs it)").toBe(0);
  victim = createWorkspace(VICTIM, VICTIM_UID);
  attacker = createWorkspace(ATTACKER, ATTACKER_UID);
  installAttackerPrograms(attacker);
});

afterEach(async () => {
  await cancelAllJobs(VICTIM, VICTIM_UID, ALL_NODES);
  // The attacker submits no jobs (her user may run other suites' jobs meanwhile): her programs
  // end through their stdin, and what a failed case left is ended here, each by its pid.
  const left = await attackerPrograms();
  for (const pid of left) process.kill(pid, "SIGKILL");
  expect(left, "the attacker's programs outlived their case").toEqual([]);
});

/** Pids of the attacker's programs (attacker/*.cjs in her workspace) still running on any node. */
async function attackerPrograms(): Promise<number[]> {
  const pids: number[] = [];
  for (const k of ALL_NODES)
    pids.push(...(await findNodeProcesses(k, ATTACKER_UID, new RegExp(`${attacker.dir}/\\w+\\.cjs`))));
  return pids;
}

afterAll(async () => {
  if (podmanImage === undefined) return;
  const repository = podmanImage.replace(/:[^:/]+$/, "");
  await asPodmanUser(
    1,
    VICTIM,
    'podman images -q --filter reference="$0" | xargs -r podman rmi -f; podman system migrate',
    repository,
  );
});

const cd = (cmd: string) => `cd ${victim.dir} && ${cmd}`;

/** Rootless Podman as `user` inside node K, with none of root's environment (as test/cluster/lib.sh). */
function asPodmanUser(k: number, user: string, script: string, ...args: string[]) {
  const env = [`HOME=/home/${user}`, `USER=${user}`, `LOGNAME=${user}`, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"];
  return inNode(k, ["runuser", "-u", user, "--", "env", "-i", "-C", "/", ...env, "sh", "-c", script, ...args]);
}

/** The victim's `--debug` lines of the ports a node used, and the one its agent or sshd bound. */
function portsLine(stderr: string, node: string, remote: "agent" | "sshd") {
  const prefix = `\\[${node} (?:master|worker)\\] `;
  const m = new RegExp(`${prefix}ports: rendezvous (\\d+), MASTER_PORT (\\d+);`).exec(stderr);
  const bound = new RegExp(`${prefix}${remote} listening on (\\d+) \\((its first port)?`).exec(stderr);
  if (m === null || bound === null) throw new Error(`no ports lines of ${node} in:\n${stderr}`);
  return { rendezvous: Number(m[1]), remote: Number(bound[1]), fallback: bound[2] === undefined, master: Number(m[2]) };
}

/** The ports the version before derived from the job id alone: public, since squeue shows the id. */
function portsOfTheJobIdAlone(jobId: number) {
  const base = 20_000 + ((jobId * 8) % 4253) * 3;
  return { sshdPort: base, rendezvousPort: base + 1, masterPort: base + 2 };
}

describe("a running job under attack", () => {
  test("every port it listens on refuses junk, unauthenticated messages and replayed handshakes; its files cannot be read; it ends as its script says", async () => {
    victim.write(
      "victim.sh",
      `#!/bin/bash
ssh node2 "echo ran >> ${victim.dir}/ran.txt"
echo VICTIM-WAITING
for i in $(seq 1 1800); do [ -e go ] && break; sleep 0.1; done
[ -e go ] || { echo VICTIM-NO-GO; exit 9; }
ssh node2 "echo after >> ${victim.dir}/ran.txt"
echo "VICTIM-DONE $(wc -l < ran.txt)"
exit 3
`,
      0o755,
    );
    const capture = await startCapture();
    const job = startAs(
      VICTIM,
      cd(
        `salloc -N 2 -w node[1-2] -J sec-attack srun srun-docker --debug --container=${NOSSH_IMAGE} --script=./victim.sh`,
      ),
    );
    try {
      await waitFor("the victim's script to wait", async () => job.output().includes("VICTIM-WAITING"), 180_000);
    } finally {
      await capture.stop();
    }

    // The ports, as root sees them: the agent's on every node, the rendezvous on the master's.
    const listeners = [...(await listeningPorts(1, VICTIM_UID)), ...(await listeningPorts(2, VICTIM_UID))];
    const agentPort = listeners.find((l) => l.node === 2)?.port;
    const rendezvousPort = listeners.find((l) => l.node === 1 && l.port !== agentPort)?.port;
    expect(listeners.map((l) => `node${l.node}:${l.port}`).sort()).toEqual(
      [`node1:${agentPort}`, `node1:${rendezvousPort}`, `node2:${agentPort}`].sort(),
    );
    expect(listeners.every((l) => l.address === "*" || l.address === "0.0.0.0" || l.address === "[::]")).toBe(true);

    // The victim's own traffic on node1's link: a worker's join, an `ssh node2` of its script.
    const streamsTo = (port: number | undefined) =>
      clientStreams(capture.file, port ?? 0).filter((s) => s.bytes.length > 0);
    const [rendezvousStreams, agentStreams] = [streamsTo(rendezvousPort), streamsTo(agentPort)];
    const flows = [rendezvousPort, agentPort].flatMap((port) =>
      clientStreams(capture.file, port ?? 0).map((f) => `${f.client} > ${f.server}: ${f.bytes.length} bytes`),
    );
    capture.remove();
    // A worker's join: its hello (a frame of the channel), then its messages, "ready" among them.
    expect(rendezvousStreams.map((s) => framesOf(s.bytes).slice(0, 1))).toEqual([
      [
        {
          type: FrameType.hello,
          json: expect.stringMatching(/^\{"node":"node2","nonce":"[0-9a-f]{32}","mac":"[0-9a-f]{64}"/),
        },
      ],
    ]);
    expect(
      rendezvousStreams.map((s) =>
        framesOf(s.bytes).some((f) => f.type === RENDEZVOUS_MESSAGE && f.json === '{"type":"ready"}'),
      ),
    ).toEqual([true]);
    // The master's check that it reaches node2's agent (a hello, then it leaves), and the script's ssh.
    expect(
      agentStreams.map((s) => firstMessage(s.bytes).readUInt8(0)),
      flows.join("\n"),
    ).toEqual([FrameType.hello, FrameType.hello]);
    // In either order: the master probes once its own agent answers, which may be after the ssh.
    const carriesTheCommand = agentStreams.map((s) =>
      s.bytes.toString("latin1").includes(`echo ran >> ${victim.dir}/ran.txt`),
    );
    expect(carriesTheCommand.sort()).toEqual([false, true]);
    const captured = [...rendezvousStreams, ...agentStreams].flatMap((s) => [
      { what: `replayed ${s.server} stream`, bytes: s.bytes },
      { what: `replayed ${s.server} first message`, bytes: firstMessage(s.bytes) },
    ]);

    const attempts = listeners.flatMap((l) => attemptsOn(l, captured));
    attacker.write("attempts.json", JSON.stringify(attempts));
    const probe = await inNode(
      3,
      ["su", "-", ATTACKER, "-c", `node ${attacker.dir}/probe.cjs ${attacker.dir}/attempts.json`],
      300_000,
    );
    expect(probe.code, probe.stderr).toBe(0);
    const results = probe.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as ProbeResult);
    expect(results).toHaveLength(attempts.length);
    const kindOf = new Map(attempts.map((a) => [a.id, a.kind]));
    const verdicts = results.map((r) => {
      const answer = judgeAnswer(Buffer.from(r.received, "base64"));
      const rejected = r.how === "closed" && r.sent && answer.said[0] === "challenge" && answer.unexpected.length === 0;
      return { ...r, kind: kindOf.get(r.id), answer, rejected };
    });
    const notRejected = verdicts.filter((v) => !v.rejected);
    const count = (kind: string) => verdicts.filter((v) => v.kind === kind).length;
    figure(
      "another user at a running job's ports",
      `${attempts.length} attempts on ${listeners.length} ports (${count("junk")} junk, ${count("message")} unauthenticated messages, ${count("replay")} replays of ${captured.length / 2} captured handshakes), ${verdicts.length - notRejected.length} closed with no authenticated answer (${verdicts.filter((v) => v.ms < 1000).length} within 1 s, ${verdicts.filter((v) => v.ms >= 4900).length} at the server's 5 s handshake timeout, slowest ${Math.max(...verdicts.map((v) => v.ms))} ms)`,
    );
    expect(notRejected.map((v) => `${v.id}: ${v.how}, said ${v.answer.said.join(" ")}`)).toEqual([]);

    // Each refusal was the server's own: the agents count every one into their summary lines
    // (the master below, with --debug), which name the attacker's node as the busiest source.
    for (const k of [1, 2]) {
      const expected = attempts.filter((a) => a.host === address(k) && a.port === agentPort).length;
      const summaries = await waitFor(`node${k}'s agent to count every refusal`, async () => {
        const logs = await inNode(k, [
          "sh",
          "-c",
          `docker logs $(docker ps -q --filter label=srun-docker.uid=${VICTIM_UID}) 2>&1`,
        ]);
        const found = refusalSummaries(logs.stdout).filter((s) => s.line.startsWith(`[node${k} agent]`));
        return found.reduce((sum, s) => sum + s.total, 0) >= expected ? found : undefined;
      });
      expect(summaries.reduce((sum, s) => sum + s.total, 0)).toBe(expected);
      expect(summaries.map((s) => s.busiest)).toEqual(summaries.map(() => address(3)));
    }

    await readsOfTheVictimsMaterial();
    await theDockerGroupDecides();

    const masterAttempts = attempts.filter((a) => a.port === rendezvousPort).length;
    // The master's summary lines (--debug) are on its stderr: all of them in before the job ends.
    await waitFor("the master to count every refusal", async () => {
      const counted = refusalSummaries(job.stderr()).reduce((sum, s) => sum + s.total, 0);
      return counted >= masterAttempts || undefined;
    });
    victim.write("go", "");
    const r = await job.result;
    const masterDrops = refusalSummaries(r.stderr)
      .filter((s) => s.line.includes("rendezvous: refused") && s.busiest === address(3))
      .reduce((sum, s) => sum + s.total, 0);
    figure(
      "the attacked job",
      `exit ${r.code} (its script's 3), ${masterDrops} connections refused by the master, lines by the victim's ssh: ${readFileSync(path.join(victim.dir, "ran.txt"), "utf8").trim().split("\n").join(", ")}`,
    );
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toContain("VICTIM-DONE 2");
    // The replayed `ssh node2 echo ran ...` ran nowhere: only the script's own two lines.
    expect(readFileSync(path.join(victim.dir, "ran.txt"), "utf8")).toBe("ran\nafter\n");
    expect(portsLine(r.stderr, "node1", "agent")).toMatchObject({ rendezvous: rendezvousPort, remote: agentPort });
    expect(masterDrops).toBe(masterAttempts);
  });
});

interface Attempt {
  id: string;
  kind: "junk" | "message" | "replay";
  host: string;
  port: number;
  send: ({ raw: string } | { line: string } | { frame: number; json: string } | { junk: number })[];
}

interface ProbeResult {
  id: string;
  how: "closed" | "held" | "refused";
  connected: boolean;
  sent: boolean;
  ms: number;
  error?: string;
  received: string;
}

const hex = (bytes: number) => "ab".repeat(bytes);

/** Everything another user tries on one port: junk, both protocols' messages, replays. */
function attemptsOn(l: Listener, captured: { what: string; bytes: Buffer }[]): Attempt[] {
  const target = { host: address(l.node), port: l.port };
  const node = `node${l.node}`;
  const hello = (name: string) => JSON.stringify({ type: "hello", node: name, rank: 1, nonce: hex(16), mac: hex(32) });
  const channelHello = (name: string) =>
    JSON.stringify({ node: name, nonce: hex(16), mac: hex(32), about: { rank: 1 } });
  const message = (json: string) => ({ frame: RENDEZVOUS_MESSAGE, json });
  const agentHello = (name: string) => JSON.stringify({ node: name, nonce: hex(16), mac: hex(32) });
  const exec = JSON.stringify({ command: `touch /tmp/pwned-${l.port}`, pty: false });
  const messages: [string, Attempt["send"]][] = [
    ["rendezvous ready", [{ line: '{"type":"ready"}' }]],
    ["rendezvous abort", [{ line: '{"type":"abort","reason":"stop"}' }]],
    ["rendezvous done", [{ line: '{"type":"done","exitCode":0}' }]],
    ["rendezvous failed", [{ line: '{"type":"failed","message":"node2 failed"}' }]],
    ["rendezvous exited", [{ line: '{"type":"exited","exitCode":0}' }]],
    ["rendezvous its own challenge back", [{ line: '{"type":"challenge","v":2,"nonce":"@NONCE@"}' }]],
    ["rendezvous forged hello, then ready", [{ line: hello("node2") }, { line: '{"type":"ready"}' }]],
    ["rendezvous hello of a node not in the job", [{ line: hello("node9") }]],
    // The same in the rendezvous' frames (the lines above are what an older version spoke).
    ["rendezvous frame ready", [message('{"type":"ready"}')]],
    ["rendezvous frame abort", [message('{"type":"abort","reason":"stop"}')]],
    ["rendezvous frame done", [message('{"type":"done","exitCode":0}')]],
    ["rendezvous frame failed", [message('{"type":"failed","message":"node2 failed"}')]],
    ["rendezvous frame exited", [message('{"type":"exited","exitCode":0}')]],
    [
      "rendezvous forged hello frame, then ready",
      [{ frame: FrameType.hello, json: channelHello("node2") }, message('{"type":"ready"}')],
    ],
    ["rendezvous hello frame of a node not in the job", [{ frame: FrameType.hello, json: channelHello("node9") }]],
    [
      "agent forged hello, then exec",
      [
        { frame: FrameType.hello, json: agentHello(node) },
        { frame: FrameType.exec, json: exec },
      ],
    ],
    ["agent hello for another node", [{ frame: FrameType.hello, json: agentHello("node9") }]],
    ["agent exec before any hello", [{ frame: FrameType.exec, json: exec }]],
    ["agent its own challenge back", [{ frame: FrameType.challenge, json: '{"v":1,"nonce":"@NONCE@"}' }]],
    ["agent signal", [{ frame: FrameType.signal, json: '{"name":"SIGKILL"}' }]],
    ["agent stdin", [{ frame: FrameType.stdin, json: "input" }]],
  ];
  const id = (what: string) => `${what} → ${target.host}:${target.port}`;
  return [
    ...Array.from({ length: 10 }, (_, i) => ({
      id: id(`junk ${i + 1}`),
      kind: "junk" as const,
      ...target,
      send: [{ junk: 8192 }],
    })),
    ...messages.map(([what, send]) => ({ id: id(what), kind: "message" as const, ...target, send })),
    ...captured.map((c) => ({
      id: id(c.what),
      kind: "replay" as const,
      ...target,
      send: [{ raw: c.bytes.toString("base64") }],
    })),
  ];
}

/** tcpdump on node1's link (its host side), the derived port range only (where srun-docker's ports are). */
async function startCapture(): Promise<{ file: string; stop(): Promise<void>; remove(): void }> {
  const dir = mkdtempSync(path.join(tmpdir(), "sdtc-security-"));
  const file = path.join(dir, "node1.pcap");
  // Immediate mode: every packet is written as it comes, so none is still in a buffer at the stop.
  const args = ["-i", "sdtc-v1", "--immediate-mode", "-U", "-Z", "root", "-w", file, "tcp portrange 20000-32760"];
  const child = spawn("tcpdump", args, {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let said = "";
  child.stderr.on("data", (d: Buffer) => (said += d.toString()));
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  await waitFor("tcpdump to listen", async () => said.includes("listening on"), 10_000);
  return {
    file,
    async stop() {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, "SIGTERM");
      await exited;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Every file and directory under the victim's ~/.srun-docker, read by the attacker on node1. */
async function readsOfTheVictimsMaterial(): Promise<void> {
  const material = `${victim.home}/.srun-docker`;
  const entries = (await run("find", [material, "-printf", "%y %p\\n"])).stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => ({ type: l.slice(0, 1), path: l.slice(2) }));
  expect(entries.map((e) => e.path)).toContain(`${material}/secret`);
  expect(entries.some((e) => e.path.startsWith(`${material}/jobs/`) && e.type === "f")).toBe(true);
  const script = entries
    .map((e) => (e.type === "d" ? `ls -A -- '${e.path}'` : `timeout 3 head -c 1 -- '${e.path}'`))
    .map((cmd) => `out=$(${cmd} 2>&1 >/dev/null); echo "$? $out"`)
    .join("\n");
  const r = await inNode(1, ["su", "-", ATTACKER, "-c", script]);
  const answers = r.stdout.split("\n").filter(Boolean);
  const refused = answers.filter((a) => /^[1-9]\d* .*Permission denied/.test(a));
  const files = entries.filter((e) => e.type !== "d").length;
  figure(
    "the victim's ~/.srun-docker read by another user",
    `${entries.length} entries tried (${files} files, ${entries.length - files} directories), ${refused.length} refused`,
  );
  expect(answers).toHaveLength(entries.length);
  expect(refused).toHaveLength(entries.length);

  // Nor does the secret show on any command line (world-readable in /proc) of the victim's.
  const secret = readFileSync(`${material}/secret`);
  const forms = [secret.toString("hex"), secret.toString("base64"), secret.toString("base64url")];
  const processes = [...(await nodeUserProcesses(1, VICTIM_UID)), ...(await nodeUserProcesses(2, VICTIM_UID))];
  expect(processes.length).toBeGreaterThan(3);
  expect(processes.filter((p) => forms.some((f) => p.includes(f)))).toEqual([]);
}

/**
 * What the engine decides: every test user is in the `docker` group, as on sites that hand it
 * out, and that group is root on the node: the attacker sees the victim's container and runs a
 * command in it. README "Security" says so; this keeps it true.
 */
async function theDockerGroupDecides(): Promise<void> {
  const script = `docker ps --filter label=srun-docker.uid=${VICTIM_UID} --format '{{.Names}}' | while read -r c; do echo "$c $(docker exec "$c" id -un)"; done`;
  const r = await inNode(1, ["su", "-", ATTACKER, "-c", script]);
  figure("a docker group member at the victim's Docker container", r.stdout.trim() || r.stderr.trim());
  expect(r.stdout.trim()).toMatch(new RegExp(`^srun-docker-${VICTIM}-\\d+\\.0-node1 ${VICTIM}$`));
}

/** A job of the victim's on node[1-2] that waits for `go-TAG` before its step starts (the job id is known then). */
function jobWaitingForGo(
  tag: string,
  step: string,
): { result: ReturnType<typeof startAs>["result"]; id: Promise<string> } {
  const job = startAs(
    VICTIM,
    cd(`salloc -N 2 -w node[1-2] -J sec-${tag} bash -c 'until [ -e go-${tag} ]; do sleep 0.1; done; ${step}'`),
  );
  const id = waitFor(
    `the victim's job sec-${tag}`,
    async () =>
      (await run("squeue", ["-h", "-u", VICTIM, "-n", `sec-${tag}`, "-t", "R", "-o", "%A"])).stdout.trim() || undefined,
    120_000,
    200,
  );
  return { result: job.result, id };
}

interface SquatSummary {
  connections: number;
  hellos: number;
  relayed: number;
  faked: number;
  /** Connections where it told the worker abort, done and go itself. */
  orders: number;
  errors: string[];
}

/** The attacker's squatter on node K (attacker/squat.cjs), bound before it returns. */
async function squat(k: number, spec: { ports: number[]; relay?: number }) {
  const file = attacker.write(
    `squat-node${k}.json`,
    JSON.stringify({ ...spec, victimUid: VICTIM_UID, protocolVersion: PROTOCOL_VERSION }),
  );
  const program = startInNode(k, ATTACKER, `node ${attacker.dir}/squat.cjs ${file}`);
  const bound = await program.line(/^squatting .*$/m);
  expect(bound[0], `node${k}: the attacker could not bind every port`).not.toMatch(/errors/);
  return {
    stop: async (): Promise<SquatSummary> => {
      const r = await program.stop();
      return JSON.parse(r.stdout.split("\n").filter(Boolean).at(-1) ?? "{}") as SquatSummary;
    },
  };
}

describe("the victim's next job's ports taken first", () => {
  // What another user can know of a job's ports is its id: the ports of the id alone, which the
  // version before took first. The job uses none of them now (security-ports.test.ts takes the
  // job's real first ports, as an attacker who knew the secret would).
  test.each(["agent", "sshd"] as const)(
    "--remote=%s: the ports of the job id alone are squatted (the rendezvous one answering as a master; the remote one on node2 only): the job uses none of them, node1's ssh reaches node2, one MASTER_PORT everywhere",
    async (remote) => {
      victim.write(
        `ports-${remote}.sh`,
        '#!/bin/bash\necho "MASTER_PORT $(hostname) $MASTER_PORT"\nssh node2 \'echo "MASTER_PORT $(hostname) $MASTER_PORT"\'\n',
        0o755,
      );
      const image = remote === "agent" ? `--container=${NOSSH_IMAGE}` : `--container=${IMAGE} --remote=sshd`;
      const job = jobWaitingForGo(`squat-${remote}`, `srun srun-docker --debug ${image} --script=./ports-${remote}.sh`);
      const derived = portsOfTheJobIdAlone(Number(await job.id));
      const squatters = [
        await squat(1, { ports: [derived.rendezvousPort, derived.masterPort], relay: derived.rendezvousPort }),
        await squat(2, { ports: [derived.sshdPort, derived.masterPort] }),
      ];
      let summaries: SquatSummary[] = [];
      let r: Awaited<typeof job.result>;
      try {
        victim.write(`go-squat-${remote}`, "");
        r = await job.result;
      } finally {
        summaries = await Promise.all(squatters.map((s) => s.stop()));
      }
      const [master, worker] = [portsLine(r.stderr, "node1", remote), portsLine(r.stderr, "node2", remote)];
      figure(
        `squatted ports of the job id alone, --remote=${remote}`,
        `exit ${r.code}; rendezvous ${master.rendezvous}, ${remote} ${master.remote} on node1 and ${worker.remote} on node2, MASTER_PORT ${master.master}, none of the job id's ${Object.values(derived).join(", ")}; the squatters got ${summaries.map((s) => s.connections).join(" and ")} connection(s)`,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(master).toEqual({ ...worker, remote: master.remote, fallback: false });
      for (const port of [master.rendezvous, master.remote, worker.remote, master.master])
        expect(Object.values(derived)).not.toContain(port);
      expect(r.stdout).toContain(`MASTER_PORT node1 ${master.master}`);
      expect(r.stdout).toContain(`MASTER_PORT node2 ${master.master}`);
      // Nothing of the job went near them.
      expect(summaries.map((s) => s.connections)).toEqual([0, 0]);
    },
  );

  test("a port the victim gave is never replaced: taken, the job fails naming it and the node", async () => {
    const [sshdPort, rendezvousPort] = [19_421, 19_422];
    const squatters = [await squat(2, { ports: [sshdPort] }), await squat(1, { ports: [rendezvousPort] })];
    victim.write("true.sh", "#!/bin/bash\necho RAN\n", 0o755);
    const step = (option: string) =>
      cd(`salloc -N 2 -w node[1-2] srun srun-docker --container=${IMAGE} --script=./true.sh ${option}`);
    try {
      const sshd = await runAs(VICTIM, step(`--sshdport=${sshdPort}`));
      // The master fails at once; the worker, which cannot be told, tries to join until --timeout.
      const rendezvous = await runAs(VICTIM, step(`--rendezvous-port=${rendezvousPort} --timeout=10`));
      figure(
        "ports the victim gave, taken by another user",
        `--sshdport: exit ${sshd.code} after ${(sshd.ms / 1000).toFixed(1)} s "${/srun-docker: error: .*/.exec(sshd.stderr)?.[0]}"; --rendezvous-port (--timeout=10): exit ${rendezvous.code} after ${(rendezvous.ms / 1000).toFixed(1)} s "${/srun-docker: error: .*/.exec(rendezvous.stderr)?.[0]}"`,
      );
      expect(sshd.code).toBe(1);
      expect(sshd.stderr).toMatch(new RegExp(`srun-docker: error: sshd port ${sshdPort} is already in use on node2`));
      expectReadmeQuote(sshd.stderr, "sshd port 19421 is already in use on node2");
      expect(sshd.stdout).not.toContain("RAN");
      expect(rendezvous.code).toBe(1);
      expect(rendezvous.stderr).toMatch(
        new RegExp(`srun-docker: error: rendezvous port ${rendezvousPort} is already in use on node1`),
      );
      expectReadmeQuote(rendezvous.stderr, "rendezvous port 19422 is already in use on node1");
      expect(rendezvous.stdout).not.toContain("RAN");
    } finally {
      for (const s of squatters) await s.stop();
    }
  });
});

interface FloodSummary {
  established: number;
  closedByServer: number;
  openAtEnd: number;
  mostOpen: number;
  errors: Record<string, number>;
}

/** The attacker's flood from node K (attacker/flood.cjs): `count` connections held, reopened when closed. */
async function flood(k: number, host: string, port: number, count: number) {
  const program = startInNode(k, ATTACKER, `node ${attacker.dir}/flood.cjs ${host} ${port} ${count}`);
  await program.line(new RegExp(`^holding ${count}$`, "m"), 60_000);
  return {
    stop: async (): Promise<FloodSummary> => {
      const r = await program.stop();
      return JSON.parse(r.stdout.split("\n").filter(Boolean).at(-1) ?? "{}") as FloodSummary;
    },
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

describe("floods", () => {
  test("500 connections held on the rendezvous port, from the worker's node, before the worker joins: the job starts and finishes", async () => {
    victim.write("started.sh", '#!/bin/bash\necho "STARTED $(date +%s.%N)"\n', 0o755);
    /** The master starts at once, the worker when told: its join is what the flood is in the way of. */
    const lateWorker = async (tag: string, port: number, withFlood: boolean) => {
      const job = startAs(
        VICTIM,
        cd(
          `salloc -N 2 -w node[1-2] -J sec-${tag} srun bash -c '[ "$SLURM_NODEID" = 0 ] || until [ -e go-${tag} ]; do sleep 0.02; done; exec srun-docker --container=${NOSSH_IMAGE} --rendezvous-port=${port} --script=./started.sh'`,
        ),
      );
      await waitFor(
        "the master to listen",
        async () => (await listeningPorts(1, VICTIM_UID)).some((l) => l.port === port),
        120_000,
        100,
      );
      // From the worker's own node: its address holds the flood too, so only age keeps the
      // worker's connection in; should it be displaced all the same, the worker tries again.
      const attack = withFlood ? await flood(2, address(1), port, 500) : undefined;
      let r: Awaited<typeof job.result>;
      let summary: FloodSummary | undefined;
      const go = Date.now();
      try {
        victim.write(`go-${tag}`, "");
        r = await job.result;
      } finally {
        summary = await attack?.stop();
      }
      const started = Number(/^STARTED (\d+\.\d+)$/m.exec(r.stdout)?.[1]) * 1000;
      return { r, ms: started - go, summary };
    };
    const calm = await lateWorker("calm", 19_431, false);
    const flooded = await lateWorker("flood", 19_432, true);
    figure(
      "rendezvous flood (500 held by another user on the worker's node, reopened as closed) before the worker joins",
      `go → script start ${calm.ms.toFixed(0)} ms without, ${flooded.ms.toFixed(0)} ms with the flood (+${(flooded.ms - calm.ms).toFixed(0)} ms); the flood established ${flooded.summary?.established} connections, the master closed ${flooded.summary?.closedByServer}; exit ${calm.r.code} / ${flooded.r.code}`,
    );
    expect(calm.r.code, calm.r.stderr).toBe(0);
    expect(flooded.r.code, flooded.r.stderr).toBe(0);
    expect(calm.ms).toBeGreaterThan(0);
    expect(flooded.ms).toBeGreaterThan(0);
    // The master held no more of them than its handshake slots (1 worker + 64): it closed the rest.
    expect(flooded.summary?.established).toBeGreaterThanOrEqual(500);
    expect(flooded.summary?.closedByServer).toBeGreaterThanOrEqual(500 - 65);
  });

  test("500 connections held on a running job's agent port: `ssh node2 true` still works", async () => {
    victim.write(
      "agent-flood.sh",
      `#!/bin/bash
t() { local s=$(date +%s%N); ssh node2 true || echo "SSH-FAILED $?"; echo $(( ($(date +%s%N) - s) / 1000000 )); }
echo "CALM $(for i in 1 2 3 4 5; do t; done | tr '\\n' ' ')"
echo AGENT-WAITING
for i in $(seq 1 1800); do [ -e go-agent ] && break; sleep 0.1; done
echo "FLOOD $(for i in 1 2 3 4 5; do t; done | tr '\\n' ' ')"
`,
      0o755,
    );
    const job = startAs(
      VICTIM,
      cd(
        `salloc -N 2 -w node[1-2] -J sec-agent-flood srun srun-docker --container=${NOSSH_IMAGE} --script=./agent-flood.sh`,
      ),
    );
    await waitFor("the victim's script to wait", async () => job.output().includes("AGENT-WAITING"), 180_000);
    const agentPort = (await listeningPorts(2, VICTIM_UID))[0]?.port ?? 0;
    // From another node: an `ssh` does not try again, and the flood's address is the one that loses.
    const attack = await flood(3, address(2), agentPort, 500);
    let r: Awaited<typeof job.result>;
    let summary: FloodSummary;
    try {
      victim.write("go-agent", "");
      r = await job.result;
    } finally {
      summary = await attack.stop();
    }
    const times = (label: string) =>
      (new RegExp(`^${label} (.*)$`, "m").exec(r.stdout)?.[1] ?? "").trim().split(" ").filter(Boolean).map(Number);
    const [calm, flooded] = [times("CALM"), times("FLOOD")];
    figure(
      "agent flood (500 held by another user on node3, reopened as closed) on node2's agent",
      `ssh node2 true: median ${median(calm)} ms without, ${median(flooded)} ms with the flood (${flooded.join(", ")}); the flood established ${summary.established}, the agent closed ${summary.closedByServer}`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain("SSH-FAILED");
    expect(calm).toHaveLength(5);
    expect(flooded).toHaveLength(5);
    expect(summary.established).toBeGreaterThanOrEqual(500);
    // The agent keeps 256 in their handshake at most.
    expect(summary.closedByServer).toBeGreaterThanOrEqual(500 - 256);
  });
});

describe("rootless Podman", () => {
  test("another user's podman neither lists the victim's container nor runs anything in it", async () => {
    victim.write(
      "podman-wait.sh",
      "#!/bin/bash\necho POD-WAITING\nfor i in $(seq 1 1800); do [ -e go-podman ] && break; sleep 0.1; done\necho POD-DONE\n",
      0o755,
    );
    podmanImage = registry().open.images.nossh;
    const job = startAs(
      VICTIM,
      cd(
        `salloc -N 1 -w node1 -J sec-podman srun srun-docker --runtime=podman --container=${podmanImage} --script=./podman-wait.sh`,
      ),
      300_000,
    );
    await waitFor("the victim's podman job to run", async () => job.output().includes("POD-WAITING"), 240_000);
    const own = await asPodmanUser(1, VICTIM, "podman ps --format '{{.Names}}'");
    const name = own.stdout.trim();
    expect(name, own.stderr).toMatch(new RegExp(`^srun-docker-${VICTIM}-\\d+\\.0-node1$`));
    // Her podman starts a pause process for her user namespace unless one runs (another suite of
    // hers may have one): the one it started is ended after, by its pid.
    const pausedBefore = await findNodeProcesses(1, ATTACKER_UID, /^\d+ catatonit -P/);
    const listed = await asPodmanUser(1, ATTACKER, "podman ps -a --format '{{.Names}}'");
    const exec = await asPodmanUser(1, ATTACKER, 'podman exec "$0" id -un', name);
    for (const pid of await findNodeProcesses(1, ATTACKER_UID, /^\d+ catatonit -P/))
      if (!pausedBefore.includes(pid)) process.kill(pid, "SIGKILL");
    victim.write("go-podman", "");
    const r = await job.result;
    figure(
      "another user's rootless podman at the victim's container",
      `ps -a lists ${listed.stdout.split("\n").filter(Boolean).length} container(s) (none of the victim's); exec ${name}: exit ${exec.code} "${exec.stderr.trim().split("\n").at(-1)}"; victim's job exit ${r.code}`,
    );
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.split("\n")).not.toContain(name);
    expect(exec.code).not.toBe(0);
    expect(exec.stderr).toMatch(/no such container/i);
    expect(exec.stdout).not.toContain(VICTIM);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("POD-DONE");
  });
});
