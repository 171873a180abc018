/**
 * Reads the agent's config (core/agent/agent-config.ts) from the file SRUN_DOCKER_AGENT_CONFIG names.
 * Failures are one line of text: the client prints it and exits 255, the server prints it and
 * exits 1.
 */
import { readFile } from "node:fs/promises";
import { AGENT_CONFIG_VARIABLE, type AgentConfig, parseAgentConfig } from "../../core/agent/index.js";
import type { AgentNode } from "../../core/ssh/index.js";

export type LoadedAgentConfig =
  | { ok: true; config: AgentConfig; self: AgentNode; secret: Buffer }
  | { ok: false; error: string };

export async function loadAgentConfig(env: Readonly<Record<string, string | undefined>>): Promise<LoadedAgentConfig> {
  const file = env[AGENT_CONFIG_VARIABLE];
  if (file === undefined || file === "") {
    return { ok: false, error: `${AGENT_CONFIG_VARIABLE} is not set (this runs inside a job's container only)` };
  }
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    return { ok: false, error: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
  const parsed = parseAgentConfig(file, text);
  if (!parsed.ok) return parsed;
  return { ...parsed, secret: Buffer.from(parsed.config.secret, "hex") };
}
