import type { OptionSpec } from "./argv-scan.js";
import { PULL_OPTIONS } from "./pull-options.js";
import { PYXIS_OPTIONS } from "./pyxis-options.js";

export type { OptionSpec };

/**
 * The options of every subcommand, as data: the scanner, the env/config layering and the
 * help text are all driven from these tables, so an option cannot be parsed yet undocumented.
 */

export const help: OptionSpec = { name: "help", short: "h", description: "show this help" };
export const debug: OptionSpec = {
  name: "debug",
  description: "print stack traces, every command run and every Engine API request",
};
export const dryRun: OptionSpec = {
  name: "dry-run",
  description: "print the commands each node would run, run nothing",
};
export const runtime: OptionSpec = {
  name: "runtime",
  value: "<docker|podman>",
  choices: ["docker", "podman"],
  description: "container engine; podman runs rootless with --userns=keep-id (default: docker)",
  configurable: true,
};
export const container: OptionSpec = {
  name: "container",
  value: "<image>",
  description: "image to run (required)",
  configurable: true,
};
const containerName: OptionSpec = {
  name: "container-name",
  value: "<name>",
  description:
    "the job's named container: the job's first step on a node creates it, later steps run in it (exec); removed when the job ends (--launcher=srun)",
};
const containerSave: OptionSpec = {
  name: "container-save",
  value: "<path.tar>",
  description:
    "after the step, save the first node's container as an archive that --container=PATH starts from (--launcher=srun)",
};
const dockname: OptionSpec = {
  name: "dockname",
  value: "<name>",
  description: "container name prefix (default: srun-docker-$USER)",
};
const datamnts: OptionSpec = {
  name: "datamnts",
  value: "<dir,...>",
  description: "host directories mounted at the same path, comma-separated",
  configurable: true,
};
const dockopts: OptionSpec = {
  name: "dockopts",
  value: "<options>",
  description: 'extra docker run options, split like a shell would: --dockopts="--ipc=host -e X=1"',
  configurable: true,
};
const privileged: OptionSpec = {
  name: "privileged",
  description: "run privileged (exposes every GPU; NV_GPU is ignored)",
};
const ibdevices: OptionSpec = {
  name: "ibdevices",
  description: "add --cap-add=IPC_LOCK --device=/dev/infiniband for RDMA",
  configurable: true,
};
const envlist: OptionSpec = {
  name: "envlist",
  value: "<VAR,...>",
  description: "environment variables passed into the container; ENVLIST lists them",
  configurable: true,
};
const gpus: OptionSpec = {
  name: "gpus",
  value: "<auto|none|all|LIST>",
  description: "GPUs given to the container; auto = what Slurm gave the node (default: auto)",
  configurable: true,
};
const gpuRuntime: OptionSpec = {
  name: "gpu-runtime",
  value: "<docker|nvidia>",
  choices: ["docker", "nvidia"],
  description: "docker = --gpus; nvidia = nvidia-docker2's --runtime=nvidia + NVIDIA_VISIBLE_DEVICES",
  configurable: true,
};
const nvdock2: OptionSpec = { name: "nvdock2", description: "same as --gpu-runtime=nvidia" };
const memlock: OptionSpec = {
  name: "memlock",
  value: "<unlimited|off|bytes>",
  description: "locked-memory ulimit in the container (default: unlimited)",
  configurable: true,
};
const shmSize: OptionSpec = {
  name: "shm-size",
  value: "<size>",
  description: "/dev/shm size (default: 1g)",
  configurable: true,
};
const limits: OptionSpec = {
  name: "limits",
  value: "<slurm|none>",
  choices: ["slurm", "none"],
  description: "slurm = the container gets the CPUs and memory Slurm allocated this step on the node (default: slurm)",
  configurable: true,
};
const pidsLimit: OptionSpec = {
  name: "pids-limit",
  value: "<n|none>",
  description: "most processes and threads in the container (default with --limits=slurm: 1024 per CPU, at least 4096)",
  configurable: true,
};
export const sshconfigdir: OptionSpec = {
  name: "sshconfigdir",
  value: "<dir>",
  description: "use your own sshd config dir (old mode) instead of generated per-user material; implies --remote=sshd",
  configurable: true,
};
export const sshdport: OptionSpec = {
  name: "sshdport",
  value: "<port>",
  description:
    "container sshd port, used as given (default: the first free of ports drawn per job from your secret); implies --remote=sshd",
};
export const remote: OptionSpec = {
  name: "remote",
  value: "<agent|sshd>",
  choices: ["agent", "sshd"],
  description:
    "how ssh/mpirun/pdsh reach other nodes: agent = srun-docker's own (any image); sshd = an sshd in each container (default: agent)",
  configurable: true,
};
const version: OptionSpec = { name: "version", short: "V", description: "print the version" };
export const rendezvousPort: OptionSpec = {
  name: "rendezvous-port",
  value: "<port>",
  description:
    "master's coordination port, used as given (default: the first free of ports drawn per job from your secret)",
};
export const timeout: OptionSpec = {
  name: "timeout",
  value: "<seconds>",
  description: "fail if a node is not ready within this time (default: 120)",
  configurable: true,
};

