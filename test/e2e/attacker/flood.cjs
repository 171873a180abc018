// Another user floods a job's port (test/e2e/security.test.ts): `node flood.cjs HOST PORT N`,
// run as that user on a node. Holds N connections that never say a word (what the server
// sends is read and ignored) and opens a new one for each that the server closes, until its
// stdin ends. Prints `holding N` once N connections were established, then, at the end, a JSON
// summary: established, closed by the server, open at the end, the most open at once.
const net = require("node:net");

const [host, portText, countText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const stats = { established: 0, closedByServer: 0, openAtEnd: 0, mostOpen: 0, errors: {} };
const sockets = new Set();
let open = 0;
let stopping = false;
let said = false;

function connect() {
  const socket = net.connect({ port, host });
  sockets.add(socket);
  let up = false;
  socket.on("connect", () => {
    up = true;
    stats.established++;
    open++;
    stats.mostOpen = Math.max(stats.mostOpen, open);
    if (!said && stats.established >= count) {
      said = true;
      process.stdout.write(`holding ${count}\n`);
    }
  });
  socket.on("error", (e) => {
    stats.errors[e.code] = (stats.errors[e.code] ?? 0) + 1;
  });
  socket.resume();
  socket.on("close", () => {
    sockets.delete(socket);
    if (up) open--;
    if (stopping) return;
    if (up) stats.closedByServer++;
    // At once, as a flood that means it would; a refused one after a pause.
    setTimeout(connect, up ? 0 : 100);
  });
}

for (let i = 0; i < count; i++) connect();
process.stdin.on("end", () => {
  stopping = true;
  stats.openAtEnd = open;
  process.stdout.write(`${JSON.stringify(stats)}\n`);
  for (const s of sockets) s.destroy();
  process.exit(0);
});
process.stdin.resume();
setTimeout(() => process.stdin.emit("end"), 150_000);
