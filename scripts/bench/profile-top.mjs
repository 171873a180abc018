#!/usr/bin/env node
// Where a process's CPU went, from a V8 profile (`node --cpu-prof`, or `npm run bench:scale --
// --profile`): the functions with the most self time, then with the most total time.
//
//   node scripts/bench/profile-top.mjs bench-scale-profiles/n4096-run1/master/*.cpuprofile [--top=25]
import { readFileSync } from "node:fs";

const files = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const top = Number(/^--top=(\d+)$/.exec(process.argv.find((a) => a.startsWith("--top=")) ?? "")?.[1] ?? 25);
if (files.length === 0) {
  console.error("usage: node scripts/bench/profile-top.mjs <file.cpuprofile>... [--top=25]");
  process.exit(2);
}

const label = ({ functionName, url, lineNumber }) =>
  `${functionName || "(anonymous)"} ${url.split("/").at(-1)}:${lineNumber + 1}`;

function add(map, key, us) {
  map.set(key, (map.get(key) ?? 0) + us);
}

function print(title, map, totalUs) {
  console.log(`\n${title}`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / totalUs).toFixed(1).padStart(5)}%  ${key}`);
  }
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const sampled = new Map();
  let totalUs = 0;
  for (const [i, id] of profile.samples.entries()) {
    const us = profile.timeDeltas[i] ?? 0;
    add(sampled, id, us);
    totalUs += us;
  }
  const self = new Map();
  const total = new Map();
  for (const [id, us] of sampled) {
    add(self, label(byId.get(id).callFrame), us);
    // Each function once per stack, however deep it recurses.
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const key = label(byId.get(at).callFrame);
      if (!seen.has(key)) add(total, key, us);
      seen.add(key);
    }
  }
  console.log(`${file}: ${(totalUs / 1000).toFixed(0)} ms sampled`);
  print("self time", self, totalUs);
  print("total time", total, totalUs);
}
