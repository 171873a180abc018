// The ports of this node's run, each with fallbacks for a derived port someone else holds
// (core/port-candidates.ts):
// - the rendezvous: the master listens on the first candidate free on its node, the workers
//   try the candidates in order (io/rendezvous-*.ts);
// - the agent's or sshd's, which every node's container binds: each node takes the first
//   candidate free on its own node and starts its container at once; the nodes learn each
//   other's through the rendezvous and complete their client files before the job starts
//   (core/remote-ports.ts), so no agreement waits on the launch path;
// - MASTER_PORT: the master takes the first candidate free on its node and tells each worker
//   in its welcome.
// A port the user gave (`--sshdport`, `--rendezvous-port`) is the only candidate: when it is
// taken (after removing what our own killed runs left), the run fails naming it.
import type { RunOptions } from "../../cli/options.js";
import { UserError } from "../../core/errors.js";
import { remoteKindOf } from "../../core/node-plan.js";
import type { PlannedFile } from "../../core/planned-file.js";
import { describeTakenCandidates, type PortCandidates } from "../../core/port-candidates.js";
import type { JobPorts } from "../../core/ports.js";
import {
  chooseLocalPort,
  describeRemotePorts,
  movedPorts,
  type PortChoice,
  remotePortMap,
} from "../../core/remote-ports.js";
import type { JobContext } from "../../core/slurm-context.js";
import type { Logger } from "../../io/log.js";
import type { RendezvousWorkerSession, WorkerOutcome } from "../../io/rendezvous-worker.js";
import { endedByMaster, type MasterLink, type RendezvousLink, type RendezvousPorts } from "./link.js";
import type { NodeContainer } from "./node-container.js";

export interface PortsContext {
  readonly options: Pick<RunOptions, "remote" | "launcher" | "sshdPort">;
  readonly ctx: JobContext;
  readonly candidates: PortCandidates;
  /** Is the port free on this node (io/port-probe.ts, or a test's). */
  readonly isPortFree: (port: number) => Promise<boolean>;
  readonly log: Logger;
}

/** What this node found free before the rendezvous opened. */
export interface LocalPorts extends RendezvousPorts {
  /** This node's agent or sshd port, when the job derives it; undefined when given or none runs. */
  readonly remote: PortChoice | undefined;
}

/** Each node picks its agent's or sshd's port when a container serves one and the user gave none. */
function picksRemotePort(run: PortsContext): boolean {
  return remoteKindOf(run.options) !== undefined && run.options.sshdPort === undefined;
}

/** Before the rendezvous: the ports this node takes, or why it cannot (said once the rendezvous is open). */
export async function probeLocalPorts(run: PortsContext): Promise<LocalPorts> {
  const { candidates } = run;
  const free = async (ports: readonly number[]) => {
    const found = await Promise.all(ports.map((port) => run.isPortFree(port)));
    return ports.filter((_, index) => found[index]);
  };
  const [remoteFree, masterFree] = await Promise.all([
    picksRemotePort(run) ? free(candidates.remote) : undefined,
    run.ctx.isMaster ? free(candidates.master) : undefined,
  ]);
  const kind = remoteKindOf(run.options) ?? "agent";
  const remote =
    remoteFree === undefined ? undefined : chooseLocalPort(candidates.remote, remoteFree, kind, run.ctx.nodeName);
  return {
    candidates: candidates.rendezvous,
    masterPort: masterFree?.[0],
    remote,
    remotePort: remote?.ok ? remote.port : undefined,
  };
}

export interface SettleInput extends PortsContext {
  readonly link: RendezvousLink;
  readonly local: LocalPorts;
  /** Removes containers our own killed runs left: one may hold a port the user gave. */
  readonly sweepStale: () => Promise<void>;
}

/**
 * Once the rendezvous is open (so a failure here reaches every node): the ports the plan uses,
 * the other nodes' agent or sshd assumed on the first candidate until `completeRemotePorts`.
 */
