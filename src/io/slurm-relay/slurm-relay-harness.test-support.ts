// A Slurm relay on a real unix socket in a temporary dir, whose host PATH holds stand-ins for
// Slurm's programs: each records its run (one line in runs.log) and then does what its name's
// script says. A marker file beside them is what a hostile request must never create.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { SLURM_COMMANDS } from "../../core/slurm-relay/index.js";
import { type SlurmRelay, startSlurmRelay } from "./slurm-relay-server.js";

export const jobKey = "42.0";
export const node = "node1";

export interface RelayHarness {
  relay: SlurmRelay;
  secret: Buffer;
  dir: string;
  /** Where a hostile request's shell would write. */
  marker: string;
  /** The stand-ins' runs so far, one line each: the program's name and its argv. */
  runs(): string[];
  said: string[];
}

const harnesses: RelayHarness[] = [];

/** What each stand-in does after recording itself; `$@` is its argv. */
const BEHAVIOUR: Record<string, string> = {
  scontrol: 'printf "%s\\n" "$@"; printf "cwd=%s\\n" "$PWD"; printf "account=%s\\n" "$SBATCH_ACCOUNT"',
  squeue: 'printf "preload=%s conf=%s\\n" "$LD_PRELOAD" "$SLURM_CONF"; exit 3',
  sacct: "kill -TERM $$",
  sbatch: "cat",
  scancel: 'trap "echo got-usr1; exit 42" USR1; echo waiting; while :; do sleep 0.05; done',
  srun: 'printf "%s\\n" "$@"',
};

export async function startHarness(hostEnv: Record<string, string> = {}): Promise<RelayHarness> {
  const dir = mkdtempSync(path.join(tmpdir(), "slurm-relay-"));
  const bin = path.join(dir, "bin");
  const log = path.join(dir, "runs.log");
  mkdirSync(bin);
  for (const name of SLURM_COMMANDS) {
    const file = path.join(bin, name);
    writeFileSync(file, `#!/bin/sh\necho "${name} $*" >> ${log}\n${BEHAVIOUR[name] ?? ""}\n`);
    chmodSync(file, 0o755);
  }
  const secret = randomBytes(32);
  const said: string[] = [];
  const relay = await startSlurmRelay({
    socketPath: path.join(dir, "job", "slurm.sock"),
    secret,
    jobKey,
    node,
    hostEnv: { PATH: `${bin}:/usr/bin:/bin`, ...hostEnv },
    hostCwd: dir,
    say: (line) => said.push(line),
    handshakeTimeoutMs: 1000,
  });
  const harness: RelayHarness = {
    relay,
    secret,
    dir,
    marker: path.join(dir, "marker"),
    runs: () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : []),
    said,
  };
  harnesses.push(harness);
  return harness;
}

export async function closeHarnesses(): Promise<void> {
  for (const harness of harnesses.splice(0)) {
    await harness.relay.close();
    rmSync(harness.dir, { recursive: true, force: true });
  }
}
