/**
 * What `--remote=agent` adds to a node's container: srun-docker mounted read-only under two
 * names (the server, and `ssh` first on the PATH), the variables that send Open MPI,
 * MPICH/Hydra, pdsh, Horovod and DeepSpeed to it, and the agent's config file (the node list,
 * the job step's secret, the job environment for the commands it starts).
 *
 * srun-docker is either the single executable (Node inside) or the .cjs bundle with the Node
 * that runs it (the npm package). The bundle goes in as three read-only files: that Node
 * binary, the bundle, and a two-line launcher (`#!` that Node, then `require` the bundle)
 * under both names, so the image needs no Node of its own and none on its PATH is shadowed.
 * Either way the agent needs the image's glibc and libstdc++ (`srun-docker doctor` runs it there).
 */

import { UserError } from "../common/index.js";
import type { Mount } from "../engine/index.js";
import { AGENT_CONFIG_VARIABLE, AGENT_CONFIG_VERSION, type AgentConfig } from "./agent-config.js";

/** Where the agent lives inside every container; not under /run/srun-docker (the switch dir's mount). */
export const AGENT_BIN_DIR = "/opt/srun-docker/bin";
export const AGENT_SERVER_PATH = `${AGENT_BIN_DIR}/srun-docker`;
export const AGENT_SSH_PATH = `${AGENT_BIN_DIR}/ssh`;
/** Where the bundle and its Node go, off the PATH: `node` there would shadow the image's own. */
export const AGENT_LIB_DIR = "/opt/srun-docker/lib";
export const AGENT_NODE_PATH = `${AGENT_LIB_DIR}/node`;
export const AGENT_BUNDLE_PATH = `${AGENT_LIB_DIR}/srun-docker.cjs`;
/** The launcher's name in the job dir (a job file, see agentJobFiles). */
export const AGENT_LAUNCHER_FILE = "agent-launcher";

/** What runs as the agent: the single executable, or the .cjs bundle with the Node running it. */
export type AgentProgram =
  | { readonly kind: "executable"; readonly path: string }
  | { readonly kind: "bundle"; readonly node: string; readonly bundle: string };

/** Debian's default PATH, for an image that sets none. */
export const DEFAULT_IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The bundle's launcher: the kernel runs the mounted Node on it, and Node strips the `#!` line.
 * Its name (`ssh` or `srun-docker`) stays argv[1], which main.ts tells the client by.
 */
export function renderAgentLauncher(): string {
  return `#!${AGENT_NODE_PATH}\nrequire(${JSON.stringify(AGENT_BUNDLE_PATH)});\n`;
}

/** The files the job dir gets for the agent program: the bundle's launcher, nothing for the executable. */
export function agentJobFiles(program: AgentProgram): Record<string, { content: string; mode: number }> {
  return program.kind === "bundle" ? { [AGENT_LAUNCHER_FILE]: { content: renderAgentLauncher(), mode: 0o755 } } : {};
}

/** `launcher` is where the job dir's AGENT_LAUNCHER_FILE is on the host (bundle only). */
/** The file the container runs srun-docker by: the single executable, or the bundle's launcher (`launcher`, on the host). */
export function agentEntry(program: AgentProgram, launcher: string): string {
  return program.kind === "executable" ? program.path : launcher;
}

export function agentMounts(program: AgentProgram, launcher: string): Mount[] {
  // The same file as the server and as `ssh`: it tells from the name it was started by that it is the client.
  const entry = agentEntry(program, launcher);
  const asBoth: Mount[] = [
    { source: entry, target: AGENT_SERVER_PATH, readOnly: true },
    { source: entry, target: AGENT_SSH_PATH, readOnly: true },
  ];
  if (program.kind === "executable") return asBoth;
  return [
    ...asBoth,
    { source: program.node, target: AGENT_NODE_PATH, readOnly: true },
    { source: program.bundle, target: AGENT_BUNDLE_PATH, readOnly: true },
  ];
}

/**
 * The container's environment in agent mode. Inside a Slurm job Open MPI would pick its slurm
 * launcher (srun inside the container): `OMPI_MCA_plm=rsh` keeps it on the agent. The image's
 * own PATH stays, after the agent's directory.
 */
export function agentContainerEnv(imagePath: string | undefined, configPath: string): Record<string, string> {
  return {
    PATH: `${AGENT_BIN_DIR}:${imagePath || DEFAULT_IMAGE_PATH}`,
    OMPI_MCA_plm: "rsh",
    OMPI_MCA_plm_rsh_agent: AGENT_SSH_PATH,
    PRTE_MCA_plm_ssh_agent: AGENT_SSH_PATH,
    HYDRA_LAUNCHER: "rsh",
    HYDRA_LAUNCHER_EXEC: AGENT_SSH_PATH,
    [AGENT_CONFIG_VARIABLE]: configPath,
  };
}

export interface AgentConfigInput {
  readonly jobKey: string;
  readonly user: string;
  readonly home: string;
  readonly node: string;
  /** Every node of the job. */
  readonly nodes: readonly string[];
  /** The ports every node's agent tries, in order (core/ports/port-candidates.ts). */
  readonly ports: readonly number[];
  /** Where this node's agent reports the port it holds (the switch dir, core/engine/dead-man-switch.ts). */
  readonly portFile: string;
  /** The job step's secret, which the agents' handshakes are keyed with. */
  readonly secret: Buffer;
  /** The job environment of this node (hostlist, np, NODE_RANK, ...) plus the container's agent env. */
  readonly env: Readonly<Record<string, string>>;
}

/** The agent's config file (core/agent/agent-config.ts reads it back): every node's agent is at NAME, on one of the ports. */
export function renderAgentConfig(input: AgentConfigInput): string {
  const config: AgentConfig = {
    v: AGENT_CONFIG_VERSION,
    jobKey: input.jobKey,
    user: input.user,
    node: input.node,
    secret: input.secret.toString("hex"),
    nodes: input.nodes.map((node) => ({ name: node, address: node })),
    ports: [...input.ports],
    portFile: input.portFile,
    // What sshd would give a session: the user's own names, then the job's variables.
    env: { USER: input.user, LOGNAME: input.user, HOME: input.home, ...input.env },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** The agent is this srun-docker itself; undefined only when it runs from neither (a test runner, `tsx`). */
export function requireAgentProgram(program: AgentProgram | undefined): AgentProgram {
  if (program !== undefined) return program;
  throw new UserError(
    "agent-binary",
    "`--remote=agent` mounts srun-docker into the containers, and this srun-docker is neither the single executable nor the .cjs bundle",
    { hint: "run dist/srun-docker or dist/srun-docker.cjs; or use --remote=sshd with an image that has sshd" },
  );
}
