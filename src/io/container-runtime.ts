// The docker/podman CLI as the runtime edge. Users pass raw docker options through, so we
// drive the CLI (not the API); every call is one argv, and errors carry the CLI's own words.
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../core/errors.js";
import { runCommand } from "./exec.js";

export interface ContainerSummary {
  name: string;
  labels: Record<string, string>;
}

export interface ImageFiles {
  passwd: string;
  group: string;
}

export class ContainerRuntime {
  constructor(
    readonly bin: string,
    readonly node: string,
    private readonly run = runCommand,
  ) {}

  /** The image's id; a clear error naming the image and the node when it is not there. */
  async inspectImage(image: string): Promise<string> {
    const r = await this.run(this.bin, ["image", "inspect", "--format", "{{.Id}}", image]);
    if (r.exitCode === 0) return r.stdout.trim();
    const why = firstLine(r.stderr);
    if (/no such image|not found|unknown/i.test(why)) {
      throw new UserError("image-missing", `image \`${image}\` is not present on ${this.node}`, {
        hint: `load it on every node (e.g. \`srun ${this.bin} pull ${image}\` or \`${this.bin} load\`)`,
      });
    }
    throw this.unreachable(why);
  }

  /**
   * The image's own /etc/passwd and /etc/group, so the user's entries can be added to what
   * the image needs. Cached per image id in `cacheDir`: one container create per image, ever.
   */
  async readImageFiles(image: string, imageId: string, cacheDir: string): Promise<ImageFiles> {
    const key = imageId.replace(/[^a-zA-Z0-9]/g, "_");
    const cached = path.join(cacheDir, `${key}.json`);
    try {
      return JSON.parse(await readFile(cached, "utf8")) as ImageFiles;
    } catch {
      // Not cached yet (or unreadable): read it from the image below.
    }
    const created = await this.run(this.bin, ["create", "--entrypoint", "/bin/true", imageId]);
    if (created.exitCode !== 0) throw this.failure(`cannot read /etc/passwd of \`${image}\``, created.stderr);
    const id = created.stdout.trim();
    await mkdir(cacheDir, { recursive: true, mode: 0o700 });
    const scratch = await mkdtemp(path.join(cacheDir, "read-"));
    try {
      const passwd = await this.copyOut(id, "/etc/passwd", scratch);
      const group = await this.copyOut(id, "/etc/group", scratch);
      const files = { passwd, group };
      const tmp = `${cached}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(files), { mode: 0o600 });
      await rename(tmp, cached);
      return files;
    } finally {
      await this.run(this.bin, ["rm", "-f", id]);
      await rm(scratch, { recursive: true, force: true });
    }
  }

  private async copyOut(id: string, file: string, dir: string): Promise<string> {
    const target = path.join(dir, path.basename(file));
    const r = await this.run(this.bin, ["cp", "-L", `${id}:${file}`, target]);
    if (r.exitCode !== 0) return "";
    return readFile(target, "utf8");
  }

  /** `run -d ...`: returns the container id, or the runtime's own error naming the node. */
  async start(args: string[]): Promise<string> {
    const r = await this.run(this.bin, args);
    if (r.exitCode !== 0) throw this.failure("cannot start the container", r.stderr);
    return r.stdout.trim();
  }

  /** Why a container stopped: its last log line; empty while it is still running. */
  async logs(name: string): Promise<string> {
    const state = await this.run(this.bin, ["inspect", "--format", "{{.State.Running}}", name]);
    if (state.stdout.trim() === "true") return "";
    const r = await this.run(this.bin, ["logs", "--tail", "5", name]);
    const lines = `${r.stdout}\n${r.stderr}`.split("\n").map((l) => l.trim()).filter(Boolean);
    return lines.at(-1) ?? "the container exited";
  }

  async remove(names: string[]): Promise<void> {
    if (names.length === 0) return;
    await this.run(this.bin, ["rm", "-f", ...names], { timeoutMs: 30_000 });
  }

  /** Containers matching every `label=...` filter, with their labels. */
  async list(filters: string[]): Promise<ContainerSummary[]> {
    const args = ["ps", "-a", "--no-trunc", "--format", "{{json .}}"];
    for (const f of filters) args.push("--filter", f);
    const r = await this.run(this.bin, args);
    if (r.exitCode !== 0) throw this.unreachable(firstLine(r.stderr));
    return r.stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const raw = JSON.parse(line) as { Names?: string; Labels?: string | Record<string, string> };
        return { name: (raw.Names ?? "").split(",")[0] ?? "", labels: parseLabels(raw.Labels) };
      });
  }

  private unreachable(why: string): UserError {
    return new UserError("runtime", `${this.bin} is not usable on ${this.node}: ${why}`, {
      hint: `check that the ${this.bin} daemon runs on ${this.node} and that you may use it (group docker)`,
    });
  }

  private failure(what: string, stderr: string): UserError {
    return new UserError("runtime", `${what} on ${this.node}: ${firstLine(stderr) || "no message"}`);
  }
}

function firstLine(text: string): string {
  return text.split("\n").map((l) => l.trim()).find(Boolean) ?? "";
}

function parseLabels(labels: string | Record<string, string> | undefined): Record<string, string> {
  if (!labels) return {};
  if (typeof labels !== "string") return labels;
  const out: Record<string, string> = {};
  for (const pair of labels.split(",")) {
    const eq = pair.indexOf("=");
    if (eq > 0) out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
