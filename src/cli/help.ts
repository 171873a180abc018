import { Command, Option } from "commander";
import { ASUSER_OPTIONS, type OptionSpec, RUN_OPTIONS } from "./option-specs.js";
import {
  CLEAN_OPTIONS,
  CONFIG_OPTIONS,
  DOCTOR_OPTIONS,
  EXEC_OPTIONS,
  HOSTLIST_OPTIONS,
  PULL_COMMAND_OPTIONS,
  SSHCONFIG_OPTIONS,
} from "./subcommand-specs.js";

export type HelpTopic = "run" | "asuser" | "sshconfig" | "hostlist" | "doctor" | "clean" | "pull" | "exec" | "config";

export interface Topic {
  readonly usage: string;
  readonly summary: string;
  readonly specs: readonly OptionSpec[];
  readonly after?: string;
}

const RUN_AFTER = `
Commands:
  asuser      one container as you (run_dock_asuser.sh)
  sshconfig   create a user sshd config dir (create_mpisshconfig.sh)
  hostlist    expand or compress Slurm hostlists
  doctor      check this node: engine, image, home permissions, ports, GPUs
  clean       remove your stale srun-docker containers
  pull        stage an image on every node of the step ahead of a job
  exec        enter a running job's container on this node (a shell, or a command)
  config      print the effective settings and where each came from (checked)
  completion  print the bash completion script: srun-docker completion bash
  man         print this manual as a man page (roff): srun-docker man | man -l -

Any other --x=y, and everything after --, is passed to the script verbatim
(one typo away from --container, --script, ... it gets a warning too).
Options are written --opt=value (or --opt value); old names with _ still work.
Options marked (*) may also be set with SRUN_DOCKER_<NAME> or in
/etc/srun-docker/config.toml and ~/.config/srun-docker/config.toml.

The script sees: hostlist (node1:4,node2:4), np, NNODES, NODE_RANK, MASTER_ADDR,
MASTER_PORT, WORLD_SIZE, HOSTFILE, SLURM_JOB_ID, ENVLIST and the --envlist variables.

Examples:
  salloc -N 2
  srun srun-docker --container=IMAGE --script=./job.sh
  srun srun-docker --container=IMAGE --script=./job.sh --slots_per_node=2 -- --epochs 3
  srun -N 1 --exclude=node1 srun-docker --nodelist=node2 --container=IMAGE --script=./job.sh
  srun -N 1 --pty srun-docker --container=IMAGE      (a shell in the container)
  srun srun-docker --container-image=nvcr.io#nvidia/pytorch:24.05-py3 python3 app.py   (as with Pyxis)
`;

export const TOPICS: Readonly<Record<HelpTopic, Topic>> = {
  run: {
    usage: "srun srun-docker --container=IMAGE --script=PATH [options] [--x=y ...] [-- script args]",
    summary: "Run a multi-node job in Docker containers under Slurm: one container per node, as you.",
    specs: RUN_OPTIONS,
    after: RUN_AFTER,
  },
  asuser: {
    usage: "srun-docker asuser --container=IMAGE [options]",
    summary: "Start one container as you (your uid, groups, home), interactive by default.",
    specs: ASUSER_OPTIONS,
  },
  sshconfig: {
    usage: "srun-docker sshconfig [--sshconfigdir=DIR] [--sshdport=PORT]",
    summary: "Create a user sshd config dir (host keys, sshd_config) and print the ~/.ssh/config block.",
    specs: SSHCONFIG_OPTIONS,
  },
  hostlist: {
    usage: "srun-docker hostlist expand EXPR... | srun-docker hostlist compress [--sort] NAME...",
    summary: "Expand a Slurm hostlist (one name per line) or compress names into one.",
    specs: HOSTLIST_OPTIONS,
  },
  doctor: {
    usage: "srun srun-docker doctor [--container=IMAGE] [options]",
    summary: "Check this node and print one line per check, with a fix for each problem.",
    specs: DOCTOR_OPTIONS,
  },
  clean: {
    usage: "srun srun-docker clean [--job=ID | --all]",
    summary:
      "Remove your srun-docker containers on this node whose Slurm job has ended (left by a killed run);\n" +
      "with --job those of one job, with --all every one of yours. Exits 1, naming each container it\n" +
      "could not remove. A second net beside each run's own teardown, as a Slurm Epilog (as root):\n" +
      '  srun-docker clean --job "$SLURM_JOB_ID"',
    specs: CLEAN_OPTIONS,
  },
  pull: {
    usage: "srun -N NODES srun-docker pull IMAGE [--pull-once] [--pull=missing|always] [options]",
    summary:
      "Get IMAGE onto every node of the step, with the run's progress display and summary, and run nothing.\n" +
      "Exits 0 once every node has the same image, else 1 naming the node and why. A later job with\n" +
      "--pull=never (or the default) then starts without pulling:\n" +
      "  srun -N 4 srun-docker pull --pull-once sdtc-registry:5443/app:1",
    specs: PULL_COMMAND_OPTIONS,
  },
  exec: {
    usage: "srun --jobid=JOB --overlap -w NODE --pty srun-docker exec [--step=S] [-- COMMAND...]",
    summary:
      "Enter a running job's container on this node, as you, with a terminal when you have one:\n" +
      "a shell, or COMMAND (e.g. -- py-spy dump --pid 1234). Exits with its exit code. Outside the\n" +
      "job's own steps give --jobid; where the job has several steps' containers, --step chooses.",
    specs: EXEC_OPTIONS,
  },
  config: {
    usage: "srun-docker config",
    summary: "Print the effective settings and where each came from.",
    specs: CONFIG_OPTIONS,
  },
};

/** `--slots_per_node, --slots-per-node <n>`: the old name first, as users know it. */
export function formatFlags(spec: OptionSpec): string {
  const longs = spec.legacy === undefined ? [`--${spec.name}`] : [`--${spec.legacy}`, `--${spec.name}`];
  const names = spec.short === undefined ? longs : [`-${spec.short}`, ...longs];
  return spec.value === undefined ? names.join(", ") : `${names.join(", ")} ${spec.value}`;
}

/**
 * Help rendered by commander from the option tables (commander takes a short and a long flag,
 * or two long ones; no option has both a short flag and a legacy name).
 */
export function renderHelp(topic: HelpTopic, columns = 100): string {
  const { usage, summary, specs, after } = TOPICS[topic];
  const command = new Command("srun-docker").description(summary).helpOption(false);
  command.configureHelp({ helpWidth: columns, sortOptions: false });
  for (const spec of specs) {
    const star = spec.configurable ? " (*)" : "";
    command.addOption(new Option(formatFlags(spec), `${spec.description}${star}`));
  }
  const text = command.helpInformation().replace(/^Usage: .*\n/, `Usage: ${usage}\n`);
  return after === undefined ? text : text + after;
}
