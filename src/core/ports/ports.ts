/**
 * The ports one node's plan uses (core/plan/node-plan.ts). Their candidates are drawn from the user's
 * secret (core/ports/port-candidates.ts) in a range below Linux's ephemeral range (32768–60999), so an
 * outgoing connection cannot be holding one by chance.
 */
export const PORT_RANGE_START = 20_000;
export const PORT_RANGE_END = 32_760;

export interface JobPorts {
  /**
   * Where this node's agent or sshd may listen, in the order it tries them (core/ports/port-candidates.ts):
   * it binds the first one it can itself. One port when the user gave it.
   */
  readonly remote: readonly number[];
  /**
   * sshd: where every node's sshd listens, once each said it (core/ports/remote-ports.ts), for the
   * clients' files; undefined: every node on the first candidate. The agent's clients try the
   * candidates themselves, and need no such map.
   */
  readonly remotePorts?: ReadonlyMap<string, number>;
  readonly rendezvousPort: number;
  /** MASTER_PORT for torch.distributed and friends. */
  readonly masterPort: number;
}

/**
 * The ports when nothing is taken: the first candidate of each kind. What the srun launcher
 * exports (it has no rendezvous to agree through) and the dry run shows.
 */
export function firstPorts(candidates: {
  readonly remote: readonly number[];
  readonly rendezvous: readonly number[];
  readonly master: readonly number[];
}): JobPorts {
  return {
    remote: candidates.remote,
    rendezvousPort: candidates.rendezvous[0] ?? 0,
    masterPort: candidates.master[0] ?? 0,
  };
}
