// The scale bench's master process: the real rendezvous master (startRendezvousMaster) with a
// real run's options (all defaults: heartbeats, handshake timeout, grace), alone in its process
// so that its CPU seconds, RSS and file descriptors are its own.
import { describeRendezvousFailure } from "../../src/core/rendezvous/index.js";
import { startRendezvousMaster } from "../../src/io/rendezvous/index.js";
import { type Channel, type FromMaster, type JobConfig, type ToMaster, wallNow } from "./scale-ipc.js";

const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};

export async function runMasterRole(job: JobConfig, channel: Channel<ToMaster, FromMaster>): Promise<void> {
  const rssBaselineBytes = process.memoryUsage().rss;
  let firstHelloAt: number | undefined;
  let lastHelloAt = 0;
  let dropped = 0;
  const master = await startRendezvousMaster({
    port: 0,
    host: "127.0.0.1",
    secret: Buffer.from(job.secretHex, "hex"),
    jobKey: job.jobKey,
    expectedNodes: job.nodes,
    deadlineMs: job.deadlineMs,
    onEvent: (event) => {
      // A real run stringifies every event for its debug log, read or not: so does the bench.
      JSON.stringify(event);
      if (event.type === "worker-authenticated") {
        lastHelloAt = performance.now();
        firstHelloAt ??= lastHelloAt;
      } else if (event.type === "connection-dropped") dropped++;
    },
  });
  const cpuStart = process.cpuUsage();
  channel.send({ type: "listening", port: master.port, pid: process.pid });
  master.onWorkerLost((lost) => channel.send({ type: "lost", at: wallNow(), ...lost }));
  channel.onMessage((message) => {
    if (message.type === "abort") {
      const at = wallNow();
      void master.abort("bench: abort").then(() =>
        channel.send({
          type: "aborted",
          at,
          closedMs: wallNow() - at,
          cpuTotalSeconds: cpuSeconds(cpuStart),
          maxRssBytes: process.resourceUsage().maxRSS * 1024,
        }),
      );
    } else if (message.type === "exit") {
      master.close();
      process.disconnect();
    }
  });
  const ready = await master.ready;
  const readyAt = performance.now();
  const memory = process.memoryUsage();
  channel.send({
    type: "ready",
    ok: ready.ok,
    ...(ready.ok ? {} : { failure: describeRendezvousFailure(ready.failure).slice(0, 2000) }),
    firstHelloToReadyMs: readyAt - (firstHelloAt ?? readyAt),
    firstToLastHelloMs: lastHelloAt - (firstHelloAt ?? lastHelloAt),
    cpuGatherSeconds: cpuSeconds(cpuStart),
    rssBaselineBytes,
    rssReadyBytes: memory.rss,
    heapUsedReadyBytes: memory.heapUsed,
    dropped,
  });
}
