// The CLI's exec (podman; docker with a TTY or over tcp/ssh) with a real child: an `--envlist`
// value is in the engine CLI's environment, where `-e NAME` reads it, and not in its argv.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, expect, test, vi } from "vitest";
import type { ExecPlan } from "../../core/engine/index.js";
import { cliQueries } from "./engine-queries.js";

const dir = mkdtempSync(join(tmpdir(), "engine-queries-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

/** A stand-in engine CLI: writes its argv, one word a line, and the values `-e NAME` would read. */
function fakeEngine(): string {
  const bin = join(dir, "podman");
  writeFileSync(
    bin,
    `#!/bin/sh\nprintf '%s\\n' "$@" >'${dir}/argv'\nprintf '%s' "\${HF_TOKEN-unset} \${MASTER_PORT-unset}" >'${dir}/value'\n`,
  );
  chmodSync(bin, 0o755);
  return bin;
}

const PLAN: ExecPlan = {
  name: "c1",
  user: { uid: 1001, gid: 1001 },
  workdir: "/home/alice",
  env: { MASTER_PORT: "21010" },
  envNames: ["HF_TOKEN"],
  command: ["/home/alice/job.sh"],
};

test("exec: `-e HF_TOKEN -e MASTER_PORT` on the command line, the values only in the child's environment", async () => {
  const token = "hf_cli-exec-token";
  vi.stubEnv("HF_TOKEN", token);
  const queries = cliQueries(fakeEngine(), () => Promise.reject(new Error("only exec runs here")));
  expect(await queries.exec(PLAN).exit).toEqual({ code: 0, signal: null });
  const argv = readFileSync(join(dir, "argv"), "utf8");
  expect(argv.split("\n")).toEqual([
    ...["exec", "-u", "1001:1001", "-w", "/home/alice", "-e", "HF_TOKEN", "-e", "MASTER_PORT"],
    ...["c1", "/home/alice/job.sh", ""],
  ]);
  expect(argv).not.toContain(token);
  expect(readFileSync(join(dir, "value"), "utf8")).toBe(`${token} 21010`);
});
