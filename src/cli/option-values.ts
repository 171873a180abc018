import { parse as parseShellWords } from "shell-quote";
import type { GpuMode, Memlock } from "../core/common/index.js";
import { UserError, usageError } from "../core/common/index.js";
import { expandHostlist } from "../core/hostlist/index.js";
import type { PidsLimit } from "../core/limits/index.js";

/**
 * Converters from one raw option value to its typed form. Each names where the value came
 * from (`--timeout`, `SRUN_DOCKER_TIMEOUT`, or a key in a config file), says what was
 * expected and what it got, and gives a hint.
 */

/** A value as the user wrote it, and where: an option, an environment variable, a config key. */
export interface RawValue {
  readonly value: string | boolean | number | readonly string[];
  /** Already in backticks, e.g. "`--timeout`" or "`timeout` in /etc/srun-docker/config.toml". */
  readonly origin: string;
}

function show(value: RawValue["value"]): string {
  return typeof value === "string" ? `\`${value}\`` : `\`${JSON.stringify(value)}\``;
}

function bad(raw: RawValue, expected: string, hint: string): never {
  throw usageError(`${raw.origin} expects ${expected}, got ${show(raw.value)}`, hint);
}

export function toText(raw: RawValue): string {
  if (typeof raw.value === "string") return raw.value;
  if (typeof raw.value === "number") return String(raw.value);
  return bad(raw, "a text value", `give it a value, e.g. ${raw.origin.split(" ")[0]}=VALUE`);
}

export function toNonEmptyText(raw: RawValue): string {
  const text = toText(raw);
  if (text.trim() === "") bad(raw, "a non-empty value", "remove the option or give it a value");
  return text;
}

export function toFlag(raw: RawValue): boolean {
  if (typeof raw.value === "boolean") return raw.value;
  const text = String(raw.value).toLowerCase();
  if (["1", "true", "yes", "on"].includes(text)) return true;
  if (["0", "false", "no", "off", ""].includes(text)) return false;
  return bad(raw, "true or false", "use the flag on its own to turn it on");
}

export function toInteger(raw: RawValue, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const text = toText(raw).trim();
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    bad(raw, range, `for example ${raw.origin.split(" ")[0]}=${Math.max(min, 2)}`);
  }
  return n;
}

/** `--pids-limit`: `none`, or a count of at least 16 (fewer could not start the job's own processes). */
export function toPidsLimit(raw: RawValue): PidsLimit {
  if (toText(raw).trim() === "none") return { kind: "none" };
  return { kind: "max", value: toInteger(raw, 16) };
}

export function toPort(raw: RawValue): number {
  const text = toText(raw).trim();
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1024 || n > 65535) {
    bad(raw, "a TCP port from 1024 to 65535", "pick an unprivileged port that is free on every node, e.g. 12345");
  }
  return n;
}

export function toEnum<T extends string>(raw: RawValue, allowed: readonly T[]): T {
  const text = toText(raw).trim();
  const found = allowed.find((value) => value === text);
  if (found === undefined) bad(raw, `one of ${allowed.join("|")}`, `use one of: ${allowed.join(", ")}`);
  return found;
}

/** A comma-separated list (or a config array); blanks dropped, as the reference did. */
export function toList(raw: RawValue): string[] {
  const items = Array.isArray(raw.value) ? raw.value : toText(raw).split(",");
  return items.map((item) => String(item).trim()).filter((item) => item !== "");
}

export function toEnvNames(raw: RawValue): string[] {
  const names = toList(raw);
  const badName = names.find((name) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name));
  if (badName !== undefined) {
    bad(
      raw,
      "comma-separated environment variable names",
      `\`${badName}\` is not a variable name; use e.g. --envlist=VAR1,VAR2`,
    );
  }
  return names;
}

/** `--datamnts=/a,/b`: absolute host directories mounted at the same path. */
export function toMountPaths(raw: RawValue): string[] {
  const paths = toList(raw);
  for (const path of paths) {
    if (!path.startsWith("/") || path.includes(":")) {
      bad(
        raw,
        "comma-separated absolute directories",
        `\`${path}\` is not one; for SRC:DST mounts use --dockopts="-v SRC:DST"`,
      );
    }
  }
  return paths;
}

/**
 * `--dockopts="--ipc=host -e X='a b'"` split into words as a shell would (quotes honoured,
 * `$VAR` left literal, globs kept as text). Operators and comments are refused: the
 * reference's unquoted expansion would have passed them to docker as words, which is never
 * what was meant. A config-file array is taken word for word.
 */
export function toDockopts(raw: RawValue): string[] {
  if (Array.isArray(raw.value)) return raw.value.map(String);
  const words: string[] = [];
  const read = () => {
    try {
      return parseShellWords(toText(raw), (name) => `$${name}`);
    } catch (error) {
      // shell-quote throws on what no shell could read either, e.g. an unclosed `${`.
      return bad(raw, `docker options a shell could read (${(error as Error).message.trim()})`, "quote `$` as '\\$'");
    }
  };
  for (const token of read()) {
    if (typeof token === "string") words.push(token);
    else if ("op" in token && token.op === "glob") words.push(token.pattern);
    else {
      const what = "comment" in token ? `a comment \`#${token.comment}\`` : `the shell operator \`${token.op}\``;
      bad(
        raw,
        `docker options, not ${what}`,
        "quote the character (e.g. '\\;') or remove it; dockopts are docker options, not shell commands",
      );
    }
  }
  return words;
}

export function toGpuMode(raw: RawValue): GpuMode {
  const text = toText(raw).trim();
  if (text === "auto" || text === "none" || text === "all") return { kind: text };
  const ids = text.split(",").map((id) => id.trim());
  if (ids.some((id) => !/^(?:\d+|GPU-[0-9A-Fa-f-]+|MIG-[\w/-]+)$/.test(id))) {
    bad(raw, "auto, none, all or a list of GPU indexes/UUIDs", "for example --gpus=0,1 or --gpus=GPU-8f6c...");
  }
  return { kind: "list", ids };
}

const SIZE_UNITS: Readonly<Record<string, number>> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

export function toMemlock(raw: RawValue): Memlock {
  const text = toText(raw).trim().toLowerCase();
  if (text === "unlimited" || text === "-1") return { kind: "unlimited" };
  if (text === "off") return { kind: "off" };
  const match = /^(\d+)([bkmg]?)$/.exec(text);
  const bytes = match ? Number(match[1]) * (SIZE_UNITS[match[2] ?? ""] ?? 1) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    bad(
      raw,
      "unlimited, off or a size in bytes (suffix k, m or g allowed)",
      "the default, unlimited, is what RDMA and NCCL want",
    );
  }
  return { kind: "bytes", bytes };
}

/** docker's `--shm-size` syntax: a number with an optional b/k/m/g unit. */
export function toShmSize(raw: RawValue): string {
  const text = toText(raw).trim();
  if (!/^[1-9]\d*(?:\.\d+)?[bkmgBKMG]?$/.test(text)) {
    bad(raw, "a size such as 1g, 512m or 67108864", "use a number with an optional unit b, k, m or g");
  }
  return text;
}

export function toHostlist(raw: RawValue): string[] {
  try {
    return expandHostlist(toText(raw));
  } catch (error) {
    if (error instanceof UserError) throw usageError(`${raw.origin}: ${error.message}`, error.hint ?? "");
    throw error;
  }
}
