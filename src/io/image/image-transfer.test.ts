// The archive's way out of and into an engine: a fake dockerd on a unix socket (its save as a
// chunked stream, its load's JSON lines, as 20.10 sends them) and a stand-in `podman` program.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cliTransfer, dockerApiTransfer, readLoadAnswer } from "./image-transfer.js";

const ID = `sha256:${"d".repeat(64)}`;
const ARCHIVE = Buffer.alloc(300_000, 7);
let dir: string;
let server: Server;
let socketPath: string;
const loads: Buffer[] = [];

const collect = async (stream: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "image-transfer-"));
  socketPath = path.join(dir, "docker.sock");
  server = createServer((req, res) => {
    const url = req.url ?? "";
    if (req.method === "GET" && url === `/images/${encodeURIComponent(ID)}/get`) {
      res.writeHead(200, { "Content-Type": "application/x-tar" });
      res.write(ARCHIVE.subarray(0, 100_000));
      setTimeout(() => res.end(ARCHIVE.subarray(100_000)), 20);
      return;
    }
    if (req.method === "GET" && url.endsWith("/cut/get")) {
      res.writeHead(200, { "Content-Type": "application/x-tar" });
      res.write(ARCHIVE.subarray(0, 1000));
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    if (req.method === "GET") {
      res.writeHead(404, { "Content-Type": "application/json" });
      res.end('{"message":"reference does not exist"}\n');
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("error", () => {});
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      loads.push(body);
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(
        body.length === ARCHIVE.length
          ? `{"stream":"Loaded image ID: ${ID}\\n"}\n`
          : '{"errorDetail":{"message":"unexpected EOF"},"error":"unexpected EOF"}\n',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const podman = path.join(dir, "podman");
  writeFileSync(
    podman,
    `#!/bin/sh
echo "$*" >> "${dir}/podman-args"
case "$1" in
  save) [ "$4" = "${ID}" ] || { echo "Error: $4: image not known" >&2; exit 125; }; head -c 300000 /dev/zero ;;
  load) n=$(wc -c); [ "$n" = 300000 ] && echo "Loaded image: ${ID}" || { echo "Error: payload does not match any of the supported image formats" >&2; exit 125; } ;;
esac
`,
  );
  chmodSync(podman, 0o755);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe("docker's Engine API", () => {
  test("save streams the archive whole; load takes it as it comes and says the ID", async () => {
    const transfer = dockerApiTransfer(socketPath);
    const loaded = await transfer.loadFrom(transfer.save(ID));
    expect(loaded).toBe(ID);
    expect(loads.at(-1)).toEqual(ARCHIVE);
  });

  test("a save dockerd cuts short fails, and so does the load fed from it", async () => {
    const transfer = dockerApiTransfer(socketPath);
    await expect(collect(transfer.save("cut"))).rejects.toThrow();
    await expect(transfer.loadFrom(transfer.save("cut"))).rejects.toThrow();
  });

  test("an image dockerd does not have: its words", async () => {
    await expect(collect(dockerApiTransfer(socketPath).save("nope"))).rejects.toThrow(
      "dockerd: reference does not exist",
    );
  });

  test("a load dockerd refuses: its words", async () => {
    await expect(dockerApiTransfer(socketPath).loadFrom(Readable.from([Buffer.from("short")]))).rejects.toThrow(
      "dockerd: unexpected EOF",
    );
  });

  test("--debug says each as the request it is", () => {
    const transfer = dockerApiTransfer("/run/docker.sock");
    expect(transfer.describe("save", ID)).toBe(
      `> GET /images/${encodeURIComponent(ID)}/get (Engine API on /run/docker.sock)`,
    );
    expect(transfer.describe("load")).toBe("> POST /images/load?quiet=1 (Engine API on /run/docker.sock)");
    expect(cliTransfer("podman").describe("save", "x")).toBe("$ podman save --format docker-archive x");
    expect(cliTransfer("docker").describe("load")).toBe("$ docker load -q");
  });

  test.each([
    [`{"stream":"Loaded image ID: ${ID}\\n"}\n`, { name: ID, error: undefined }],
    ['{"stream":"Loaded image: reg/app:1\\n"}\r\n', { name: "reg/app:1", error: undefined }],
    ['{"error":"archive/tar: invalid tar header"}\n', { name: undefined, error: "archive/tar: invalid tar header" }],
    ["", { name: undefined, error: undefined }],
  ])("readLoadAnswer(%j)", (body, answer) => expect(readLoadAnswer(body)).toEqual(answer));
});

describe("podman's CLI", () => {
  const transfer = () => cliTransfer(path.join(dir, "podman"));

  test("save to stdout, load from stdin", async () => {
    expect(await transfer().loadFrom(transfer().save(ID))).toBe(ID);
    expect(readFileSync(path.join(dir, "podman-args"), "utf8")).toContain(
      `save --format docker-archive ${ID}\nload -q\n`,
    );
  });

  test("a save podman refuses: its words, on the stream", async () => {
    await expect(collect(transfer().save("nope"))).rejects.toThrow("podman save: Error: nope: image not known");
  });

  test("an archive that is not one: the load's words", async () => {
    await expect(transfer().loadFrom(Readable.from([Buffer.from("x")]))).rejects.toThrow(
      "podman load: Error: payload does not match any of the supported image formats",
    );
  });

  test("an input that breaks cancels the load", async () => {
    const input = new Readable({ read() {} });
    const loading = transfer().loadFrom(input);
    input.push(Buffer.alloc(10));
    setTimeout(() => input.destroy(new Error("the parent went away")), 20);
    await expect(loading).rejects.toThrow("the parent went away");
  });
});
