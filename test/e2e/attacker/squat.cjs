// Another user takes a job's derived ports before it starts (test/e2e/security.test.ts):
// `node squat.cjs SPEC.json`, run as that user on a node. SPEC: {ports, relay?, victimUid, protocolVersion}.
// Every port is bound on every address; connections to `relay` are answered as a master would:
// relayed to the victim's real rendezvous master when one listens on this node (found in
// /proc/net/tcp6 by its owner's uid, as any user can), else with a challenge and, to a hello,
// a welcome with a made-up MAC; either way it adds abort, done and go of its own, which the
// worker must ignore. Prints `squatting P...` once bound, and on stdin's end (or after
// SPEC.lifetimeMs) a JSON summary: connections, hellos seen, relayed, faked, orders; then exits.
const net = require("node:net");
const { randomBytes } = require("node:crypto");
const { readFileSync } = require("node:fs");

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const stats = { connections: 0, hellos: 0, relayed: 0, faked: 0, orders: 0, errors: [] };
const sockets = new Set();

/** Ports listening in this network namespace that `uid` owns (/proc/net/tcp*: state 0A). */
function listeningPortsOf(uid) {
  const ports = new Set();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 8 || f[3] !== "0A" || Number(f[7]) !== uid) continue;
      ports.add(Number.parseInt(f[1].split(":")[1], 16));
    }
  }
  for (const own of spec.ports) ports.delete(own);
  return [...ports];
}

/** The rendezvous' challenge: a challenge frame whose version is the rendezvous protocol's (not the agent's). */
function isMastersChallenge(first) {
  if (first.length < 5 || first[0] !== 0x01 || first.length < 5 + first.readUInt32BE(1)) return undefined;
  try {
    return JSON.parse(first.subarray(5, 5 + first.readUInt32BE(1)).toString()).v === spec.protocolVersion;
  } catch {
    return false;
  }
}

/** A connection to the victim's master: one of its ports whose first frame is the rendezvous' challenge. */
async function findMaster(deadline) {
  while (Date.now() < deadline) {
    for (const port of listeningPortsOf(spec.victimUid)) {
      const master = await new Promise((resolve) => {
        const s = net.connect({ port, host: "127.0.0.1" });
        const timer = setTimeout(() => done(undefined), 300);
        let first = Buffer.alloc(0);
        const done = (value) => {
          clearTimeout(timer);
          s.removeAllListeners("data");
          if (value === undefined) s.destroy();
          resolve(value);
        };
        s.on("error", () => done(undefined));
        s.on("data", (d) => {
          first = Buffer.concat([first, d]);
          const verdict = isMastersChallenge(first);
          if (verdict !== undefined) done(verdict ? { s, first } : undefined);
        });
      });
      if (master !== undefined) return master;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

/** One frame of the channel (type byte, u32 length, JSON): 1 challenge, 2 hello, 3 welcome, 0x40 a message. */
function frame(type, value) {
  const payload = Buffer.from(JSON.stringify(value));
  const header = Buffer.alloc(5);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}
const isHello = (d) => d.length > 0 && d[0] === 0x02;

/** What a master says to end or start a worker's job: the worker must not take it from us. */
const ORDERS = Buffer.concat([
  frame(0x40, { type: "abort", reason: "squatter" }),
  frame(0x40, { type: "done", exitCode: 0 }),
  frame(0x40, { type: "go" }),
]);

/** Pretends to be the master: a challenge, and to each hello a welcome it cannot make right. */
function fake(worker) {
  stats.faked++;
  // The victim's protocol version, so the worker gets as far as checking the welcome's MAC.
  const v = spec.protocolVersion;
  worker.write(frame(0x01, { v, nonce: randomBytes(16).toString("hex") }));
  worker.on("data", (d) => {
    if (!isHello(d)) return;
    stats.hellos++;
    worker.write(Buffer.concat([frame(0x03, { mac: randomBytes(32).toString("hex") }), ORDERS]));
    stats.orders++;
  });
}

async function relay(worker) {
  // The worker gives a candidate about a second before it tries the next one.
  const found = await findMaster(Date.now() + 700);
  if (worker.destroyed) return found?.s.destroy();
  if (found === undefined) return fake(worker);
  stats.relayed++;
  const { s: master, first } = found;
  sockets.add(master);
  worker.write(first);
  worker.write(ORDERS);
  stats.orders++;
  worker.on("data", (d) => {
    if (isHello(d)) stats.hellos++;
    master.write(d);
  });
  master.on("data", (d) => worker.write(d));
  master.on("close", () => worker.destroy());
  worker.on("close", () => master.destroy());
}

function bind(port) {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => {
      stats.connections++;
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
      if (port === spec.relay) void relay(socket);
    });
    server.on("error", (e) => {
      stats.errors.push(`${port}: ${e.code}`);
      resolve();
    });
    server.listen({ port }, () => resolve());
  });
}

function end() {
  process.stdout.write(`${JSON.stringify(stats)}\n`);
  for (const s of sockets) s.destroy();
  process.exit(0);
}

Promise.all(spec.ports.map(bind)).then(() => {
  process.stdout.write(`squatting ${spec.ports.join(" ")}${stats.errors.length ? ` errors ${stats.errors}` : ""}\n`);
  process.stdin.on("end", end);
  process.stdin.resume();
  setTimeout(end, spec.lifetimeMs ?? 120_000);
});
