// Smoke tests of what `npm run build` ships: the single executable (dist/srun-docker) run where
// there is no `node` on the PATH, as on a compute node without Node.js, and the bundled
// dist/srun-docker.cjs that the npm package's bin points at.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const sea = path.join(root, "dist/srun-docker");
const bundle = path.join(root, "dist/srun-docker.cjs");
const { version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { version: string };

// An empty home, so a developer's own config file cannot change what these runs print.
const home = mkdtempSync(path.join(tmpdir(), "srun-docker-sea-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

// No `node` anywhere: the binaries are called by absolute path, so nothing else needs PATH.
const nodeless = { PATH: "/nonexistent", HOME: home };

function built(file: string): string {
  if (!existsSync(file)) {
    throw new Error(`${path.relative(root, file)} is missing: run \`npm run build\` first (\`npm test\` builds it)`);
  }
  return file;
}

function runIn(env: NodeJS.ProcessEnv, file: string, args: string[]) {
  const result = spawnSync(file, args, { env, encoding: "utf8", timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("dist/srun-docker, with no node on the PATH", () => {
  test("the environment really has no node: the shebang bundle cannot start in it", () => {
    const { status, stderr } = runIn(nodeless, built(bundle), ["--version"]);
    expect({ status, stderr }).toEqual({ status: 127, stderr: expect.stringContaining("node") });
  });

  test("--version", () => {
    expect(runIn(nodeless, built(sea), ["--version"])).toEqual({
      status: 0,
      stdout: expect.stringMatching(
        new RegExp(
          `^srun-docker ${version.replaceAll(".", "\\.")} \\(commit [0-9a-f]{12}(-dirty)?, Node v24\\.\\d+\\.\\d+\\)\n$`,
        ),
      ),
      stderr: "",
    });
  });

  test("hostlist expand", () => {
    expect(runIn(nodeless, built(sea), ["hostlist", "expand", "n[1-3]"])).toEqual({
      status: 0,
      stdout: "n1\nn2\nn3\n",
      stderr: "",
    });
  });

  test("a usage error exits 2 with the usual message and no experimental-feature warning", () => {
    const { status, stderr } = runIn(nodeless, built(sea), ["--script=job.sh"]);
    expect(status).toBe(2);
    expect(stderr).toMatch(/^srun-docker: error: /);
    expect(stderr).not.toMatch(/warning|experimental/i);
  });
});

describe("dist/srun-docker.cjs, the npm package's bin", () => {
  test("--help lists the options under their old names", () => {
    const { status, stdout } = runIn({ ...process.env, HOME: home }, process.execPath, [built(bundle), "--help"]);
    expect(status).toBe(0);
    expect(stdout).toContain("--slots_per_node");
  });
});
