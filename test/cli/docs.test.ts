// The docs stay true and stand alone: the README's options table lists each option of `--help`
// once, CI runs the README's test command, every link between the docs resolves, nothing cites
// notes or issue numbers outside the repository, and the figure blocks are written by the
// commands that measure them (scripts/figures.mjs), not by hand.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { subjectProblems } from "../../scripts/check-commit-subjects.mjs";
import { applyFigures, parseFigures, replaceOutputBlock } from "../../scripts/figures.mjs";

const ROOT = path.resolve(import.meta.dirname, "../..");
const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");
const README = read("README.md");
const DOCS = ["README.md", "CONTRIBUTING.md", "ARCHITECTURE.md", "examples/README.md"].concat(
  readdirSync(path.join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
);

/** The body of the README section under `heading` (## or ###), up to the next such heading. */
function section(text: string, heading: string): string {
  const start = text.search(new RegExp(`\n#{2,3} ${heading.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\n`));
  expect(start, `README section "${heading}"`).toBeGreaterThan(-1);
  const end = text.slice(start + 1).search(/\n#{2,3} /);
  return text.slice(start, end === -1 ? undefined : start + 1 + end);
}

/** Long option names, dashed (`--slots_per_node` is `--slots-per-node`). */
const dashed = (names: Iterable<string>) => [...names].map((n) => n.replaceAll("_", "-"));

describe("README options", () => {
  const rows = section(README, "Options")
    .split("\n")
    .filter((line) => line.startsWith("| `-"))
    .map((line) => dashed(line.split(" | ")[0]?.match(/--[a-z][\w-]*/g) ?? []));

  test("list each option once", () => {
    const all = rows.flat();
    const twice = all.filter((name, i) => all.indexOf(name) !== i);
    expect(twice).toEqual([]);
  });

  test("are the options of --help", () => {
    const bin = path.join(ROOT, "dist/srun-docker.cjs");
    const help = spawnSync(process.execPath, [bin, "--help"], { encoding: "utf8" });
    expect(help.status, help.stderr).toBe(0);
    const options = help.stdout.slice(help.stdout.indexOf("Options:"), help.stdout.indexOf("Commands:"));
    const names = options
      .split("\n")
      .flatMap((line) => /^ {2}(?:-\w, )?(--[\w-]+)(?:, (--[\w-]+))?/.exec(line)?.slice(1) ?? [])
      .filter((name): name is string => name !== undefined);
    const fromHelp = new Set(dashed(names));
    expect(new Set(rows.flat())).toEqual(fromHelp);
  });
});

describe("the README's two commands", () => {
  const command = (heading: string) => /```bash\n(.+)\n```/.exec(section(README, heading))?.[1];

  test("CI runs the README's test command", () => {
    const ci = read(".ci/run");
    expect(command("Run all tests")).toBe("bash scripts/test-all.sh");
    expect(ci).toMatch(/^exec bash scripts\/test-all\.sh\b/m);
  });

  test("the demo's script exists", () => {
    const demo = command("Try it (on a fresh Debian 12 machine, as root)");
    expect(demo).toBe("bash scripts/demo.sh");
    expect(existsSync(path.join(ROOT, "scripts/demo.sh"))).toBe(true);
  });
});

describe("the README's quotes of srun-docker's output", () => {
  // The e2e tests match real output against these quotes (test/e2e/readme-quotes.ts); this
  // finds a quote the README lost without a cluster.
  const quotes = readdirSync(path.join(ROOT, "test/e2e"))
    .filter((f) => f.endsWith(".ts"))
    .flatMap((f) => [...read(`test/e2e/${f}`).matchAll(/expectReadmeQuote\(\s*[\w.]+,\s*"((?:[^"\\]|\\.)*)"/g)])
    .map((m) => JSON.parse(`"${m[1]}"`) as string);

  test("the e2e tests quote the README", () => {
    expect(quotes.length).toBeGreaterThan(5);
  });

  test.each(quotes)("README.md quotes %s", (quote) => {
    expect(README).toContain(quote);
  });
});

/** GitHub's anchor for a heading. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replaceAll(" ", "-");

const anchorsOf = (text: string) =>
  new Set(
    text
      .replace(/```[\s\S]*?```/g, "")
      .split("\n")
      .filter((line) => /^#{1,6} /.test(line))
      .map((line) => slug(line.replace(/^#+ /, ""))),
  );

describe("links between the docs", () => {
  test.each(DOCS)("%s: every relative link and anchor resolves", (doc) => {
    const text = read(doc);
    const broken: string[] = [];
    for (const [, target = ""] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [file = "", anchor] = target.split("#");
      const resolved = file === "" ? doc : path.join(path.dirname(doc), file);
      if (!existsSync(path.join(ROOT, resolved))) broken.push(target);
      else if (anchor && resolved.endsWith(".md") && !anchorsOf(read(resolved)).has(anchor)) broken.push(target);
    }
    expect(broken).toEqual([]);
  });
});

describe("nothing cites what lives outside the repository", () => {
  const OUTSIDE = [
    /\bDESIGN\.md\b/,
    /\bSTYLE\.md\b/,
    /CLARIFICATION[S]/,
    /\.\.\/shared\//,
    /\/work\/shared/,
    /\bissues? #?\d+/i,
  ];
  function* files(dir: string): Generator<string> {
    for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const file = `${dir}/${entry.name}`;
      if (entry.isDirectory()) yield* files(file);
      else if (/\.(ts|mjs|cjs|sh|md|json|toml)$/.test(entry.name)) yield file;
    }
  }
  const all = [
    ...DOCS,
    "biome.jsonc",
    ".dependency-cruiser.cjs",
    "package.json",
    ...["src", "test", "scripts", "examples"].flatMap((d) => [...files(d)]),
  ];

  test("in the code, the tests, the scripts and the docs", () => {
    const found = all.flatMap((file) =>
      read(file)
        .split("\n")
        .flatMap((line, i) => (OUTSIDE.some((re) => re.test(line)) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(found).toEqual([]);
  });
});

describe("figure blocks", () => {
  const doc = [
    "text",
    "<!-- figures: teardown: -->",
    "| case | figure | measured |",
    "|---|---|---|",
    "| teardown: a | nothing left after 1 / 2 / 3 s | 2026-12-01, abc1234 |",
    "| teardown: b | old | 2026-12-01, abc1234 |",
    "<!-- /figures -->",
    "",
  ].join("\n");

  test("a run's FIGURE lines replace their rows only, stamped, and add new ones", () => {
    const output =
      "stdout | x\n\u001b[22m\u001b[39mFIGURE | teardown: b | new\nFIGURE | teardown: c | 4 | 5\nFIGURE | other | 6\n";
    const figures = parseFigures(output);
    expect(figures).toEqual([
      ["teardown: b", "new"],
      ["teardown: c", "4 | 5"],
      ["other", "6"],
    ]);
    expect(applyFigures(doc, figures, "2026-12-07, def5678")).toBe(
      doc.replace(
        "| teardown: b | old | 2026-12-01, abc1234 |\n",
        "| teardown: b | new | 2026-12-07, def5678 |\n| teardown: c | 4 \\| 5 | 2026-12-07, def5678 |\n",
      ),
    );
  });

  test("with no figures, a block is left as it is", () => {
    expect(applyFigures(doc, [], "2026-12-07, def5678")).toBe(doc);
    expect(applyFigures(README, [], "2026-12-07, def5678")).toBe(README);
  });

  test("the README's teardown rows are each stamped with a date and a commit", () => {
    const block = /<!-- figures: teardown: -->\n([\s\S]*?)<!-- \/figures -->/.exec(README)?.[1] ?? "";
    const rows = block.split("\n").filter((line) => line.startsWith("| teardown: "));
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row).toMatch(/ \| \d{4}-\d{2}-\d{2}, [0-9a-f]{7,}( with changes)? \|$/);
  });
});

describe("bench output blocks", () => {
  const doc = "before\n<!-- output: bench -->\nold table\n<!-- /output -->\nafter\n";

  test("a bench's tables replace the whole block, and nothing else", () => {
    expect(replaceOutputBlock(doc, "bench", "| new |\n\n")).toBe(
      "before\n<!-- output: bench -->\n| new |\n<!-- /output -->\nafter\n",
    );
  });

  test("a missing block is an error, not a silent skip", () => {
    expect(() => replaceOutputBlock(doc, "bench:scale", "x")).toThrow("<!-- output: bench:scale -->");
  });

  test("docs/benchmark.md has a block for each bench that writes one", () => {
    const text = read("docs/benchmark.md");
    for (const name of ["bench", "bench --pull", "bench:scale"]) expect(text).toContain(`<!-- output: ${name} -->`);
  });
});

describe("commit subjects", () => {
  test.each([
    [["Add srun-docker exec", "", "Why."], []],
    [["Add srun-docker exec"], []],
    [["x".repeat(73)], ["subject is 73 characters (at most 72)"]],
    [["Fix it", "and more on the second line"], ["no blank line after the subject"]],
    [[""], ["empty subject"]],
  ])("%j: %j", (lines, problems) => {
    expect(subjectProblems(lines)).toEqual(problems);
  });
});
