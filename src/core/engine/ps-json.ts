// `docker ps` / `podman ps` JSON output as data: pure, so both engines' shapes are tested
// as tables.

export interface ContainerSummary {
  name: string;
  labels: Record<string, string>;
}

type PsRow = { Names?: string | string[]; Labels?: string | Record<string, string> | null };

/**
 * `ps --format '{{json .}}'`: docker prints one object per line, with `Names` and `Labels` as
 * comma-joined strings; podman prints one JSON array (`[]` when empty), with a `Names` array
 * and a `Labels` map.
 */
export function parsePsJson(stdout: string): ContainerSummary[] {
  const text = stdout.trim();
  if (!text) return [];
  const rows: PsRow[] = text.startsWith("[")
    ? (JSON.parse(text) as PsRow[])
    : text
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as PsRow);
  return rows.map((raw) => {
    const names = Array.isArray(raw.Names) ? raw.Names : (raw.Names ?? "").split(",");
    return { name: names[0] ?? "", labels: parseLabels(raw.Labels ?? undefined) };
  });
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
