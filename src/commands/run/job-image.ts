// The image step wired to this node's end of the rendezvous: the master decides and announces
// (commands/run/image-step.ts) and draws every node's pull on one display; a worker waits for
// the announcement, fetches, and reports its progress to the master.
import type { LocalImage } from "../../core/image-inspect.js";
import { parseImageSource } from "../../core/image-reference.js";
import type { NodePullSnapshot } from "../../core/pull-layer-tally.js";
import type { ImageAnnouncement } from "../../core/rendezvous-protocol.js";
import type { ImageEngine } from "../../io/image-engine.js";
import type { RendezvousWorkerSession } from "../../io/rendezvous-worker.js";
import { decideJobImage, fetchHere, type ImageStepRun, type JobImage, type PullReporter } from "./image-step.js";
import { endedByMaster, type RendezvousLink } from "./link.js";
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
}

/** This node's image, from the master's decision. */
export function settleJobImage(
  run: ImageStepRun,
  link: RendezvousLink,
  nodes: readonly string[],
  sink: DisplaySink,
): Promise<JobImage> {
  if (link.kind === "worker") {
    // An engine that cannot even say what it has fails this node now, not at the deadline.
    const engineFailed = run.here.then(() => new Promise<never>(() => {}));
    return Promise.race([engineFailed, link.session.then((session) => workerImage(run, session))]);
  }
  const { rendezvous } = link;
  const display = new PullDisplay({
    image: run.given,
    nodes,
    write: sink.write,
    tty: sink.tty,
    ...(sink.columns === undefined ? {} : { columns: sink.columns }),
  });
  const stopListening = rendezvous.onPull((node, report) => {
    if (report.type === "pull") {
      display.started(node, { kind: "registry" });
      display.progress(node, {
        bytesDone: report.done,
        bytesTotal: report.total,
        layers: report.layers,
        layersDone: report.layersDone,
      });
    } else display.finished(node);
  });
  let announced: ImageAnnouncement | undefined;
  const self: PullReporter = {
    started: () => {
      rendezvous.holdDeadline(run.node, true);
      display.started(run.node, { kind: "registry" });
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
      rendezvous.announceImage(image);
    },
    self,
  );
  // Every node has the image once every worker is ready (or the job failed): summary, or quiet.
  void rendezvous.ready.then((ready) => {
    stopListening();
    if (ready.ok && announced !== undefined) display.end(digestOf(announced));
    else display.stop();
  });
  image.catch(() => display.stop());
  return image;
}

async function workerImage(run: ImageStepRun, session: RendezvousWorkerSession): Promise<JobImage> {
  const told = await session.image;
  if ("kind" in told) throw endedByMaster(session, told, run.log);
  let startedAt = 0;
  let lastReportAt = 0;
  const reporter: PullReporter = {
    started: () => {
      startedAt = Date.now();
      void session.reportPull({ layers: 0, layersDone: 0, bytesDone: 0, bytesTotal: 0 });
    },
    progress: (snapshot: NodePullSnapshot) => {
      const now = Date.now();
      if (now - lastReportAt < REPORT_EVERY_MS) return;
      lastReportAt = now;
      void session.reportPull(snapshot);
    },
    finished: (bytes, ms) => void session.reportPulled(bytes, ms || Date.now() - startedAt, "registry"),
    failed: () => {},
  };
  return fetchHere(run, told, reporter);
}

/** What the summary names after `@`: the manifest digest, else the image ID. */
function digestOf(image: ImageAnnouncement): string {
  const at = image.ref.lastIndexOf("@");
  return at > 0 ? image.ref.slice(at + 1) : (image.id ?? image.ref);
}
