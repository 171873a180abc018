// `npm pack` gives a package whose bin works: the packed file list holds the bundle that
// package.json's bin names, and that file runs from the unpacked package. The package needs
// nothing from a registry: everything it uses is bundled, so it lists no runtime dependencies.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, test } from "vitest";

const REPO = path.resolve(import.meta.dirname, "../..");

test("the packed package's bin runs", () => {
  const dest = mkdtempSync(path.join(tmpdir(), "srun-docker-pack-"));
  try {
    packAndRun(dest);
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
}, 60_000);

function packAndRun(dest: string): void {
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", dest], { cwd: REPO, encoding: "utf8" });
  const [info] = JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const bin =
    (JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as { bin: Record<string, string> }).bin[
      "srun-docker"
    ] ?? "";
  expect(info?.files.map((f) => f.path)).toContain(bin);
  execFileSync("tar", ["-xzf", path.join(dest, info?.filename ?? ""), "-C", dest]);
  const r = spawnSync(path.join(dest, "package", bin), ["hostlist", "expand", "n[1-2]"], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toBe("n1\nn2\n");
  const packed = JSON.parse(readFileSync(path.join(dest, "package", "package.json"), "utf8")) as Record<
    string,
    unknown
  >;
  expect(packed.dependencies).toBeUndefined();
}
