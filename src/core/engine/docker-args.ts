import type { Memlock, Runtime } from "../common/index.js";
import { type ContainerShape, DEFAULT_SHAPE, userMountArgs } from "./container-shape.js";
import { buildSwitchedCommand, SWITCH_MOUNT } from "./dead-man-switch.js";
import { buildSshdStart } from "./sshd-start.js";

/**
 * argv builders for the container engine (docker or podman). They return the arguments after
 * the binary; nothing here runs anything, so `--dry-run` prints exactly what would run.
 */

export interface UserIdentity {
  readonly uid: number;
  readonly gid: number;
  readonly name: string;
  readonly home: string;
  /** Supplementary group ids (`id -G` without the primary group). */
  readonly groups: readonly number[];
}

export interface Mount {
  readonly source: string;
  readonly target: string;
  readonly readOnly?: boolean;
}

export interface ContainerPlan {
  readonly runtime: Runtime;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly image: string;
  /** Run as this user (uid:gid, groups, home, passwd/group files); undefined = the image's user. */
  readonly user: UserIdentity | undefined;
  readonly passwdFile: string | undefined;
  readonly groupFile: string | undefined;
  /** Generated ssh client config, mounted as /etc/ssh/ssh_config (ssh launcher). */
  readonly sshClientConfig: string | undefined;
  /** Working directory; undefined = the image's. */
  readonly workdir: string | undefined;
  /** undefined = the engine's default network. */
  readonly network: string | undefined;
  readonly gpus: { readonly deviceIds: readonly string[] | "all"; readonly runtime: "docker" | "nvidia" };
  readonly privileged: boolean;
  readonly ibdevices: boolean;
  readonly datamnts: readonly string[];
  /**
   * Directories the container must not see into (the user's `~/.srun-docker`, under the home
   * mount): each gets an empty tmpfs over it. A mount into one (the job dir) still shows: the
   * engine mounts a parent before what lies in it, whatever the order on the command line.
   */
  readonly masks?: readonly string[];
  readonly mounts?: readonly Mount[];
  readonly extraGroups?: readonly number[];
  /** Names passed as `-e NAME`: the value comes from the engine CLI's environment, not argv. */
  readonly envNames: readonly string[];
  /** Explicit `-e NAME=value` settings. */
  readonly env: Readonly<Record<string, string>>;
  readonly shmSize: string;
  readonly memlock: Memlock;
  /** Resource limits as engine options (`--cpuset-cpus`, `--memory`, ...), before the user's own. */
  readonly limits?: readonly string[];
  readonly dockopts: readonly string[];
  readonly command: readonly string[];
  readonly detach: boolean;
  readonly remove?: boolean;
  readonly entrypoint?: string;
  /**
   * The node's switch directory (lifeline FIFO): the container ends and removes itself when
   * srun-docker dies (core/engine/dead-man-switch.ts). Implies `--rm` and the switch's entrypoint.
   */
  readonly switchDir?: string;
  /** Pyxis's options: mounts, home, root, a read-only image (default: DEFAULT_SHAPE). */
  readonly shape?: ContainerShape;
}

/** The reference's recommended stack size for deep-learning images. */
export const STACK_ULIMIT = 67_108_864;

