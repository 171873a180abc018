import type { PullStreamEvent } from "./pull-stream.js";

/**
 * podman's `pull` stderr without a terminal, as podman 4 writes it:
 *   Trying to pull reg:5000/team/app:1...
 *   Getting image source signatures
 *   Copying blob sha256:5af30c77...          (one line as each layer starts; no bytes)
 *   Copying blob 5af30c773ffc skipped: already exists   (podman 5)
 *   Copying config sha256:cf16feb6...
 *   Writing manifest to image destination    (every layer is in)
 *   time="..." level=warning msg="Failed, retrying in 1s ... (1/3). Error: ..."
 *   Error: initializing source docker://...: manifest unknown
 * The image ID comes on stdout, last. Podman reports no byte counts, so a podman node's
 * progress is in layers.
 */
export function parsePodmanPullLine(line: string): PullStreamEvent | undefined {
  const text = line.trim();
  if (text === "") return undefined;
  const blob = /^Copying blob (?:sha256:)?([0-9a-f]+)(?:\s+(.*))?$/.exec(text);
  if (blob !== undefined && blob !== null) {
    const id = (blob[1] ?? "").slice(0, 12);
    const rest = blob[2] ?? "";
    if (/skipped|already exists/.test(rest)) return { kind: "layer", id, phase: "already-exists" };
    if (/\bdone\b/.test(rest)) return { kind: "layer", id, phase: "done" };
    return { kind: "layer", id, phase: "pulling" };
  }
  if (/^Writing manifest to image destination/.test(text)) return { kind: "layers-complete" };
  if (text.startsWith("Error: ")) return { kind: "error", message: text.slice("Error: ".length) };
  const warning = /level=warning msg="(.*)"$/.exec(text)?.[1];
  if (warning !== undefined) return { kind: "status", text: warning.replace(/\\"/g, '"') };
  return { kind: "status", text };
}

/** The image ID podman prints on stdout when done (its last line). */
export function podmanPulledId(stdout: string): string | undefined {
  const last = stdout.trim().split("\n").at(-1)?.trim() ?? "";
  return /^[0-9a-f]{64}$/.test(last) ? `sha256:${last}` : undefined;
}
