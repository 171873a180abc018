import { EventEmitter } from "node:events";
import { chmodSync, linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { findRealSsh, runRealSsh } from "./real-ssh.js";

const dir = mkdtempSync(join(tmpdir(), "real-ssh-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const self = join(dir, "srun-docker");
writeFileSync(self, "#!/bin/sh\nexit 0\n");
chmodSync(self, 0o755);
const bins = Object.fromEntries(
  ["symlink", "bind", "image", "noexec", "empty"].map((name) => {
    const bin = join(dir, name);
    mkdirSync(bin);
    return [name, bin];
  }),
) as Record<"symlink" | "bind" | "image" | "noexec" | "empty", string>;
symlinkSync(self, join(bins.symlink, "ssh"));
// A hard link stands in for a bind mount: another path, the same device and inode.
linkSync(self, join(bins.bind, "ssh"));
writeFileSync(join(bins.image, "ssh"), '#!/bin/sh\necho "image ssh: $*"; exit 5\n');
chmodSync(join(bins.image, "ssh"), 0o755);
writeFileSync(join(bins.noexec, "ssh"), "not executable");

describe("findRealSsh", () => {
  test.each([
    [
      "skips ourselves by link and by bind mount, and a file that is not executable",
      ["symlink", "bind", "noexec", "image"],
      "image",
    ],
    ["none but ourselves", ["empty", "symlink", "bind"], undefined],
    ["the first real one wins", ["image", "symlink"], "image"],
  ] as const)("%s", async (_name, path, found) => {
    const pathVariable = ["", ...path.map((name) => bins[name])].join(":");
    const expected = found === undefined ? undefined : join(bins[found], "ssh");
    expect(await findRealSsh(pathVariable, [self])).toBe(expected);
  });

  test("no PATH: none", async () => {
    expect(await findRealSsh(undefined, [self])).toBeUndefined();
  });
});

test("runRealSsh passes the argv on and returns its exit code", async () => {
  const signals = new EventEmitter();
  const code = await runRealSsh(join(bins.image, "ssh"), ["-p", "22", "host"], signals);
  expect(code).toBe(5);
  expect(signals.eventNames()).toEqual([]);
});
