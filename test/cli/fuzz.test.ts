// Bad input, fuzzed through the real bundled binary, every subcommand and the run itself, and
// without --dry-run: the code past option parsing runs too. What keeps that harmless:
// - the engine, Slurm and nvidia-smi are stubs that print nothing and fail (exit 1); Docker's
//   Engine API points at a socket that does not exist, so no real container is ever touched;
// - HOME, TMPDIR, the working directory and the config files are under one temporary root;
//   an absolute path the fuzz makes up is moved under it, and the working directory is nested
//   deeper than a fuzzed `../..` can climb;
// - a preloaded guard moves every TCP listen onto loopback and refuses connections to any
//   other host (no DNS either), noting both; only the known wildcard listens may show up.
// ssh-keygen, getent, id and /bin/sh are the real ones: they only read, or write under HOME.
// Properties: never a stack trace or an internal error; exit 0, 1 or 2 (2: one line + hint);
// never a hang; nothing left running, nothing written outside the temporary root.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { ASUSER_OPTIONS, type OptionSpec, RUN_OPTIONS } from "../../src/cli/option-specs.js";
import {
  CLEAN_OPTIONS,
  CONFIG_OPTIONS,
  DOCTOR_OPTIONS,
  EXEC_OPTIONS,
  HOSTLIST_OPTIONS,
  PULL_COMMAND_OPTIONS,
  SSHCONFIG_OPTIONS,
} from "../../src/cli/subcommand-specs.js";

const BIN = path.resolve(import.meta.dirname, "../../dist/srun-docker.cjs");
const ROOT = mkdtempSync(path.join(tmpdir(), "srun-docker-fuzz-"));
afterAll(() => rmSync(ROOT, { recursive: true, force: true }));

const BOX = path.join(ROOT, "box");
const HOME = path.join(BOX, "home");
const CWD = path.join(BOX, "a", "b", "c", "d", "e", "work");
const STUBS = path.join(ROOT, "bin");
const GUARD = path.join(ROOT, "net-guard.cjs");
const NET_LOG = path.join(ROOT, "net.log");
const MARK = `SRUN_DOCKER_FUZZ_MARK=${randomUUID()}`;
for (const dir of [HOME, CWD, STUBS, path.join(BOX, "tmp")]) mkdirSync(dir, { recursive: true });
writeFileSync(path.join(CWD, "job.sh"), "#!/bin/sh\necho job\n", { mode: 0o755 });
for (const name of ["docker", "podman", "nvidia-smi", "squeue", "scontrol", "srun"]) {
  writeFileSync(path.join(STUBS, name), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
}
writeFileSync(
  GUARD,
  `"use strict";
const net = require("node:net");
const fs = require("node:fs");
const note = (line) => fs.appendFileSync(${JSON.stringify(NET_LOG)}, line + "\\n");
const loopback = (host) => host === "127.0.0.1" || host === "::1" || host === "localhost";
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const [first] = args;
  const done = typeof args.at(-1) === "function" ? [args.at(-1)] : [];
  let options;
  if (typeof first === "number") options = { port: first, host: typeof args[1] === "string" ? args[1] : undefined };
  else if (first && typeof first === "object" && first.port !== undefined && first.path === undefined) options = { ...first };
  else return listen.apply(this, args);
  if (!loopback(options.host)) note("listen " + (options.host ?? "*") + " " + options.port);
  return listen.call(this, { ...options, host: "127.0.0.1" }, ...done);
};
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const options = typeof first === "number" ? { port: first, host: args[1] } : first;
  if (!options || typeof options !== "object" || options.path !== undefined || loopback(options.host ?? "localhost")) {
    return connect.apply(this, args);
  }
  note("connect " + options.host + " " + options.port);
  const error = Object.assign(new Error("connect ECONNREFUSED (the fuzz harness refuses " + options.host + ")"), {
    code: "ECONNREFUSED", syscall: "connect", address: options.host, port: options.port,
  });
  process.nextTick(() => this.destroy(error));
  return this;
};
`,
);

function runBin(args: string[]) {
  const [key, value] = MARK.split("=");
  const env = {
    PATH: `${STUBS}:/usr/bin:/bin`,
    HOME,
    TMPDIR: path.join(BOX, "tmp"),
    DOCKER_HOST: `unix://${path.join(ROOT, "no-engine.sock")}`,
    SRUN_DOCKER_SITE_CONFIG: path.join(ROOT, "no-site-config.toml"),
    [key ?? ""]: value,
  };
  const options = { cwd: CWD, env, encoding: "utf8", timeout: 20_000, killSignal: "SIGKILL" } as const;
  return spawnSync(process.execPath, ["--require", GUARD, BIN, ...args], options);
}

/** Processes started by the runs (they carry MARK in their environment) that are still there. */
function markedProcesses(): number[] {
  return readdirSync("/proc")
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, "latin1").split("\0").includes(MARK);
      } catch {
        return false; // gone already, or not ours to read
      }
    })
    .map(Number);
}

