// A container sees only its own job (README "Security", "Nor read your key material"): the
// job script, inside its container, looks for the user's secret, the rest of ~/.srun-docker and
// the files of another job of the same user that runs beside it, and aims the key it holds at
// that job's agent or sshd. Docker as frank; rootless Podman as erin, the one user with a
// Podman store on the test cluster. The key a container holds is the job step's own:
// HMAC(secret, "job|" + job step), computed here from the user's secret.
import { createHmac } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { beforeAll, describe, expect, test } from "vitest";
import {
  cancelAllJobs,
  clusterSize,
  figure,
  IMAGE,
  leftoversOn,
  NOSSH_IMAGE,
  runAs,
  startAs,
  USERS,
  waitFor,
} from "./cluster.js";
import { runningJob } from "./teardown-cases.js";
import { createWorkspace, type Workspace } from "./workspace.js";

const VICTIM = "frank";
const VICTIM_UID = USERS.frank;
const ALL = [1, 2, 3, 4];
let ws: Workspace;

beforeAll(() => {
  expect(clusterSize(), "the test cluster must be up with 4 nodes: bash test/cluster/cluster.sh up 4").toBe(4);
  ws = createWorkspace(VICTIM, VICTIM_UID);
});

const material = (user: string) => `/home/${user}/.srun-docker`;
/** The port the server of the victim's job `id` holds on node1, once it says so in its switch dir (core/engine/dead-man-switch.ts). */
const serverPortOf = (id: string) =>
  waitFor(`job ${id}'s server to say its port`, async () => {
    const file = `${material(VICTIM)}/jobs/${id}.0/node1/switch/remote.port`;
    const said = existsSync(file) ? readFileSync(file, "utf8") : "";
    return /^\d+\n$/.test(said) ? Number(said) : undefined;
  });
const jobSecret = (user: string, jobKey: string) =>
  createHmac("sha256", readFileSync(`${material(user)}/secret`))
    .update(`job|${jobKey}`)
    .digest("hex");

/** What a job script prints of ~/.srun-docker, as `name=[...]` lines (see `seen`). */
const LOOK = `
m=~/.srun-docker
echo "secret=[$(cat "$m/secret" 2>&1)]"
echo "top=[$(ls -A "$m" 2>&1 | paste -sd ' ')]"
echo "jobs=[$(ls -A "$m/jobs" 2>&1 | paste -sd ' ')]"
echo "mine=[$(ls -A "$m/jobs/$SLURM_JOB_ID.0" 2>&1 | paste -sd ' ')]"
`;

/** The same, plus the job's hostfile (in its job dir) and what it finds of the `other` job step. */
const lookAround = (other: string) => `${LOOK}
echo "hostfile=[$(paste -sd ' ' "$HOSTFILE")]"
echo "other=[$(ls -A "$m/jobs/${other}" 2>&1)]"
echo "other-config=[$(cat "$m/jobs/${other}/node1/agent.json" 2>&1)]"
`;

/** The `name=[...]` lines a script printed. */
function seen(stdout: string): Record<string, string> {
  return Object.fromEntries([...stdout.matchAll(/^([\w.-]+)=\[(.*)\]$/gm)].map((m) => [m[1], m[2]?.trim()]));
}

/** The other job, held running on nodes 1-2 while the probe runs on 3-4; `server` runs on both. */
async function holdOtherJob(user: string, uid: number, options: string, server: RegExp): Promise<{ id: string }> {
  ws.write("hold.sh", "#!/bin/sh\nexec sleep 240\n", 0o755);
  startAs(user, `cd ${ws.dir} && salloc -N2 -w node[1-2] srun srun-docker ${options} --script=./hold.sh`, 300_000);
  return runningJob(user, uid, 2, server);
}

/** The file a command that got into the other job would leave in the shared home. */
const PWNED = `/home/${VICTIM}/pwned-by-probe`;

async function expectNothingLeft(user: string, uid: number): Promise<void> {
  rmSync(PWNED, { force: true });
  await cancelAllJobs(user, uid, ALL);
  expect(await leftoversOn(ALL, uid)).toEqual({ containers: [], processes: [] });
  expect(readdirSync(`${material(user)}/jobs`)).toEqual([]);
}

