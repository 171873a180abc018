// The ports of this node's run, all drawn from the user's secret (core/ports/port-candidates.ts), none
// from the job id alone:
// - the rendezvous: the master listens on the first candidate it can bind, the workers try the
//   candidates in order (io/rendezvous/rendezvous-*.ts);
// - the agent's or sshd's: each node's container binds the first candidate it can itself and
//   says which (core/engine/dead-man-switch.ts), so no port waits unbound between a check and its use.
//   The agent's clients try the candidates in order (io/agent/agent-connect.ts), so nobody waits to
//   learn it; sshd's clients cannot, so each node's sshd port reaches every node through the
//   rendezvous before the job starts (core/ports/remote-ports.ts);
// - MASTER_PORT: the master takes the first candidate free on its node and tells each worker in
//   its welcome. The job's own program binds it later: what matters is that no one else knows it.
// A port the user gave (`--sshdport`, `--rendezvous-port`) is the only candidate: when it is
// taken (after removing what our own killed runs left), the run fails naming it.
import type { RunOptions } from "../../cli/options.js";
import { UserError } from "../../core/common/index.js";
import type { PlannedFile } from "../../core/plan/index.js";
import { remoteKindOf } from "../../core/plan/index.js";
import {
  describeRemotePorts,
  describeTakenCandidates,
  firstPorts,
  type JobPorts,
  jobPortCandidates,
  movedPorts,
  type PortCandidates,
  remotePortMap,
} from "../../core/ports/index.js";
import type { JobContext } from "../../core/slurm/index.js";
import { jobStepKey } from "../../core/slurm/index.js";
import { createPortDraw, deriveJobSecret } from "../../io/channel/index.js";
import type { Logger } from "../../io/process/index.js";
import type { RendezvousWorkerSession, WorkerOutcome } from "../../io/rendezvous/index.js";
import { endedByMaster, type MasterLink, type RendezvousLink, type RendezvousPorts } from "./link.js";
import type { NodeContainer } from "./node-container.js";

export interface PortsContext {
  readonly options: Pick<RunOptions, "remote" | "launcher" | "sshdPort">;
  readonly ctx: JobContext;
  readonly candidates: PortCandidates;
  /** Is the port free on this node (io/ports/port-probe.ts, or a test's). */
  readonly isPortFree: (port: number) => Promise<boolean>;
  readonly log: Logger;
}

/**
 * The ports of a run that has no rendezvous to agree through (the srun launcher's tasks), and
 * what the dry run shows: each kind's first candidate, the same on every node.
 */
export function firstJobPorts(
  options: Pick<RunOptions, "sshdPort" | "rendezvousPort">,
  ctx: Pick<JobContext, "jobId" | "stepId" | "restartCount">,
  /** The user's secret: the step's own is derived from it, as the run derives it. */
  secret: Buffer,
): JobPorts {
  const jobKey = jobStepKey(ctx);
  return firstPorts(jobPortCandidates(options, createPortDraw(deriveJobSecret(secret, jobKey), jobKey)));
}

/** Before the rendezvous: where it listens, and the master's MASTER_PORT (said once the rendezvous is open). */
export async function probeLocalPorts(run: PortsContext): Promise<RendezvousPorts> {
  const { candidates } = run;
  let masterPort: number | undefined;
  if (run.ctx.isMaster) {
    const free = await Promise.all(candidates.master.map((port) => run.isPortFree(port)));
    masterPort = candidates.master.find((_, index) => free[index]);
  }
  return { candidates: candidates.rendezvous, masterPort };
}

export interface SettleInput extends PortsContext {
  readonly link: RendezvousLink;
  readonly local: RendezvousPorts;
  /** Removes containers our own killed runs left: one may hold a port the user gave. */
  readonly sweepStale: () => Promise<void>;
}

/** Once the rendezvous is open (so a failure here reaches every node): the ports the plan uses. */
export async function settleJobPorts(run: SettleInput): Promise<JobPorts> {
  const { link, candidates, log } = run;
  const kind = remoteKindOf(run.options);
  let masterPort: number;
  /** Where the master listens: a worker knows it from the candidate it joined on. */
  let rendezvous: number;
  if (link.kind === "master") {
    masterPort = masterPortOf(run);
    rendezvous = link.rendezvous.port;
  } else {
    const session = await link.session;
    masterPort = session.masterPort() ?? candidates.master[0] ?? 0;
    rendezvous = session.port;
  }
  const [given] = candidates.remote;
  if (kind !== undefined && run.options.sshdPort !== undefined && given !== undefined)
    await claimGivenPort(run, given, kind);
  const remoteNote = kind === undefined ? "" : `; ${kind}: the first it can bind of ${candidates.remote.join(" ")}`;
  log.debug(`ports: rendezvous ${rendezvous}, MASTER_PORT ${masterPort}${remoteNote}`);
  return { remote: candidates.remote, rendezvousPort: rendezvous, masterPort };
}

