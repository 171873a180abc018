// The facts a node's plan is made from, as core types: io's Identity, UserMaterial and image
// files, and cli's RunOptions, satisfy them as they are, so core imports nothing above it.

import type { AgentProgram } from "../agent/index.js";
import type { GpuMode, GpuRuntime, Memlock, Remote, Runtime } from "../common/index.js";
import type { ContainerShape } from "../engine/index.js";
import type { LimitFacts, LimitsMode, PidsLimit } from "../limits/index.js";
import type { JobPorts } from "../ports/index.js";
import type { JobContext } from "../slurm/index.js";
import type { SshKeyPair } from "../ssh/index.js";

/** The options a node's plan depends on; cli's RunOptions has every one of them. */
export interface NodePlanOptions {
  readonly container: string;
  readonly dockname: string | undefined;
  readonly launcher: "ssh" | "each" | "srun";
  readonly remote: Remote;
  /** Old mode: the user's own sshd config dir. */
  readonly sshconfigdir: string | undefined;
  readonly sshdPort: number | undefined;
  readonly rendezvousPort: number | undefined;
  readonly gpus: GpuMode;
  readonly gpuRuntime: GpuRuntime;
  readonly slotsPerNode: number | undefined;
  readonly privileged: boolean;
  readonly ibdevices: boolean;
  readonly datamnts: readonly string[];
  readonly dockopts: readonly string[];
  readonly envlist: readonly string[];
  readonly runtime: Runtime;
  readonly memlock: Memlock;
  readonly shmSize: string;
  readonly limits: LimitsMode;
  readonly pidsLimit: PidsLimit;
  readonly scriptArgs: readonly string[];
  /** Pyxis's mounts, workdir, home, root, entrypoint and read-only image (default: DEFAULT_SHAPE). */
  readonly shape?: ContainerShape;
}

/** The calling user, as io's readIdentity reads it. */
export interface PlanIdentity {
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  /** Supplementary group ids, the primary one excluded. */
  readonly groups: readonly number[];
  readonly passwdLine: string;
  readonly groupLines: readonly string[];
}

/** The parts of the user's srun-docker directory a plan names (io's UserMaterial has them). */
export interface PlanMaterial {
  /** The directory itself: hidden inside every container, which sees only its job dir in it. */
  readonly dir: string;
  readonly jobsDir: string;
}

/**
 * A job step's keys (io/files/job-keys.ts derives them from the user's secret): all that its
 * containers get of the user's key material.
 */
export interface JobKeys {
  /** The step's secret: every handshake of the step (rendezvous, agent, relay) is keyed with it. */
  readonly secret: Buffer;
  /** The sshd host key and the client key of `--remote=sshd`, the same on every node. */
  readonly sshHost: SshKeyPair;
  readonly sshClient: SshKeyPair;
}

/** The image's own /etc/passwd and /etc/group, which the user's entries are added to. */
export interface ImageAccounts {
  readonly passwd: string;
  readonly group: string;
}

export interface NodePlanInput {
  readonly options: NodePlanOptions;
  readonly ctx: JobContext;
  /** The caller's environment: Slurm's GPU variables and the values `--envlist` names. */
  readonly env: NodeJS.ProcessEnv;
  /** nvidia-smi's GPU count where it was asked (see shouldCountGpus), else undefined. */
  readonly nvidiaSmiGpus: number | undefined;
  readonly identity: PlanIdentity;
  readonly material: PlanMaterial;
  readonly keys: JobKeys;
  readonly imageAccounts: ImageAccounts;
  /** The image's own PATH (its config's env), kept after the agent's directory. */
  readonly imagePath: string | undefined;
  /** The image's entrypoint, which `--container-entrypoint` runs the script through. */
  readonly imageEntrypoint?: readonly string[] | undefined;
  /** This srun-docker (its single executable, or its .cjs bundle and Node), mounted as the agent. */
  readonly agentProgram: AgentProgram | undefined;
  readonly scriptPath: string;
  readonly cwd: string;
  /** This task's CPU binding, the node's CPU count and cgroup version; the Slurm variables are in env. */
  readonly cpus: Pick<LimitFacts, "boundCpus" | "onlineCpus"> & { readonly cgroupV2: boolean };
  /** The ports the run settled on (core/ports/port-candidates.ts); the dry run's first candidates. */
  readonly ports: JobPorts;
  /**
   * `--container-name`: the job's container of that name (core/job-container/named-container.ts),
   * keyed by `name-NAME` in the step's place, labelled with the image as the user gave it.
   */
  readonly named?: { readonly name: string; readonly image: string } | undefined;
}
