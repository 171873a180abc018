/**
 * `doctor`'s home check: whether others must be able to search your home (`chmod o+x`) for a
 * run's mounts. A run bind-mounts the home itself, files under ~/.srun-docker/jobs (a 0700
 * directory, as it must stay), the agent's binary and `--datamnts`; whoever resolves those
 * paths passes through the home:
 * - Docker's daemon runs as root, which passes any mode on a local file system;
 * - rootless Podman's runtime opens mount sources before it enters the container's user
 *   namespace, as you (runc 1.1+, crun 1.4.3+), so your own permissions apply;
 * - the container's processes run as your uid (`-u`, or Podman's keep-id), the home's owner.
 * So a local home needs no o+x. On a network file system the server decides: NFS by default
 * treats root as nobody (root_squash), and FUSE keeps root out without `allow_root`; the daemon
 * then cannot reach ~/.srun-docker, which o+x on the home would not change. A daemon that
 * remaps users (rootless Docker, userns-remap) runs your uid as a subordinate one: the home is
 * not yours in the container, whatever its mode. Nowhere is o+x both needed and enough.
 */
import type { Runtime } from "../common/index.js";

/** Who the docker daemon runs containers as, from `docker info`'s security options. */
export type DaemonUsers = "root" | "rootless" | "userns-remap";

export interface HomeFacts {
  readonly home: string;
  /** The permission bits (`stat`'s mode & 0o777). */
  readonly mode: number;
  /** The file system's magic number (`statfs`'s f_type). */
  readonly fsType: number;
  readonly runtime: Runtime;
  /** Docker only: undefined when the daemon did not say. */
  readonly daemonUsers: DaemonUsers | undefined;
}

export interface HomeAdvice {
  readonly ok: boolean;
  readonly detail: string;
  readonly fix?: string;
}

/** File systems whose server (or daemon) judges access itself: root there may be nobody. */
const REMOTE_FILE_SYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x6969, "NFS"],
  [0xff534d42, "CIFS"],
  [0xfe534d42, "SMB"],
  [0x0bd00bd0, "Lustre"],
  [0x47504653, "GPFS"],
  [0x19830326, "BeeGFS"],
  [0x00c36400, "CephFS"],
  [0x01021997, "9p"],
  [0x6b414653, "AFS"],
  [0x5346414f, "AFS"],
  [0x65735546, "FUSE"],
]);

/** `name=rootless` or `name=userns` among `docker info`'s SecurityOptions (JSON array). */
export function parseDaemonUsers(securityOptions: string): DaemonUsers | undefined {
  let options: unknown;
  try {
    options = JSON.parse(securityOptions);
  } catch {
    return undefined;
  }
  if (!Array.isArray(options)) return undefined;
  const names = options.map((option) => /(?:^|,)name=([^,]+)/.exec(String(option))?.[1]);
  if (names.includes("rootless")) return "rootless";
  return names.includes("userns") ? "userns-remap" : "root";
}

export function adviseHome(facts: HomeFacts): HomeAdvice {
  const { home, runtime, daemonUsers } = facts;
  const mode = `mode ${facts.mode.toString(8).padStart(4, "0")}`;
  const opened =
    (facts.mode & 0o001) === 0
      ? ""
      : "; o+x lets every user reach the files in it whose names they know (srun-docker does not need it)";
  if (runtime === "docker" && (daemonUsers === "rootless" || daemonUsers === "userns-remap")) {
    return {
      ok: false,
      detail: `the docker daemon is ${daemonUsers}: your uid in a container is another uid on the host, so ${home} is not yours there (no mode of it changes that)`,
      fix: "use a docker daemon that runs as root without userns-remap, or --runtime=podman",
    };
  }
  const remote = REMOTE_FILE_SYSTEMS.get(facts.fsType);
  if (runtime === "docker" && remote !== undefined) {
    return {
      ok: true,
      detail:
        `${home} (${mode}) is on ${remote}: the docker daemon (root) reaches ~/.srun-docker there only if the server lets root in ` +
        `(NFS's default root_squash does not); if a run fails with "permission denied" on a path in your home, ask for ` +
        `no_root_squash on the compute nodes or use --runtime=podman (chmod o+x would not help: ~/.srun-docker stays 0700)${opened}`,
    };
  }
  const who = runtime === "docker" ? "the docker daemon (root)" : "Podman (as you)";
  return {
    ok: true,
    detail: `${home} ${mode}: ${who} reaches the paths a run mounts from it, no one else needs to${opened}`,
  };
}