function leftoverProcesses(): number[] {
  for (let i = 0; i < 40; i++) {
    const pids = markedProcesses();
    if (pids.length === 0) return [];
    spawnSync("sleep", ["0.05"]);
  }
  const pids = markedProcesses();
  for (const pid of pids) process.kill(pid, "SIGKILL");
  return pids;
}

const SPECS: Record<string, readonly OptionSpec[]> = {
  run: RUN_OPTIONS,
  asuser: ASUSER_OPTIONS,
  sshconfig: SSHCONFIG_OPTIONS,
  hostlist: HOSTLIST_OPTIONS,
  doctor: DOCTOR_OPTIONS,
  clean: CLEAN_OPTIONS,
  pull: PULL_COMMAND_OPTIONS,
  exec: EXEC_OPTIONS,
  config: CONFIG_OPTIONS,
  help: CONFIG_OPTIONS,
};
/** Mostly there: what it takes to get past parsing to the code that acts. */
const mostly = (words: string[]): fc.Arbitrary<string[]> =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(words) }, { weight: 1, arbitrary: fc.constant<string[]>([]) });
const oneOf = (...choices: string[][]): fc.Arbitrary<string[]> => fc.constantFrom<string[]>([], ...choices);
const BASE: Record<string, fc.Arbitrary<string[]>[]> = {
  run: [
    mostly(["--container=img", "--script=job.sh"]),
    oneOf(["--nodelist=localhost", "--node-rank=0"], ["--nodelist=n[1-2]", "--node-rank=1"]),
    oneOf(["--launcher=each"], ["--timeout=3"]),
  ],
  asuser: [
    mostly(["--container=img"]),
    oneOf(["--noninteractive", "--dockcmd=true"], ["--daemon"], ["--keepalive"]),
    oneOf(["--userdefault"]),
  ],
  doctor: [oneOf(["--container=img"]), oneOf(["--slots-per-node=2"])],
  clean: [oneOf(["--all"], ["--job=42"])],
  exec: [mostly(["--jobid=42"]), oneOf(["--step=0"], ["--", "true"])],
  pull: [mostly(["img"]), oneOf(["--pull-once"], ["--pull=always"])],
  hostlist: [oneOf(["expand", "n[1-3]"], ["compress", "n1", "n2"])],
  help: [oneOf(...Object.keys(SPECS).map((topic) => [topic]))],
};
// Wildcard listens the guard may see (it moved them onto loopback): doctor's port probe and
// the run's rendezvous master (and, past a container start, its sshd port probe) bind every
// interface on purpose: they ask for the node, not for loopback.
const WILDCARD_LISTENERS = new Set(["doctor", "run"]);