export function buildDockerRunArgs(plan: ContainerPlan): string[] {
  const args = ["run"];
  if (plan.detach) args.push("-d");
  if (plan.remove || plan.switchDir !== undefined) args.push("--rm");
  // An init reaps the zombies sshd and the job leave, and passes signals on.
  args.push("--init", "--name", plan.name);
  for (const [key, value] of Object.entries(plan.labels)) args.push("--label", `${key}=${value}`);
  if (plan.network !== undefined) args.push(`--net=${plan.network}`);
  args.push(...userArgs(plan));
  if (plan.sshClientConfig !== undefined) args.push("-v", `${plan.sshClientConfig}:/etc/ssh/ssh_config:ro`);
  args.push(
    `--shm-size=${plan.shmSize}`,
    ...memlockArgs(plan.memlock, plan.runtime),
    "--ulimit",
    `stack=${STACK_ULIMIT}`,
  );
  if (plan.workdir !== undefined) args.push("-w", plan.workdir);
  args.push(...gpuArgs(plan));
  if (plan.shape?.readOnly) args.push(...readOnlyArgs(plan.runtime));
  if (plan.privileged) args.push("--privileged");
  if (plan.ibdevices) args.push("--cap-add=IPC_LOCK", "--device=/dev/infiniband");
  args.push(...mountArgs(plan));
  for (const gid of plan.extraGroups ?? []) args.push("--group-add", String(gid));
  for (const name of plan.envNames) args.push("-e", name);
  for (const [key, value] of Object.entries(plan.env)) args.push("-e", `${key}=${value}`);
  if (plan.switchDir !== undefined) args.push("-v", `${plan.switchDir}:${SWITCH_MOUNT}`);
  const { entrypoint, command } =
    plan.switchDir === undefined
      ? { entrypoint: plan.entrypoint, command: plan.command }
      : buildSwitchedCommand(plan.command);
  if (entrypoint !== undefined) args.push(`--entrypoint=${entrypoint}`);
  args.push(...(plan.limits ?? []));
  // The user's raw options come last so they can override ours (docker: last one wins).
  args.push(...plan.dockopts, plan.image, ...command);
  return args;
}

/** The mounts: `--datamnts`, the masks, srun-docker's own, then `--container-mounts`. */
function mountArgs(plan: ContainerPlan): string[] {
  const args: string[] = [];
  for (const dir of plan.datamnts) args.push("-v", `${dir}:${dir}`);
  for (const dir of plan.masks ?? []) args.push("--tmpfs", `${dir}:${maskOptions(plan)}`);
  for (const mount of plan.mounts ?? [])
    args.push("-v", `${mount.source}:${mount.target}${mount.readOnly ? ":ro" : ""}`);
  for (const mount of plan.shape?.mounts ?? []) args.push(...userMountArgs(mount));
  return args;
}

function userArgs(plan: ContainerPlan): string[] {
  const { user } = plan;
  if (user === undefined) return [];
  const shape = plan.shape ?? DEFAULT_SHAPE;
  const args = shape.remapRoot
    ? // Rootless podman's own user namespace maps its root to the caller (Pyxis's meaning);
      // Docker's root is the host's root, which the README says.
      ["-u", "0:0", "-e", "HOME=/root", "-e", "USER=root"]
    : [...callerArgs(plan.runtime, user), "-e", `HOME=${user.home}`, "-e", `USER=${user.name}`];
  if (shape.mountHome) args.push("-v", `${user.home}:${user.home}`);
  if (plan.passwdFile !== undefined) args.push("-v", `${plan.passwdFile}:/etc/passwd:ro`);
  if (plan.groupFile !== undefined) args.push("-v", `${plan.groupFile}:/etc/group:ro`);
  return args;
}

function callerArgs(runtime: Runtime, user: UserIdentity): string[] {
  // Rootless podman maps the caller's uid into the container itself; `-u` would fight it,
  // and supplementary groups cannot be mapped.
  if (runtime === "podman") return ["--userns=keep-id"];
  return ["-u", `${user.uid}:${user.gid}`, ...user.groups.flatMap((gid) => ["--group-add", String(gid)])];
}

/**
 * A read-only image still needs somewhere to write: the agent and most programs write under
 * /tmp. Podman's `--read-only` mounts tmpfs on /tmp, /var/tmp and /run itself; Docker's none.
 */
function readOnlyArgs(runtime: Runtime): string[] {
  return runtime === "podman" ? ["--read-only"] : ["--read-only", "--tmpfs", "/tmp", "--tmpfs", "/var/tmp"];
}

/**
 * A mask is a read-only tmpfs (the engine makes the mount points of the mounts into it before
 * it turns read-only). The engine gives it the mode of the directory it covers, 0700 for
 * `~/.srun-docker`, so it must be the user's for the user to reach the job dir through it.
 * Podman would copy what lies under it (the home's `~/.srun-docker`, secret and all) into it.
 */
