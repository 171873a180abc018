import { copyFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { findAgentProgram } from "./agent-binary.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "agent-binary-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const notSea = () => false;

test("the single executable is its own agent", () => {
  expect(findAgentProgram("/home/a/bin/srun-docker", "/home/a/bin/srun-docker", () => true)).toEqual({
    kind: "executable",
    path: "/home/a/bin/srun-docker",
  });
});

test("the .cjs bundle alone (the npm package), reached through npm's bin link: the bundle itself and the Node running it", () => {
  writeFileSync(path.join(dir, "srun-docker.cjs"), "#!/usr/bin/env node\n", { mode: 0o755 });
  symlinkSync(path.join(dir, "srun-docker.cjs"), path.join(dir, "srun-docker"));
  expect(findAgentProgram("/usr/bin/node", path.join(dir, "srun-docker"), notSea)).toEqual({
    kind: "bundle",
    node: "/usr/bin/node",
    bundle: path.join(dir, "srun-docker.cjs"),
  });
});

test("the .cjs bundle with the single executable built beside it: that executable", () => {
  writeFileSync(path.join(dir, "srun-docker.cjs"), "#!/usr/bin/env node\n", { mode: 0o755 });
  copyFileSync(process.execPath, path.join(dir, "srun-docker"));
  expect(findAgentProgram("/usr/bin/node", path.join(dir, "srun-docker.cjs"), notSea)).toEqual({
    kind: "executable",
    path: path.join(dir, "srun-docker"),
  });
});

test("the bundle under another name (installed as plain `srun-docker`): still the bundle", () => {
  // In the bundle, the running code's own file; here, this module's (the test runner gives it a __filename).
  const self = path.join(import.meta.dirname, "agent-binary.ts");
  expect(findAgentProgram("/usr/bin/node", self, notSea)).toEqual({
    kind: "bundle",
    node: "/usr/bin/node",
    bundle: self,
  });
});

test("neither (a test runner, a missing script): none", () => {
  expect(findAgentProgram("/usr/bin/node", "/usr/lib/node_modules/vitest/vitest.mjs", notSea)).toBeUndefined();
  expect(findAgentProgram("/usr/bin/node", path.join(dir, "gone.cjs"), notSea)).toBeUndefined();
  expect(findAgentProgram("/usr/bin/node", undefined, notSea)).toBeUndefined();
});
