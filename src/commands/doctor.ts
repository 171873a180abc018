// `srun-docker doctor` (run it on every node: `srun -N2 srun-docker doctor --container=IMG`):
// one line per check with a fix, exit 1 when any check fails.

import { stat, statfs } from "node:fs/promises";
import { homedir, hostname } from "node:os";
import path from "node:path";
import type { DoctorOptions } from "../cli/subcommand-options.js";
import { AGENT_BUNDLE_PATH, AGENT_NODE_PATH, AGENT_SERVER_PATH, type AgentProgram } from "../core/agent/index.js";
import type { Runtime } from "../core/common/index.js";
import { resolveGpus } from "../core/limits/index.js";
import { adviseHome, type DaemonUsers, parseDaemonUsers } from "../core/plan/index.js";
import { findAgentProgram } from "../io/agent/index.js";
import { countNodeGpus } from "../io/limits/index.js";
import { isPortFree } from "../io/ports/index.js";
import { runCommand } from "../io/process/index.js";
import { defaultMaterialDir } from "../io/ssh/index.js";

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

type Check = () => Promise<CheckResult>;

export async function runDoctor(options: DoctorOptions, env = process.env, out = process.stdout): Promise<number> {
  const node = hostname();
  const checks: Check[] = [
    () => checkRuntime(options.runtime),
    () => checkHome(env.HOME || homedir(), options.runtime),
    () => checkMaterial(defaultMaterialDir()),
    () => checkPorts(options, env),
    () => checkSlots(options, env),
  ];
  if (options.container !== undefined) {
    const image = options.container;
    checks.push(
      () => checkImage(options.runtime, image),
      options.remote === "sshd" ? () => checkSshd(options.runtime, image) : () => checkAgent(options.runtime, image),
    );
  }
  let failed = 0;
  for (const check of checks) {
    const r = await check().catch((e: unknown) => ({
      name: "check",
      ok: false,
      detail: e instanceof Error ? e.message : String(e),
    }));
    if (!r.ok) failed++;
    out.write(
      `[${node}] ${r.ok ? "ok  " : "FAIL"} ${r.name}: ${r.detail}${!r.ok && "fix" in r && r.fix ? ` (fix: ${r.fix})` : ""}\n`,
    );
  }
  return failed === 0 ? 0 : 1;
}

async function checkRuntime(bin: string): Promise<CheckResult> {
  const r = await runCommand(bin, ["version", "--format", "{{.Server.Version}}"], { timeoutMs: 15_000 }).catch(
    () => undefined,
  );
  if (r?.exitCode === 0) return { name: bin, ok: true, detail: `server ${r.stdout.trim()} usable by you` };
  return {
    name: bin,
    ok: false,
    detail: (r?.stderr.trim().split("\n")[0] ?? `${bin} not found`) || "no answer",
    fix: `start the ${bin} daemon and add yourself to its group (docker)`,
  };
}

async function checkImage(bin: string, image: string): Promise<CheckResult> {
  const r = await runCommand(bin, ["image", "inspect", "--format", "{{.Id}}", image], { timeoutMs: 15_000 });
  if (r.exitCode === 0) return { name: "image", ok: true, detail: `${image} present` };
  return {
    name: "image",
    ok: false,
    detail: `${image} is not on this node`,
    fix: `${bin} pull ${image} (or load it) on every node`,
  };
}

/**
 * The agent as a job runs it, run in the image: the single executable, or the .cjs bundle on
 * the Node running this srun-docker (the launcher a job adds only `#!`s to that Node). Either
 * needs the image's glibc and libstdc++.
 */
function agentProbeArgs(program: AgentProgram): string[] {
  if (program.kind === "executable") {
    return ["-v", `${program.path}:${AGENT_SERVER_PATH}:ro`, "--entrypoint", AGENT_SERVER_PATH];
  }
  return [
    ...["-v", `${program.node}:${AGENT_NODE_PATH}:ro`, "-v", `${program.bundle}:${AGENT_BUNDLE_PATH}:ro`],
    ...["--entrypoint", AGENT_NODE_PATH],
  ];
}

