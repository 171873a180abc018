// Another user's flood of forged hellos (test/e2e/security-logs.test.ts):
// `node forge.cjs HOST PORT agent|rendezvous N PARALLEL`, run as that user on a node. Makes N
// connections, PARALLEL at a time; each answers the server's challenge with a hello for `node2`
// whose nonce and MAC are made up (the channel's hello frame, with a rank for the rendezvous);
// every fourth sends junk instead, and every fiftieth nothing at all
// (the server's handshake timeout ends it). Counts how each ended: with a reject from the
// server, closed without one, or an error. Prints a JSON summary when done, or when its stdin
// ends.
const crypto = require("node:crypto");
const net = require("node:net");

const [host, portText, protocol, countText, parallelText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const parallel = Number(parallelText);
const stats = { attempts: 0, hellos: 0, junk: 0, silent: 0, rejected: 0, closed: 0, errors: {}, ms: 0 };
const started = Date.now();
let open = 0;
let done = false;

function hello() {
  const fields = {
    node: "node2",
    nonce: crypto.randomBytes(16).toString("hex"),
    mac: crypto.randomBytes(32).toString("hex"),
  };
  const about = protocol === "rendezvous" ? { about: { rank: 1 } } : {};
  const payload = Buffer.from(JSON.stringify({ ...fields, ...about }));
  const header = Buffer.alloc(5);
  header.writeUInt8(0x02, 0);
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

function junkBytes() {
  return crypto.randomBytes(64);
}

/** The server said no in words: the channel's reject frame (0x04). */
function isReject(received) {
  for (let at = 0; at + 5 <= received.length; at += 5 + received.readUInt32BE(at + 1))
    if (received.readUInt8(at) === 0x04) return true;
  return false;
}

function attempt() {
  if (done || stats.attempts >= count) return;
  stats.attempts++;
  open++;
  const silent = stats.attempts % 50 === 1;
  const junk = stats.attempts % 4 === 0;
  if (silent) stats.silent++;
  const socket = net.connect({ port, host });
  let received = Buffer.alloc(0);
  let sent = silent;
  socket.on("data", (chunk) => {
    received = Buffer.concat([received, chunk]);
    if (sent) return;
    sent = true;
    if (junk) stats.junk++;
    else stats.hellos++;
    socket.write(junk ? junkBytes() : hello());
  });
  socket.on("error", (e) => {
    stats.errors[e.code] = (stats.errors[e.code] ?? 0) + 1;
  });
  socket.on("close", () => {
    open--;
    if (isReject(received)) stats.rejected++;
    else stats.closed++;
    if (stats.attempts < count) attempt();
    else if (open === 0) finish();
  });
}

function finish() {
  if (done) return;
  done = true;
  stats.ms = Date.now() - started;
  process.stdout.write(`${JSON.stringify(stats)}\n`);
  process.exit(0);
}

for (let i = 0; i < Math.min(parallel, count); i++) attempt();
process.stdin.on("end", finish);
process.stdin.resume();
setTimeout(finish, 150_000);
