// The ports of this node's run, each with fallbacks for a derived port someone else holds
// (core/port-candidates.ts):
// - the rendezvous: the master listens on the first candidate free on its node, the workers
//   try the candidates in order (io/rendezvous-*.ts);
// - the agent's or sshd's, which every node's container binds: each worker tells the master,
//   as it joins, which candidates are free on its node; the master takes the first one free on
//   every node and tells the workers before any container starts;
// - MASTER_PORT: the master takes the first candidate free on its node and tells each worker
//   in its welcome.
// A port the user gave (`--sshdport`, `--rendezvous-port`) is the only candidate: when it is
// taken (after removing what our own killed runs left), the run fails naming it.
import type { RunOptions } from "../../cli/options.js";
import { UserError } from "../../core/errors.js";
import { remoteKindOf } from "../../core/node-plan.js";
import { agreeOnPort, type PortCandidates } from "../../core/port-candidates.js";
import type { JobPorts } from "../../core/ports.js";
import type { JobContext } from "../../core/slurm-context.js";
import type { Logger } from "../../io/log.js";
import type { RendezvousWorkerSession } from "../../io/rendezvous-worker.js";
import { endedByMaster, type MasterLink, type RendezvousLink, type RendezvousPorts, readyFailed } from "./link.js";

export interface PortsContext {
  readonly options: Pick<RunOptions, "remote" | "launcher" | "sshdPort">;
  readonly ctx: JobContext;
  readonly candidates: PortCandidates;
  /** Is the port free on this node (io/port-probe.ts, or a test's). */
  readonly isPortFree: (port: number) => Promise<boolean>;
  readonly log: Logger;
}

/** The job agrees on the remote port when a container serves one and the user gave none. */
function mustAgree(run: PortsContext): boolean {
  return remoteKindOf(run.options) !== undefined && run.options.sshdPort === undefined;
}

/** Before the rendezvous: what this node finds free, for the master to choose from. */
export async function probeLocalPorts(run: PortsContext): Promise<RendezvousPorts> {
  const { candidates } = run;
  const free = async (ports: readonly number[]) => {
    const found = await Promise.all(ports.map((port) => run.isPortFree(port)));
    return ports.filter((_, index) => found[index]);
  };
  const [remoteFree, masterFree] = await Promise.all([
    mustAgree(run) ? free(candidates.remote) : undefined,
    run.ctx.isMaster ? free(candidates.master) : undefined,
  ]);
  return { candidates: candidates.rendezvous, masterPort: masterFree?.[0], remoteFree };
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
  const derivedRemote = candidates.remote[0] ?? 0;
  let remote = derivedRemote;
  let masterPort: number;
  /** Where the master listens: a worker knows it from the candidate it joined on. */
  let rendezvous: number;
  if (link.kind === "master") {
    masterPort = masterPortOf(run);
    rendezvous = link.rendezvous.port;
    if (mustAgree(run)) remote = await agreeAsMaster(run, link, kind ?? "agent");
  } else {
    const session = await link.session;
    masterPort = session.masterPort() ?? candidates.master[0] ?? 0;
    rendezvous = session.port;
    if (mustAgree(run)) remote = await agreedByMaster(session, log);
  }
  if (kind !== undefined && !mustAgree(run)) await claimGivenPort(run, remote, kind);
  const remoteNote = kind === undefined ? "" : `, ${kind} ${remote}${remote === derivedRemote ? "" : " (a fallback)"}`;
  log.debug(`ports: rendezvous ${rendezvous}${remoteNote}, MASTER_PORT ${masterPort}`);
  return { sshdPort: remote, rendezvousPort: rendezvous, masterPort };
}

function masterPortOf(run: SettleInput): number {
  const { masterPort } = run.local;
  if (masterPort !== undefined) return masterPort;
  const all = run.candidates.master;
  throw new UserError(
    "port-in-use",
    `all ${all.length} MASTER_PORT candidates (${all.join(", ")}) are in use on ${run.ctx.nodeName}`,
    { hint: "other programs hold them; run the step again (a new step derives other ports)" },
  );
}

async function agreeAsMaster(run: SettleInput, link: MasterLink, kind: "agent" | "sshd"): Promise<number> {
  const joined = await link.rendezvous.joined;
  if (!joined.ok) {
    const ready = await link.rendezvous.ready;
    if (!ready.ok) throw await readyFailed(link, ready.failure);
    throw new Error("internal error: every worker was ready but not every one joined; please report");
  }
  const freeByNode = new Map([[run.ctx.nodeName, run.local.remoteFree ?? []], ...joined.free]);
  const agreed = agreeOnPort(run.candidates.remote, freeByNode, kind);
  if (!agreed.ok) {
    throw new UserError("port-in-use", agreed.message, {
      hint: "other programs hold them on those nodes; run the step again (a new step derives other ports)",
    });
  }
  link.rendezvous.assignRemotePort(agreed.port);
  return agreed.port;
}

/** The master's choice; if the job ends first, this node says so in one line and ends quietly. */
async function agreedByMaster(session: RendezvousWorkerSession, log: Logger): Promise<number> {
  const told = await session.waitForRemotePort();
  switch (told.kind) {
    case "port":
      return told.port;
    case "abort":
    case "lost":
    case "done":
      throw endedByMaster(session, told, log);
    default: {
      const unreachable: never = told;
      throw new Error(`internal error: unexpected answer ${JSON.stringify(unreachable)}; please report`);
    }
  }
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
