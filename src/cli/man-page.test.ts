import { spawnSync } from "node:child_process";
import { expect, test } from "vitest";
import { TOPICS } from "./help.js";
import { renderManPage } from "./man-page.js";

/** The page as `man` shows it, by groff with every warning on. */
function rendered(): { text: string; warnings: string } {
  // -P-cbou: plain text, no bold or underline by escapes or overstrikes.
  const r = spawnSync("groff", ["-man", "-Tutf8", "-ww", "-rLL=200n", "-P-cbou"], {
    input: renderManPage("1.2.3"),
    encoding: "utf8",
  });
  return { text: r.stdout, warnings: r.stderr };
}

test("srun-docker(1) renders without a warning and names every option and subcommand of --help", () => {
  const { text, warnings } = rendered();
  expect(warnings).toBe("");
  expect(text).toMatch(/^SRUN-DOCKER\(1\)/);
  expect(text).toContain("srun-docker 1.2.3");
  for (const [topic, { specs, usage }] of Object.entries(TOPICS)) {
    expect(text).toContain(usage);
    for (const spec of specs) expect(text, `${topic} --${spec.name}`).toContain(`--${spec.name}`);
  }
  expect(text).toContain("--launcher <ssh|each|srun>");
});