function masterPortOf(run: SettleInput): number {
  const { masterPort } = run.local;
  if (masterPort !== undefined) return masterPort;
  const all = run.candidates.master;
  throw new UserError("port-in-use", `${describeTakenCandidates("MASTER_PORT", all)} on ${run.ctx.nodeName}`, {
    hint: "other programs hold them; run the step again (a new step draws other ports)",
  });
}

/** sshd on the first port it can bind: its clients cannot try several, so the nodes tell each other theirs. */
export function exchangesRemotePorts(options: PortsContext["options"]): boolean {
  return remoteKindOf(options) === "sshd" && options.sshdPort === undefined;
}

/** What a node learns of every node's sshd port: every node's, or, on a worker, that the job ended first. */
export type RemotePortsNews =
  | { readonly kind: "none" }
  | { readonly kind: "known"; readonly ports: ReadonlyMap<string, number> }
  | { readonly kind: "ended"; readonly session: RendezvousWorkerSession; readonly outcome: WorkerOutcome };

/**
 * Once this node's sshd listens on `own`: a worker says so and waits for the master's word; the
 * master waits for every worker's, then tells them which nodes are off the first candidate
 * (usually none). Nothing to learn (`none`) when the rendezvous failed first, which `ready` says.
 */
export function exchangeRemotePorts(run: PortsContext, link: RendezvousLink, own: number): Promise<RemotePortsNews> {
  const news =
    link.kind === "master"
      ? announceRemotePorts(run, link, own)
      : link.session.then((session) => remotePortsFromMaster(run, session, own));
  news.catch(() => undefined);
  return news;
}

async function announceRemotePorts(run: PortsContext, link: MasterLink, own: number): Promise<RemotePortsNews> {
  const said = await link.rendezvous.remotePorts;
  if (!said.ok) return { kind: "none" };
  const first = run.candidates.remote[0] ?? 0;
  const known = [{ node: run.ctx.nodeName, port: own }, ...[...said.ports].map(([node, port]) => ({ node, port }))];
  const ports = remotePortMap(run.ctx.nodes, first, known);
  link.rendezvous.sendMovedPorts(movedPorts(ports, first));
  return { kind: "known", ports };
}

async function remotePortsFromMaster(
  run: PortsContext,
  session: RendezvousWorkerSession,
  own: number,
): Promise<RemotePortsNews> {
  await session.reportRemotePort(own);
  const told = await session.waitForRemotePorts();
  if (told.kind !== "ports") return { kind: "ended", session, outcome: told };
  return { kind: "known", ports: remotePortMap(run.ctx.nodes, run.candidates.remote[0] ?? 0, told.moved) };
}

export interface CompletionInput {
  /** What exchangeRemotePorts learns. */
  readonly news: Promise<RemotePortsNews>;
  /** The first remote-port candidate, which every node assumed for the others. */
  readonly first: number;
  /** The node's job files planned with every node's port. */
  readonly replan: (ports: ReadonlyMap<string, number>) => Record<string, PlannedFile>;
  readonly container: Pick<NodeContainer, "completeFiles">;
  readonly log: Logger;
}

/**
 * Once the container is up: completes the client files with every node's port (usually nothing
 * changes) and returns the ports; if the job ended first, this node says so once and ends quietly.
 */
export async function completeRemotePorts(input: CompletionInput): Promise<ReadonlyMap<string, number> | undefined> {
  const news = await input.news;
  if (news.kind === "none") return undefined;
  if (news.kind === "ended") throw endedByMaster(news.session, news.outcome, input.log);
  const written = await input.container.completeFiles(input.replan(news.ports));
  const rewrote = written.length > 0 ? `; rewrote ${written.join(", ")}` : "";
  input.log.debug(`remote ports: ${describeRemotePorts(news.ports, input.first)}${rewrote}`);
  return news.ports;
}

/** `--sshdport`: free, or freed by removing what an ended job of ours left on it; never replaced. */
async function claimGivenPort(run: SettleInput, port: number, kind: "agent" | "sshd"): Promise<void> {
  if (await run.isPortFree(port)) return;
  await run.sweepStale();
  if (await run.isPortFree(port)) return;
  throw new UserError("port-in-use", `${kind} port ${port} is already in use on ${run.ctx.nodeName}`, {
    hint: "another job or process holds it: drop --sshdport to use ports drawn for the job, or pick another",
  });
}
