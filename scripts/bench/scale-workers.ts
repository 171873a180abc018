// A scale bench worker process: many simulated nodes, each running the real worker code
// (connectRendezvousWorker and its link) with a real run's options, over its own TCP
// connection to the master. Each reports ready as soon as it joined, then waits for the
// outcome. On "kill", one node's socket is reset at once, as when its machine drops the link.
import { connect, type Socket } from "node:net";
import { connectRendezvousWorker } from "../../src/io/rendezvous/index.js";
import { type Channel, type FromWorkers, type JobConfig, type ToWorkers, wallNow } from "./scale-ipc.js";

interface Fleet {
  job: JobConfig;
  port: number;
  ranks: number[];
}

export function runWorkersRole(channel: Channel<ToWorkers, FromWorkers>): void {
  let fleet: Fleet | undefined;
  /** Each node's latest socket (a retry replaces it). */
  const sockets = new Map<string, Socket>();
  channel.onMessage((message) => {
    switch (message.type) {
      case "config":
        fleet = { job: message.job, port: message.port, ranks: message.ranks };
        channel.send({ type: "armed" });
        return;
      case "start":
        if (fleet !== undefined) startFleet(fleet, sockets, channel);
        return;
      case "kill": {
        const at = wallNow();
        sockets.get(message.node)?.resetAndDestroy();
        channel.send({ type: "killed", at, node: message.node });
        return;
      }
      case "exit":
        for (const socket of sockets.values()) socket.destroy();
        process.disconnect();
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`unexpected message ${String(unreachable)}`);
      }
    }
  });
}

function startFleet(fleet: Fleet, sockets: Map<string, Socket>, channel: Channel<ToWorkers, FromWorkers>): void {
  const secret = Buffer.from(fleet.job.secretHex, "hex");
  const cpuStart = process.cpuUsage();
  let attemptFailures = 0;
  const failures: string[] = [];
  const kinds: Record<string, number> = {};
  let lastAbortAt: number | undefined;
  const examples: string[] = [];
  let joinsLeft = fleet.ranks.length;
  const joinSettled = () => {
    if (--joinsLeft === 0) {
      const cpu = process.cpuUsage(cpuStart);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      channel.send({ type: "joined", count: fleet.ranks.length, attemptFailures, failures: [...failures], cpuSeconds });
    }
  };
  const sessions = fleet.ranks.map((rank) => {
    const node = fleet.job.nodes[rank - 1] ?? `rank${rank}`;
    return connectRendezvousWorker({
      host: "127.0.0.1",
      port: fleet.port,
      secret,
      jobKey: fleet.job.jobKey,
      node,
      rank,
      deadlineMs: fleet.job.deadlineMs,
      connect: (port, host) => {
        const socket = connect({ port, host });
        sockets.set(node, socket);
        return socket;
      },
      onEvent: (event) => {
        // As a real run's debug log does, read or not.
        JSON.stringify(event);
        if (event.type !== "attempt-failed") return;
        attemptFailures++;
        if (failures.length < 3) failures.push(`${node} attempt ${event.attempt}: ${event.error}`);
      },
    }).then(
      (session) => {
        void session.reportReady();
        joinSettled();
        return session.outcome.then((outcome) => {
          kinds[outcome.kind] = (kinds[outcome.kind] ?? 0) + 1;
          if (outcome.kind === "abort") lastAbortAt = Math.max(lastAbortAt ?? 0, wallNow());
          else if (examples.length < 3) examples.push(`${node}: ${JSON.stringify(outcome)}`);
        });
      },
      (error: unknown) => {
        kinds["join-failed"] = (kinds["join-failed"] ?? 0) + 1;
        if (failures.length < 3) failures.push(`${node}: ${String(error)}`);
        joinSettled();
      },
    );
  });
  void Promise.all(sessions).then(() =>
    channel.send({
      type: "settled",
      kinds,
      ...(lastAbortAt === undefined ? {} : { lastAbortAt }),
      examples: [...failures, ...examples],
    }),
  );
}
