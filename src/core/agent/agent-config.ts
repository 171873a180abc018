/**
 * What the integration tells the agent on each node, in one JSON file named by the environment
 * variable SRUN_DOCKER_AGENT_CONFIG: the job step, its user, this node, every node's address, the
 * ports every node's agent tries in order (the first it can bind is its own, so a client tries
 * them in the same order), the job step's secret, and (for the server) the node's job environment
 * and where it reports the port it holds. Both the
 * server (`srun-docker agent-server`) and every client (`ssh`, `srun-docker agent-ssh`) of a
 * container read the same file. Pure: io/agent/agent-config-file.ts reads it.
 */

import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";
import type { AgentNode } from "../ssh/index.js";

export const AGENT_CONFIG_VARIABLE = "SRUN_DOCKER_AGENT_CONFIG";
/**
 * 3: the ports every agent tries, no port per node. 2: the job step's own secret inline (1
 * named a file: the user's secret, for every job).
 */
export const AGENT_CONFIG_VERSION = 3;

const nonEmpty = z.string().check(z.minLength(1));

const agentNode = z.strictObject({
  name: z.string().check(z.regex(/^[^|\s\p{Cc}]{1,255}$/u)),
  address: nonEmpty,
});

const port = z.int().check(z.minimum(1), z.maximum(65_535));

const agentConfig = z.strictObject({
  v: z.literal(AGENT_CONFIG_VERSION),
  jobKey: nonEmpty,
  user: nonEmpty,
  /** This node's name (a name in `nodes`): the server answers to it. */
  node: nonEmpty,
  /**
   * The job step's secret (io/channel/key.ts deriveJobSecret), hex: the file is the
   * user's only (0600, in the 0700 job dir), as the key would be in a file of its own.
   */
  secret: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  nodes: z.array(agentNode).check(z.minLength(1)),
  /** Every node's agent listens on the first of these it can bind; its clients try them in order. */
  ports: z.array(port).check(z.minLength(1), z.maxLength(64)),
  /** Where the server writes the port it holds, once it listens (core/engine/dead-man-switch.ts). */
  portFile: z.optional(nonEmpty),
  /** The node's job environment for the commands the server starts. */
  env: z._default(z.record(z.string(), z.string()), {}),
  /** The address the server listens on; default every address. */
  listenHost: z.optional(nonEmpty),
});

export type AgentConfig = z.infer<typeof agentConfig>;

export type AgentConfigResult = { ok: true; config: AgentConfig; self: AgentNode } | { ok: false; error: string };

/** The config in `text` (from `file`, for messages), checked; `self` is this node's entry. */
export function parseAgentConfig(file: string, text: string): AgentConfigResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `${file} is not JSON: ${(error as Error).message}` };
  }
  const result = agentConfig.safeParse(value);
  if (!result.success) {
    // zod/mini carries no messages by default (that keeps every start of srun-docker small);
    // a broken config is rare enough to load the English ones for it.
    z.config(en());
    return { ok: false, error: `${file} is not a valid agent config:\n${z.prettifyError(result.error)}` };
  }
  const self = result.data.nodes.find((node) => node.name === result.data.node);
  if (self === undefined) return { ok: false, error: `${file}: node \`${result.data.node}\` is not in its nodes` };
  return { ok: true, config: result.data, self };
}
