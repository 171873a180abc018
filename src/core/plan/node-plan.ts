// One node's part of a run, before anything starts: its ports, GPUs, container name, labels,
// files and exact argv, from facts the caller gathered. The run and `--dry-run` both plan
// through planNode, so a dry run prints what the run would do (ARCHITECTURE.md, "One job").
import { join as joinPath } from "node:path";
import { VERSION } from "../../version.js";
import {
  AGENT_BIN_DIR,
  AGENT_LAUNCHER_FILE,
  AGENT_SERVER_PATH,
  agentContainerEnv,
  agentEntry,
  agentJobFiles,
  agentMounts,
  renderAgentConfig,
  requireAgentProgram,
} from "../agent/index.js";
import {
  buildContainerName,
  buildDockerExecArgs,
  buildDockerRunArgs,
  buildLabels,
  buildMainCommand,
  type ContainerPlan,
  type ContainerShape,
  DEFAULT_SHAPE,
  type ExecPlan,
  type MainProcess,
  REMOTE_PORT_FILE,
  recordingScriptPid,
  resolveShapeMounts,
  SWITCH_MOUNT,
} from "../engine/index.js";
import { namedContainerStep, namedLabels } from "../job-container/index.js";
import {
  type ContainerLimits,
  type GpuPlan,
  limitArgs,
  logLimitArgs,
  planNodeLimits,
  resolveGpus,
  visibleDevicesEnv,
} from "../limits/index.js";
import type { JobPorts } from "../ports/index.js";
import {
  envlistWarnings,
  jobDirPath,
  jobStepKey,
  passedSlurmNames,
  pickEnv,
  planJobEnv,
  renderHostfile,
} from "../slurm/index.js";
import { SLURM_RELAY_SOCKET, SLURM_RELAY_VARIABLE, slurmCommandMounts } from "../slurm-relay/index.js";
import { renderGroup, renderPasswd } from "../ssh/index.js";
import type { NodePlanInput, NodePlanOptions, PlanIdentity } from "./node-plan-input.js";
import type { PlannedFile } from "./planned-file.js";
import { planSshdFiles } from "./sshd-files.js";
import { pmixMounts } from "./task-context.js";

/** The server in every container that remote commands (ssh, mpirun, pdsh) reach, and its ports. */
export interface RemoteService {
  readonly kind: "agent" | "sshd";
  /**
   * The ports it tries, in order: it listens on the first it can bind and says which in the
   * switch dir (core/engine/dead-man-switch.ts).
   */
  readonly ports: readonly number[];
  /**
   * Whether the script waits until every node's server answers: sshd yes (OpenSSH gives up on a
   * refused connect); the agent no, as our ssh tries again (io/agent/agent-connect.ts) and its start
   * (a Node program, 0.05-0.15 s) was the longest step between `docker run` and the script.
   */
  readonly awaitedBeforeJob: boolean;
}

export type { PlannedFile };

export interface NodePlan {
  readonly containerName: string;
  readonly jobDir: string;
  readonly runArgs: string[];
  /** The exec that runs the job script in this node's container (the Engine API's or the CLI's). */
  readonly exec: ExecPlan;
  /** The same as the CLI's `exec` argv (`--dry-run`, `--debug`). */
  readonly execArgs: string[];
  /** Files to write into jobDir before the container starts. */
  readonly files: Readonly<Record<string, PlannedFile>>;
  /** What answers `ssh` in the container (the agent, or sshd for the ssh launcher), for the readiness checks. */
  readonly remote: RemoteService | undefined;
  /** The dead man's switch's directory (lifeline FIFO), mounted into the container. */
  readonly switchDir: string;
  /**
   * Where this node's srun-docker serves the Slurm relay (core/slurm-relay/), in the job dir;
   * with the agent only, whose single executable in the container is the relay's client.
   */
  readonly slurmRelay: string | undefined;
  readonly ports: JobPorts;
  /** The GPUs the container gets and the slots (ranks) this node runs. */
  readonly gpus: GpuPlan;
  /** What the container may use, from the allocation (`--limits`), and where each came from. */
  readonly limits: ContainerLimits;
  /** What the user should hear before the job runs (GPU findings, unset `--envlist` names). */
  readonly warnings: readonly string[];
}

/**
 * What answers `ssh` in this node's container, from the options alone (its port is chosen
 * before the plan): the agent for every launcher but srun in agent mode (scripts of the each
 * launcher may call ssh too); sshd for the ssh launcher in sshd mode; nothing otherwise.
 */
