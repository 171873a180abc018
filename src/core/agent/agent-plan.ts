/**
 * What `--remote=agent` adds to a node's container: srun-docker's single executable mounted
 * read-only under two names (the server, and `ssh` first on the PATH), the variables that send
 * Open MPI, MPICH/Hydra, pdsh, Horovod and DeepSpeed to it, and the agent's config file (the
 * node list, the job step's secret, the job environment for the commands it starts).
 */

import { UserError } from "../common/index.js";
import type { Mount } from "../engine/index.js";
import { AGENT_CONFIG_VARIABLE, AGENT_CONFIG_VERSION, type AgentConfig } from "./agent-config.js";

/** Where the agent lives inside every container; not under /run/srun-docker (the switch dir's mount). */
export const AGENT_BIN_DIR = "/opt/srun-docker/bin";
export const AGENT_SERVER_PATH = `${AGENT_BIN_DIR}/srun-docker`;
export const AGENT_SSH_PATH = `${AGENT_BIN_DIR}/ssh`;

/** Debian's default PATH, for an image that sets none. */
export const DEFAULT_IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export function agentMounts(binary: string): Mount[] {
  return [
    { source: binary, target: AGENT_SERVER_PATH, readOnly: true },
    // The same file as `ssh`: it tells from the name it was started by that it is the client.
    { source: binary, target: AGENT_SSH_PATH, readOnly: true },
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

/**
 * The agent is srun-docker's single executable (Node inside, so the image needs none); the .cjs
 * bundle needs a node that images do not have.
 */
export function requireAgentBinary(binary: string | undefined): string {
  if (binary !== undefined) return binary;
  throw new UserError(
    "agent-binary",
    "`--remote=agent` mounts srun-docker's single executable into the containers, and this srun-docker is the .cjs bundle",
    {
      hint: "run the single executable (dist/srun-docker) instead, or keep it beside srun-docker.cjs; or use --remote=sshd with an image that has sshd",
    },
  );
}
