/**
 * Pyxis's option names (`srun --container-image=... --container-mounts=...`), beside the
 * reference scripts'. Where the reference has a twin (`--container`, `--envlist`, `--pull`),
 * the Pyxis option is read into it, so the rest of the run knows one option; what has no
 * twin becomes the container's ContainerShape. The README's "Coming from Pyxis" maps every
 * Pyxis option, these and the refused ones.
 */
import { type Runtime, usageError } from "../core/common/index.js";
import { type ContainerShape, DEFAULT_SHAPE } from "../core/engine/index.js";
import { parseContainerMounts, parseEnrootImage } from "../core/pyxis/index.js";
import type { LayeredValues, OptionSpec } from "./argv-scan.js";
import { type RawValue, toEnvNames, toFlag, toNonEmptyText, toText } from "./option-values.js";

export const PYXIS_OPTIONS: readonly OptionSpec[] = [
  {
    name: "container-image",
    value: "<[REGISTRY#]IMAGE[:TAG]>",
    description:
      "Pyxis's --container: nvcr.io#nvidia/pytorch:24.05-py3 = nvcr.io/nvidia/pytorch:24.05-py3, docker:// too, dockerd://IMAGE = the node's own (never pulled); with a program and no --script, --launcher=srun",
  },
  {
    name: "container-mounts",
    value: "<SRC[:DST[:FLAGS]],...>",
    description: "bind mounts, flags joined by + (ro, rw, rprivate, ...); SRC tmpfs for a tmpfs",
  },
  {
    name: "container-workdir",
    value: "<dir>",
    description: "working directory in the container (default: the current directory)",
  },
  {
    name: "container-env",
    value: "<VAR,...>",
    description: "added to --envlist: these variables of yours go in, over the image's values",
  },
  { name: "container-mount-home", description: "mount your home at its own path (default)" },
  { name: "no-container-mount-home", description: "do not mount your home" },
  {
    name: "container-remap-root",
    description: "run as root in the container; with Docker that is the host's root on mounted files",
  },
  { name: "no-container-remap-root", description: "run as you (default)" },
  { name: "container-entrypoint", description: "run the script or program through the image's entrypoint" },
  { name: "no-container-entrypoint", description: "leave the image's entrypoint out (default)" },
  { name: "container-entrypoint-log", description: "accepted for Pyxis: the entrypoint's output is always shown" },
  { name: "container-writable", description: "the image's file system is writable (default)" },
  { name: "container-readonly", description: "the image's file system is read-only; /tmp is a tmpfs" },
  {
    name: "container-unshare",
    value: "<NS,...>",
    description: "refused: the containers share the host's network, and have their own IPC and UTS already",
  },
];

/**
 * The layered values with the Pyxis options read into their reference twins: `--container`
 * from `--container-image`, `--envlist` with `--container-env`'s names, `--pull=never` for
 * `dockerd://`. A twin typed on the same command line is a contradiction; one from the
 * environment or a config file is a default that the Pyxis option overrides.
 */
export function mapPyxisTwins(values: LayeredValues): LayeredValues {
  const image = values.get("container-image");
  const env = values.get("container-env");
  if (image === undefined && env === undefined) return values;
  const mapped = new Map<string, RawValue>();
  const sources = new Map(values.sources);
  if (image !== undefined) {
    refuseTwin(values, "container", "--container-image");
    const { reference, fromDaemon } = parseEnrootImage(toNonEmptyText(image));
    mapped.set("container", { value: reference, origin: image.origin });
    sources.set("container", "cli");
    if (fromDaemon) {
      refuseDaemonPull(values);
      mapped.set("pull", { value: "never", origin: image.origin });
      mapped.set("pull-once", { value: false, origin: image.origin });
      sources.set("pull", "cli");
    }
  }
  if (env !== undefined) {
    const own = values.get("envlist");
    const names = [...(own === undefined ? [] : toEnvNames(own)), ...toEnvNames(env)];
    mapped.set("envlist", { value: [...new Set(names)], origin: env.origin });
  }
  return { get: (name) => mapped.get(name) ?? values.get(name), sources };
}

function refuseTwin(values: LayeredValues, twin: string, pyxis: string): void {
  if (values.sources.get(twin) !== "cli") return;
  throw usageError(`\`--${twin}\` and \`${pyxis}\` name the same thing twice`, `keep one of them`);
}

function refuseDaemonPull(values: LayeredValues): void {
  const pull = values.get("pull");
  const once = values.get("pull-once");
  const pulls =
    (values.sources.get("pull") === "cli" && pull !== undefined && toText(pull) !== "never") ||
    (values.sources.get("pull-once") === "cli" && once !== undefined && toFlag(once));
  if (pulls) {
    throw usageError(
      "`--container-image=dockerd://...` runs the node's own image, which a pull contradicts",
      "drop dockerd:// to pull from the registry, or drop --pull / --pull-once",
    );
  }
}

/** The Pyxis options that have no reference twin, as the container's shape (`--runtime` decides the mount flags). */
export function readContainerShape(values: LayeredValues, runtime: Runtime): ContainerShape {
  if (values.get("container-unshare") !== undefined) {
    throw usageError(
      "`--container-unshare` is refused: the containers use the host's network, which the rendezvous and the agent need",
      "drop it; Docker and Podman give each container its own IPC and UTS namespaces already",
    );
  }
  const mounts = values.get("container-mounts");
  const workdir = values.get("container-workdir");
  return {
    mounts: mounts === undefined ? [] : parseContainerMounts(toNonEmptyText(mounts), runtime),
    workdir: workdir === undefined ? undefined : toAbsoluteDir(workdir),
    mountHome: pairedFlag(values, "container-mount-home", "no-container-mount-home") ?? DEFAULT_SHAPE.mountHome,
    remapRoot: pairedFlag(values, "container-remap-root", "no-container-remap-root") ?? DEFAULT_SHAPE.remapRoot,
    entrypoint: pairedFlag(values, "container-entrypoint", "no-container-entrypoint") ?? DEFAULT_SHAPE.entrypoint,
    readOnly: !(pairedFlag(values, "container-writable", "container-readonly") ?? !DEFAULT_SHAPE.readOnly),
  };
}

/** `--x` and `--no-x`: true, false, or undefined when neither is given; both is a contradiction. */
function pairedFlag(values: LayeredValues, yes: string, no: string): boolean | undefined {
  const on = values.get(yes);
  const off = values.get(no);
  if (on !== undefined && off !== undefined) {
    throw usageError(`\`--${yes}\` and \`--${no}\` contradict each other`, "keep one of them");
  }
  if (on !== undefined) return toFlag(on);
  if (off !== undefined) return !toFlag(off);
  return undefined;
}

function toAbsoluteDir(raw: RawValue): string {
  const dir = toNonEmptyText(raw);
  if (!dir.startsWith("/")) {
    throw usageError(
      `${raw.origin} expects an absolute directory, got \`${dir}\``,
      "e.g. --container-workdir=/workspace",
    );
  }
  return dir;
}
