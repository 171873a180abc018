/**
 * The agent's two entry points inside a job's container, both configured by the file that
 * SRUN_DOCKER_AGENT_CONFIG names (core/agent/agent-config.ts):
 *   `srun-docker agent-server`: the container's main process; serves until SIGTERM/SIGINT/SIGHUP,
 *     then kills what its sessions started and exits 0.
 *   `ssh ...` (this binary under the name ssh) or `srun-docker agent-ssh ...`: the client.
 * Hidden from --help: users never type them; the integration mounts and starts them.
 */
import { loadAgentConfig } from "../io/agent/index.js";

/** ssh's exit code when the connection cannot be made. */
const EXIT_SSH_FAILURE = 255;

export async function runAgentSsh(argv: readonly string[]): Promise<number> {
  const loaded = await loadAgentConfig(process.env);
  if (!loaded.ok) {
    process.stderr.write(`srun-docker ssh: ${loaded.error}\n`);
    return EXIT_SSH_FAILURE;
  }
  const { runAgentClient } = await import("../io/agent/index.js");
  const { config, secret } = loaded;
  return runAgentClient(argv, {
    nodes: config.nodes,
    ports: config.ports,
    secret,
    user: config.user,
    jobKey: config.jobKey,
  });
}

export async function runAgentServerCommand(): Promise<number> {
  const loaded = await loadAgentConfig(process.env);
  if (!loaded.ok) {
    process.stderr.write(`srun-docker agent-server: error: ${loaded.error}\n`);
    return 1;
  }
  const [{ runAgentServer }, { onTerminationSignals }] = await Promise.all([
    import("../io/agent/index.js"),
    import("../io/process/index.js"),
  ]);
  const { config, self, secret } = loaded;
  const say = (line: string) => process.stderr.write(`[${self.name} agent] ${line}\n`);
  let server: Awaited<ReturnType<typeof runAgentServer>>;
  try {
    server = await runAgentServer({
      node: self.name,
      jobKey: config.jobKey,
      secret,
      ports: config.ports,
      ...(config.listenHost === undefined ? {} : { host: config.listenHost }),
      ...(config.portFile === undefined ? {} : { portFile: config.portFile }),
      env: config.env,
    });
  } catch (error) {
    // Its last line is what the node's srun-docker shows (every port taken, most likely).
    say(`error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const place = config.ports.indexOf(server.port);
  say(
    `listening on port ${server.port}${place > 0 ? ` (port ${place + 1} of ${config.ports.length}: the ones before are taken)` : ""}`,
  );
  await new Promise<void>((resolve) => {
    onTerminationSignals(() => resolve());
  });
  await server.close();
  return 0;
}
