// The lifecycle of this node's one container: starting → started → removing → removed.
// A teardown that arrives while `docker run` is still in flight waits for it, then removes
// by name, so a container can never appear after we said it was gone.
import { UserError } from "../../core/errors.js";
import type { ContainerRuntime } from "../../io/container-runtime.js";
import { removeJobDir } from "../../io/job-files.js";
import { isPortFree } from "../../io/port-probe.js";
import { waitForSshBanner } from "../../io/ssh-banner.js";
import { type NodePlan, writeNodeFiles } from "./node-setup.js";

/**
 * sshd listens some 10-30 ms after `docker run -d` returns, so the first attempt is usually
 * refused. A refused connect to localhost costs well under a millisecond; the default 200 ms
 * pause cost ~180 ms of every launch (measured by `npm run bench`).
 */
const BANNER_RETRY_MS = 10;

export class NodeContainer {
  private starting: Promise<unknown> | undefined;
  private removal: Promise<void> | undefined;

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly plan: NodePlan,
    /** Removes containers of ended jobs: one of them may hold our port. */
    private readonly sweepStale: () => Promise<void> = async () => {},
  ) {}

  get name(): string {
    return this.plan.containerName;
  }

  /** Writes the job files, starts the container and, with sshd, waits for its banner. */
  async start(deadlineMs: number): Promise<void> {
    if (this.removal) throw new UserError("cancelled", "the run was cancelled");
    const port = this.plan.sshdPort;
    if (port !== undefined && !(await this.claimablePort(port))) {
      throw new UserError("port-in-use", `sshd port ${port} is already in use on ${this.runtime.node}`, {
        hint: "another job or process holds it: drop --sshdport to use the port derived from the job id, or pick another",
      });
    }
    const started = (async () => {
      await writeNodeFiles(this.plan);
      await this.runtime.start(this.plan.runArgs);
    })();
    this.starting = started.catch(() => undefined);
    await started;
    if (this.plan.sshdPort !== undefined) {
      try {
        await waitForSshBanner("127.0.0.1", this.plan.sshdPort, deadlineMs, { retryDelayMs: BANNER_RETRY_MS });
      } catch (error) {
        throw await this.explainSshdFailure(error);
      }
    }
  }

  /** Removes the container (if any) and this node's job files. Idempotent. */
  remove(): Promise<void> {
    this.removal ??= (async () => {
      await this.starting;
      await this.runtime.remove([this.plan.containerName]);
      await removeJobDir(this.plan.jobDir).catch(() => undefined);
    })();
    return this.removal;
  }

  /** Free, or freed by removing what an ended job left on it. */
  private async claimablePort(port: number): Promise<boolean> {
    if (await isPortFree(port)) return true;
    await this.sweepStale();
    return isPortFree(port);
  }

  /** sshd exited (no sshd in the image, bad config): its own last words say why. */
  private async explainSshdFailure(error: unknown): Promise<unknown> {
    const logs = await this.runtime.logs(this.plan.containerName);
    if (!logs) return error;
    return new UserError("sshd", `sshd in the container on ${this.runtime.node} did not start: ${logs}`, {
      hint: "the image needs openssh-server (/usr/sbin/sshd); `srun-docker doctor` checks it",
    });
  }
}
