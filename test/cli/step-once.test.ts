// What every task of an srun step would print alike is printed once, by the first task: a usage
// error (the others exit 2 quietly) and the warning for a likely typo that goes to the script.
// And `srun-docker config` refuses a configured value the run would refuse. Through the bundle.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";

const BIN = path.resolve(import.meta.dirname, "../../dist/srun-docker.cjs");
const home = mkdtempSync(path.join(tmpdir(), "srun-docker-once-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

function srunDocker(args: readonly string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    env: { PATH: "/usr/bin:/bin", HOME: home, XDG_CONFIG_HOME: path.join(home, ".config"), ...env },
    encoding: "utf8",
    timeout: 20_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The tasks of a 3-node step, as srun starts them. */
const step = (args: readonly string[]) =>
  ["0", "1", "2"].map((rank) => srunDocker(args, { SLURM_PROCID: rank, SLURM_NODEID: rank, SLURM_JOB_ID: "77" }));

describe("one step, one message", () => {
  test("a usage error is printed by the first task only; every task exits 2", () => {
    const [first, ...others] = step(["--script=./job.sh"]);
    expect(first?.code).toBe(2);
    expect(first?.stderr).toBe(
      "srun-docker: error: `--container` is required\nhint: add --container=IMAGE, e.g. --container=ubuntu:22.04\n",
    );
    for (const other of others) expect(other).toEqual({ code: 2, stdout: "", stderr: "" });
  });

  test("a typo of --container that leaves it missing says what it meant", () => {
    const { code, stderr } = srunDocker(["--containr=ubuntu:22.04", "--script=./job.sh"]);
    expect(code).toBe(2);
    expect(stderr).toBe(
      "srun-docker: error: `--container` is required\nhint: `--containr=ubuntu:22.04` would go to the script; did you mean `--container=ubuntu:22.04`?\n",
    );
  });

  test("a typo beside the real option is passed on, with one warning from the master", () => {
    const args = [
      "--container=img",
      "--script=./job.sh",
      "--remote=sshd",
      "--dry-run",
      "--scirpt=x",
      "--nodelist=n[1-2]",
    ];
    const runs = [0, 1].map((rank) => srunDocker([...args, `--node-rank=${rank}`]));
    const warning = "srun-docker: warning: `--scirpt=x` is passed to the script; did you mean `--script`?\n";
    expect(runs.map((run) => run.code)).toEqual([0, 0]);
    expect(runs[0]?.stderr).toBe(warning);
    expect(runs[1]?.stderr).toBe("");
    expect(runs[0]?.stdout).toMatch(/job\.sh --scirpt=x\n/);
  });
});

describe("srun-docker config", () => {
  test("refuses a value the run refuses, in the run's words, exit 2", () => {
    const dir = path.join(home, ".config", "srun-docker");
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "config.toml"), 'timeout = "soon"\n');
    try {
      const config = srunDocker(["config"]);
      const run = srunDocker(["--container=img", "--script=./job.sh"]);
      expect(config.code).toBe(2);
      expect(config.stdout).toBe("");
      expect(config.stderr).toMatch(
        new RegExp(
          `^srun-docker: error: \`timeout\` in ${dir}/config\\.toml expects an integer from 1 to 86400, got \`soon\`\\nhint: `,
        ),
      );
      expect(run).toMatchObject({ code: 2, stderr: config.stderr });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
