// Another user in the gap between a job's rendezvous and its servers (test/e2e/security-ports.test.ts):
// `node gap.cjs SPEC.json`, run as that user on a node. SPEC: {victimUid, rendezvousPorts,
// ports, relayAgent, frames: {challenge, welcome, reject}}.
// It waits until the victim's srun-docker on this node talks to its master's rendezvous (an
// established TCP connection of the victim's uid to one of `rendezvousPorts`, in /proc/net/tcp*,
// which any user can read): the moment that node's srun-docker used to have probed its agent's
// or sshd's port, and the container had not started yet. Then it binds `ports` at once, on every
// address, and prints `bound P... after N ms` (`late P:CODE` for each that was taken already).
// With `relayAgent`, each connection is relayed to the victim's agent on this node (a port of the
// victim's uid that greets with the agent's challenge frame), and what the agent answers is
// counted: welcomes (a relayed hello accepted) and rejects. Otherwise connections are held,
// silent. On stdin's end (or after SPEC.lifetimeMs) it prints a JSON summary and exits.
const net = require("node:net");
const { readFileSync } = require("node:fs");

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));
const stats = { connections: 0, relayed: 0, welcomes: 0, rejects: 0, late: [], waitedMs: 0 };
const sockets = new Set();
const startedAt = Date.now();

/** /proc/net/tcp* rows of `uid`: [state, local port, remote port]. */
function socketsOf(uid) {
  const rows = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 8 || Number(f[7]) !== uid) continue;
      const port = (address) => Number.parseInt(address.split(":")[1], 16);
      rows.push([f[3], port(f[1]), port(f[2])]);
    }
  }
  return rows;
}

/** Resolves once the victim has an established connection (01) to one of the rendezvous ports. */
function rendezvousTalk() {
  return new Promise((resolve) => {
    const look = () => {
      const talking = socketsOf(spec.victimUid).some(
        ([state, , remote]) => state === "01" && spec.rendezvousPorts.includes(remote),
      );
      if (talking) resolve();
      else setTimeout(look, 2);
    };
    look();
  });
}

let agentPort;
/** The victim's agent on this node: a listening port of its uid whose first byte is a challenge frame. */
async function findAgent(deadline) {
  while (agentPort === undefined && Date.now() < deadline) {
    const listening = socketsOf(spec.victimUid)
      .filter(([state]) => state === "0A")
      .map(([, local]) => local);
    for (const port of listening.filter((p) => !spec.ports.includes(p))) {
      const greets = await new Promise((resolve) => {
        const s = net.connect({ port, host: "127.0.0.1" });
        const done = (value) => {
          clearTimeout(timer);
          s.destroy();
          resolve(value);
        };
        const timer = setTimeout(() => done(false), 300);
        s.on("error", () => done(false));
        s.once("data", (d) => done(d[0] === spec.frames.challenge));
      });
      if (greets) agentPort = port;
    }
    if (agentPort === undefined) await new Promise((r) => setTimeout(r, 50));
  }
  return agentPort;
}

/** Counts the agent's frames on their way back: a welcome would mean a relayed hello passed. */
function countFrames() {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
      if (pending[0] === spec.frames.welcome) stats.welcomes++;
      if (pending[0] === spec.frames.reject) stats.rejects++;
      pending = pending.subarray(5 + pending.readUInt32BE(1));
    }
  };
}

async function relay(client) {
  // The client gives a port about a second before it tries the next one.
  const port = await findAgent(Date.now() + 800);
  if (port === undefined || client.destroyed) return client.destroy();
  stats.relayed++;
  const agent = net.connect({ port, host: "127.0.0.1" });
  sockets.add(agent);
  agent.on("error", () => client.destroy());
  const count = countFrames();
  agent.on("data", (d) => {
    count(d);
    client.write(d);
  });
  client.on("data", (d) => agent.write(d));
  agent.on("close", () => client.destroy());
  client.on("close", () => agent.destroy());
}

function bind(port) {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => {
      stats.connections++;
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
      if (spec.relayAgent) void relay(socket);
    });
    server.on("error", (e) => {
      stats.late.push(`${port}:${e.code}`);
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

process.stdin.on("end", end);
process.stdin.resume();
setTimeout(end, spec.lifetimeMs ?? 300_000);
process.stdout.write("watching\n");
rendezvousTalk().then(async () => {
  stats.waitedMs = Date.now() - startedAt;
  await Promise.all(spec.ports.map(bind));
  const late = stats.late.length ? ` late ${stats.late.join(" ")}` : "";
  process.stdout.write(`bound ${spec.ports.join(" ")} after ${stats.waitedMs} ms${late}\n`);
});
