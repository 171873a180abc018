/**
 * A `docker save` archive (a tar) with the names it gives its images taken out, as it streams
 * past: `docker load` and `podman load` tag an image with the archive's own names (`RepoTags` in
 * manifest.json, the legacy `repositories`, OCI ref-name annotations in index.json) while they
 * load it, before anyone could check which image it is. With --pull-once a node loads the archive
 * its parent sends, so without this a parent could move one of this node's tags to any image;
 * with it, the load names nothing, and the caller names the image only once its ID is the job's.
 *
 * Those three small files are buffered and rewritten wherever they come (Docker 20.10 writes
 * manifest.json near the end); everything else passes through as it comes. An archive that
 * would read differently to the engine than to this parser is refused, not passed: a header
 * with a bad checksum, one of those names behind a PAX or GNU long-name header, or as anything
 * but a plain file, a sparse entry, data after the end-of-archive block. Pure.
 */
import path from "node:path";
import {
  BLOCK,
  checksumHolds,
  type Extended,
  headerName,
  NO_EXTENDED,
  padded,
  readExtended,
  readSize,
  withSize,
} from "./tar-header.js";

const NAMED = new Set(["manifest.json", "repositories", "index.json"]);
/** manifest.json of an image of hundreds of layers is a few kilobytes. */
const MAX_NAMED_BYTES = 8 * 1024 * 1024;
const MAX_EXTENDED_BYTES = 1024 * 1024;
const NAME_ANNOTATIONS = ["io.containerd.image.name", "org.opencontainers.image.ref.name"];

export interface ArchiveNameStripper {
  /** The bytes to pass on so far (none until a header is whole; a named file once it is). */
  push(chunk: Uint8Array): Uint8Array[];
  /** The archive's end: throws when it stops inside an entry. */
  end(): void;
}

type Reading =
  | { readonly kind: "header" }
  /** Data (with its padding) passed on as it comes. */
  | { readonly kind: "pass"; left: number }
  /** An extended header's data, read to learn the next entry's real name and size, then passed. */
  | { readonly kind: "extended"; readonly type: string; readonly size: number; readonly header: Uint8Array }
  /** One of the named files, read whole and rewritten. */
  | { readonly kind: "named"; readonly name: string; readonly size: number; readonly header: Uint8Array }
  /** After the end-of-archive block: only zeros may follow. */
  | { readonly kind: "ended" };

export function createArchiveNameStripper(): ArchiveNameStripper {
  return new NameStripper();
}

class NameStripper implements ArchiveNameStripper {
  #reading: Reading = { kind: "header" };
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  #extended: Extended = NO_EXTENDED;

