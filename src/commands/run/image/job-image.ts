// The image step wired to this node's end of the rendezvous: the master decides and announces
// (commands/run/image/image-step.ts) and draws every node's pull on one display; a worker waits for
// the announcement, fetches, and reports its progress to the master. With --pull-once the
// master also tells each worker where to get the image (core/relay/relay-tree.ts), and every node's
// relay offers the image once the node has it.
import { NEVER } from "../../../core/common/index.js";
import type { LocalImage, NodePullSnapshot } from "../../../core/image/index.js";
import { parseImageSource, renderPresentSummary } from "../../../core/image/index.js";
import { relayParents } from "../../../core/relay/index.js";
import type { ImageAnnouncement } from "../../../core/rendezvous/index.js";
import type { ImageEngine } from "../../../io/image/index.js";
import type { RelayServer } from "../../../io/relay/index.js";
import type { RendezvousWorkerSession } from "../../../io/rendezvous/index.js";
import { endedByMaster, type MasterLink, messageOf, type RendezvousLink } from "../link.js";
import { decideJobImage, fetchHere, type ImageStepRun, type JobImage, type PullReporter } from "./image-step.js";
import { PullDisplay } from "./pull-display.js";

/** A worker reports at most this often: enough for a live display, little for the master. */
const REPORT_EVERY_MS = 500;

/** What the engine has under `--container`, asked at once (a name or an ID; an archive is no name). */
export function findGivenImage(engine: ImageEngine, given: string): Promise<LocalImage | undefined> {
  let source: ReturnType<typeof parseImageSource>;
  try {
    source = parseImageSource(given);
  } catch (error) {
    return Promise.reject(error);
  }
  return source.kind === "archive" ? Promise.resolve(undefined) : engine.find(given);
}

export interface DisplaySink {
  readonly write: (text: string) => void;
  readonly tty: boolean;
  readonly columns: number | undefined;
  /** `srun-docker pull`: a line even when no node had to fetch the image. */
  readonly sayPresent?: boolean;
}

/** --pull-once (`relaysImage`): this node's relay server, if it could listen, and what a fetch from another node's needs. */
export interface JobRelay {
  readonly server: RelayServer | undefined;
  readonly secret: Buffer;
  readonly jobKey: string;
}

/** This node's image, from the master's decision; with a relay, offered to the nodes that get it from here. */
export function settleJobImage(
  run: ImageStepRun,
  link: RendezvousLink,
  nodes: readonly string[],
  sink: DisplaySink,
  relay?: JobRelay,
): Promise<JobImage> {
  const image = nodeImage(run, link, nodes, sink, relay);
  const server = relay?.server;
  if (server !== undefined) {
    image.then(
      (got) => server.offer({ id: got.id, size: got.size }),
      (error: unknown) => server.withdraw(messageOf(error)),
    );
  }
  return image;
}

function nodeImage(
  run: ImageStepRun,
  link: RendezvousLink,
  nodes: readonly string[],
  sink: DisplaySink,
  relay: JobRelay | undefined,
): Promise<JobImage> {
  if (link.kind === "worker") {
    // An engine that cannot even say what it has fails this node now, not at the deadline.
    const engineFailed = run.here.then(() => NEVER);
    const fromPeer = relay === undefined ? undefined : relayFetch(link.session, relay, run);
    return Promise.race([
      engineFailed,
      link.session.then((session) => workerImage({ ...run, relay: fromPeer }, session)),
    ]);
  }
  return masterImage(run, link, nodes, sink, relay);
}

