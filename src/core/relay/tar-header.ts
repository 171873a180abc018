/**
 * Tar headers as Go's archive/tar reads them (the reader of `docker load` and `podman load`):
 * an entry's name (USTAR or star prefix, PAX `path`, GNU long name), its size (octal,
 * base-256, PAX `size`), the checksum; and a header written again with another size. Pure;
 * used by core/relay/archive-names.ts.
 */

export const BLOCK = 512;

/** What the extended headers before an entry say of it (Go's archive/tar: the last PAX header counts). */
export interface Extended {
  readonly pax: { readonly path?: string; readonly size?: number; readonly sparse?: boolean };
  readonly longName?: string;
  readonly any: boolean;
}

export const NO_EXTENDED: Extended = { pax: {}, any: false };

/** As Go's archive/tar names an entry: the prefix of USTAR (or star) formats, then the name. */
export function headerName(header: Uint8Array): string {
  const name = readString(header, 0, 100);
  const magic = readRaw(header, 257, 6);
  if (magic !== "ustar\0") return name;
  const star = readRaw(header, 508, 4) === "tar\0";
  const prefix = readString(header, 345, star ? 131 : 155);
  return prefix === "" ? name : `${prefix}/${name}`;
}

/** The extended headers so far, with this one's data: a PAX header replaces the last one's records. */
export function readExtended(before: Extended, type: string, data: Uint8Array): Extended {
  if (type === "K") return { ...before, any: true };
  if (type === "L") return { ...before, longName: readString(data, 0, data.length), any: true };
  // Records are "LENGTH key=value\n", LENGTH in bytes, the record's own included.
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = Number(readRaw(data, at, space - at));
    if (space < 0 || !Number.isInteger(length) || length <= space - at + 1 || at + length > data.length)
      throw new Error("a malformed PAX header");
    const record = new TextDecoder().decode(data.subarray(space + 1, at + length - 1));
    const eq = record.indexOf("=");
    records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  const size = records.get("size");
  const pax = {
    ...(records.has("path") ? { path: records.get("path") as string } : {}),
    ...(size === undefined ? {} : { size: Number(size) }),
    sparse: [...records.keys()].some((key) => key.startsWith("GNU.sparse")),
  };
  if (pax.size !== undefined && (!Number.isSafeInteger(pax.size) || pax.size < 0))
    throw new Error("a malformed PAX size");
  return { ...before, pax, any: true };
}

export function checksumHolds(header: Uint8Array): boolean {
  const stored = Number.parseInt(readString(header, 148, 8).trim() || "x", 8);
  let unsigned = 0;
  let signed = 0;
  header.forEach((b, i) => {
    const byte = i >= 148 && i < 156 ? 0x20 : b;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  });
  return stored === unsigned || stored === signed;
}

/** Octal, or base-256 (first byte's top bit set) for entries past 8 GiB. */
export function readSize(header: Uint8Array): number {
  const field = header.subarray(124, 136);
  if (((field[0] ?? 0) & 0x80) !== 0) {
    if (((field[0] ?? 0) & 0x40) !== 0) throw new Error("a negative tar size");
    return field.reduce((n, b, i) => n * 256 + (i === 0 ? b & 0x7f : b), 0);
  }
  const text = readString(header, 124, 12).trim();
  const size = text === "" ? 0 : Number.parseInt(text, 8);
  if (!Number.isSafeInteger(size) || size < 0) throw new Error("a malformed tar size");
  return size;
}

/** A copy of `header` with another size, and the checksum that goes with it. */
export function withSize(header: Uint8Array, size: number): Uint8Array {
  // A copy (a Buffer's slice() would be a view into the stream's own bytes).
  const out = new Uint8Array(header);
  writeOctal(out, 124, 12, size);
  out.fill(0x20, 148, 156);
  writeOctal(
    out,
    148,
    7,
    out.reduce((sum, b) => sum + b, 0),
  );
  out[155] = 0x20;
  return out;
}

function writeOctal(block: Uint8Array, at: number, width: number, value: number): void {
  const digits = value.toString(8).padStart(width - 1, "0");
  for (let i = 0; i < width - 1; i++) block[at + i] = digits.charCodeAt(i);
  block[at + width - 1] = 0;
}

/** Up to the first NUL, as Go's parseString. */
function readString(block: Uint8Array, at: number, length: number): string {
  const field = block.subarray(at, at + length);
  const nul = field.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? field : field.subarray(0, nul));
}

function readRaw(block: Uint8Array, at: number, length: number): string {
  return String.fromCharCode(...block.subarray(at, at + length));
}

export function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}