describe("docker, --remote=agent", () => {
  test("the script finds no secret, only its own job dir, and its key opens no other job's agent", async () => {
    const other = await holdOtherJob(VICTIM, VICTIM_UID, `--container=${NOSSH_IMAGE}`, /agent-server/);
    try {
      const otherConfig = JSON.parse(readFileSync(`${material(VICTIM)}/jobs/${other.id}.0/node1/agent.json`, "utf8"));
      // The nodes of the other job and the port its agent holds on node1 (its switch dir says
      // which of its candidates): what `ss` shows anyone, given to the script.
      const otherNodes = JSON.stringify(otherConfig.nodes);
      const otherPorts = JSON.stringify([await serverPortOf(other.id)]);
      ws.write(
        "probe.sh",
        `#!/bin/bash
${lookAround(`${other.id}.0`)}
echo "node4=[$(ssh node4 hostname)]"
echo "node4-top=[$(ssh node4 'ls -A ~/.srun-docker' | paste -sd ' ')]"
echo "node4-secret=[$(ssh node4 'cat ~/.srun-docker/secret' 2>&1)]"
echo "key=[$(python3 -c 'import json,os; print(json.load(open(os.environ["SRUN_DOCKER_AGENT_CONFIG"]))["secret"])')]"
# This job's key, once for the other job's step and once for its own, at the other job's agents.
for step in ${other.id}.0 $SLURM_JOB_ID.0; do
  python3 - "$step" '${otherNodes}' '${otherPorts}' >/tmp/forged.json <<'EOF'
import json, os, sys
config = json.load(open(os.environ["SRUN_DOCKER_AGENT_CONFIG"]))
self = next(n for n in config["nodes"] if n["name"] == config["node"])
config.update(jobKey=sys.argv[1], nodes=json.loads(sys.argv[2]) + [self], ports=json.loads(sys.argv[3]))
print(json.dumps(config))
EOF
  SRUN_DOCKER_AGENT_CONFIG=/tmp/forged.json ssh node1 'touch ~/pwned-by-probe' 2>/tmp/err
  echo "forged-$step=[$? $(cat /tmp/err)]"
done
exit 3
`,
        0o755,
      );
      const r = await runAs(
        VICTIM,
        `cd ${ws.dir} && salloc -N2 -w node[3-4] srun srun-docker --container=${NOSSH_IMAGE} --script=./probe.sh`,
      );
      const id = /salloc: Granted job allocation (\d+)/.exec(r.stderr)?.[1] ?? "";
      const s = seen(r.stdout);
      expect(r.code, r.stderr).toBe(3);
      expect(s.secret).toMatch(/No such file or directory/);
      expect(s.top).toBe("jobs");
      expect(s.jobs).toBe(`${id}.0`);
      expect(s.mine).toBe("node3");
      expect(s.hostfile).toBe("node3 slots=1 node4 slots=1");
      expect(s.other).toMatch(/No such file or directory/);
      expect(s["other-config"]).toMatch(/No such file or directory/);
      expect(s.node4).toBe("node4");
      expect(s["node4-top"]).toBe("jobs");
      expect(s["node4-secret"]).toMatch(/No such file or directory/);
      // The key the container held: the job step's own, not the user's secret.
      expect(s.key).toBe(jobSecret(VICTIM, `${id}.0`));
      expect(s.key).not.toBe(readFileSync(`${material(VICTIM)}/secret`).toString("hex"));
      for (const step of [`${other.id}.0`, `${id}.0`]) {
        expect(s[`forged-${step}`]).toMatch(/^255 .*node1: its agent refused the connection: authentication failed/);
      }
      expect(existsSync(PWNED)).toBe(false);
      figure("a job's container: ~/.srun-docker", `secret absent, ${s.top} listed, other job's dir absent`);
      figure("a job's key at another job's agent", "2 tries, 2 refused, 0 ran");
    } finally {
      await expectNothingLeft(VICTIM, VICTIM_UID);
    }
  });
});

