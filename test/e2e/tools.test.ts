// The subcommands on the cluster as a user runs them: hostlist against Slurm's own scontrol,
// the old --sshconfigdir mode, asuser, doctor, config layering, and the single binary in a
// container that has no Node.js.
import { chmodSync, chownSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import {
  ALICE_UID,
  clusterProfile,
  clusterSize,
  figure,
  IMAGE,
  leftovers,
  NOSSH_IMAGE,
  REPO,
  run,
  runAs,
  waitFor,
} from "./cluster.js";
import { createWorkspace, type Workspace } from "./workspace.js";

let ws: Workspace;

beforeAll(() => {
  expect(clusterSize(), "the test cluster must be up").toBeGreaterThanOrEqual(2);
  ws = createWorkspace("alice", ALICE_UID);
  ws.write("quick.sh", '#!/bin/bash\necho "np=$np"\nmpirun -H "$hostlist" -np "$np" hostname\n', 0o755);
});

const cd = (cmd: string) => `cd ${ws.dir} && ${cmd}`;

describe("hostlist agrees with scontrol", () => {
  const expressions = [
    "node[1-3]",
    "node[01-10]",
    "n[001-003,010]",
    "rack[1-2]-gpu[01-02]",
    "n[1,3,5-6]",
    "a1,a2,b[3-4]",
    "node[1-2],node[2-3]",
    "x[9-11]",
    "gpu07",
    "c[1-2]n[1-2]",
  ];
  test.each(expressions)("expand %s", async (expr) => {
    const ours = await runAs("alice", `srun-docker hostlist expand '${expr}'`);
    const slurm = await run("scontrol", ["show", "hostnames", expr]);
    expect(slurm.code).toBe(0);
    expect(ours.code, ours.stderr).toBe(0);
    expect(ours.stdout).toBe(slurm.stdout);
  });

  test.each(expressions)("compress the expansion of %s", async (expr) => {
    const names = (await run("scontrol", ["show", "hostnames", expr])).stdout.trim().split("\n").join(",");
    const ours = await runAs("alice", `srun-docker hostlist compress '${names}'`);
    const slurm = await run("scontrol", ["show", "hostlist", names]);
    expect(ours.stdout.trim()).toBe(slurm.stdout.trim());
  });

  test.each(["node[1-", "node[3-1]", "node[a-b]", "node]1[", "n[1-2],,m1"])(
    "rejects %s with one clear line, exit 2",
    async (expr) => {
      const r = await runAs("alice", `srun-docker hostlist expand '${expr}'`);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^srun-docker: error: .*\n^hint: /m);
    },
  );
});

describe("the old --sshconfigdir mode", () => {
  test("srun-docker sshconfig makes the dir; a job runs with it", async () => {
    const dir = `${ws.dir}/mpisshconfig`;
    const made = await runAs("alice", `srun-docker sshconfig --sshconfigdir=${dir} --sshdport=29951`);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toContain("Port 29951");
    // The reference's users put the printed block into ~/.ssh/config; do the same.
    const block = made.stdout.slice(made.stdout.indexOf("Host "));
    await runAs(
      "alice",
      `mkdir -p -m 700 ~/.ssh && cat > ~/.ssh/config <<'EOF'\n${block.replace(/node\*/g, "node*")}\nEOF\nchmod 600 ~/.ssh/config`,
    );
    const r = await runAs(
      "alice",
      cd(
        `salloc -N 2 srun srun-docker --container=${IMAGE} --script=./quick.sh --sshconfigdir=${dir} --sshdport=29951`,
      ),
    );
    await runAs("alice", "rm -f ~/.ssh/config");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("np=2");
    expect(r.stdout.split("\n").filter((l) => /^node\d$/.test(l))).toHaveLength(2);
    expect(await leftovers(clusterSize())).toEqual({ containers: [], processes: [] });
  });
});

