// Every command line on the machine, read over and over (test/e2e/security-env.test.ts): run as
// root on the host, whose /proc holds every node's processes and their containers' (the test
// cluster's nodes are network, UTS and mount namespaces in the host's PID namespace). What it
// looks for comes in its environment, never on its own command line: SCAN_TOKEN (must appear
// nowhere) and SCAN_CANARY (a job puts it on a command line in its container, proving the scan
// sees the job's processes while they run). Says `scanning` after its first pass; when its
// stdin closes, prints one JSON line of what it read and found.
const { readdirSync, readFileSync } = require("node:fs");

const needles = {
  token: Buffer.from(process.env.SCAN_TOKEN ?? ""),
  canary: Buffer.from(process.env.SCAN_CANARY ?? ""),
};
if (needles.token.length < 16 || needles.canary.length < 16)
  throw new Error("SCAN_TOKEN and SCAN_CANARY: 16+ bytes each");
const MAX_KEPT = 20;

const found = { token: [], canary: [] };
const pids = new Set();
let passes = 0;
let reads = 0;
let stopping = false;

function note(kind, pid, cmdline) {
  const line = `${pid} ${cmdline.toString("utf8").replaceAll("\0", " ").trim()}`;
  if (found[kind].length < MAX_KEPT && !found[kind].includes(line)) found[kind].push(line);
}

function pass() {
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let cmdline;
    try {
      cmdline = readFileSync(`/proc/${name}/cmdline`);
    } catch {
      continue; // ended between the listing and the read
    }
    reads++;
    pids.add(name);
    if (cmdline.includes(needles.token)) note("token", name, cmdline);
    if (cmdline.includes(needles.canary)) note("canary", name, cmdline);
  }
  passes++;
}

async function main() {
  process.stdin.on("end", () => (stopping = true)).resume();
  const started = Date.now();
  pass();
  process.stdout.write("scanning\n");
  // One pass, then a turn of the event loop (stdin's end), as fast as the machine allows.
  while (!stopping) {
    pass();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ passes, reads, pids: pids.size, seconds, found })}\n`);
}

main();
