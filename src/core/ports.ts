import { hashString } from "./stable-hash.js";

/**
 * Ports derived from the job and step, so every node computes the same ones without talking,
 * and two jobs (or two steps of one job) on the same nodes do not collide. The range stays
 * below Linux's ephemeral range (32768–60999), so an outgoing connection cannot be holding
 * a derived port by chance.
 */
export const PORT_RANGE_START = 20_000;
export const PORT_RANGE_END = 32_760;
const PORTS_PER_SLOT = 3;
const SLOTS = Math.floor((PORT_RANGE_END - PORT_RANGE_START) / PORTS_PER_SLOT);
/** Steps of one job that get distinct slots before wrapping onto the next job's. */
const STEPS_PER_JOB = 8;

export interface JobPorts {
  /** Where this node's agent or sshd listens. */
  readonly sshdPort: number;
  /**
   * Where every node's agent or sshd listens (core/remote-ports.ts), for the clients' files;
   * undefined: every node on `sshdPort`.
   */
  readonly remotePorts?: ReadonlyMap<string, number>;
  readonly rendezvousPort: number;
  /** MASTER_PORT for torch.distributed and friends. */
  readonly masterPort: number;
}

export interface PortOverrides {
  readonly sshdPort?: number | undefined;
  readonly rendezvousPort?: number | undefined;
}

/**
 * Numeric job ids map consecutively (job N, step S → slot 8N+S), so jobs submitted close
 * together never share a slot; other ids (outside Slurm) are hashed.
 */
export function deriveJobPorts(jobId: string, stepId: string, overrides: PortOverrides = {}): JobPorts {
  const job = /^\d+$/.test(jobId) ? Number(jobId) % SLOTS : hashString(jobId);
  const step = /^\d+$/.test(stepId) ? Number(stepId) % STEPS_PER_JOB : hashString(stepId) % STEPS_PER_JOB;
  const slot = (job * STEPS_PER_JOB + step) % SLOTS;
  const base = PORT_RANGE_START + slot * PORTS_PER_SLOT;
  const used = new Set([overrides.sshdPort, overrides.rendezvousPort].filter((port) => port !== undefined));
  // Each port keeps its derived value unless an override already holds it; then it moves by
  // one slot (wrapping inside the range), which is as deterministic as the rest.
  const take = (derived: number): number => {
    let port = derived;
    while (used.has(port))
      port = PORT_RANGE_START + ((port - PORT_RANGE_START + PORTS_PER_SLOT) % (SLOTS * PORTS_PER_SLOT));
    used.add(port);
    return port;
  };
  const sshdPort = overrides.sshdPort ?? take(base);
  const rendezvousPort = overrides.rendezvousPort ?? take(base + 1);
  const masterPort = take(base + 2);
  return { sshdPort, rendezvousPort, masterPort };
}
