// This node's end of the rendezvous: the master's server, or a worker's pending join. Opened
// before anything slow, so a failure on any node (bad script, missing image) reaches all.
import { UserError } from "../../core/errors.js";
import type { JobContext } from "../../core/slurm-context.js";
import type { Logger } from "../../io/log.js";
import { type RendezvousMaster, startRendezvousMaster } from "../../io/rendezvous-master.js";
import { connectRendezvousWorker, type RendezvousWorkerSession } from "../../io/rendezvous-worker.js";
import { sleep } from "../../io/timers.js";

const REPORT_WAIT_MS = 5000;

export type RendezvousLink =
  | { kind: "master"; rendezvous: RendezvousMaster; node: string }
  | {
      kind: "worker";
      session: Promise<RendezvousWorkerSession>;
      /** The session once joined; undefined while joining (or after failing to). */
      joined(): RendezvousWorkerSession | undefined;
    };

export type MasterLink = Extract<RendezvousLink, { kind: "master" }>;

export async function openRendezvous(
  ctx: JobContext,
  secret: Buffer,
  port: number,
  deadlineMs: number,
  log: Logger,
): Promise<RendezvousLink> {
  const jobKey = `${ctx.jobId}.${ctx.stepId}`;
  if (ctx.isMaster) {
    const rendezvous = await startRendezvousMaster({
      port,
      secret,
      jobKey,
      expectedNodes: ctx.nodes.filter((n) => n !== ctx.nodeName),
      deadlineMs,
      onEvent: (e) => log.debug(`rendezvous: ${JSON.stringify(e)}`),
    });
    return { kind: "master", rendezvous, node: ctx.nodeName };
  }
  const session = connectRendezvousWorker({
    host: ctx.master,
    port,
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