const spellings = (spec: OptionSpec): string[] => [
  `--${spec.name}`,
  ...(spec.legacy === undefined ? [] : [`--${spec.legacy}`]),
  ...(spec.short === undefined ? [] : [`-${spec.short}`]),
];
/** A fuzzed string never names an absolute path outside the root. */
const rebase = (word: string): string => (word.startsWith("/") ? path.join(BOX, word) : word);
const value = fc.oneof(
  fc.string({ maxLength: 12 }).map(rebase),
  fc.constantFrom("", "0", "1", "-1", "65536", "docker", "podman", "each", "ssh", "auto", "none", "all", "0,1"),
  fc.constantFrom("img", "job.sh", "./job.sh", "n[1-2]", "localhost", "n[1-", "a[3-1]", "--x=1", "'a b'", "\\"),
  fc.constantFrom(path.join(BOX, "given"), "../..", "."),
);

function argvFor(subcommand: string): fc.Arbitrary<string[]> {
  // --dry-run is one option among the others: most runs go without it.
  const names = (SPECS[subcommand] ?? []).flatMap(spellings);
  const option = fc.oneof(
    fc.constantFrom(...names).map((name) => [name]),
    fc.tuple(fc.constantFrom(...names), value).map(([name, v]) => [`${name}=${v}`]),
    fc.tuple(fc.constantFrom(...names), value).map(([name, v]) => [name, v]),
  );
  const words = fc.oneof(
    { weight: 4, arbitrary: option },
    { weight: 1, arbitrary: value.map((v) => [v]) },
    { weight: 1, arbitrary: fc.constantFrom(["--"], ["expand"], ["compress"], ["--container=img", "--script=job.sh"]) },
  );
  const head = subcommand === "run" ? [] : [subcommand];
  const base = fc.tuple(...(BASE[subcommand] ?? [])).map((groups) => groups.flat());
  return fc
    .tuple(base, fc.array(words, { maxLength: 4 }))
    .map(([given, groups]) => [...head, ...given, ...groups.flat()]);
}

const argv = fc
  .constantFrom(...Object.keys(SPECS))
  .chain((subcommand) => argvFor(subcommand).map((args) => ({ subcommand, args })));

/** What srun-docker would leave in a home: its directories, with their modification times. */
function ourTraces(home: string): string[] {
  return [".srun-docker", "mpisshconfig", ".config/srun-docker"].flatMap((name) => {
    const file = path.join(home, name);
    return existsSync(file) ? [`${name} ${statSync(file).mtimeMs}`] : [];
  });
}

function topEntries(): string[] {
  return readdirSync(ROOT).sort();
}

describe("the bundled CLI under random input, without --dry-run", () => {
  test("no crash, no hang, no listen off loopback but the known ones, nothing left behind", () => {
    expect(existsSync(BIN), `${BIN} is missing: run npm run build first`).toBe(true);
    const realHome = ourTraces(homedir());
    const before = topEntries();
    fc.assert(
      fc.property(argv, ({ subcommand, args }) => {
        rmSync(NET_LOG, { force: true });
        const r = runBin(args);
        const what = `argv ${JSON.stringify(args)}`;
        expect(r.error, `${what} did not finish within 20 s`).toBeUndefined();
        // --debug prints the stack of any error, by design.
        if (!args.includes("--debug")) expect(r.stderr, what).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
        expect(r.stderr, what).not.toMatch(/internal error|please report/);
        expect([0, 1, 2], `${what}: exit ${r.status}, ${r.stderr}`).toContain(r.status);
        if (r.status === 2 && !args.includes("--debug")) {
          const lines = r.stderr.trim().split("\n");
          expect(lines[0], what).toMatch(/^srun-docker: error: /);
          expect(lines[1], what).toMatch(/^hint: /);
        }
        expect(leftoverProcesses(), `${what} left processes running`).toEqual([]);
        const net = existsSync(NET_LOG) ? readFileSync(NET_LOG, "utf8") : "";
        if (!WILDCARD_LISTENERS.has(subcommand)) expect(net, `${what} listened off loopback`).not.toMatch(/^listen/m);
        expect(
          topEntries().filter((e) => e !== "net.log"),
          `${what} wrote outside its box`,
        ).toEqual(before);
      }),
      { numRuns: 150 },
    );
    expect(ourTraces(homedir()), "the real home changed").toEqual(realHome);
  }, 240_000);
});
