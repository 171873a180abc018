/**
 * What a node learns from the image before starting it, in one engine call: its ID (the image
 * the container will run) and its own PATH, which the agent's directory is put in front of.
 */
export interface ImageFacts {
  readonly id: string;
  /** The image config's PATH; undefined when the image sets none. */
  readonly path: string | undefined;
}

/** `image inspect --format`: the ID, then one env entry per line (docker and podman alike). */
export const IMAGE_FACTS_FORMAT = '{{.Id}}{{range .Config.Env}}{{"\\n"}}{{.}}{{end}}';

export function parseImageFacts(stdout: string): ImageFacts {
  const [id = "", ...env] = stdout.trim().split("\n");
  const path = env.find((entry) => entry.startsWith("PATH="))?.slice("PATH=".length);
  return { id: id.trim(), path: path || undefined };
}
