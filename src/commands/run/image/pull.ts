// `srun -N 4 srun-docker pull IMAGE`: the run's image step alone, on every node of the step: the
// same rendezvous, the same decision (the master pins the one image), the same pulls or relay
// (--pull-once), the same display and summary; then every node says ready and nothing runs.
// It lives with the run, whose parts it is (see ARCHITECTURE.md, "Pulling images"). Exit 0 when
// every node has the image, else 1 with the one line that says which node failed and why.
import type { PullCommandOptions } from "../../../cli/pull-command-options.js";
import { sayOncePerStep, UserError } from "../../../core/common/index.js";
import { jobPortCandidates } from "../../../core/ports/index.js";
import { type JobContext, jobStepKey, resolveJobContext } from "../../../core/slurm/index.js";
import { createPortDraw, deriveJobSecret } from "../../../io/channel/index.js";
import { createLogger, type Logger } from "../../../io/process/index.js";
import { ensureUserMaterial } from "../../../io/ssh/index.js";
import {
  cancelRendezvous,
  endedByMaster,
  failRendezvous,
  openRendezvous,
  type RendezvousLink,
  readyFailed,
} from "../link.js";
import { defaultRunDeps, type RunDeps } from "../run-deps.js";
import { Teardown } from "../teardown.js";
import { relaysImage, startNodeRelay } from "./image-relay.js";
import { findGivenImage, settleJobImage } from "./job-image.js";

export async function runPull(options: PullCommandOptions, deps: RunDeps = defaultRunDeps()): Promise<number> {
  const ctx = contextOf(deps);
  const log = createLogger({
    prefix: `${ctx.nodeName} ${ctx.isMaster ? "master" : "worker"}`,
    debug: options.debug,
    write: (text) => deps.stderr.write(text),
  });
  const runtime = deps.createRuntime(options.runtime, ctx.nodeName, log);
  const engine = deps.createImageEngine(runtime);
  const here = findGivenImage(engine, options.image);
  here.catch(() => undefined); // awaited by the image step, once the rendezvous can carry its failure
  let link: RendezvousLink | undefined;
  const teardown = new Teardown({ log, signals: deps.signals, exit: deps.exit, runtime }, "stopping");
  try {
    const material = await ensureUserMaterial(deps.materialDir);
    const jobKey = jobStepKey(ctx);
    const secret = deriveJobSecret(material.secret, jobKey);
    const candidates = jobPortCandidates(
      { sshdPort: undefined, rendezvousPort: options.rendezvousPort },
      createPortDraw(secret, jobKey),
    );
    const relaying = relaysImage(options.pull.once, ctx.nodes.length);
    const relay = await startNodeRelay({
      once: options.pull.once,
      nodes: ctx.nodes.length,
      candidates: candidates.relay,
      secret,
      jobKey,
      engine,
      log,
    });
    teardown.relay(relay);
    const opened = await openRendezvous(
      ctx,
      secret,
      { candidates: candidates.rendezvous, masterPort: undefined, relay: relay?.port },
      options.timeoutSeconds * 1000,
      log,
    );
    link = opened;
    teardown.tellOthers(() => cancelRendezvous(opened, "the pull was cancelled"));
    await settleJobImage(
      { node: ctx.nodeName, master: ctx.master, given: options.image, pull: options.pull, engine, log, here },
      link,
      ctx.nodes,
      {
        write: (text) => deps.stderr.write(text),
        tty: deps.stderr.isTTY === true,
        columns: deps.stderr.columns,
        sayPresent: true,
      },
      relaying ? { server: relay, secret, jobKey } : undefined,
    );
    return await finishPull(link, log);
  } catch (error) {
    if (teardown.cancelledBy === undefined) await failRendezvous(link, error);
    throw error;
  } finally {
    await teardown.finish();
  }
}

/** This node has the image: a worker says so and stays (its relay may still serve) until the master's word; the master waits for every node. */
async function finishPull(link: RendezvousLink, log: Logger): Promise<number> {
  if (link.kind === "worker") {
    const session = await link.session;
    await session.reportReady();
    const outcome = await session.outcome;
    if (outcome.kind === "done") return outcome.exitCode;
    throw endedByMaster(session, outcome, log);
  }
  const ready = await link.rendezvous.ready;
  if (!ready.ok) throw await readyFailed(link, ready.failure);
  await link.rendezvous.finish(0);
  return 0;
}

/** `pull` runs as the tasks of a step, one per node; a usage error every task finds alike is said once. */
function contextOf(deps: RunDeps): JobContext {
  try {
    if (!deps.env.SLURM_JOB_ID)
      throw new UserError("launcher", "`srun-docker pull` runs as the tasks of a Slurm step, and this is not one", {
        hint: "srun -N 4 srun-docker pull REGISTRY/IMAGE:TAG (one task per node)",
        exitCode: 2,
      });
    return resolveJobContext({ nodelist: undefined, nodeRank: undefined }, deps.env, deps.hostname);
  } catch (error) {
    throw sayOncePerStep(error, deps.env);
  }
}
