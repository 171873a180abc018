/**
 * Where each node's agent or sshd listens. Every node takes the first of the job's remote-port
 * candidates (core/port-candidates.ts) that is free on that node, usually the first candidate
 * everywhere, and starts its container at once, assuming the first candidate for every other
 * node. The workers say their port as they join; once every node joined, the master tells each
 * worker which nodes moved off the first candidate (usually none), and each node completes its
 * client files (agent.json, ssh_config, known_hosts) before it reports ready. So no agreement
 * between the nodes waits on the launch path, and a port another user holds on one node moves
 * only that node. Pure.
 */
import { compressHostlist } from "./hostlist-compress.js";
import { describeTakenCandidates } from "./port-candidates.js";

export interface NodePort {
  readonly node: string;
  readonly port: number;
}

export type PortChoice = { ok: true; port: number } | { ok: false; message: string };

/**
 * The first candidate free on this node; `what` names the port in the message ("agent").
 * `free` lists the candidates found free, in any order.
 */
export function chooseLocalPort(
  candidates: readonly number[],
  free: readonly number[],
  what: string,
  node: string,
): PortChoice {
  const open = new Set(free);
  const port = candidates.find((candidate) => open.has(candidate));
  if (port !== undefined) return { ok: true, port };
  return { ok: false, message: `${describeTakenCandidates(`${what} port`, candidates)} on ${node}` };
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
