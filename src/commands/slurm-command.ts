/**
 * `scontrol`, `squeue`, `sacct`, `sbatch`, `scancel` and `srun` inside a job's container: this
 * binary under those names (core/slurm-relay/slurm-relay-mounts.ts), which asks the node's
 * srun-docker, through the Slurm relay, to run the host's own command. The job step's secret
 * and this node's name come from the agent's config file, the relay's socket from
 * SRUN_DOCKER_SLURM_RELAY. Hidden: users type the Slurm names, never this.
 */
import { planSlurmRequest, SLURM_RELAY_VARIABLE, type SlurmCommand } from "../core/slurm-relay/index.js";
import { loadAgentConfig } from "../io/agent/index.js";
import { EXIT_RELAY_FAILURE, runSlurmCommand } from "../io/slurm-relay/index.js";

export async function runSlurmCommandInContainer(program: SlurmCommand, argv: readonly string[]): Promise<number> {
  const say = (line: string): number => {
    process.stderr.write(`srun-docker: ${program}: ${line}\n`);
    return EXIT_RELAY_FAILURE;
  };
  const socketPath = process.env[SLURM_RELAY_VARIABLE];
  if (socketPath === undefined || socketPath === "") {
    return say(
      `${SLURM_RELAY_VARIABLE} is not set: Slurm's commands run through srun-docker in a job's container only`,
    );
  }
  const loaded = await loadAgentConfig(process.env);
  if (!loaded.ok) return say(loaded.error);
  const plan = planSlurmRequest(program, argv, process.cwd(), process.env);
  if (plan.kind === "refuse") return say(plan.message);
  return runSlurmCommand({
    socketPath,
    secret: loaded.secret,
    jobKey: loaded.config.jobKey,
    node: loaded.self.name,
    request: plan.request,
    readsStdin: plan.readsStdin,
    streams: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
    signals: process,
  });
}
