// `srun-docker config`: the effective settings and where each came from.
import type { ConfigSetting } from "../cli/command-line.js";

export function runConfig(settings: readonly ConfigSetting[], out = process.stdout): number {
  const width = Math.max(...settings.map((s) => s.name.length));
  for (const s of settings) {
    const source = typeof s.source === "string" ? s.source : s.source.file;
    const value = s.value === undefined ? "(unset)" : Array.isArray(s.value) ? s.value.join(",") : String(s.value);
    out.write(`${s.name.padEnd(width)}  ${value}  [${source}]\n`);
  }
  return 0;
}
