import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { createArchiveNameStripper, withoutNames } from "./archive-names.js";

const CONFIG = `${"c".repeat(64)}.json`;
const MANIFEST = JSON.stringify([
  { Config: CONFIG, RepoTags: ["victim/app:latest", "busybox:1"], Layers: [`${"a".repeat(64)}/layer.tar`] },
]);

interface Entry {
  name: string;
  data?: string | Uint8Array;
  type?: string;
  linkname?: string;
  /** The size field as written, when it should differ from the data's (a PAX header sets the real one). */
  size?: number;
}

/** A USTAR header as Go's archive/tar and GNU tar write one. */
function header(entry: Entry, length: number): Uint8Array {
  const block = new Uint8Array(512);
  const put = (at: number, text: string) => block.set(new TextEncoder().encode(text), at);
  put(0, entry.name);
  put(100, "0000644\0");
  put(108, "0000000\0");
  put(116, "0000000\0");
  put(124, `${(entry.size ?? length).toString(8).padStart(11, "0")}\0`);
  put(136, "00000000000\0");
  put(156, entry.type ?? "0");
  if (entry.linkname) put(157, entry.linkname);
  put(257, "ustar\0");
  put(263, "00");
  block.fill(0x20, 148, 156);
  const sum = block.reduce((s, b) => s + b, 0);
  put(148, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}

function tar(entries: Entry[], trailer = true): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const entry of entries) {
    const data =
      typeof entry.data === "string" ? new TextEncoder().encode(entry.data) : (entry.data ?? new Uint8Array());
    parts.push(header(entry, data.length), data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  if (trailer) parts.push(new Uint8Array(1024));
  return Buffer.concat(parts);
}

function pax(records: Record<string, string>): Entry {
  const lines = Object.entries(records).map(([k, v]) => {
    const body = ` ${k}=${v}\n`;
    let length = body.length + 1;
    while (`${length}${body}`.length !== length) length++;
    return `${length}${body}`;
  });
  return { name: "PaxHeaders/x", type: "x", data: lines.join("") };
}

/** The archive through the stripper, in pieces of the given sizes (the rest in one). */
function strip(archive: Uint8Array, pieces: number[] = []): Buffer {
  const stripper = createArchiveNameStripper();
  const out: Uint8Array[] = [];
  let at = 0;
  for (const size of [...pieces, archive.length]) {
    out.push(...stripper.push(archive.subarray(at, Math.min(archive.length, at + size))));
    at = Math.min(archive.length, at + size);
  }
  stripper.end();
  return Buffer.concat(out);
}

/** GNU tar's own reading of an archive: each entry and one file's contents. */
function gnuTar(archive: Uint8Array, file: string): { list: string; content: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "archive-names-"));
  try {
    writeFileSync(path.join(dir, "a.tar"), archive);
    const list = execFileSync("tar", ["-tf", path.join(dir, "a.tar")], { encoding: "utf8" });
    const content = execFileSync("tar", ["-xOf", path.join(dir, "a.tar"), file], { encoding: "utf8" });
    return { list, content };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const LAYER = new Uint8Array(5000).map((_, i) => i % 251);
// Docker 20.10 writes the layers first and manifest.json near the end, as here.
const DOCKER_SAVE = tar([
  { name: `${"a".repeat(64)}/`, type: "5" },
  { name: `${"a".repeat(64)}/layer.tar`, data: LAYER },
  { name: CONFIG, data: '{"architecture":"amd64"}' },
  { name: "manifest.json", data: MANIFEST },
  { name: "repositories", data: '{"victim/app":{"latest":"aaaa"}}' },
]);

describe("an archive's image names taken out as it streams", () => {
  test("manifest.json loses its RepoTags, repositories empties, everything else is byte for byte", () => {
    const out = strip(DOCKER_SAVE);
    const read = gnuTar(out, "manifest.json");
    expect(read.list.split("\n").filter(Boolean)).toEqual([
      `${"a".repeat(64)}/`,
      `${"a".repeat(64)}/layer.tar`,
      CONFIG,
      "manifest.json",
      "repositories",
    ]);
    expect(JSON.parse(read.content)).toEqual([
      { Config: CONFIG, RepoTags: null, Layers: [`${"a".repeat(64)}/layer.tar`] },
    ]);
    expect(gnuTar(out, "repositories").content).toBe("{}");
    expect(Buffer.from(out.subarray(0, 512 * 13))).toEqual(Buffer.from(DOCKER_SAVE.subarray(0, 512 * 13)));
  });

  test("property: however the stream is cut into pieces, the same bytes come out", () => {
    const whole = strip(DOCKER_SAVE);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1500 }), { maxLength: 40 }), (pieces) => {
        expect(strip(DOCKER_SAVE, pieces).equals(whole)).toBe(true);
      }),
    );
  });

  test("index.json (OCI) loses the ref-name annotations that containerd and podman name images by", () => {
    const index = {
      schemaVersion: 2,
      manifests: [
        {
          digest: "sha256:1",
          annotations: {
            "io.containerd.image.name": "docker.io/victim/app:latest",
            "org.opencontainers.image.ref.name": "latest",
            "x.other": "kept",
          },
        },
      ],
    };
    expect(JSON.parse(withoutNames("index.json", JSON.stringify(index)))).toEqual({
      schemaVersion: 2,
      manifests: [{ digest: "sha256:1", annotations: { "x.other": "kept" } }],
    });
    const out = strip(tar([{ name: "./index.json", data: JSON.stringify(index) }]));
    expect(gnuTar(out, "./index.json").content).not.toContain("victim");
  });

  test("a path that resolves to manifest.json is the same file", () => {
    for (const name of ["x/../manifest.json", "/manifest.json", "./manifest.json"]) {
      const out = strip(tar([{ name, data: MANIFEST }])).toString("latin1");
      expect(out).toContain('"RepoTags":null');
      expect(out).not.toContain("victim");
    }
  });

  test("other entries behind PAX and GNU long-name headers pass as they are", () => {
    const long = `${"d".repeat(120)}/layer.tar`;
    const archive = tar([
      pax({ path: long }),
      { name: "d/layer.tar", data: LAYER },
      { name: "././@LongLink", type: "L", data: `${long}\0` },
      { name: "d/layer.tar", data: LAYER },
      { name: "manifest.json", data: MANIFEST },
    ]);
    const out = strip(archive);
    expect(gnuTar(out, "manifest.json").content).not.toContain("victim");
    expect(out.length).toBe(archive.length);
  });

  test("a size in base-256 (as for entries past 8 GiB) is read as the engine reads it", () => {
    const archive = tar([
      { name: "big/layer.tar", data: LAYER.subarray(0, 700) },
      { name: "manifest.json", data: MANIFEST },
    ]);
    const size = new Uint8Array(12);
    size[0] = 0x80;
    size[10] = 700 >> 8;
    size[11] = 700 & 0xff;
    archive.set(size, 124);
    archive.fill(0x20, 148, 156);
    const sum = archive.subarray(0, 512).reduce((s, b) => s + b, 0);
    archive.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, "0")}\0 `), 148);
    expect(strip(archive).toString("latin1")).toContain('"RepoTags":null');
  });

  test.each<[string, Uint8Array, RegExp]>([
    [
      "manifest.json as a symlink",
      tar([{ name: "manifest.json", type: "2", linkname: "evil.json" }]),
      /not a plain file/,
    ],
    [
      "manifest.json as a hard link",
      tar([{ name: "manifest.json", type: "1", linkname: "evil.json" }]),
      /not a plain file/,
    ],
    [
      "manifest.json named by a PAX header",
      tar([pax({ path: "manifest.json" }), { name: "innocent", data: MANIFEST }]),
      /behind an extended tar header/,
    ],
    [
      "manifest.json named by a GNU long name",
      tar([
        { name: "././@LongLink", type: "L", data: "manifest.json\0" },
        { name: "innocent", data: MANIFEST },
      ]),
      /behind an extended tar header/,
    ],
    [
      "a PAX size that hides manifest.json inside another entry",
      tar([pax({ size: "0" }), { name: "innocent", data: "x" }, { name: "manifest.json", data: MANIFEST }]),
      /bad checksum|ended in the middle|after the end/,
    ],
    ["a sparse entry", tar([{ name: "s", type: "S", data: "x" }]), /sparse/],
    [
      "a header with a bad checksum",
      (() => {
        const a = tar([{ name: "manifest.json", data: MANIFEST }]);
        a[0] = "n".charCodeAt(0);
        return a;
      })(),
      /bad checksum/,
    ],
    [
      "a manifest.json after the end-of-archive blocks",
      Buffer.concat([tar([]), tar([{ name: "manifest.json", data: MANIFEST }])]),
      /data after the end/,
    ],
    ["an archive cut in the middle of an entry", DOCKER_SAVE.subarray(0, 3000), /ended in the middle of an entry/],
    ["a manifest.json that is not JSON", tar([{ name: "manifest.json", data: "{" }]), /JSON/],
  ])("refused: %s", (_name, archive, error) => {
    expect(() => strip(archive)).toThrow(error);
  });
});
