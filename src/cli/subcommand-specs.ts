/** The options of the small subcommands, as data (the run's and asuser's are in option-specs.ts). */
import {
  container,
  debug,
  dryRun,
  help,
  type OptionSpec,
  remote,
  rendezvousPort,
  runtime,
  sshconfigdir,
  sshdport,
  timeout,
} from "./option-specs.js";
import { PULL_OPTIONS } from "./pull-options.js";

export const SSHCONFIG_OPTIONS: readonly OptionSpec[] = [
  { ...sshconfigdir, description: "directory to create (default: ~/mpisshconfig)" },
  { ...sshdport, description: "port written to sshd_config and ~/.ssh/config (default: 12345)" },
  dryRun,
  debug,
  help,
];

export const HOSTLIST_OPTIONS: readonly OptionSpec[] = [
  { name: "sort", description: "compress: sort and drop duplicates first" },
  help,
];

export const DOCTOR_OPTIONS: readonly OptionSpec[] = [
  { ...container, description: "also check that this image is present and runs the agent (or has sshd)" },
  runtime,
  remote,
  sshconfigdir,
  sshdport,
  {
    name: "slots-per-node",
    legacy: "slots_per_node",
    value: "<n>",
    description: "check it against the GPUs on the node",
  },
  debug,
  help,
];

export const CLEAN_OPTIONS: readonly OptionSpec[] = [
  { name: "job", value: "<id>", description: "remove this job's containers (as root: every user's, for the Epilog)" },
  { name: "all", description: "remove all of your srun-docker containers on this node" },
  runtime,
  dryRun,
  debug,
  help,
];

export const CONFIG_OPTIONS: readonly OptionSpec[] = [debug, help];

/** `srun-docker exec [-- COMMAND...]`: into a running job's container on this node. */
export const EXEC_OPTIONS: readonly OptionSpec[] = [
  { name: "jobid", value: "<id>", description: "the job whose container to enter (default: SLURM_JOB_ID)" },
  { name: "step", value: "<id>", description: "the step's container, when the job has several here" },
  runtime,
  debug,
  help,
];

const [pullPolicy, pullOnce, pullTimeout] = PULL_OPTIONS;

/** `srun-docker pull IMAGE`: the run's image step alone, on every node of the step. */
export const PULL_COMMAND_OPTIONS: readonly OptionSpec[] = [
  {
    ...pullPolicy,
    value: "<missing|always>",
    choices: ["missing", "always"],
    description: "missing: only the nodes without the image get it; always: ask the registry again (default: missing)",
  },
  pullOnce,
  pullTimeout,
  runtime,
  { ...timeout, description: "fail if a node has not joined within this time; pulls do not count (default: 120)" },
  rendezvousPort,
  debug,
  help,
];
