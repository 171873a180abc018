import { posix } from "node:path";
import type { Runtime } from "../common/index.js";
import { usageError } from "../common/index.js";
import { type UserMount, unsupportedMountFlag } from "../engine/index.js";

/**
 * `--container-mounts=SRC:DST[:FLAGS],...` as Pyxis reads it: entries split on `,`, the flags
 * of one entry joined by `+` (`ro+rprivate`), DST left out for SRC:SRC. A source is a path
 * (relative ones are the current directory's) or `tmpfs`; a target is a path in the
 * container (a relative one is under `/`).
 */
export function parseContainerMounts(text: string, runtime: Runtime): UserMount[] {
  const entries = text.split(",").filter((entry) => entry.trim() !== "");
  if (entries.length === 0)
    throw usageError("`--container-mounts` needs a mount", "e.g. --container-mounts=/data:/data:ro");
  const mounts = entries.map((entry) => parseEntry(entry.trim(), runtime));
  const seen = new Set<string>();
  for (const mount of mounts) {
    if (seen.has(mount.target)) {
      throw usageError(`\`--container-mounts\`: two mounts on \`${mount.target}\``, "give each mount its own target");
    }
    seen.add(mount.target);
  }
  return mounts;
}

function parseEntry(entry: string, runtime: Runtime): UserMount {
  const [source = "", target = source, flagText = "", ...extra] = entry.split(":");
  if (source === "" || target === "" || extra.length > 0) {
    throw usageError(`\`--container-mounts\`: \`${entry}\` is not SRC[:DST[:FLAGS]]`, "e.g. /data:/data:ro+rprivate");
  }
  const flags = flagText.split("+").filter((flag) => flag !== "");
  const mount = toMount(entry, source, targetPath(entry, target), flags);
  const flag = unsupportedMountFlag(mount, runtime);
  if (flag !== undefined) {
    throw usageError(
      `\`--container-mounts\`: ${runtime} cannot mount \`${entry}\` with \`${flag}\``,
      runtime === "docker" && podmanTakes(mount, flag)
        ? "drop the flag, or run with --runtime=podman, whose -v takes it"
        : 'drop the flag (README, "Coming from Pyxis", lists the flags each engine takes)',
    );
  }
  return mount;
}

function toMount(entry: string, source: string, target: string, flags: string[]): UserMount {
  if (source === "tmpfs") return { kind: "tmpfs", target, flags };
  if (source === "umount") {
    throw usageError(
      `\`--container-mounts\`: \`${entry}\` unmounts, which srun-docker has nothing to do for`,
      "the container mounts only your home, your job's directory and what you name",
    );
  }
  if (!/^[./]/.test(source)) {
    throw usageError(
      `\`--container-mounts\`: the source of \`${entry}\` is not a path`,
      "give an absolute path, one starting with ./ or ../, or tmpfs",
    );
  }
  return { kind: "bind", source, target, flags };
}

function targetPath(entry: string, target: string): string {
  if (!/^[./]/.test(target)) {
    throw usageError(`\`--container-mounts\`: the target of \`${entry}\` is not a path`, "give an absolute path");
  }
  return posix.resolve("/", target);
}

function podmanTakes(mount: UserMount, flag: string): boolean {
  return unsupportedMountFlag({ ...mount, flags: [flag] }, "podman") === undefined;
}
