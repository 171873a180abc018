// `--dry-run`: what this node would do, as the exact commands, with no side effect at all:
// no ssh material is created, no image inspected, no port opened.
import path from "node:path";
import type { RunOptions } from "../../cli/options.js";
import type { GpuPlan } from "../../core/gpus.js";
import type { JobPorts } from "../../core/ports.js";
import type { JobContext } from "../../core/slurm-context.js";
import type { Identity } from "../../io/identity.js";
import { defaultMaterialDir } from "../../io/ssh-material.js";
import { planNode } from "./node-setup.js";

export interface DryRunInput {
  options: RunOptions;
  ctx: JobContext;
  identity: Identity;
  ports: JobPorts;
  gpus: GpuPlan;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export function renderDryRun(input: DryRunInput): string {
  const { options, ctx, ports } = input;
  const dir = defaultMaterialDir();
  const plan = planNode({
    ...input,
    material: {
      jobsDir: path.join(dir, "jobs"),
      hostKeyPath: path.join(dir, "ssh_host_ed25519_key"),
      // known_hosts would hold the real key; the dry run does not create one.
      hostPublicKey: "ssh-ed25519 HOST-KEY-CREATED-ON-FIRST-RUN",
      clientKeyPath: path.join(dir, "id_ed25519"),
    },
    clientPublicKey: "ssh-ed25519 CLIENT-KEY-CREATED-ON-FIRST-RUN",
    imageFiles: { passwd: "", group: "" },
    scriptPath: path.resolve(input.cwd, options.script),
    callerEnv: input.env,
  });
  const role = ctx.isMaster ? "master" : "worker";
  const quote = (args: readonly string[]) =>
    args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(" ");
  const lines = [
    `# ${ctx.nodeName} (${role}, rank ${ctx.rank} of ${ctx.nodes.length}), job ${ctx.jobId}.${ctx.stepId}`,
    `# rendezvous ${ctx.master}:${ports.rendezvousPort}${options.launcher === "ssh" ? `, sshd port ${ports.sshdPort}` : ""}`,
    `# files in ${plan.jobDir}: ${Object.keys(plan.files).join(", ")}; switch/lifeline (a FIFO held open while srun-docker runs)`,
    `${options.runtime} ${quote(plan.runArgs)}`,
  ];
  if (ctx.isMaster || options.launcher === "each") lines.push(`${options.runtime} ${quote(plan.execArgs)}`);
  // Teardown goes through Docker's Engine API from this process; the CLI line is its equivalent.
  const how = options.runtime === "docker" ? "Engine API DELETE /containers/NAME?force=1, confirmed" : "confirmed";
  lines.push(
    `${options.runtime} rm -f${options.runtime === "podman" ? " -t 0" : ""} ${plan.containerName}  # teardown (${how})`,
  );
  return `${lines.join("\n")}\n`;
}