export function remoteKindOf(options: Pick<NodePlanOptions, "remote" | "launcher">): RemoteService["kind"] | undefined {
  if (options.remote === "agent") return options.launcher === "srun" ? undefined : "agent";
  return options.launcher === "ssh" ? "sshd" : undefined;
}

/** The job step's context, or for a named container the job's, with `name-NAME` as its step. */
function keyedContext(input: NodePlanInput): NodePlanInput["ctx"] {
  const { ctx, named } = input;
  return named === undefined ? ctx : { ...ctx, stepId: namedContainerStep(named.name) };
}

export function planNode(input: NodePlanInput): NodePlan {
  const { options, identity, material, keys, ports } = input;
  const ctx = keyedContext(input);
  const shape = options.shape ?? DEFAULT_SHAPE;
  const workdir = shape.workdir ?? input.cwd;
  const gpus = resolveGpus(
    { mode: options.gpus, privileged: options.privileged, slotsPerNode: options.slotsPerNode },
    input.env,
    input.nvidiaSmiGpus,
  );
  const { limits, warning: limitsWarning } = planNodeLimits(options, identity.uid, input.env, input.cpus);
  const jobDir = jobDirPath(material.jobsDir, jobStepKey(ctx), ctx.nodeName);
  const file = (name: string) => joinPath(jobDir, name);
  const legacy = options.sshconfigdir;
  const kind = remoteKindOf(options);
  const agent = kind === "agent";
  const sshd = kind === "sshd";
  // Generated ssh files exist only for our own sshd, not the old (own sshd config dir) mode.
  const ownSsh = sshd && legacy === undefined;
  const remote: RemoteService | undefined =
    agent || sshd ? { kind: agent ? "agent" : "sshd", ports: ports.remote, awaitedBeforeJob: sshd } : undefined;
  // Every node's sshd, for this node's ssh: a node may be off the first port (the agent's clients try them all).
  const hosts = ctx.nodes.map((node) => ({ node, port: ports.remotePorts?.get(node) ?? ports.remote[0] ?? 0 }));
  // The agent's single executable in the container is the Slurm relay's client too.
  const slurmRelay = agent ? file(SLURM_RELAY_SOCKET) : undefined;
  const agentEnv =
    slurmRelay === undefined
      ? {}
      : { ...agentContainerEnv(input.imagePath, file("agent.json")), [SLURM_RELAY_VARIABLE]: slurmRelay };
  const jobEnv = planJobEnv({
    nodes: ctx.nodes,
    rank: ctx.rank,
    slotsPerNode: gpus.slots,
    masterPort: ports.masterPort,
    hostfilePath: file("hostfile"),
    jobId: ctx.jobId,
    envlist: options.envlist,
    callerEnv: input.env,
    // `ssh -F`: a user's own ~/.ssh/config (the reference's Port block) cannot override ours.
    sshCommand: ownSsh ? `ssh -F ${file("ssh_config")}` : undefined,
  });
  // The job's own Slurm variables: by name to the exec, by value in the user's private files.
  const slurmNames = passedSlurmNames(input.env, jobEnv.all);
  const remoteEnv = { ...pickEnv(input.env, slurmNames), ...jobEnv.all };
  const files: Record<string, PlannedFile> = {
    passwd: {
      content: renderPasswd({ imagePasswd: input.imageAccounts.passwd, userEntry: identity.passwdLine }),
      mode: 0o644,
      boundAsFile: true,
    },
    group: {
      content: renderGroup({ imageGroup: input.imageAccounts.group, userGroups: identity.groupLines }),
      mode: 0o644,
      boundAsFile: true,
    },
    hostfile: { content: renderHostfile(ctx.nodes, gpus.slots), mode: 0o644 },
  };
  if (ownSsh) {
    Object.assign(
      files,
      planSshdFiles({
        user: identity.user,
        hosts,
        keys,
        env: remoteEnv,
        file,
      }),
    );
  }
  const agentProgram = agent ? requireAgentProgram(input.agentProgram) : undefined;
  if (agentProgram) {
    Object.assign(files, agentJobFiles(agentProgram));
    files["agent.json"] = {
      content: renderAgentConfig({
        jobKey: jobStepKey(ctx),
        // The agent's commands run as the container's user: root with --container-remap-root.
        ...(shape.remapRoot ? { user: "root", home: "/root" } : { user: identity.user, home: identity.home }),
        node: ctx.nodeName,
        nodes: ctx.nodes,
        ports: ports.remote,
        portFile: `${SWITCH_MOUNT}/${REMOTE_PORT_FILE}`,
        secret: keys.secret,
        env: { ...remoteEnv, ...agentEnv },
      }),
      mode: 0o600,
    };
  }
  const sshdConfigPath = legacy === undefined ? file("sshd_config") : joinPath(legacy, "sshd_config");
  const main: MainProcess = agent
    ? { kind: "agent", serverPath: AGENT_SERVER_PATH }
    : sshd
      ? { kind: "sshd", ports: ports.remote, configPath: sshdConfigPath }
      : { kind: "none" };
  // This run of the job step on this node (a requeued job's runs are named apart).
  const run = { jobId: ctx.jobId, stepId: ctx.stepId, restartCount: ctx.restartCount, node: ctx.nodeName };
  const container: ContainerPlan = {
    runtime: options.runtime,
    name: buildContainerName({ dockname: options.dockname, user: identity.user, ...run }),
    labels: {
      ...buildLabels({ version: VERSION, ...run, uid: identity.uid, user: identity.user }),
      ...(input.named === undefined ? {} : namedLabels(input.named.name, input.named.image, gpus.deviceIds)),
    },
    image: options.container,
    user: { uid: identity.uid, gid: identity.gid, name: identity.user, home: identity.home, groups: identity.groups },
    passwdFile: file("passwd"),
    groupFile: file("group"),
    sshClientConfig: ownSsh ? file("ssh_config") : undefined,
    workdir,
    network: "host",
    gpus: { deviceIds: gpus.deviceIds, runtime: options.gpuRuntime },
    privileged: options.privileged,
    ibdevices: options.ibdevices,
    datamnts: options.datamnts,
    masks: [material.dir], // every job's keys are there: the container sees only its job dir
    mounts: [
      { source: jobDir, target: jobDir },
      ...(agentProgram ? agentMounts(agentProgram, file(AGENT_LAUNCHER_FILE)) : []),
      ...(agentProgram ? slurmCommandMounts(agentEntry(agentProgram, file(AGENT_LAUNCHER_FILE)), AGENT_BIN_DIR) : []),
      ...(options.launcher === "srun" ? pmixMounts(input.env, input.named !== undefined) : []),
    ],
    envNames: options.envlist,
    env: { ...visibleDevicesEnv(gpus, options.gpuRuntime), ...agentEnv },
    shmSize: options.shmSize,
    memlock: options.memlock,
    limits: [...limitArgs(limits, options.dockopts), ...logLimitArgs(options.runtime, options.dockopts)],
    dockopts: options.dockopts,
    command: buildMainCommand(main),
    detach: true,
    switchDir: file("switch"),
    shape: resolveShapeMounts(shape, input.cwd),
  };
  const exec: ExecPlan = {
    name: container.name,
    user: execUser(shape, identity),
    workdir,
    env: jobEnv.values,
    envNames: [...slurmNames, ...jobEnv.names],
    command: recordingScriptPid(
      withEntrypoint(shape, input.imageEntrypoint, [input.scriptPath, ...options.scriptArgs]),
    ),
  };
  return {
    containerName: container.name,
    jobDir,
    runArgs: buildDockerRunArgs(container),
    exec,
    execArgs: buildDockerExecArgs(exec),
    files,
    remote,
    switchDir: file("switch"),
    slurmRelay,
    ports,
    gpus,
    limits,
    warnings: [
      ...gpus.warnings,
      ...envlistWarnings(options.envlist, input.env),
      ...(limitsWarning === undefined ? [] : [limitsWarning]),
    ],
  };
}

/** Who the job's commands run as: the caller, or root with `--container-remap-root`. */
export function execUser(
  shape: ContainerShape,
  identity: Pick<PlanIdentity, "uid" | "gid">,
): { uid: number; gid: number } {
  return shape.remapRoot ? { uid: 0, gid: 0 } : { uid: identity.uid, gid: identity.gid };
}

/**
 * `--container-entrypoint`: the command as the image's entrypoint's arguments, as `docker run`
 * would give them; the container's own first process stays the dead man's switch.
 */
export function withEntrypoint(
  shape: ContainerShape,
  entrypoint: readonly string[] | undefined,
  command: readonly string[],
): string[] {
  return shape.entrypoint ? [...(entrypoint ?? []), ...command] : [...command];
}
