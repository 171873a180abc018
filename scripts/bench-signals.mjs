#!/usr/bin/env node
// How long after its start a SIGUSR1 can still open Node's inspector in srun-docker, for each
// build that `npm run build` ships (README "Security", "Signals never open a debugger"). Each
// run starts the agent's `ssh` (it waits for an agent that never comes), sends one SIGUSR1 a
// given number of milliseconds after the spawn, and looks half a second later: did a listener
// appear (the inspector), did the signal end the process, or does it run on untouched.
//
//   npm run bench:signals                        # 0-100 ms in steps of 5, 5 runs each
//   npm run bench:signals -- --runs=10 --step=2 --until=60
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const BUILDS = {
  "single executable": (args) => [path.join(root, "dist/srun-docker"), args],
  [`.cjs on node ${process.version}`]: (args) => [process.execPath, [path.join(root, "dist/srun-docker.cjs"), ...args]],
};

function parseArgs(argv) {
  const out = { runs: 5, step: 5, until: 100 };
  for (const arg of argv) {
    const m = /^--(runs|step|until)=(\d+)$/.exec(arg);
    if (!m) {
      console.error(`bench:signals: unknown argument \`${arg}\` (expected --runs=K, --step=MS, --until=MS)`);
      process.exit(2);
    }
    out[m[1]] = Number(m[2]);
  }
  return out;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function listens(pid) {
  return execFileSync("ss", ["-ltnpH"], { encoding: "utf8" })
    .split("\n")
    .some((line) => line.includes(`pid=${pid},`));
}

/** One start, one SIGUSR1 `delayMs` after it: "inspector", "ended" or "untouched". */
async function once(build, delayMs, env) {
  const [file, args] = BUILDS[build](["agent-ssh", "n2", "true"]);
  const child = spawn(file, args, { env, stdio: "ignore" });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  await sleep(delayMs);
  child.kill("SIGUSR1");
  await Promise.race([exited, sleep(500)]);
  const outcome = listens(child.pid)
    ? "inspector"
    : child.exitCode !== null || child.signalCode
      ? "ended"
      : "untouched";
  child.kill("SIGKILL");
  await exited;
  return outcome;
}

async function main() {
  const { runs, step, until } = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(path.join(tmpdir(), "bench-signals-"));
  try {
    const config = path.join(work, "agent.json");
    const nodes = [
      { name: "n1", address: "127.0.0.1", port: 9 },
      { name: "n2", address: "127.0.0.1", port: 9 },
    ];
    // The agent's config (src/core/agent/agent-config.ts): the job step's secret inline, hex.
    const secret = randomBytes(32).toString("hex");
    writeFileSync(config, JSON.stringify({ v: 2, jobKey: "1.0", user: "u", node: "n1", secret, nodes }), {
      mode: 0o600,
    });
    const env = { PATH: process.env.PATH, HOME: work, SRUN_DOCKER_AGENT_CONFIG: config };
    console.log(
      `bench:signals: one SIGUSR1 at each delay after the start, ${runs} runs each (inspector/ended/untouched)`,
    );
    console.log(["delay ms", ...Object.keys(BUILDS)].join(" | "));
    for (let delayMs = 0; delayMs <= until; delayMs += step) {
      const cells = [];
      for (const build of Object.keys(BUILDS)) {
        const tally = { inspector: 0, ended: 0, untouched: 0 };
        for (let i = 0; i < runs; i++) tally[await once(build, delayMs, env)]++;
        cells.push(`${tally.inspector}/${tally.ended}/${tally.untouched}`);
      }
      console.log([String(delayMs), ...cells].join(" | "));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
