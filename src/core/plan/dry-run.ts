// `--dry-run`: what this node would do, as the exact commands. The plan comes from planNode,
// like the run's; only what the run would create or read (the job's keys, the image's passwd
// and group) is stood in for here, so the dry run has no side effect.

import { join as joinPath } from "node:path";
import type { Runtime } from "../common/index.js";
import { formatCommand } from "../common/index.js";
import { describeLimits, type LimitsMode } from "../limits/index.js";
import type { JobContext } from "../slurm/index.js";
import type { NodePlan } from "./node-plan.js";
import type { ImageAccounts, JobKeys, PlanMaterial } from "./node-plan-input.js";

export interface DryRunStandIns {
  readonly material: PlanMaterial;
  readonly keys: JobKeys;
  readonly imageAccounts: ImageAccounts;
  readonly imagePath: string | undefined;
}

/** The user's srun-docker directory as the run would use it, its secret not read (maybe not made yet). */
export function dryRunStandIns(materialDir: string): DryRunStandIns {
  // The job's keys are derived from the secret at run time; file contents are not printed.
  const standIn = (what: string) => ({ privateKey: "", publicKey: `ssh-ed25519 ${what}-KEY-DERIVED-AT-RUN` });
  return {
    material: { dir: materialDir, jobsDir: joinPath(materialDir, "jobs") },
    keys: { secret: Buffer.alloc(32), sshHost: standIn("HOST"), sshClient: standIn("CLIENT") },
    // The image is not inspected: only the user's own entries show.
    imageAccounts: { passwd: "", group: "" },
    // Nor its PATH: the agent's directory goes in front of a default one.
    imagePath: undefined,
  };
}

export interface DryRunOptions {
  readonly runtime: Runtime;
  readonly launcher: "ssh" | "each" | "srun";
  readonly limits: LimitsMode;
}

/** `# limits: ...`: each limit and where it came from, or why there is none. */
export function limitsLine(options: DryRunOptions, plan: Pick<NodePlan, "limits">): string {
  const described = describeLimits(plan.limits);
  if (described.length > 0) return `# limits: ${described.join("; ")}`;
  return options.limits === "none"
    ? "# limits: none (--limits=none)"
    : "# limits: none (Slurm set no CPU or memory limit)";
}

const STAND_IN_NOTE = "from a stand-in secret: the first run makes yours, which your ports are drawn from";

/**
 * The ports as the run finds them when nothing is taken: each kind's first candidate, the remote
 * server's every one (it binds the first it can). `standInPorts`: drawn from a stand-in secret,
 * the user's being made by the first run.
 */
function portsLine(ctx: JobContext, plan: NodePlan, standInPorts: boolean): string {
  const { ports, remote } = plan;
  const served =
    remote === undefined
      ? ""
      : remote.ports.length === 1
        ? `, ${remote.kind} port ${remote.ports[0]}`
        : `, ${remote.kind} on the first free of ports ${remote.ports.join(" ")}`;
  const note = standInPorts ? ` (${STAND_IN_NOTE})` : "";
  return `# rendezvous ${ctx.master}:${ports.rendezvousPort}${served}, MASTER_PORT ${ports.masterPort}${note}`;
}

export function renderDryRun(options: DryRunOptions, ctx: JobContext, plan: NodePlan, standInPorts = false): string {
  const role = ctx.isMaster ? "master" : "worker";
  const lines = [
    `# ${ctx.nodeName} (${role}, rank ${ctx.rank} of ${ctx.nodes.length}), job ${ctx.jobId}.${ctx.stepId}`,
    portsLine(ctx, plan, standInPorts),
    `# files in ${plan.jobDir}: ${Object.keys(plan.files).join(", ")}; switch/lifeline (a FIFO held open while srun-docker runs)`,
    limitsLine(options, plan),
    `${formatCommand([options.runtime, ...plan.runArgs])}`,
  ];
  if (ctx.isMaster || options.launcher === "each") lines.push(formatCommand([options.runtime, ...plan.execArgs]));
  // Teardown goes through Docker's Engine API from this process; the CLI line is its equivalent.
  const how = options.runtime === "docker" ? "Engine API DELETE /containers/NAME?force=1, confirmed" : "confirmed";
  lines.push(
    `${options.runtime} rm -f${options.runtime === "podman" ? " -t 0" : ""} ${plan.containerName}  # teardown (${how})`,
  );
  return `${lines.join("\n")}\n`;
}

/**
 * `--launcher=srun --dry-run`: what this task would do. The node's first task starts and
 * removes the container; every task runs its own exec.
 */
export function renderTaskDryRun(
  options: DryRunOptions,
  ctx: JobContext,
  task: { readonly rank: number; readonly localRank: number; readonly localSize: number },
  plan: NodePlan,
  execArgs: readonly string[],
  standInPorts = false,
): string {
  const first = task.localRank === 0;
  const lines = [
    `# ${ctx.nodeName} task ${task.rank} (local ${task.localRank} of ${task.localSize}), job ${ctx.jobId}.${ctx.stepId}`,
  ];
  if (standInPorts) lines.push(`# MASTER_PORT ${plan.ports.masterPort}: ${STAND_IN_NOTE}`);
  if (first) lines.push(limitsLine(options, plan), formatCommand([options.runtime, ...plan.runArgs]));
  lines.push(formatCommand([options.runtime, ...execArgs]));
  if (first) lines.push(`${options.runtime} rm -f ${plan.containerName}  # once every task of the node has ended`);
  return `${lines.join("\n")}\n`;
}