export const RUN_OPTIONS: readonly OptionSpec[] = [
  container,
  containerName,
  containerSave,
  {
    name: "script",
    value: "<path>",
    description:
      "job script run in the master's container (required, but --launcher=srun takes a program after --, and srun --pty with neither gives a shell)",
  },
  dockname,
  datamnts,
  dockopts,
  privileged,
  ibdevices,
  envlist,
  {
    name: "slots-per-node",
    legacy: "slots_per_node",
    value: "<n>",
    description: "slots per node in hostlist/np (default: GPUs on the node, else 1)",
  },
  {
    name: "nodelist",
    value: "<hostlist>",
    description: "run on these nodes, e.g. node[02-03] (default: the Slurm step's nodes)",
  },
  {
    name: "node-rank",
    value: "<n>",
    description: "this node's index in --nodelist (outside Slurm, e.g. with pdsh/clush)",
  },
  sshconfigdir,
  sshdport,
  rendezvousPort,
  { name: "script-help", legacy: "script_help", description: "pass --help to the script" },
  timeout,
  {
    name: "launcher",
    value: "<ssh|each|srun>",
    choices: ["ssh", "each", "srun"],
    description:
      "ssh: the master runs the script (mpirun over ssh); each: every node runs it; srun: every Slurm task runs the program after -- (default: ssh)",
    configurable: true,
  },
  remote,
  ...PULL_OPTIONS,
  gpus,
  gpuRuntime,
  nvdock2,
  runtime,
  memlock,
  shmSize,
  limits,
  pidsLimit,
  ...PYXIS_OPTIONS,
  dryRun,
  debug,
  help,
  version,
];

export const ASUSER_OPTIONS: readonly OptionSpec[] = [
  container,
  { ...dockname, description: "container name (default: $USER_dock)" },
  {
    name: "daemon",
    description: "start the container in the background and return (inside a Slurm job it ends with the job)",
  },
  { name: "noninteractive", description: "run --dockcmd in a throw-away container (docker run --rm)" },
  { name: "keepalive", description: "keep the container after the interactive shell exits" },
  { name: "entrypoint", value: "<cmd>", description: "override the image's entrypoint" },
  {
    name: "workdir",
    value: "<dir>",
    description: "working directory; `default` = the image's (default: current directory)",
  },
  { name: "net", value: "<network>", description: "docker network, e.g. host or bridge" },
  envlist,
  datamnts,
  dockopts,
  { name: "dockcmd", value: "<command>", description: "command (and arguments) run in the container" },
  { name: "bashinit", value: "<file>", description: "init file for the interactive bash" },
  privileged,
  ibdevices,
  { name: "dockindock", description: "mount the docker socket and add its group" },
  { name: "userdefault", description: "run as the image's default user, not as you" },
  { name: "nvdock1", description: "use the legacy nvidia-docker (v1) wrapper" },
  nvdock2,
  gpuRuntime,
  gpus,
  runtime,
  memlock,
  shmSize,
  dryRun,
  debug,
  help,
];

/** Keys a config file may set (dash or underscore spelling). */
export const CONFIG_KEYS: readonly string[] = [
  ...new Set([...RUN_OPTIONS, ...ASUSER_OPTIONS].filter((spec) => spec.configurable).map((spec) => spec.name)),
];
