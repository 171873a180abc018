// `srun-docker asuser`: one container as the calling user (run_dock_asuser.sh's job).
//   default          interactive: start it, exec a bash in it, then remove it (--keepalive keeps it)
//   --daemon         start it detached and print its name
//   --noninteractive run --dockcmd in a throw-away container, passing its exit code through
import { hostname } from "node:os";
import path from "node:path";
import type { AsuserOptions } from "../cli/subcommand-options.js";
import { buildJobHolderScript } from "../core/dead-man-switch.js";
import { buildDockerExecArgs, buildDockerRunArgs, type ContainerPlan } from "../core/docker-args.js";
import { UserError } from "../core/errors.js";
import { resolveGpus } from "../core/gpus.js";
import { buildLabels, sanitizeContainerName } from "../core/names.js";
import { renderGroup, renderPasswd } from "../core/ssh-config.js";
import { ContainerRuntime } from "../io/container-runtime.js";
import { runCommand, spawnInherit } from "../io/exec.js";
import { readIdentity } from "../io/identity.js";
import { writeJobFiles } from "../io/job-files.js";
import { holdLifeline } from "../io/lifeline.js";
import { exitCodeOf } from "../io/signals.js";
import { defaultMaterialDir } from "../io/ssh-material.js";
import { VERSION } from "../version.js";

const KEEPALIVE = ["sleep", "infinity"];

export async function runAsuser(options: AsuserOptions, env = process.env, cwd = process.cwd()): Promise<number> {
  if (options.gpuRuntime === "nvidia-docker1") {
    throw new UserError("nvdock1", "`--nvdock1` (the nvidia-docker 1.0 wrapper) is no longer supported by NVIDIA", {
      hint: "use --nvdock2 (nvidia-docker2) or the default --gpus (NVIDIA Container Toolkit)",
      exitCode: 2,
    });
  }
  const runtime = new ContainerRuntime(options.runtime, hostname());
  const identity = await readIdentity();
  const name = sanitizeContainerName(options.dockname ?? `${identity.user}_dock`);
  const imageId = await runtime.inspectImage(options.container);
  const material = defaultMaterialDir();
  const dir = path.join(material, "asuser", name);
  let passwdFile: string | undefined;
  let groupFile: string | undefined;
  if (!options.userdefault) {
    const image = await runtime.readImageFiles(options.container, imageId, path.join(material, "cache"));
    const files = await writeJobFiles(dir, {
      passwd: { content: renderPasswd({ imagePasswd: image.passwd, userEntry: identity.passwdLine }), mode: 0o644 },
      group: { content: renderGroup({ imageGroup: image.group, userGroups: identity.groupLines }), mode: 0o644 },
    });
    passwdFile = files.passwd;
    groupFile = files.group;
  }
  const gpus = resolveGpus({ mode: options.gpus, privileged: options.privileged, slotsPerNode: undefined }, env);
  const mounts = options.dockindock ? [{ source: "/var/run/docker.sock", target: "/var/run/docker.sock" }] : [];
  const dockerGid = options.dockindock ? await groupId("docker") : undefined;
  const workdir =
    options.workdir.kind === "cwd" ? cwd : options.workdir.kind === "path" ? options.workdir.path : undefined;
  // A daemon inside a Slurm job belongs to the job: a dead man's switch ends it when the job
  // ends (core/dead-man-switch.ts), Epilog or not. The switch alone keeps it up.
  const jobId = options.mode === "daemon" ? env.SLURM_JOB_ID : undefined;
  const switchDir = jobId === undefined ? undefined : path.join(dir, "switch");
  const idle = switchDir === undefined ? KEEPALIVE : [];
  const given =
    options.mode === "noninteractive"
      ? [...options.dockcmd]
      : options.dockcmd.length > 0 && options.mode === "daemon"
        ? [...options.dockcmd]
        : idle;
  // The switch is the container's entrypoint; a user's --entrypoint then runs under it.
  const command = switchDir !== undefined && options.entrypoint !== undefined ? [options.entrypoint, ...given] : given;
  if (options.mode === "noninteractive" && command.length === 0) {
    throw new UserError("usage", "`--noninteractive` needs `--dockcmd`", {
      hint: 'e.g. --dockcmd="python train.py"',
      exitCode: 2,
    });
  }
  const plan: ContainerPlan = {
    runtime: options.runtime,
    name,
    labels: {
      ...buildLabels({
        version: VERSION,
        jobId: env.SLURM_JOB_ID ?? "asuser",
        stepId: "asuser",
        node: hostname(),
        uid: identity.uid,
        user: identity.user,
      }),
    },
    image: options.container,
    user: options.userdefault
      ? undefined
      : { uid: identity.uid, gid: identity.gid, name: identity.user, home: identity.home, groups: identity.groups },
    passwdFile,
    groupFile,
    sshClientConfig: undefined,
    workdir,
    network: options.net ?? "host",
    gpus: { deviceIds: gpus.deviceIds, runtime: options.gpuRuntime },
    privileged: options.privileged,
    ibdevices: options.ibdevices,
    datamnts: options.datamnts,
    mounts,
    extraGroups: dockerGid === undefined ? [] : [dockerGid],
    envNames: options.envlist,
    env: {},
    shmSize: options.shmSize,
    memlock: options.memlock,
    dockopts: options.dockopts,
    command,
    detach: options.mode !== "noninteractive",
    remove: options.mode === "noninteractive",
    ...(options.entrypoint === undefined || switchDir !== undefined ? {} : { entrypoint: options.entrypoint }),
    ...(switchDir === undefined ? {} : { switchDir }),
  };
  const runArgs = buildDockerRunArgs(plan);
  if (options.dryRun) {
    process.stdout.write(`${options.runtime} ${runArgs.join(" ")}\n`);
    return 0;
  }
  if (options.mode === "noninteractive") return exitCodeOf(await spawnInherit(options.runtime, runArgs).exit);
  const lifeline = switchDir === undefined ? undefined : await holdLifeline(switchDir);
  try {
    await runtime.start(runArgs);
  } catch (error) {
    lifeline?.cut();
    throw error;
  }
  if (options.mode === "daemon") {
    if (lifeline !== undefined && jobId !== undefined) lifeline.handOff(buildJobHolderScript(options.runtime), [jobId]);
    process.stdout.write(`${name}\n`);
    return 0;
  }
  const shell = ["bash", ...(options.bashinit === undefined ? [] : ["--init-file", options.bashinit])];
  const tty = process.stdin.isTTY === true;
  const exec = buildDockerExecArgs({ name, user: undefined, workdir, env: {}, command: shell, interactive: true, tty });
  try {
    return exitCodeOf(await spawnInherit(options.runtime, exec).exit);
  } finally {
    if (!options.keepalive) await runtime.remove([name]);
  }
}

async function groupId(group: string): Promise<number | undefined> {
  const r = await runCommand("getent", ["group", group]);
  const gid = Number(r.stdout.split(":")[2]);
  return r.exitCode === 0 && Number.isInteger(gid) ? gid : undefined;
}