  push(chunk: Uint8Array): Uint8Array[] {
    this.#held.push(chunk);
    this.#heldBytes += chunk.length;
    const out: Uint8Array[] = [];
    for (let got = this.#step(); got !== undefined; got = this.#step()) out.push(...got);
    return out;
  }

  end(): void {
    const between = (this.#reading.kind === "header" && !this.#extended.any) || this.#reading.kind === "ended";
    if (!between || this.#heldBytes > 0) throw new Error("the archive ended in the middle of an entry");
  }

  /** Takes `n` bytes from what is held, once that many are. */
  #take(n: number): Uint8Array | undefined {
    if (this.#heldBytes < n) return undefined;
    const all = concat(this.#held, this.#heldBytes);
    this.#held = all.length > n ? [all.subarray(n)] : [];
    this.#heldBytes -= n;
    return all.subarray(0, n);
  }

  /** What the held bytes make of the state; undefined until enough are held. */
  #step(): Uint8Array[] | undefined {
    const reading = this.#reading;
    switch (reading.kind) {
      case "header": {
        const header = this.#take(BLOCK);
        return header === undefined ? undefined : this.#onHeader(header);
      }
      case "pass":
        return this.#pass(reading);
      case "extended":
      case "named":
        return this.#readWhole(reading);
      case "ended": {
        const rest = this.#take(this.#heldBytes);
        if (rest === undefined || rest.length === 0) return undefined;
        if (!rest.every((b) => b === 0)) throw new Error("data after the end of the archive");
        return [rest];
      }
    }
  }

  #pass(reading: Extract<Reading, { kind: "pass" }>): Uint8Array[] | undefined {
    if (this.#heldBytes === 0) return undefined;
    const piece = this.#take(Math.min(reading.left, this.#heldBytes)) as Uint8Array;
    reading.left -= piece.length;
    if (reading.left === 0) this.#reading = { kind: "header" };
    return [piece];
  }

  /** An extended header's data (learnt, then passed) or a named file's (rewritten), once whole. */
  #readWhole(reading: Extract<Reading, { kind: "extended" | "named" }>): Uint8Array[] | undefined {
    const data = this.#take(padded(reading.size));
    if (data === undefined) return undefined;
    this.#reading = { kind: "header" };
    if (reading.kind === "named") return rewritten(reading.header, reading.name, data.subarray(0, reading.size));
    this.#extended = readExtended(this.#extended, reading.type, data.subarray(0, reading.size));
    return [reading.header, data];
  }

  #onHeader(header: Uint8Array): Uint8Array[] {
    if (header.every((b) => b === 0)) {
      if (this.#extended.any) throw new Error("an extended tar header before the end of the archive");
      this.#reading = { kind: "ended" };
      return [header];
    }
    if (!checksumHolds(header)) throw new Error("a tar header with a bad checksum");
    const type = String.fromCharCode(header[156] ?? 0);
    if (type === "x" || type === "L" || type === "K") {
      const size = readSize(header);
      if (size > MAX_EXTENDED_BYTES) throw new Error(`an extended tar header of ${size} bytes`);
      this.#reading = { kind: "extended", type, size, header };
      return [];
    }
    const seen = this.#extended;
    this.#extended = NO_EXTENDED;
    if (type === "S" || seen.pax.sparse) throw new Error("a sparse entry");
    if (type === "g" && seen.any) throw new Error("a global PAX header after an extended one");
    const size = seen.pax.size ?? readSize(header);
    const names = [headerName(header), seen.pax.path, seen.longName].filter((n) => n !== undefined);
    const named = names.map(normalize).find((n) => NAMED.has(n));
    if (named !== undefined) {
      checkNamed(named, header, type, size, seen);
      this.#reading = { kind: "named", name: named, size, header };
      return [];
    }
    this.#reading = size === 0 ? { kind: "header" } : { kind: "pass", left: padded(size) };
    return [header];
  }
}

/** One of the named files must read the same to the engine as to us: a plain file, under its own name. */
function checkNamed(named: string, header: Uint8Array, type: string, size: number, seen: Extended): void {
  if (seen.any) throw new Error(`${named} behind an extended tar header`);
  if ((type !== "0" && type !== "\0") || headerName(header).endsWith("/"))
    throw new Error(`${named} is not a plain file`);
  if (size > MAX_NAMED_BYTES) throw new Error(`${named} of ${size} bytes`);
}

/** The named file without the names it gives: its new header and data, padded. */
function rewritten(header: Uint8Array, name: string, data: Uint8Array): Uint8Array[] {
  const text = new TextEncoder().encode(withoutNames(name, new TextDecoder().decode(data)));
  return [withSize(header, text.length), text, new Uint8Array(padded(text.length) - text.length)];
}

/** manifest.json, repositories or index.json without image names; throws on what is not JSON. */
export function withoutNames(name: string, text: string): string {
  if (name === "repositories") return "{}";
  const json: unknown = JSON.parse(text);
  if (name === "manifest.json") {
    if (!Array.isArray(json)) throw new Error("manifest.json is not a list");
    return JSON.stringify(json.map((entry: unknown) => (isObject(entry) ? { ...entry, RepoTags: null } : entry)));
  }
  if (!isObject(json) || !Array.isArray(json.manifests)) return JSON.stringify(json);
  const manifests = json.manifests.map((m: unknown) => {
    if (!isObject(m) || !isObject(m.annotations)) return m;
    const annotations = { ...m.annotations };
    for (const key of NAME_ANNOTATIONS) delete annotations[key];
    return { ...m, annotations };
  });
  return JSON.stringify({ ...json, manifests });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** How docker's untar places it: relative to the archive's root, `..` and `.` resolved. */
function normalize(name: string): string {
  return path.posix.normalize(`/${name}`).replace(/^\/+/, "").replace(/\/+$/, "");
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
