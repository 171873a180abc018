import { usageError } from "../common/index.js";

/**
 * `--container-image` as Pyxis takes it: an enroot URI, `[docker://|dockerd://][USER@][REGISTRY#]IMAGE[:TAG]`,
 * turned into the reference Docker and Podman take. enroot writes the registry before a `#`
 * (`nvcr.io#nvidia/pytorch:24.05-py3`) where Docker writes a `/`; without a registry it is
 * Docker Hub, as with Docker. `dockerd://` imports what the node's daemon already has: no pull.
 */
export interface EnrootImage {
  /** The reference for `--container` (`nvcr.io/nvidia/pytorch:24.05-py3`). */
  readonly reference: string;
  /** `dockerd://`: the image is in the node's engine already, and is never pulled. */
  readonly fromDaemon: boolean;
}

const SQUASHFS_HINT =
  "srun-docker runs images from a registry or the nodes' engine: push the image to a registry (--container-image=REGISTRY#IMAGE), or `docker load` it on every node and give --container-image=dockerd://IMAGE";

export function parseEnrootImage(text: string): EnrootImage {
  const given = text.trim();
  if (given === "") throw usageError("`--container-image` needs an image", "e.g. --container-image=ubuntu:24.04");
  if (/^[./~]/.test(given) || /\.(?:sqsh|squashfs)$/.test(given)) {
    throw usageError(`\`--container-image=${given}\` names a squashfs file, which is enroot's format`, SQUASHFS_HINT);
  }
  const fromDaemon = given.startsWith("dockerd://");
  const uri = given.replace(/^dockerd:\/\//, "").replace(/^docker:\/\//, "");
  const user = /^([^/#@:]+)@(?!sha256:)/.exec(uri)?.[1];
  if (user !== undefined) {
    throw usageError(
      `\`--container-image=${given}\` names a registry user (\`${user}@\`): the engine logs in per registry, not per image`,
      "log in on the nodes once (`docker login REGISTRY` or `podman login REGISTRY`) and drop the `USER@`",
    );
  }
  const hash = uri.indexOf("#");
  const reference = hash < 0 ? uri : hash === 0 ? uri.slice(1) : `${uri.slice(0, hash)}/${uri.slice(hash + 1)}`;
  if (reference === "" || reference.includes("#")) {
    throw usageError(`\`--container-image=${given}\` is not an image`, "write REGISTRY#IMAGE[:TAG] or IMAGE[:TAG]");
  }
  return { reference, fromDaemon };
}
