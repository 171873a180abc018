/** What the container engines say, read for the one line worth showing a user. */

/** The first line that says something: podman starts stderr with warnings (`level=warning`). */
export function firstEngineLine(text: string): string {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => !/^time="[^"]*" level=(warning|info|debug)/.test(l)) ?? lines[0] ?? "";
}

/** The last line that says something (a CLI's final error, after its progress). */
export function lastEngineLine(text: string): string {
  return (
    text
      .trim()
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? ""
  );
}
