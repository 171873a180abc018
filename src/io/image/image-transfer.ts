/**
 * An image as a `docker save` archive stream, out of one engine and into another, for the relay
 * of `--pull-once` (io/relay/relay-*.ts). Docker through its Engine API (`GET /images/{id}/get`,
 * `POST /images/load`), so the bytes pass through our own process without a CLI per copy;
 * podman, and docker without a local socket, through the CLI's `save` to stdout and `load` from
 * stdin (podman has no daemon: its CLI is the engine).
 * A stream that ends before the engine said it was whole fails (an error on the stream), so a
 * cut archive is never taken for the image.
 */
import { spawn as baseSpawn } from "node:child_process";
import { request } from "node:http";
import path from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { lastEngineLine } from "../../core/engine/index.js";
import { loadedName } from "../../core/image/index.js";
import { apiMessage } from "../engine/index.js";
import type { Spawn } from "../process/index.js";

export interface ImageTransfer {
  /** The image's archive; fails (as a stream error) when the engine cannot give it whole. */
  save(id: string): Readable;
  /** Loads an archive as it comes; resolves with the name or ID the engine loaded it as. Ending `input` with an error cancels the load. */
  loadFrom(input: Readable): Promise<string>;
  /** The request or command a save (of `id`) or a load is, as --debug prints it. */
  describe(op: "save" | "load", id?: string): string;
}

/** Through dockerd's Engine API on its unix socket. */
export function dockerApiTransfer(socketPath: string): ImageTransfer {
  return {
    describe: (op, id = "") =>
      `> ${op === "save" ? `GET /images/${encodeURIComponent(id)}/get` : "POST /images/load?quiet=1"} (Engine API on ${socketPath})`,
    save(id) {
      const out = new PassThrough();
      const req = request({ socketPath, path: `/images/${encodeURIComponent(id)}/get`, headers: { Host: "docker" } });
      req.on("response", (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            out.destroy(
              new Error(
                `dockerd: ${apiMessage({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") })}`,
              ),
            ),
          );
          return;
        }
        res.pipe(out, { end: false });
        res.on("end", () => (res.complete ? out.end() : out.destroy(new Error("dockerd ended the archive early"))));
        res.on("error", (error) => out.destroy(error));
      });
      req.on("error", (error) => out.destroy(error));
      // The reader went away (the child's connection dropped): stop dockerd's save.
      out.on("close", () => req.destroy());
      req.end();
      return out;
    },
    loadFrom(input) {
      return new Promise((resolve, reject) => {
        const req = request({
          socketPath,
          method: "POST",
          path: "/images/load?quiet=1",
          headers: { Host: "docker", "Content-Type": "application/x-tar" },
        });
        req.on("response", (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            const body = Buffer.concat(chunks).toString("utf8");
            const answer = readLoadAnswer(body);
            if (res.statusCode === 200 && answer.name !== undefined) resolve(answer.name);
            else reject(new Error(`dockerd: ${answer.error ?? apiMessage({ status: res.statusCode ?? 0, body })}`));
          });
        });
        req.on("error", reject);
        input.on("error", (error) => {
          req.destroy();
          reject(error);
        });
        input.pipe(req);
      });
    },
  };
}

/** Through the CLI: `podman save` / `podman load` (or docker's, without a local socket). */
export function cliTransfer(bin: string, spawn: Spawn = baseSpawn): ImageTransfer {
  const name = path.basename(bin);
  const saveArgs = (id: string) => (name === "podman" ? ["save", "--format", "docker-archive", id] : ["save", id]);
  return {
    describe: (op, id = "") => `$ ${bin} ${(op === "save" ? saveArgs(id) : ["load", "-q"]).join(" ")}`,
    save(id) {
      const out = new PassThrough();
      const child = spawn(bin, saveArgs(id), { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr = (stderr + chunk.toString("utf8")).slice(-4096);
      });
      child.stdout?.pipe(out, { end: false });
      child.once("error", (error) => out.destroy(error));
      child.once("close", (code, signal) => {
        if (code === 0) out.end();
        else out.destroy(new Error(`${name} save: ${lastEngineLine(stderr) || `exited with ${code ?? signal}`}`));
      });
      out.on("close", () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      });
      return out;
    },
    loadFrom(input) {
      return new Promise((resolve, reject) => {
        const child = spawn(bin, ["load", "-q"], { stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout?.on("data", (chunk: Buffer) => {
          stdout += chunk.toString("utf8");
        });
        child.stderr?.on("data", (chunk: Buffer) => {
          stderr = (stderr + chunk.toString("utf8")).slice(-4096);
        });
        child.stdin?.on("error", () => {}); // a load that failed early: its stdin is closed
        child.once("error", reject);
        child.once("close", (code, signal) => {
          const loaded = code === 0 ? loadedName(stdout) : undefined;
          if (loaded !== undefined) resolve(loaded);
          else
            reject(
              new Error(
                `${name} load: ${lastEngineLine(stderr) || lastEngineLine(stdout) || `exited with ${code ?? signal}`}`,
              ),
            );
        });
        input.on("error", (error) => {
          child.kill("SIGTERM");
          reject(error);
        });
        if (child.stdin) input.pipe(child.stdin);
      });
    },
  };
}

/** The loaded name, or the error, from dockerd's JSON-lines answer to a load. */
export function readLoadAnswer(body: string): { name: string | undefined; error: string | undefined } {
  const said: string[] = [];
  let error: string | undefined;
  for (const line of body.split("\n")) {
    try {
      const message = JSON.parse(line) as { stream?: unknown; error?: unknown };
      if (typeof message.stream === "string") said.push(message.stream);
      if (typeof message.error === "string") error ??= message.error;
    } catch {
      // A line that is not JSON (a blank one): nothing said.
    }
  }
  return { name: error === undefined ? loadedName(said.join("\n")) : undefined, error };
}