function maskOptions(plan: ContainerPlan): string {
  const { user } = plan;
  if (plan.runtime === "podman") return user === undefined ? "ro,notmpcopyup" : "ro,notmpcopyup,U";
  return user === undefined ? "ro" : `ro,uid=${user.uid},gid=${user.gid}`;
}

function memlockArgs(memlock: Memlock, runtime: Runtime): string[] {
  switch (memlock.kind) {
    case "unlimited":
      // Rootless podman may not raise a hard limit ("error setting rlimit type 8: operation
      // not permitted"), so the container keeps the caller's memlock limits: the most it can
      // have, and what sites with RDMA already raise for Slurm jobs (limits.conf, slurmd).
      return runtime === "podman" ? [] : ["--ulimit", "memlock=-1"];
    case "off":
      return [];
    case "bytes":
      return ["--ulimit", `memlock=${memlock.bytes}`];
  }
}

function gpuArgs(plan: ContainerPlan): string[] {
  const { deviceIds, runtime } = plan.gpus;
  if (deviceIds !== "all" && deviceIds.length === 0) return [];
  const list = deviceIds === "all" ? "all" : deviceIds.join(",");
  if (runtime === "nvidia") return ["--runtime=nvidia", "-e", `NVIDIA_VISIBLE_DEVICES=${list}`];
  // Podman uses CDI device names; docker's --gpus needs the list quoted when it has commas.
  if (plan.runtime === "podman") {
    return (deviceIds === "all" ? ["all"] : deviceIds).flatMap((id) => ["--device", `nvidia.com/gpu=${id}`]);
  }
  return ["--gpus", deviceIds === "all" ? "all" : `"device=${list}"`];
}

/** What the container's main process is, under the switch. */
export type MainProcess =
  /** sshd in the foreground (`--remote=sshd`, ssh launcher), its config, on the first of `ports` it can bind. */
  | { readonly kind: "sshd"; readonly ports: readonly number[]; readonly configPath: string }
  /** srun-docker's agent server (`--remote=agent`), configured by its config file. */
  | { readonly kind: "agent"; readonly serverPath: string }
  /** Nothing: the switch alone keeps the container up, so the image needs no `sleep`. */
  | { readonly kind: "none" };

export function buildMainCommand(main: MainProcess): string[] {
  switch (main.kind) {
    case "sshd":
      return buildSshdStart(main.configPath, main.ports);
    case "agent":
      return [main.serverPath, "agent-server"];
    case "none":
      return [];
  }
}

export interface ExecPlan {
  readonly name: string;
  /** uid:gid to run as; undefined = the container's user. */
  readonly user: { readonly uid: number; readonly gid: number } | undefined;
  readonly workdir: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  /** Names passed as `-e NAME`: the value comes from the exec CLI's environment (a Slurm task's). */
  readonly envNames?: readonly string[];
  readonly command: readonly string[];
  readonly interactive?: boolean;
  readonly tty?: boolean;
}

/**
 * The exec as the engine's CLI is started: every variable by name alone (`-e NAME`), its value
 * in the CLI's own environment (`values`), so that no value is on a command line that every
 * user of the node can read (`MASTER_PORT` is chosen so that others cannot predict it).
 */
export function execByNames(plan: ExecPlan): { plan: ExecPlan; values: Record<string, string> } {
  const envNames = [...(plan.envNames ?? []), ...Object.keys(plan.env)];
  return { plan: { ...plan, env: {}, envNames }, values: { ...plan.env } };
}

export function buildDockerExecArgs(plan: ExecPlan): string[] {
  const args = ["exec"];
  if (plan.interactive) args.push("-i");
  if (plan.tty) args.push("-t");
  if (plan.user !== undefined) args.push("-u", `${plan.user.uid}:${plan.user.gid}`);
  if (plan.workdir !== undefined) args.push("-w", plan.workdir);
  for (const name of plan.envNames ?? []) args.push("-e", name);
  for (const [key, value] of Object.entries(plan.env)) args.push("-e", `${key}=${value}`);
  args.push(plan.name, ...plan.command);
  return args;
}
