// One node's part of a run, before anything starts: the container's name, labels, files
// and exact argv. Writes only this job's private files; starts nothing.
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import path from "node:path";
import type { RunOptions } from "../../cli/options.js";
import {
  buildDockerExecArgs,
  buildDockerRunArgs,
  buildMainCommand,
  type ContainerPlan,
} from "../../core/docker-args.js";
import { isErrno, usageError } from "../../core/errors.js";
import type { GpuPlan } from "../../core/gpus.js";
import { buildJobEnv, renderHostfile } from "../../core/job-env.js";
import { buildContainerName, buildLabels } from "../../core/names.js";
import type { JobPorts } from "../../core/ports.js";
import type { JobContext } from "../../core/slurm-context.js";
import {
  renderGroup,
  renderJobAuthorizedKeys,
  renderKnownHosts,
  renderPasswd,
  renderSshClientConfig,
  renderSshdConfig,
} from "../../core/ssh-config.js";
import type { ImageFiles } from "../../io/container-runtime.js";
import type { Identity } from "../../io/identity.js";
import { type JobFile, jobDirPath, writeJobFiles } from "../../io/job-files.js";
import type { UserMaterial } from "../../io/ssh-material.js";
import { VERSION } from "../../version.js";

export interface NodePlan {
  containerName: string;
  jobDir: string;
  runArgs: string[];
  /** `exec` argv that runs the job script in this node's container. */
  execArgs: string[];
  /** Files to write into jobDir before the container starts. */
  files: Record<string, JobFile>;
  /** The sshd the container runs (ssh launcher), for the readiness check. */
  sshdPort: number | undefined;
  /** The dead man's switch's directory (lifeline FIFO), mounted into the container. */
  switchDir: string;
}

export interface NodePlanInput {
  options: RunOptions;
  ctx: JobContext;
  identity: Identity;
  material: Pick<UserMaterial, "jobsDir" | "hostKeyPath" | "hostPublicKey" | "clientKeyPath">;
  /** The generated client public key: the only key the job's sshd accepts. */
  clientPublicKey: string;
  ports: JobPorts;
  gpus: GpuPlan;
  imageFiles: ImageFiles;
  scriptPath: string;
  cwd: string;
  callerEnv: NodeJS.ProcessEnv;
}