describe("asuser", () => {
  test("--noninteractive runs --dockcmd as the user in the image and passes its exit code", async () => {
    const r = await runAs(
      "alice",
      cd(`srun -N1 srun-docker asuser --container=${IMAGE} --noninteractive --dockcmd="sh -c 'id -un; pwd; exit 4'"`),
    );
    expect(r.code).toBe(4);
    expect(r.stdout).toContain(`alice\n${ws.dir}\n`);
  });

  test("--daemon inside a job lives as long as the job, then goes by itself (no Epilog)", async () => {
    expect(clusterProfile()).toBe("strict");
    const r = await runAs(
      "alice",
      `salloc -N1 -w node1 bash -c 'srun srun-docker asuser --container=${IMAGE} --daemon --dockname=alice_daemon_job && sleep 3 && srun docker ps --format "running {{.Names}}"'`,
    );
    expect(r.code, r.stderr).toBe(0);
    // Still there in a later step of the job, 3 s after the srun that started it ended.
    expect(r.stdout).toContain("alice_daemon_job\nrunning alice_daemon_job\n");
    const t0 = Date.now();
    await waitFor(
      "the daemon container and its holder to go once the job ended",
      async () => {
        const left = await leftovers(1);
        return left.containers.length === 0 && left.processes.length === 0;
      },
      15_000,
      100,
    );
    figure(
      "asuser --daemon after its job ended",
      `gone ${((Date.now() - t0) / 1000).toFixed(2)} s after salloc returned`,
    );
  });

  test("--daemon inside a job with --entrypoint: the entrypoint runs under the switch, with --dockcmd", async () => {
    const marker = `${ws.dir}/entrypoint-ran`;
    const r = await runAs(
      "alice",
      `salloc -N1 -w node1 bash -c 'srun srun-docker asuser --container=${IMAGE} --daemon --dockname=alice_daemon_ep --entrypoint=touch --dockcmd=${marker} && sleep 1 && srun docker ps --format "running {{.Names}}"'`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(marker, "utf8")).toBe("");
    // The entrypoint's command has exited; the switch keeps the container for the job.
    expect(r.stdout).toContain("running alice_daemon_ep\n");
    await waitFor(
      "the daemon to go with its job",
      async () => (await leftovers(1)).containers.length === 0,
      15_000,
      100,
    );
  });

  test("--daemon keeps a named container for the allocation; clean --all removes it", async () => {
    // Inside a Slurm job the container belongs to that job; clean --all removes it earlier.
    const r = await runAs(
      "alice",
      `salloc -N1 -w node1 bash -c 'srun srun-docker asuser --container=${IMAGE} --daemon --dockname=alice_daemon_test && srun docker ps --format "running {{.Names}}" && srun srun-docker clean --all'`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("alice_daemon_test\nrunning alice_daemon_test\n");
    expect(r.stdout).toContain("removing alice_daemon_test");
    expect(await leftovers(1)).toMatchObject({ containers: [] });
    // The daemon's job holder polls the job every 2 s: it is gone soon after the job.
    await waitFor(
      "the daemon's job holder to end with the job",
      async () => (await leftovers(1)).processes.length === 0,
      10_000,
      100,
    );
  });
});

describe("doctor", () => {
  test.each([
    ["the agent runs in an image without sshd", `--container=${NOSSH_IMAGE}`, "agent in image"],
    ["--remote=sshd: the image has sshd", `--container=${IMAGE} --remote=sshd`, "sshd in image"],
  ])("on every node: one line per check, all ok (%s)", async (_name, args, imageCheck) => {
    const r = await runAs("alice", `srun -N 2 srun-docker doctor ${args}`);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const check of ["docker", "home", "ssh material", "ports", "gpus/slots", "image", imageCheck]) {
      expect(r.stdout.match(new RegExp(`\\] ok   ${check}:`, "g")), r.stdout).toHaveLength(2);
    }
  });

  test("--remote=sshd on an image without sshd: the sshd check fails with the fix, the agent is not checked", async () => {
    const noSshd = await runAs("alice", `srun -N 1 srun-docker doctor --container=${NOSSH_IMAGE} --remote=sshd`);
    expect(noSshd.code).toBe(1);
    expect(noSshd.stdout).toMatch(/FAIL sshd in image: .*\(fix: .*--remote=agent/);
    expect(noSshd.stdout).not.toContain("agent in image");
  });

  test("a home without o+x passes the home check: the daemon is root, no one else needs in", async () => {
    chmodSync(ws.home, 0o700);
    try {
      const r = await runAs("alice", "srun -N 1 srun-docker doctor");
      expect(r.code, r.stdout).toBe(0);
      expect(r.stdout).toMatch(
        /ok {3}home: \/home\/alice mode 0700: the docker daemon \(root\) reaches .*no one else needs to$/m,
      );
      expect(r.stdout).not.toContain("chmod o+x");
    } finally {
      chmodSync(ws.home, 0o711);
    }
  });
});

describe("configuration layers", () => {
  test("user file < SRUN_DOCKER_* < command line; `config` says where each came from", async () => {
    const dir = `${ws.home}/.config/srun-docker`;
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/config.toml`, 'timeout = 77\nshm_size = "2g"\nremote = "sshd"\n');
    for (const p of [`${ws.home}/.config`, dir, `${dir}/config.toml`]) chownSync(p, ALICE_UID, ALICE_UID);
    try {
      const r = await runAs("alice", "SRUN_DOCKER_SHM_SIZE=3g srun-docker config");
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^timeout\\s+77\\s+\\[${dir}/config.toml\\]$`, "m"));
      expect(r.stdout).toMatch(/^shm-size\s+3g\s+\[env\]$/m);
      const dry = await runAs(
        "alice",
        cd(
          `SRUN_DOCKER_SHM_SIZE=3g srun-docker --container=${IMAGE} --script=./quick.sh --nodelist=node1 --node-rank=0 --dry-run --remote=agent`,
        ),
      );
      expect(dry.stdout).toContain("--shm-size=3g");
      // The command line's --remote=agent over the file's sshd.
      expect(dry.stdout).toContain("/opt/srun-docker/bin/srun-docker agent-server");
      expect(dry.stdout).not.toContain("/usr/sbin/sshd");
      writeFileSync(`${dir}/config.toml`, 'timeout = "soon"\n');
      const bad = await runAs(
        "alice",
        cd(`srun-docker --container=${IMAGE} --script=./quick.sh --nodelist=node1 --node-rank=0 --dry-run`),
      );
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(`\`timeout\` in ${dir}/config.toml`);
      writeFileSync(`${dir}/config.toml`, "colour = 1\n");
      const unknown = await runAs("alice", "srun-docker config");
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain(`config file ${dir}/config.toml has unknown key \`colour\``);
    } finally {
      writeFileSync(`${dir}/config.toml`, "");
    }
  });
});