/** The master decides and announces the image, shows every node's fetch, and says the summary. */
function masterImage(
  run: ImageStepRun,
  { rendezvous }: MasterLink,
  nodes: readonly string[],
  sink: DisplaySink,
  relay: JobRelay | undefined,
): Promise<JobImage> {
  if (relay !== undefined)
    rendezvous.planRelay({ parents: relayParents(nodes), masterNode: run.node, masterPort: relay.server?.port });
  const display = new PullDisplay({
    image: run.given,
    nodes,
    write: sink.write,
    tty: sink.tty,
    ...(sink.columns === undefined ? {} : { columns: sink.columns }),
  });
  const stopListening = showWorkersPulls(rendezvous, display);
  let announced: ImageAnnouncement | undefined;
  const self: PullReporter = {
    started: (source) => {
      rendezvous.holdDeadline(run.node, true);
      display.started(run.node, source);
    },
    progress: (snapshot) => display.progress(run.node, snapshot),
    finished: () => {
      rendezvous.holdDeadline(run.node, false);
      display.finished(run.node);
    },
    failed: () => rendezvous.holdDeadline(run.node, false),
  };
  const image = decideJobImage(
    run,
    (image) => {
      announced = image;
      // The master's --pull-once is the job's: a worker configured otherwise follows it.
      rendezvous.announceImage(relay === undefined ? image : { ...image, relay: true });
    },
    self,
    relay !== undefined,
  );
  // Every node has the image once every worker is ready and the master has it too (a worker can
  // be ready before the master's own pull ends): the summary; or quiet, when the job failed.
  const mine = image.then(
    () => true,
    () => false,
  );
  void Promise.all([rendezvous.ready, mine]).then(([ready, here]) => {
    stopListening();
    if (!ready.ok || !here || announced === undefined) display.stop();
    else if (!display.end(digestOf(announced)) && sink.sayPresent)
      sink.write(`${renderPresentSummary(run.given, digestOf(announced), nodes.length)}\n`);
  });
  // The master's own failure ends the job: no bar left standing while the others are told.
  image.catch(() => display.stop());
  return image;
}

/** The workers' pull reports, on the master's display; returns what stops listening. */
function showWorkersPulls(rendezvous: MasterLink["rendezvous"], display: PullDisplay): () => void {
  return rendezvous.onPull((node, report) => {
    if (report.type !== "pull") return display.finished(node, report.bytes);
    display.started(node, report.from === undefined ? { kind: "registry" } : { kind: "peer", node: report.from });
    display.progress(node, {
      bytesDone: report.done,
      bytesTotal: report.total,
      layers: report.layers,
      layersDone: report.layersDone,
    });
  });
}

async function workerImage(run: ImageStepRun, session: RendezvousWorkerSession): Promise<JobImage> {
  const told = await session.image;
  if ("kind" in told) throw endedByMaster(session, told, run.log);
  let startedAt = 0;
  let lastReportAt = 0;
  let from: string | undefined;
  const reporter: PullReporter = {
    started: (source) => {
      startedAt = Date.now();
      from = source.kind === "peer" ? source.node : undefined;
      lastReportAt = 0;
      void session.reportPull({ layers: 0, layersDone: 0, bytesDone: 0, bytesTotal: 0 }, from);
    },
    progress: (snapshot: NodePullSnapshot) => {
      const now = Date.now();
      if (now - lastReportAt < REPORT_EVERY_MS) return;
      lastReportAt = now;
      void session.reportPull(snapshot, from);
    },
    finished: (bytes, ms) => void session.reportPulled(bytes, ms || Date.now() - startedAt, from ?? "registry"),
    failed: () => {},
  };
  return fetchHere(told.relay === true ? run : { ...run, relay: undefined }, told, reporter);
}

/** Where a worker gets the image with --pull-once: the node the master names, once it joined. */
function relayFetch(
  joining: Promise<RendezvousWorkerSession>,
  relay: JobRelay,
  run: ImageStepRun,
): ImageStepRun["relay"] {
  return {
    secret: relay.secret,
    jobKey: relay.jobKey,
    source: async () => {
      const session = await joining;
      const told = await session.relaySource;
      if ("kind" in told) throw endedByMaster(session, told, run.log);
      return told;
    },
  };
}

/** What the summary names after `@`: the manifest digest, else the image ID. */
function digestOf(image: ImageAnnouncement): string {
  const at = image.ref.lastIndexOf("@");
  return at > 0 ? image.ref.slice(at + 1) : (image.id ?? image.ref);
}