/** Pure: everything one node will do, as argv and file contents. `--dry-run` prints it. */
export function planNode(input: NodePlanInput): NodePlan {
  const { options, ctx, identity, material, ports } = input;
  const jobKey = `${ctx.jobId}.${ctx.stepId}`;
  const jobDir = jobDirPath(material.jobsDir, jobKey, ctx.nodeName);
  const file = (name: string) => path.join(jobDir, name);
  const legacy = options.sshconfigdir;
  const ssh = options.launcher === "ssh";
  const env = buildJobEnv({
    nodes: ctx.nodes,
    rank: ctx.rank,
    slotsPerNode: input.gpus.slots,
    masterPort: ports.masterPort,
    hostfilePath: file("hostfile"),
    jobId: ctx.jobId,
    envlist: options.envlist,
    callerEnv: input.callerEnv,
    // `ssh -F` so that a user's own ~/.ssh/config (e.g. the reference's Port block) cannot
    // override the generated one for mpirun.
    sshCommand: ssh && legacy === undefined ? `ssh -F ${file("ssh_config")}` : undefined,
  });
  const files: Record<string, JobFile> = {
    passwd: {
      content: renderPasswd({ imagePasswd: input.imageFiles.passwd, userEntry: identity.passwdLine }),
      mode: 0o644,
    },
    group: {
      content: renderGroup({ imageGroup: input.imageFiles.group, userGroups: identity.groupLines }),
      mode: 0o644,
    },
    hostfile: { content: renderHostfile(ctx.nodes, input.gpus.slots), mode: 0o644 },
  };
  if (ssh && legacy === undefined) {
    files.sshd_config = {
      content: renderSshdConfig({
        port: ports.sshdPort,
        hostKeyPath: material.hostKeyPath,
        authorizedKeysPath: file("authorized_keys"),
        user: identity.user,
        pidFile: file("sshd.pid"),
        permitUserEnvironment: true,
      }),
      mode: 0o600,
    };
    files.authorized_keys = { content: renderJobAuthorizedKeys(input.clientPublicKey, env), mode: 0o600 };
    files.known_hosts = { content: renderKnownHosts(ctx.nodes, ports.sshdPort, material.hostPublicKey), mode: 0o644 };
    files.ssh_config = {
      content: renderSshClientConfig({
        nodes: ctx.nodes,
        port: ports.sshdPort,
        user: identity.user,
        identityFile: material.clientKeyPath,
        knownHostsFile: file("known_hosts"),
      }),
      mode: 0o644,
    };
  }
  const sshdConfigPath = legacy === undefined ? file("sshd_config") : path.join(legacy, "sshd_config");
  const plan: ContainerPlan = {
    runtime: options.runtime,
    name: buildContainerName({
      dockname: options.dockname,
      user: identity.user,
      jobId: ctx.jobId,
      stepId: ctx.stepId,
      node: ctx.nodeName,
    }),
    labels: buildLabels({
      version: VERSION,
      jobId: ctx.jobId,
      stepId: ctx.stepId,
      node: ctx.nodeName,
      uid: identity.uid,
      user: identity.user,
    }),
    image: options.container,
    user: { uid: identity.uid, gid: identity.gid, name: identity.user, home: identity.home, groups: identity.groups },
    passwdFile: file("passwd"),
    groupFile: file("group"),
    sshClientConfig: ssh && legacy === undefined ? file("ssh_config") : undefined,
    workdir: input.cwd,
    network: "host",
    gpus: { deviceIds: input.gpus.deviceIds, runtime: options.gpuRuntime },
    privileged: options.privileged,
    ibdevices: options.ibdevices,
    datamnts: options.datamnts,
    envNames: options.envlist,
    env: visibleDevicesEnv(input.gpus, options.gpuRuntime),
    shmSize: options.shmSize,
    memlock: options.memlock,
    dockopts: options.dockopts,
    command: buildMainCommand(options.launcher, ssh ? { port: ports.sshdPort, configPath: sshdConfigPath } : undefined),
    detach: true,
    switchDir: file("switch"),
  };
  return {
    containerName: plan.name,
    jobDir,
    runArgs: buildDockerRunArgs(plan),
    execArgs: buildDockerExecArgs({
      name: plan.name,
      user: { uid: identity.uid, gid: identity.gid },
      workdir: input.cwd,
      env,
      command: [input.scriptPath, ...options.scriptArgs],
    }),
    files,
    sshdPort: ssh ? ports.sshdPort : undefined,
    switchDir: file("switch"),
  };
}

/**
 * With docker's `--gpus` the hook sees the devices, but `docker exec` (the job script) would
 * not: say which GPUs the container got, as the reference and nvidia-docker2 do. The nvidia
 * runtime path sets it already.
 */
function visibleDevicesEnv(gpus: GpuPlan, runtime: RunOptions["gpuRuntime"]): Record<string, string> {
  const { deviceIds } = gpus;
  if (runtime !== "docker" || (deviceIds !== "all" && deviceIds.length === 0)) return {};
  return { NVIDIA_VISIBLE_DEVICES: deviceIds === "all" ? "all" : deviceIds.join(",") };
}

/** The script must exist and be executable where it runs (inside a mounted path). */
export async function resolveScript(script: string, cwd: string): Promise<string> {
  const full = path.resolve(cwd, script);
  try {
    await access(full, constants.X_OK);
  } catch (error) {
    const missing = isErrno(error, "ENOENT");
    throw usageError(
      `\`--script\` ${script}: ${missing ? "no such file" : "not executable"} (${full})`,
      missing ? "give the path of your job script, relative to the current directory" : `run \`chmod +x ${script}\``,
    );
  }
  return full;
}

export async function writeNodeFiles(plan: NodePlan): Promise<void> {
  await writeJobFiles(plan.jobDir, plan.files);
}
