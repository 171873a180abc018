// Our hostlist code against Slurm's own: `scontrol show hostnames` for expansion (whose order
// is the node order of a job) and `scontrol show hostlist|hostlistsorted` for compression.
// scontrol is Slurm 22.05 from Debian's slurm-client, installed by scripts/setup-host.sh. It
// reads a slurm.conf before any command, so every run gets a minimal one of our own through
// SLURM_CONF: no controller is contacted and the test cluster's state does not matter.
// Without scontrol these tests fail rather than skip: they are what holds our order to Slurm's.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { compressHostlist, expandHostlist } from "../../src/core/hostlist/index.js";

const dir = mkdtempSync(path.join(tmpdir(), "srun-docker-scontrol-"));
const SLURM_CONF = path.join(dir, "slurm.conf");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

writeFileSync(SLURM_CONF, "ClusterName=hostlist\nSlurmctldHost=localhost\nNodeName=localhost\n");

function scontrolEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", SLURM_CONF, LANG: "C" };
}

/** scontrol's answer; it says `Invalid hostlist` on stderr and still exits 0, so `ok` looks at both. */
function scontrol(what: "hostnames" | "hostlist" | "hostlistsorted", arg: string): { ok: boolean; lines: string[] } {
  const r = spawnSync("scontrol", ["show", what, arg], { env: scontrolEnv(), encoding: "utf8", timeout: 10_000 });
  if (r.error) {
    throw new Error(
      `scontrol cannot run (${r.error.message}): these tests compare with Slurm's own hostlist code; ` +
        "install Debian's slurm-client (scripts/setup-host.sh does)",
    );
  }
  return { ok: r.status === 0 && r.stderr === "", lines: r.stdout.split("\n").filter(Boolean) };
}

const prefix = fc.constantFrom("", "n", "node", "gpu-", "r1x", "a.b_");
const range = fc
  .tuple(fc.nat({ max: 120 }), fc.nat({ max: 4 }), fc.constantFrom(1, 1, 2, 3), fc.boolean())
  .map(([lo, span, width, single]) =>
    single ? String(lo).padStart(width, "0") : `${String(lo).padStart(width, "0")}-${lo + span}`,
  );
const group = fc.array(range, { minLength: 1, maxLength: 3 }).map((ranges) => `[${ranges.join(",")}]`);
// Items end with a group or have none: 22.05 rejects text after the last bracket.
const bracketed = fc
  .tuple(prefix, fc.array(fc.tuple(group, fc.constantFrom("", "-", "b", "x0", ".")), { minLength: 1, maxLength: 4 }))
  .map(([head, groups]) => head + groups.map(([g, tail], i) => (i === groups.length - 1 ? g : g + tail)).join(""));
const plain = fc.tuple(fc.constantFrom("login", "n", "gpu-"), fc.nat({ max: 20 })).map(([p, n]) => `${p}${n}`);
const expression = fc
  .array(fc.oneof({ weight: 4, arbitrary: bracketed }, { weight: 1, arbitrary: plain }), { minLength: 1, maxLength: 4 })
  .map((items) => items.join(","));

describe("expandHostlist is scontrol show hostnames", () => {
  test.each([
    "a[1-2]b[3-4]c[5-6]",
    "a[1-2]b[3-4]c[5-6]d[7-8]",
    "[1-2][3-4][5-6]",
    "x[1,3]y[01-02]z[7,9-10],login1",
    "n[1-2]",
    "n[1-2][3-4]",
  ])("%s", (expr) => {
    const slurm = scontrol("hostnames", expr);
    expect(slurm.ok).toBe(true);
    expect(expandHostlist(expr)).toEqual(slurm.lines);
  });

  test("random expressions: 1-4 bracket groups, zero padding, commas, several items", () => {
    fc.assert(
      fc.property(expression, (expr) => {
        const slurm = scontrol("hostnames", expr);
        expect(slurm.ok, `scontrol rejected ${expr}`).toBe(true);
        expect(expandHostlist(expr), expr).toEqual(slurm.lines);
      }),
      { numRuns: 400 },
    );
  }, 60_000);
});

const hostName = fc
  .tuple(fc.constantFrom("n", "node", "rack1-gpu", "", "x-", "a1b"), fc.nat({ max: 120 }), fc.constantFrom(0, 2, 3))
  .map(([head, n, width]) => head + String(n).padStart(width, "0"));
const bareName = fc.constantFrom("login", "n", "x-", "gpu");
const name = fc.oneof({ weight: 5, arbitrary: hostName }, { weight: 1, arbitrary: bareName });
const names = fc.array(name, { minLength: 1, maxLength: 30 });

describe("compressHostlist is scontrol show hostlist", () => {
  test("random lists of names, in order, duplicates kept", () => {
    fc.assert(
      fc.property(names, (list) => {
        const slurm = scontrol("hostlist", list.join(","));
        expect(compressHostlist(list), list.join(",")).toBe(slurm.lines.join(""));
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  // Sorted, we drop duplicates on purpose; 22.05 keeps them (`n1,n2,n1` → `n[1,1-2]`).
  test("random lists of distinct names, sorted (hostlistsorted)", () => {
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 1, maxLength: 30 }), (list) => {
        const slurm = scontrol("hostlistsorted", list.join(","));
        expect(compressHostlist(list, { sort: true }), list.join(",")).toBe(slurm.lines.join(""));
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  test("the expansion of random expressions compresses as scontrol does", () => {
    fc.assert(
      fc.property(expression, (expr) => {
        const expanded = scontrol("hostnames", expr).lines;
        const slurm = scontrol("hostlist", expanded.join(","));
        expect(compressHostlist(expanded), expr).toBe(slurm.lines.join(""));
      }),
      { numRuns: 200 },
    );
  }, 60_000);
});