describe("docker, --remote=sshd", () => {
  test("the job's own keys in its job dir serve its ssh; they open no other job's sshd", async () => {
    const other = await holdOtherJob(VICTIM, VICTIM_UID, `--container=${IMAGE} --remote=sshd`, /sshd -D/);
    try {
      // The port the other job's sshd holds on node1 (its switch dir says which of its candidates).
      const otherPort = await serverPortOf(other.id);
      ws.write(
        "probe.sh",
        `#!/bin/bash
${lookAround(`${other.id}.0`)}
echo "node4=[$(ssh node4 hostname)]"
echo "mpirun=[$(mpirun -H "$hostlist" -np "$np" hostname | sort | paste -sd ' ')]"
mine=~/.srun-docker/jobs/$SLURM_JOB_ID.0/node3
ssh -p ${otherPort} -i "$mine/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no \\
  -o UserKnownHostsFile=/dev/null node1 'touch ~/pwned-by-probe' 2>/tmp/err
echo "other-sshd=[$? $(grep -o 'Permission denied.*' /tmp/err | tr -d '\\r')]"
exit 3
`,
        0o755,
      );
      const r = await runAs(
        VICTIM,
        `cd ${ws.dir} && salloc -N2 -w node[3-4] srun srun-docker --container=${IMAGE} --remote=sshd --script=./probe.sh`,
      );
      const id = /salloc: Granted job allocation (\d+)/.exec(r.stderr)?.[1] ?? "";
      const s = seen(r.stdout);
      expect(r.code, r.stderr).toBe(3);
      expect(s.secret).toMatch(/No such file or directory/);
      expect(s.top).toBe("jobs");
      expect(s.jobs).toBe(`${id}.0`);
      expect(s.other).toMatch(/No such file or directory/);
      expect(s.node4).toBe("node4");
      expect(s.mpirun).toBe("node3 node4");
      expect(s["other-sshd"]).toMatch(/^255 Permission denied \(publickey\)/);
      expect(existsSync(PWNED)).toBe(false);
      figure("a job's ssh key at another job's sshd", "1 try, refused (publickey)");
    } finally {
      await expectNothingLeft(VICTIM, VICTIM_UID);
    }
  });
});

test("--launcher=srun: each task sees its node's job dir alone", async () => {
  ws.write("task.sh", `#!/bin/bash\n${LOOK}`, 0o755);
  const r = await runAs(
    VICTIM,
    `cd ${ws.dir} && salloc -N2 -w node[3-4] --ntasks-per-node=1 -O srun --mpi=pmix srun-docker --launcher=srun --container=${NOSSH_IMAGE} -- ./task.sh`,
  );
  expect(r.code, r.stderr).toBe(0);
  const id = /salloc: Granted job allocation (\d+)/.exec(r.stderr)?.[1] ?? "";
  const lines = r.stdout.split("\n");
  expect(lines.filter((l) => /^secret=\[.*No such file or directory\]$/.test(l))).toHaveLength(2);
  expect(lines.filter((l) => l === "top=[jobs]")).toHaveLength(2);
  expect(lines.filter((l) => l === `jobs=[${id}.0]`)).toHaveLength(2);
  expect(lines.filter((l) => /^mine=\[node[34]\]$/.test(l)).sort()).toEqual(["mine=[node3]", "mine=[node4]"]);
  await expectNothingLeft(VICTIM, VICTIM_UID);
});

describe("rootless Podman", () => {
  const USER = "erin";
  const UID = USERS.erin;

  test("the same: no secret, only the job's own dir, and ssh through the agent works", async () => {
    const erin = createWorkspace(USER, UID);
    erin.write("probe.sh", `#!/bin/bash\n${LOOK}\necho "node2=[$(ssh node2 hostname)]"\nexit 3\n`, 0o755);
    const r = await runAs(
      USER,
      `cd ${erin.dir} && salloc -N2 -w node[1-2] srun srun-docker --runtime=podman --container=${IMAGE} --script=./probe.sh`,
    );
    const id = /salloc: Granted job allocation (\d+)/.exec(r.stderr)?.[1] ?? "";
    const s = seen(r.stdout);
    expect(r.code, r.stderr).toBe(3);
    expect(s.secret).toMatch(/No such file or directory/);
    expect(s.top).toBe("jobs");
    expect(s.jobs).toBe(`${id}.0`);
    expect(s.mine).toBe("node1");
    expect(s.node2).toBe("node2");
    await expectNothingLeft(USER, UID);
  });
});
