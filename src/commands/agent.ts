/**
 * The agent's two entry points inside a job's container, both configured by the file that
 * SRUN_DOCKER_AGENT_CONFIG names (core/agent-config.ts):
 *   `srun-docker agent-server`: the container's main process; serves until SIGTERM/SIGINT/SIGHUP,
 *     then kills what its sessions started and exits 0.
 *   `ssh ...` (this binary under the name ssh) or `srun-docker agent-ssh ...`: the client.
 * Hidden from --help: users never type them; the integration mounts and starts them.
 */
import { loadAgentConfig } from "../io/agent-config-file.js";

/** ssh's exit code when the connection cannot be made. */
const EXIT_SSH_FAILURE = 255;

export async function runAgentSsh(argv: readonly string[]): Promise<number> {
  const loaded = await loadAgentConfig(process.env);
  if (!loaded.ok) {
    process.stderr.write(`srun-docker ssh: ${loaded.error}\n`);
    return EXIT_SSH_FAILURE;
  }
  const { runAgentClient } = await import("../io/agent-client.js");
  const { config, secret } = loaded;
  return runAgentClient(argv, { nodes: config.nodes, secret, user: config.user, jobKey: config.jobKey });
}

export async function runAgentServerCommand(): Promise<number> {
  const loaded = await loadAgentConfig(process.env);
  if (!loaded.ok) {
    process.stderr.write(`srun-docker agent-server: error: ${loaded.error}\n`);
    return 1;
  }
  const [{ runAgentServer }, { onTerminationSignals }] = await Promise.all([
    import("../io/agent-server.js"),
    import("../io/signals.js"),
  ]);
  const { config, self, secret } = loaded;
  const server = await runAgentServer({
    node: self.name,
    jobKey: config.jobKey,
    secret,
    port: self.port,
    ...(config.listenHost === undefined ? {} : { host: config.listenHost }),
    env: config.env,
  });
  process.stderr.write(`[${self.name} agent] listening on port ${server.port}\n`);
  await new Promise<void>((resolve) => {
    onTerminationSignals(() => resolve());
  });
  await server.close();
  return 0;
}
