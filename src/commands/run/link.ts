// This node's end of the rendezvous: the master's server, or a worker's pending join. Opened
// before anything slow, so a failure on any node (bad script, missing image) reaches all.

import { SaidElsewhere, UserError } from "../../core/common/index.js";
import { describeRendezvousFailure, type RendezvousFailure } from "../../core/rendezvous/index.js";
import type { JobContext } from "../../core/slurm/index.js";
import { jobStepKey } from "../../core/slurm/index.js";
import type { Logger } from "../../io/process/index.js";
import { sleep } from "../../io/process/index.js";
import {
  connectRendezvousWorker,
  type RendezvousMaster,
  type RendezvousWorkerSession,
  startRendezvousMaster,
  type WorkerOutcome,
} from "../../io/rendezvous/index.js";

const REPORT_WAIT_MS = 5000;
/** How long a worker that reported its failure waits for the master's answer before it leaves. */
const ANSWER_WAIT_MS = 1000;

export type RendezvousLink =
  | { kind: "master"; rendezvous: RendezvousMaster; node: string }
  | {
      kind: "worker";
      session: Promise<RendezvousWorkerSession>;
      /** The session once joined; undefined while joining (or after failing to). */
      joined(): RendezvousWorkerSession | undefined;
    };

export type MasterLink = Extract<RendezvousLink, { kind: "master" }>;

/** What this node brings to the rendezvous about ports (commands/run/job-ports.ts). */
export interface RendezvousPorts {
  /** Where the master listens: the first one free on its node; workers try them in order. */
  readonly candidates: readonly number[];
  /** The master's MASTER_PORT, told to every worker in its welcome. */
  readonly masterPort: number | undefined;
  /** --pull-once: the port this node's image relay listens on (a worker says it in its hello). */
  readonly relay?: number | undefined;
}

export async function openRendezvous(
  ctx: JobContext,
  secret: Buffer,
  ports: RendezvousPorts,
  deadlineMs: number,
  log: Logger,
): Promise<RendezvousLink> {
  const jobKey = jobStepKey(ctx);
  const [port = 0, ...fallbackPorts] = ports.candidates;
  if (ctx.isMaster) {
    const rendezvous = await startRendezvousMaster({
      port,
      fallbackPorts,
      ...(ports.masterPort === undefined ? {} : { masterPort: ports.masterPort }),
      secret,
      jobKey,
      expectedNodes: ctx.nodes.filter((n) => n !== ctx.nodeName),
      deadlineMs,
      // Strangers' connections are counted into one line per window, not one line each.
      onEvent: (e) => {
        if (e.type !== "connection-dropped") log.debug(`rendezvous: ${JSON.stringify(e)}`);
      },
      onRefusals: (summary) => log.debug(`rendezvous: ${summary}`),
    }).catch((error: unknown) => {
      // The port given, or every candidate, taken: say where, as every other port error does.
      if (error instanceof UserError && error.code === "rendezvous-port-in-use")
        throw new UserError(error.code, `${error.message} on ${ctx.nodeName}`, {
          ...(error.hint ? { hint: error.hint } : {}),
        });
      throw error;
    });
    return { kind: "master", rendezvous, node: ctx.nodeName };
  }
  const session = connectRendezvousWorker({
    host: ctx.master,
    port,
    fallbackPorts,
    ...(ports.relay === undefined ? {} : { relay: ports.relay }),
    secret,
    jobKey,
    node: ctx.nodeName,
    rank: ctx.rank,
    deadlineMs,
    onEvent: (e) => log.debug(`rendezvous: ${JSON.stringify(e)}`),
  });
  let joined: RendezvousWorkerSession | undefined;
  // Awaited later; until then a failure to join must not count as unhandled.
  session.then((s) => (joined = s)).catch(() => undefined);
  return { kind: "worker", session, joined: () => joined };
}

/** The rendezvous failed before every worker was ready: the error that says why, once the workers were told. */
export async function readyFailed(link: MasterLink, failure: RendezvousFailure): Promise<UserError> {
  const error = new UserError("rendezvous", describeRendezvousFailure(failure), {
    hint: "check the named nodes (`srun srun-docker doctor`), or raise --timeout",
  });
  // Nodes that never came by the deadline will not come now: no point lingering for them.
  if (failure.reason === "deadline") await failRendezvous(link, error, 0);
  return error;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Tells the other side why this node gives up: abort (master) or failed (worker). */
export async function failRendezvous(
  link: RendezvousLink | undefined,
  error: unknown,
  lingerMs?: number,
): Promise<void> {
  if (link === undefined) return;
  if (link.kind === "master") {
    await link.rendezvous
      .abort(`master ${link.node}: ${messageOf(error)}`, lingerMs === undefined ? {} : { lingerMs })
      .catch(() => undefined);
    return;
  }
  // The master may be gone already: try to tell it, but never wait long for that.
  const session = await Promise.race([
    link.session.catch(() => undefined),
    sleep(REPORT_WAIT_MS).then(() => undefined),
  ]);
  if (session === undefined) return;
  await session.reportFailed(messageOf(error)).catch(() => undefined);
  // Leave once the master answered (its abort), reading what it sent meanwhile: a process that
  // exits with lines unread resets the connection, and the reset can reach the master before
  // the report, which then reads as a node gone instead of its error.
  await Promise.race([session.outcome, sleep(ANSWER_WAIT_MS)]);
  session.close();
}

export async function cancelRendezvous(link: RendezvousLink | undefined, reason: string): Promise<void> {
  // Every node of a cancelled step gets the signal itself: nobody to linger for, and a
  // worker still joining has nobody to tell (waiting for the master could outlast KillWait).
  if (link?.kind === "worker") {
    const session = link.joined();
    if (session === undefined) return;
    await session.reportFailed(reason).catch(() => undefined);
    session.close();
    return;
  }
  await failRendezvous(link, new UserError("cancelled", reason), 0);
}

const toldEnded = new WeakSet<RendezvousWorkerSession>();

/**
 * A worker the job ended while it waited (for its port, for the image): it says why once, for
 * however many waits saw it, and ends quietly with 1 (the master said the error itself).
 */
export function endedByMaster(session: RendezvousWorkerSession, outcome: WorkerOutcome, log: Logger): SaidElsewhere {
  if (!toldEnded.has(session)) {
    toldEnded.add(session);
    if (outcome.kind === "abort") log.info(`the master ended the job: ${outcome.reason}`);
    if (outcome.kind === "lost") log.info(`lost the master (${outcome.reason})`);
  }
  return new SaidElsewhere(1);
}
