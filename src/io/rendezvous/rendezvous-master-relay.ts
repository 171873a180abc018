/**
 * The master's part in `--pull-once`: each worker's hello says the port of its image relay; once
 * the master has planned who gets the image from whom (core/relay/relay-tree.ts), it tells each
 * worker, as soon as both it and the node it gets the image from have joined, that node and its
 * relay's port ({type:"relay"}). Two lookups per join, never a scan of the job: the tree gives
 * each node's parent and at most two children.
 */
import type { MasterConnection } from "./rendezvous-master-connection.js";

export interface RelayPlan {
  /** Each worker's parent (the master's node included); the master has none. */
  readonly parents: ReadonlyMap<string, string>;
  /** The master's own node and its relay's port (none when it could not listen). */
  readonly masterNode: string;
  readonly masterPort: number | undefined;
}

export interface MasterRelay {
  /** A worker joined (`port`: its relay's, from its hello). */
  noteJoined(conn: MasterConnection, port: number | undefined): void;
  /** The plan, once; every worker whose parent is known by then is told at once. */
  plan(plan: RelayPlan): void;
}

export function createMasterRelay(joinedConnection: (node: string) => MasterConnection | undefined): MasterRelay {
  /** Every joined worker, with its relay's port (undefined: it has none). */
  const ports = new Map<string, number | undefined>();
  const told = new Set<string>();
  let planned: { plan: RelayPlan; children: Map<string, string[]> } | undefined;

  const tell = (node: string): void => {
    if (planned === undefined || told.has(node)) return;
    const parent = planned.plan.parents.get(node);
    if (parent === undefined) return;
    const isMaster = parent === planned.plan.masterNode;
    const conn = joinedConnection(node);
    if ((!isMaster && !ports.has(parent)) || conn === undefined) return;
    const port = isMaster ? planned.plan.masterPort : ports.get(parent);
    told.add(node);
    conn.send({ type: "relay", node: parent, ...(port === undefined ? {} : { port }) });
  };

  return {
    noteJoined(conn, port) {
      const node = conn.node;
      if (node === undefined) return;
      ports.set(node, port);
      tell(node);
      for (const child of planned?.children.get(node) ?? []) tell(child);
    },
    plan(plan) {
      if (planned !== undefined) throw new Error("internal error: the relay was planned twice; please report");
      const children = new Map<string, string[]>();
      for (const [node, parent] of plan.parents) children.set(parent, [...(children.get(parent) ?? []), node]);
      planned = { plan, children };
      for (const node of plan.parents.keys()) tell(node);
    },
  };
}
