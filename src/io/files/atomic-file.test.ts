import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { tempPathBeside, writeFileAtomic } from "./atomic-file.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "atomic-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("writes the content with exactly the mode, leaving no temporary file", async () => {
  const target = path.join(dir, "passwd");
  const umask = process.umask(0o077);
  try {
    await writeFileAtomic(target, "root:x:0:0::/root:/bin/sh\n", 0o644);
  } finally {
    process.umask(umask);
  }
  expect(readFileSync(target, "utf8")).toBe("root:x:0:0::/root:/bin/sh\n");
  expect(statSync(target).mode & 0o777).toBe(0o644);
  expect(readdirSync(dir)).toEqual(["passwd"]);
});

test("replaces an existing file whole", async () => {
  const target = path.join(dir, "hostfile");
  await writeFileAtomic(target, "old\n", 0o600);
  await writeFileAtomic(target, "node1 slots=2\n", 0o600);
  expect(readFileSync(target, "utf8")).toBe("node1 slots=2\n");
});

test("temporary names are hidden, beside the target, and never the same twice", () => {
  const a = tempPathBeside("/home/u/.srun-docker");
  const b = tempPathBeside("/home/u/.srun-docker");
  expect(path.dirname(a)).toBe("/home/u");
  expect(path.basename(a)).toMatch(/^\.\.srun-docker\.tmp-/);
  expect(a).not.toBe(b);
});
