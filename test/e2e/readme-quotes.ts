// The README quotes what srun-docker prints when things go wrong; these checks keep the quotes
// true. A quote must appear in the README word for word, and the real output of the same
// fault must match it, with the README's placeholders (an image, a node, a number) let vary.
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { REPO } from "./cluster.js";

const README = readFileSync(path.join(REPO, "README.md"), "utf8");

/** The regular expression a README quote stands for: IMG is any image, node2 any node, 0.4 any number. */
export function quotePattern(quote: string): RegExp {
  const source = quote
    .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    .split(/(node\d+)/)
    // Odd parts are node names: numbers are let vary only outside them.
    .map((part, i) => (i % 2 ? "node\\d+" : part.replace(/\d+(?:\\\.\d+)?/g, "\\d+(?:\\.\\d+)?")))
    .join("")
    .replace(/IMG/g, "\\S+");
  return new RegExp(source);
}

/** `quote` is in the README, and `output` says the same thing. */
export function expectReadmeQuote(output: string, quote: string): void {
  expect(README.includes(quote), `README.md no longer quotes \`${quote}\``).toBe(true);
  expect(output).toMatch(quotePattern(quote));
}