describe("the site file", () => {
  test("/etc/srun-docker/config.toml sets defaults for everyone; a user's file overrides it", async () => {
    const site = "/etc/srun-docker/config.toml";
    mkdirSync(path.dirname(site), { recursive: true });
    writeFileSync(site, 'memlock = "off"\ntimeout = 300\n');
    const user = `${ws.home}/.config/srun-docker/config.toml`;
    try {
      writeFileSync(user, "timeout = 60\n");
      const r = await runAs("alice", "srun-docker config");
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^memlock\\s+off\\s+\\[${site}\\]$`, "m"));
      expect(r.stdout).toMatch(new RegExp(`^timeout\\s+60\\s+\\[${user}\\]$`, "m"));
      const dry = await runAs(
        "alice",
        cd(`srun-docker --container=${IMAGE} --script=./quick.sh --nodelist=node1 --node-rank=0 --dry-run`),
      );
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).not.toContain("memlock");
    } finally {
      rmSync(path.dirname(site), { recursive: true, force: true });
      writeFileSync(user, "");
    }
  });
});

describe("the single binary", () => {
  test("runs in a container that has no Node.js", async () => {
    const bin = path.join(ws.dir, "srun-docker-sea");
    copyFileSync(path.join(REPO, "dist/srun-docker"), bin);
    chmodSync(bin, 0o755);
    chownSync(bin, ALICE_UID, ALICE_UID);
    const r = await runAs(
      "alice",
      `srun -N1 docker run --rm -v ${ws.dir}:${ws.dir} ${IMAGE} sh -c 'command -v node || echo no-node; ${bin} hostlist expand "n[1-2]"; ${bin} --version'`,
    );
    expect(r.code, r.stderr).toBe(0);
    const { version } = JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8"));
    expect(r.stdout).toMatch(new RegExp(`^no-node\nn1\nn2\nsrun-docker ${version} \\(commit \\S+, Node v24\\.`));
  });
});
