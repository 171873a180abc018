// `srun-docker asuser`: one container as the calling user (run_dock_asuser.sh's job).
//   default          interactive: start it, exec a bash in it, then remove it (--keepalive keeps it)
//   --daemon         start it detached and print its name
//   --noninteractive run --dockcmd in a throw-away container, passing its exit code through
import { hostname } from "node:os";
import path from "node:path";
import type { AsuserOptions } from "../cli/subcommand-options.js";
import { formatCommand, UserError } from "../core/common/index.js";
import {
  buildDockerExecArgs,
  buildDockerRunArgs,
  buildJobHolderScript,
  buildLabels,
  type ContainerPlan,
  sanitizeContainerName,
} from "../core/engine/index.js";
import { resolveGpus } from "../core/limits/index.js";
import { renderGroup, renderPasswd } from "../core/ssh/index.js";
import { ContainerRuntime } from "../io/container/index.js";
import { holdLifeline } from "../io/engine/index.js";
import { type Identity, readIdentity, writeJobFiles } from "../io/files/index.js";
import { exitCodeOf, runCommand, spawnInherit } from "../io/process/index.js";
import { defaultMaterialDir } from "../io/ssh/index.js";
import { VERSION } from "../version.js";

const KEEPALIVE = ["sleep", "infinity"];

export async function runAsuser(options: AsuserOptions, env = process.env, cwd = process.cwd()): Promise<number> {
  // Identity and the docker group come from NSS (getent, id): neither the engine nor a file.
  const identity = await readIdentity();
  const dockerGid = options.dockindock ? await groupId("docker") : undefined;
  const asuser = planAsuser(options, { identity, dockerGid, env, cwd, node: hostname() });
  // Planned before anything is inspected, written or started: the dry run touches nothing.
  if (options.dryRun) {
    process.stdout.write(renderAsuserDryRun(options, asuser, process.stdin.isTTY === true));
    return 0;
  }
  const { plan, runArgs, dir, switchDir, jobId } = asuser;
  const runtime = new ContainerRuntime(options.runtime, hostname());
  const { id: imageId } = await runtime.inspectImage(options.container);
  if (plan.user !== undefined) {
    const image = await runtime.readImageFiles(options.container, imageId, path.join(defaultMaterialDir(), "cache"));
    await writeJobFiles(dir, {
      passwd: { content: renderPasswd({ imagePasswd: image.passwd, userEntry: identity.passwdLine }), mode: 0o644 },
      group: { content: renderGroup({ imageGroup: image.group, userGroups: identity.groupLines }), mode: 0o644 },
    });
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
    process.stdout.write(`${plan.name}\n`);
    return 0;
  }
  const exec = buildShellExecArgs(options, plan, process.stdin.isTTY === true);
  try {
    return exitCodeOf(await spawnInherit(options.runtime, exec).exit);
  } finally {
    if (!options.keepalive) await runtime.remove([plan.name]);
  }
}

interface AsuserContext {
  readonly identity: Identity;
  readonly dockerGid: number | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly node: string;
}

interface AsuserPlan {
  readonly plan: ContainerPlan;
  readonly runArgs: string[];
  /** Where passwd and group are written (and the switch directory lives). */
  readonly dir: string;
  readonly switchDir: string | undefined;
  readonly jobId: string | undefined;
}

/** What the container runs: `--dockcmd`, or what keeps it up; with a dead man's switch, the switch does. */
function containerCommand(options: AsuserOptions, hasSwitch: boolean): string[] {
  const idle = hasSwitch ? [] : KEEPALIVE;
  const given =
    options.mode === "noninteractive" || (options.dockcmd.length > 0 && options.mode === "daemon")
      ? [...options.dockcmd]
      : idle;
  // The switch is the container's entrypoint; a user's --entrypoint then runs under it.
  const command = hasSwitch && options.entrypoint !== undefined ? [options.entrypoint, ...given] : given;
  if (options.mode === "noninteractive" && command.length === 0) {
    throw new UserError("usage", "`--noninteractive` needs `--dockcmd`", {
      hint: 'e.g. --dockcmd="python train.py"',
      exitCode: 2,
    });
  }
  return command;
}

