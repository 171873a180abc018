/**
 * Where each node's sshd listens (`--remote=sshd`). Each node's sshd binds the first of the job's
 * remote-port candidates (core/ports/port-candidates.ts) that it can itself (core/engine/sshd-start.ts),
 * usually the first candidate everywhere, and every node plans its client files (ssh_config,
 * known_hosts) assuming the first candidate for every node. Once its sshd listens, each worker
 * says its port; once every node's does, the master tells each worker which nodes are off the
 * first candidate (usually none), and each node completes its client files before it reports
 * ready, since OpenSSH's clients cannot try several ports. (The agent's clients can, so the
 * agent needs none of this: io/agent/agent-connect.ts.) Pure.
 */
import { compressHostlist } from "../hostlist/index.js";

export interface NodePort {
  readonly node: string;
  readonly port: number;
}

/** The nodes on each port, in the order given. */
export function nodesByPort(hosts: Iterable<NodePort>): Map<number, string[]> {
  const byPort = new Map<number, string[]>();
  for (const { node, port } of hosts) byPort.set(port, [...(byPort.get(port) ?? []), node]);
  return byPort;
}

/** Every node's port: the ones `known`, the first candidate for the others. */
export function remotePortMap(
  nodes: readonly string[],
  first: number,
  known: Iterable<NodePort>,
): ReadonlyMap<string, number> {
  const ports = new Map(nodes.map((node) => [node, first]));
  for (const { node, port } of known) if (ports.has(node)) ports.set(node, port);
  return ports;
}

/** The nodes off the first candidate, in node order: what the master tells the workers. */
export function movedPorts(ports: ReadonlyMap<string, number>, first: number): NodePort[] {
  return [...ports].filter(([, port]) => port !== first).map(([node, port]) => ({ node, port }));
}

/** One line for `--debug`: this node's port, and the nodes that moved (compressed). */
export function describeRemotePorts(ports: ReadonlyMap<string, number>, first: number): string {
  const moved = movedPorts(ports, first);
  if (moved.length === 0) return `every node on ${first}`;
  const parts = [...nodesByPort(moved)].map(([port, nodes]) => `${compressHostlist(nodes, { sort: true })} on ${port}`);
  return `${parts.join(", ")}, the others on ${first}`;
}