export async function settleJobPorts(run: SettleInput): Promise<JobPorts> {
  const { link, candidates, log, ctx } = run;
  const kind = remoteKindOf(run.options);
  const first = candidates.remote[0] ?? 0;
  let remote = first;
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
  const choice = run.local.remote;
  if (choice !== undefined) {
    if (!choice.ok) {
      throw new UserError("port-in-use", choice.message, {
        hint: "other programs hold them on that node; run the step again (a new step derives other ports)",
      });
    }
    remote = choice.port;
  } else if (kind !== undefined) await claimGivenPort(run, remote, kind);
  const remoteNote = kind === undefined ? "" : `, ${kind} ${remote}${remote === first ? "" : " (a fallback)"}`;
  log.debug(`ports: rendezvous ${rendezvous}${remoteNote}, MASTER_PORT ${masterPort}`);
  const ports = { sshdPort: remote, rendezvousPort: rendezvous, masterPort };
  if (choice === undefined) return ports;
  return { ...ports, remotePorts: remotePortMap(ctx.nodes, first, [{ node: ctx.nodeName, port: remote }]) };
}

function masterPortOf(run: SettleInput): number {
  const { masterPort } = run.local;
  if (masterPort !== undefined) return masterPort;
  const all = run.candidates.master;
  throw new UserError("port-in-use", `${describeTakenCandidates("MASTER_PORT", all)} on ${run.ctx.nodeName}`, {
    hint: "other programs hold them; run the step again (a new step derives other ports)",
  });
}

/**
 * What a node learns of every node's agent or sshd port: nothing to learn (the port is given, or
 * no container serves one, or the rendezvous failed first, which `ready` says), every node's,
 * or, on a worker, that the job ended first.
 */
export type RemotePortsNews =
  | { readonly kind: "none" }
  | { readonly kind: "known"; readonly ports: ReadonlyMap<string, number> }
  | { readonly kind: "ended"; readonly session: RendezvousWorkerSession; readonly outcome: WorkerOutcome };

/**
 * Every node's agent or sshd port, from the moment the rendezvous is open: the master tells the
 * workers as soon as all joined. What it learns is said only where it is awaited, once the
 * container is up (a node that failed before never says it).
 */
export function learnRemotePorts(
  run: PortsContext & { readonly local: LocalPorts },
  link: RendezvousLink,
): Promise<RemotePortsNews> {
  const news =
    link.kind === "master"
      ? announceRemotePorts(run, link)
      : link.session.then((session) => remotePortsFromMaster(run, session));
  news.catch(() => undefined);
  return news;
}

/** The master: once every worker joined (each said its port), tells every worker which nodes are off the first candidate. */
async function announceRemotePorts(
  run: PortsContext & { readonly local: LocalPorts },
  link: MasterLink,
): Promise<RemotePortsNews> {
  if (run.local.remote === undefined) return { kind: "none" };
  const joined = await link.rendezvous.joined;
  if (!joined.ok) return { kind: "none" };
  const first = run.candidates.remote[0] ?? 0;
  const own = run.local.remotePort === undefined ? [] : [{ node: run.ctx.nodeName, port: run.local.remotePort }];
  const said = [...joined.remotePorts].map(([node, port]) => ({ node, port }));
  const ports = remotePortMap(run.ctx.nodes, first, [...own, ...said]);
  link.rendezvous.sendMovedPorts(movedPorts(ports, first));
  return { kind: "known", ports };
}

/** A worker: every node's port once the master says which moved, or how the job ended first. */
async function remotePortsFromMaster(
  run: PortsContext & { readonly local: LocalPorts },
  session: RendezvousWorkerSession,
): Promise<RemotePortsNews> {
  if (run.local.remote === undefined) return { kind: "none" };
  const told = await session.waitForRemotePorts();
  if (told.kind !== "ports") return { kind: "ended", session, outcome: told };
  return { kind: "known", ports: remotePortMap(run.ctx.nodes, run.candidates.remote[0] ?? 0, told.moved) };
}

export interface CompletionInput {
  /** What learnRemotePorts learns. */
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
    hint: "another job or process holds it: drop --sshdport to use the ports derived from the job id, or pick another",
  });
}
