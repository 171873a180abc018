/**
 * A pull through podman's CLI (podman has no daemon to ask): `podman pull [--authfile F]
 * <fully qualified reference>`, its stderr read line by line into the same events as
 * dockerd's stream (layers as they start and finish; podman reports no bytes), the image ID
 * from its stdout. The reference is always fully qualified, so podman's short-name search
 * (registries.conf) never picks another registry than docker would.
 */
import { spawn as baseSpawn } from "node:child_process";
import { createInterface } from "node:readline";
import { UserError } from "../../core/common/index.js";
import {
  canonicalString,
  classifyEngineError,
  type ImageReference,
  type LocalImage,
  parseImageInspect,
  parsePodmanPullLine,
  podmanPulledId,
} from "../../core/image/index.js";
import { endChild, runCommand, type Spawn } from "../process/index.js";
import type { EnginePullOptions, EnginePullResult } from "./docker-pull.js";

export interface PodmanPullOptions extends EnginePullOptions {
  /** `--authfile`; without it podman reads its own files (REGISTRY_AUTH_FILE and the rest). */
  readonly authFile?: string;
  readonly bin?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly spawn?: Spawn;
  /** SIGKILL this long after SIGTERM when podman does not end. */
  readonly killGraceMs?: number;
}

export function podmanPullArgs(ref: ImageReference, authFile?: string): string[] {
  return ["pull", ...(authFile === undefined ? [] : ["--authfile", authFile]), canonicalString(ref)];
}

export function pullWithPodman(ref: ImageReference, options: PodmanPullOptions = {}): Promise<EnginePullResult> {
  const spawn = options.spawn ?? baseSpawn;
  const bin = options.bin ?? "podman";
  return new Promise((resolve) => {
    const child = spawn(bin, podmanPullArgs(ref, options.authFile), {
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stopped: EnginePullResult | undefined;
    let lastError: string | undefined;
    let lastLine = "";
    let stdout = "";
    const ending = endChild(child, options.killGraceMs ?? 5000);
    const stop = (result: EnginePullResult): void => {
      stopped ??= result;
      ending.terminate();
    };
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => stop({ kind: "failed", failure: { kind: "timeout", detail: `${options.timeoutMs} ms` } }),
            options.timeoutMs,
          );
    const onAbort = (): void => stop({ kind: "cancelled" });
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    if (child.stderr) {
      createInterface({ input: child.stderr, crlfDelay: Number.POSITIVE_INFINITY }).on("line", (line) => {
        const event = parsePodmanPullLine(line);
        if (event === undefined) return;
        if (event.kind === "error") lastError = event.message;
        lastLine = line.trim();
        options.onEvent?.(event);
      });
    }
    const finish = (result: EnginePullResult): void => {
      clearTimeout(timer);
      ending.cancel();
      options.signal?.removeEventListener("abort", onAbort);
      resolve(stopped ?? result);
    };
    child.once("error", (error: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return;
      const why = error.code === "ENOENT" ? `\`${bin}\` is not on PATH` : `cannot run \`${bin}\`: ${error.message}`;
      finish({ kind: "failed", failure: { kind: "other", detail: why } });
    });
    child.once("close", (code, signal) => {
      if (child.pid === undefined) return;
      if (code === 0)
        return finish({ kind: "pulled", digest: undefined, imageId: podmanPulledId(stdout), upToDate: false });
      const said = lastError ?? (lastLine || `${bin} pull exited with ${code ?? signal}`);
      finish({ kind: "failed", failure: classifyEngineError(said) });
    });
  });
}

/** `podman image inspect NAME`: the local image, or undefined when podman has none by that name. */
export async function inspectImageWithPodman(
  name: string,
  run = runCommand,
  bin = "podman",
): Promise<LocalImage | undefined> {
  const result = await run(bin, ["image", "inspect", name]);
  const image = result.exitCode === 0 ? parseImageInspect(result.stdout) : undefined;
  if (image !== undefined) return image;
  if (result.exitCode !== 0 && /image not known|no such image/i.test(result.stderr)) return undefined;
  const why = result.exitCode === 0 ? "an answer that is no image" : result.stderr.trim().split("\n").at(-1);
  throw new UserError("image-inspect-failed", `cannot inspect image \`${name}\` with ${bin}: ${why}`, {
    hint: `check that ${bin} works here (\`${bin} info\`)`,
  });
}
