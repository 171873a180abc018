import { posix } from "node:path";
import type { Runtime } from "../common/index.js";

/**
 * How the container itself is shaped beyond the reference scripts' options: the mounts, the
 * working directory, home, root and the root file system that Pyxis's options name (README,
 * "Coming from Pyxis"), as data the plans read and the argv builders render per engine.
 */
export interface ContainerShape {
  /** `--container-mounts`, in order; a bind's relative source is the caller's current directory's. */
  readonly mounts: readonly UserMount[];
  /** `--container-workdir`: where the job runs; undefined = the caller's current directory. */
  readonly workdir: string | undefined;
  /** `--[no-]container-mount-home`: the caller's home at its own path (default: yes). */
  readonly mountHome: boolean;
  /** `--container-remap-root`: the job runs as uid 0 in the container. */
  readonly remapRoot: boolean;
  /** `--container-entrypoint`: the job's commands run through the image's entrypoint. */
  readonly entrypoint: boolean;
  /** `--container-readonly`: the image's file system is read-only (`--read-only`). */
  readonly readOnly: boolean;
}

export const DEFAULT_SHAPE: ContainerShape = {
  mounts: [],
  workdir: undefined,
  mountHome: true,
  remapRoot: false,
  entrypoint: false,
  readOnly: false,
};

/** One `--container-mounts` entry: a host path bound in, or a fresh tmpfs. */
export type UserMount =
  | { readonly kind: "bind"; readonly source: string; readonly target: string; readonly flags: readonly string[] }
  | { readonly kind: "tmpfs"; readonly target: string; readonly flags: readonly string[] };

type FlagSupport = "both" | "podman" | "dropped";

/**
 * The mount flags of Pyxis (mount(8)'s, `+`-joined) that each engine's `-v` takes. Docker's
 * `-v` is always recursive (`rbind`) and knows no nosuid/nodev/noexec or unbindable; Podman's
 * takes them all. enroot's `x-create=` (make the target) is what both engines always do.
 */
const BIND_FLAGS: Readonly<Record<string, FlagSupport>> = {
  ro: "both",
  rw: "both",
  rbind: "dropped",
  bind: "podman",
  private: "both",
  rprivate: "both",
  shared: "both",
  rshared: "both",
  slave: "both",
  rslave: "both",
  unbindable: "podman",
  runbindable: "podman",
  nosuid: "podman",
  suid: "podman",
  nodev: "podman",
  dev: "podman",
  noexec: "podman",
  exec: "podman",
};

/** What `--tmpfs DST:OPTS` takes on both engines. */
const TMPFS_FLAGS: Readonly<Record<string, FlagSupport>> = {
  ro: "both",
  rw: "both",
  nosuid: "both",
  suid: "both",
  nodev: "both",
  dev: "both",
  noexec: "both",
  exec: "both",
};
const TMPFS_VALUE_FLAG = /^(?:size|mode|nr_inodes)=[0-9a-zA-Z]+$/;

function supportOf(mount: UserMount, flag: string): FlagSupport | undefined {
  if (flag.startsWith("x-create=")) return "dropped";
  if (mount.kind === "tmpfs") return TMPFS_VALUE_FLAG.test(flag) ? "both" : TMPFS_FLAGS[flag];
  return BIND_FLAGS[flag];
}

/** The first flag of `mount` that `runtime` cannot apply, or undefined when it can apply all. */
export function unsupportedMountFlag(mount: UserMount, runtime: Runtime): string | undefined {
  return mount.flags.find((flag) => {
    const support = supportOf(mount, flag);
    return support === undefined || (support === "podman" && runtime !== "podman");
  });
}

/** The engine arguments of one mount (its flags already checked by unsupportedMountFlag). */
export function userMountArgs(mount: UserMount): string[] {
  const kept = mount.flags.filter((flag) => supportOf(mount, flag) !== "dropped");
  const options = kept.length === 0 ? "" : `:${kept.join(",")}`;
  return mount.kind === "tmpfs"
    ? ["--tmpfs", `${mount.target}${options}`]
    : ["-v", `${mount.source}:${mount.target}${options}`];
}

/** The shape with relative bind sources made absolute against the caller's directory (the engine needs that). */
export function resolveShapeMounts(shape: ContainerShape, cwd: string): ContainerShape {
  const mounts = shape.mounts.map((mount) =>
    mount.kind === "bind" ? { ...mount, source: posix.resolve(cwd, mount.source) } : mount,
  );
  return { ...shape, mounts };
}
