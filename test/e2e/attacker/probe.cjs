// Another user's attempts on a job's ports (test/e2e/security.test.ts), run as that user on a
// node: `node probe.cjs ATTEMPTS.json`. Each attempt is one new connection: wait for what the
// server says first (its challenge), send the attempt's bytes, then wait until the server
// closes the connection or WAIT_MS pass. One JSON line per attempt on stdout: how it ended and
// every byte the server sent (base64), for the test to judge as root.
const net = require("node:net");
const { randomBytes } = require("node:crypto");
const { readFileSync } = require("node:fs");

/** Longer than both servers' handshake timeout (5 s): a server that holds on is seen to. */
const WAIT_MS = 8000;
/** A server that says nothing first still gets the attempt after this long. */
const FIRST_WORD_MS = 1500;
const PARALLEL = 8;

const attempts = JSON.parse(readFileSync(process.argv[2], "utf8"));

/** The nonce of the server's challenge (both protocols carry it as JSON), or zeros. */
function nonceOf(received) {
  return /"nonce":"([0-9a-f]{32})"/.exec(received.toString("latin1"))?.[1] ?? "0".repeat(32);
}

/** One item's bytes: raw (base64), a JSON line, an agent frame, or random junk with newlines. */
function encode(item, nonce) {
  const fill = (text) => text.replaceAll("@NONCE@", nonce);
  if (item.raw !== undefined) return Buffer.from(item.raw, "base64");
  if (item.line !== undefined) return Buffer.from(`${fill(item.line)}\n`);
  if (item.frame !== undefined) {
    const payload = Buffer.from(fill(item.json ?? ""));
    const header = Buffer.alloc(5);
    header.writeUInt8(item.frame, 0);
    header.writeUInt32BE(payload.length, 1);
    return Buffer.concat([header, payload]);
  }
  if (item.junk !== undefined) return randomBytes(item.junk);
  throw new Error(`unknown item ${JSON.stringify(item)}`);
}

function attempt(a) {
  return new Promise((resolve) => {
    const started = Date.now();
    const received = [];
    let connected = false;
    let sent = false;
    let error;
    let done = false;
    const socket = net.connect({ port: a.port, host: a.host });
    const send = () => {
      if (sent || socket.destroyed) return;
      sent = true;
      const nonce = nonceOf(Buffer.concat(received));
      for (const item of a.send) socket.write(encode(item, nonce), () => {});
    };
    const firstWord = setTimeout(send, FIRST_WORD_MS);
    const finish = (how) => {
      if (done) return;
      done = true;
      clearTimeout(firstWord);
      clearTimeout(deadline);
      socket.destroy();
      resolve({
        id: a.id,
        how,
        connected,
        sent,
        ms: Date.now() - started,
        error,
        received: Buffer.concat(received).toString("base64"),
      });
    };
    const deadline = setTimeout(() => finish("held"), WAIT_MS);
    socket.on("connect", () => {
      connected = true;
    });
    socket.on("data", (chunk) => {
      received.push(chunk);
      // The whole challenge: a line, or a frame's five header bytes and its payload.
      const all = Buffer.concat(received);
      const whole = all[0] === 0x7b ? all.includes(10) : all.length >= 5 && all.length >= 5 + all.readUInt32BE(1);
      if (whole) send();
    });
    socket.on("error", (e) => {
      error = e.code ?? e.message;
    });
    socket.on("close", () => finish(connected ? "closed" : "refused"));
  });
}

async function main() {
  const queue = [...attempts];
  const workers = Array.from({ length: PARALLEL }, async () => {
    for (let a = queue.shift(); a !== undefined; a = queue.shift()) {
      process.stdout.write(`${JSON.stringify(await attempt(a))}\n`);
    }
  });
  await Promise.all(workers);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