/** The container as the run would start it; pure but for the paths under the user's home. */
function planAsuser(options: AsuserOptions, ctx: AsuserContext): AsuserPlan {
  if (options.gpuRuntime === "nvidia-docker1") {
    throw new UserError("nvdock1", "`--nvdock1` (the nvidia-docker 1.0 wrapper) is no longer supported by NVIDIA", {
      hint: "use --nvdock2 (nvidia-docker2) or the default --gpus (NVIDIA Container Toolkit)",
      exitCode: 2,
    });
  }
  const { identity, env } = ctx;
  const name = sanitizeContainerName(options.dockname ?? `${identity.user}_dock`);
  const materialDir = defaultMaterialDir();
  const dir = path.join(materialDir, "asuser", name);
  const gpus = resolveGpus({ mode: options.gpus, privileged: options.privileged, slotsPerNode: undefined }, env);
  const mounts = options.dockindock ? [{ source: "/var/run/docker.sock", target: "/var/run/docker.sock" }] : [];
  const workdir =
    options.workdir.kind === "cwd" ? ctx.cwd : options.workdir.kind === "path" ? options.workdir.path : undefined;
  // A daemon inside a Slurm job belongs to the job: a dead man's switch ends it when the job
  // ends (core/engine/dead-man-switch.ts), Epilog or not. The switch alone keeps it up.
  const jobId = options.mode === "daemon" ? env.SLURM_JOB_ID : undefined;
  const switchDir = jobId === undefined ? undefined : path.join(dir, "switch");
  const command = containerCommand(options, switchDir !== undefined);
  const plan: ContainerPlan = {
    runtime: options.runtime,
    name,
    labels: buildLabels({
      version: VERSION,
      jobId: env.SLURM_JOB_ID ?? "asuser",
      stepId: "asuser",
      node: ctx.node,
      uid: identity.uid,
      user: identity.user,
    }),
    image: options.container,
    user: options.userdefault
      ? undefined
      : { uid: identity.uid, gid: identity.gid, name: identity.user, home: identity.home, groups: identity.groups },
    passwdFile: options.userdefault ? undefined : path.join(dir, "passwd"),
    groupFile: options.userdefault ? undefined : path.join(dir, "group"),
    sshClientConfig: undefined,
    workdir,
    network: options.net ?? "host",
    gpus: { deviceIds: gpus.deviceIds, runtime: options.gpuRuntime },
    privileged: options.privileged,
    ibdevices: options.ibdevices,
    datamnts: options.datamnts,
    // Every job's keys live there; this container needs none of them (its passwd, group and
    // switch are mounted by themselves).
    masks: [materialDir],
    mounts,
    extraGroups: ctx.dockerGid === undefined ? [] : [ctx.dockerGid],
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
  return { plan, runArgs: buildDockerRunArgs(plan), dir, switchDir, jobId };
}

function buildShellExecArgs(options: AsuserOptions, plan: ContainerPlan, tty: boolean): string[] {
  const shell = ["bash", ...(options.bashinit === undefined ? [] : ["--init-file", options.bashinit])];
  return buildDockerExecArgs({
    name: plan.name,
    user: undefined,
    workdir: plan.workdir,
    env: {},
    command: shell,
    interactive: true,
    tty,
  });
}

/**
 * The commands the run would give the engine, shell-quoted so they can be pasted, with `#`
 * lines for what only the run can do: what the engine says about the image is not invented.
 */
function renderAsuserDryRun(options: AsuserOptions, asuser: AsuserPlan, tty: boolean): string {
  const { plan, runArgs, dir, switchDir, jobId } = asuser;
  const bin = options.runtime;
  const lines = ["# srun-docker asuser --dry-run: nothing was inspected, written or started."];
  if (plan.user === undefined) {
    lines.push("# --userdefault: the container runs as the image's own user, whom only the engine can tell.");
  } else {
    lines.push(
      `# Not yet known: the run first reads /etc/passwd and /etc/group of ${plan.image} through the engine,`,
      `# adds your entries and writes them to ${dir}/{passwd,group}, which the command below mounts`,
      "# (until a real run has written them, those paths do not exist).",
    );
  }
  if (plan.workdir === undefined) lines.push("# Working directory: the image's own.");
  if (switchDir !== undefined) {
    lines.push(`# A lifeline FIFO in ${switchDir} ends the container when job ${jobId ?? ""} ends.`);
  }
  lines.push(formatCommand([bin, ...runArgs]));
  if (options.mode === "daemon") lines.push(`# then prints ${plan.name}`);
  if (options.mode === "interactive") {
    lines.push(formatCommand([bin, ...buildShellExecArgs(options, plan, tty)]));
    if (options.keepalive) lines.push(`# --keepalive: ${plan.name} stays up after the shell.`);
    else {
      // Removal goes through Docker's Engine API from our process; the CLI line is its equivalent.
      const how = bin === "docker" ? "Engine API DELETE /containers/NAME?force=1, confirmed" : "confirmed";
      lines.push(`${formatCommand([bin, "rm", "-f", plan.name])}  # after the shell (${how})`);
    }
  }
  return `${lines.join("\n")}\n`;
}

async function groupId(group: string): Promise<number | undefined> {
  const r = await runCommand("getent", ["group", group]);
  const gid = Number(r.stdout.split(":")[2]);
  return r.exitCode === 0 && Number.isInteger(gid) ? gid : undefined;
}