async function checkAgent(bin: string, image: string, program = findAgentProgram()): Promise<CheckResult> {
  const name = "agent in image";
  if (program === undefined) {
    return {
      name,
      ok: false,
      detail: "this srun-docker is neither the single executable nor the .cjs bundle",
      fix: "run dist/srun-docker or dist/srun-docker.cjs, or use --remote=sshd",
    };
  }
  const version = program.kind === "executable" ? ["--version"] : [AGENT_BUNDLE_PATH, "--version"];
  const ran = await runCommand(bin, ["run", "--rm", "--net=none", ...agentProbeArgs(program), image, ...version], {
    timeoutMs: 60_000,
  });
  const what = program.kind === "executable" ? "the single executable" : `the .cjs bundle on ${program.node}`;
  if (ran.exitCode === 0) return { name, ok: true, detail: `${what} runs (${ran.stdout.trim().split("\n")[0]})` };
  return {
    name,
    ok: false,
    detail: `${what} does not run there: ${ran.stderr.trim().split("\n")[0] || `exit ${ran.exitCode}`}`,
    fix: "the agent needs glibc 2.28+ and libstdc++ (musl images such as Alpine are not supported), and from the .cjs bundle a Node linked to nothing else (the official build, not a distribution's libnode); or use --remote=sshd with an image that has sshd",
  };
}

async function checkSshd(bin: string, image: string): Promise<CheckResult> {
  const r = await runCommand(
    bin,
    ["run", "--rm", "--net=none", "--entrypoint", "/bin/sh", image, "-c", "test -x /usr/sbin/sshd && command -v ssh"],
    { timeoutMs: 60_000 },
  );
  if (r.exitCode === 0) return { name: "sshd in image", ok: true, detail: "/usr/sbin/sshd and ssh present" };
  return {
    name: "sshd in image",
    ok: false,
    detail: "the image lacks /usr/sbin/sshd or ssh",
    fix: "add openssh-server and openssh-client to the image, or use --remote=agent (the default)",
  };
}

/** Whether anyone but you must pass through your home for a run's mounts (core/plan/home-access.ts). */
async function checkHome(home: string, runtime: Runtime): Promise<CheckResult> {
  const [st, fs] = await Promise.all([stat(home), statfs(home)]);
  const daemonUsers = runtime === "docker" ? await readDaemonUsers() : undefined;
  return { name: "home", ...adviseHome({ home, mode: st.mode & 0o777, fsType: fs.type, runtime, daemonUsers }) };
}

async function readDaemonUsers(): Promise<DaemonUsers | undefined> {
  const r = await runCommand("docker", ["info", "--format", "{{json .SecurityOptions}}"], { timeoutMs: 15_000 }).catch(
    () => undefined,
  );
  return r?.exitCode === 0 ? parseDaemonUsers(r.stdout) : undefined;
}

async function checkMaterial(dir: string): Promise<CheckResult> {
  const st = await stat(dir).catch(() => undefined);
  if (st === undefined) return { name: "ssh material", ok: true, detail: `${dir} will be created on the first run` };
  const problems: string[] = [];
  if ((st.mode & 0o077) !== 0) problems.push(`${dir} is mode ${(st.mode & 0o777).toString(8)}`);
  if (st.uid !== process.getuid?.()) problems.push(`${dir} is not yours`);
  const secret = await stat(path.join(dir, "secret")).catch(() => undefined);
  if (secret && (secret.mode & 0o077) !== 0) problems.push(`secret is mode ${(secret.mode & 0o777).toString(8)}`);
  if (problems.length === 0) return { name: "ssh material", ok: true, detail: `${dir} private` };
  return {
    name: "ssh material",
    ok: false,
    detail: problems.join("; "),
    fix: `rm -rf ${dir} (it is recreated on the next run)`,
  };
}

async function checkPorts(options: DoctorOptions, env: NodeJS.ProcessEnv): Promise<CheckResult> {
  const given = options.sshdPort;
  // A job's own ports are drawn per step from the secret, and each falls back on a taken one by
  // itself (core/ports/port-candidates.ts): nothing here would say more than the run finds.
  if (given === undefined)
    return {
      name: "ports",
      ok: true,
      detail: `drawn per job step from your secret, with fallbacks (${options.remote})`,
    };
  if (await isPortFree(given)) return { name: "ports", ok: true, detail: `--sshdport ${given} free` };
  return {
    name: "ports",
    ok: false,
    detail: `--sshdport ${given} is in use${env.SLURM_JOB_ID === undefined ? "" : ` (job ${env.SLURM_JOB_ID})`}`,
    fix: "pick another --sshdport, or drop it to use ports drawn for each job (with fallbacks)",
  };
}

async function checkSlots(options: DoctorOptions, env: NodeJS.ProcessEnv): Promise<CheckResult> {
  const count = await countNodeGpus().catch(() => undefined);
  const plan = resolveGpus(
    { mode: { kind: "auto" }, privileged: false, slotsPerNode: options.slotsPerNode },
    env,
    count,
  );
  const gpus = plan.deviceIds === "all" ? "all" : plan.deviceIds.length;
  return {
    name: "gpus/slots",
    ok: true,
    detail: `${gpus} GPU(s), ${plan.slots} slot(s) per node${plan.warnings.length ? ` — ${plan.warnings.join("; ")}` : ""}`,
  };
}
