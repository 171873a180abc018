/**
 * Who gives whom the image with `--pull-once`: a binary tree over the job's nodes in rank order.
 * Rank 0 (the master) fetches it from the registry (or has it); rank i gets it from rank
 * floor((i-1)/2). So no node sends more than two copies, and the last node has it after
 * ⌈log2(N+1)⌉-1 hops: 4 nodes in 2, 1024 in 10. A node that already has the image skips its
 * fetch and serves its children at once. Pure.
 */

/** The rank this rank gets the image from; undefined for the root (rank 0). */
export function relayParentRank(rank: number): number | undefined {
  if (!Number.isInteger(rank) || rank < 0) throw new Error(`internal error: rank ${rank}; please report`);
  return rank === 0 ? undefined : Math.floor((rank - 1) / 2);
}

/** The ranks that get the image from `rank`, in a job of `size` nodes (none, one or two). */
export function relayChildRanks(rank: number, size: number): number[] {
  return [2 * rank + 1, 2 * rank + 2].filter((child) => child < size);
}

/** The node each node of `nodes` (rank order) gets the image from; the root has none. */
export function relayParents(nodes: readonly string[]): Map<string, string> {
  const parents = new Map<string, string>();
  nodes.forEach((node, rank) => {
    const parent = relayParentRank(rank);
    const from = parent === undefined ? undefined : nodes[parent];
    if (from !== undefined) parents.set(node, from);
  });
  return parents;
}

/** How many hops the last node is from the root: the relay's depth. */
export function relayDepth(size: number): number {
  return size <= 1 ? 0 : Math.floor(Math.log2(size));
}
