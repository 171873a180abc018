// Bad input, fuzzed through the real bundled binary: random argv never crashes with a stack
// trace. Every run either works (help, version, dry run, hostlist) or prints the one-line
// usage error with a hint and exits 2.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";

const BIN = path.resolve(import.meta.dirname, "../../dist/srun-docker.cjs");
const HOME = mkdtempSync(path.join(tmpdir(), "srun-docker-fuzz-"));
afterAll(() => rmSync(HOME, { recursive: true, force: true }));

function runBin(args: string[]) {
  // No Slurm variables and --dry-run: nothing can start, whatever the options say.
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME };
  return spawnSync(process.execPath, [BIN, ...args], { env, encoding: "utf8", timeout: 20_000 });
}

const optionNames = [
  "--container",
  "--script",
  "--slots_per_node",
  "--slots-per-node",
  "--nodelist",
  "--node-rank",
  "--gpus",
  "--dockopts",
  "--datamnts",
  "--envlist",
  "--sshdport",
  "--timeout",
  "--launcher",
  "--memlock",
  "--runtime",
  "--shm-size",
  "--privileged",
];
const word = fc.oneof(
  fc.constantFrom(...optionNames, "--", "-h", "hostlist", "expand", "compress", "clean", "asuser", "doctor"),
  fc.string({ maxLength: 12 }),
  fc.tuple(fc.constantFrom(...optionNames.map((o) => `${o}=`)), fc.string({ maxLength: 12 })).map(([a, b]) => a + b),
  fc
    .tuple(fc.constantFrom("node[", "n[1-", "a[3-1]", "x[01-0a]", "[", "node]"), fc.string({ maxLength: 6 }))
    .map(([a, b]) => a + b),
);

describe("the bundled CLI under random input", () => {
  test("never a stack trace; usage errors are one line + hint, exit 2", () => {
    expect(existsSync(BIN), `${BIN} is missing: run npm run build first`).toBe(true);
    fc.assert(
      fc.property(fc.array(word, { maxLength: 6 }), (argv) => {
        const subcommand = ["hostlist", "clean", "asuser", "doctor"].includes(argv[0] ?? "");
        // doctor/clean/asuser act on this machine: keep the fuzz to parsing for them.
        const args = subcommand ? [...argv, "--dry-run"] : [...argv, "--dry-run", "--nodelist=n1", "--node-rank=0"];
        if (argv[0] === "doctor") return;
        const r = runBin(args);
        expect(r.stderr, `argv ${JSON.stringify(args)}`).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
        expect(r.stderr).not.toMatch(/internal error/);
        expect([0, 1, 2]).toContain(r.status);
        if (r.status === 2) {
          const lines = r.stderr.trim().split("\n");
          expect(lines[0]).toMatch(/^srun-docker: error: /);
          expect(lines[1]).toMatch(/^hint: /);
        }
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});
