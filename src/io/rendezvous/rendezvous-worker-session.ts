/**
 * What a worker's link to the rendezvous is, as its users see it: the options of one attempt to
 * join, and the session it becomes (io/rendezvous/rendezvous-worker-link.ts makes both).
 */
import type { Socket } from "node:net";
import type { NodePullSnapshot } from "../../core/image/index.js";
import type { NodePort } from "../../core/ports/index.js";
import type { ImageAnnouncement, WorkerOutcome } from "../../core/rendezvous/index.js";

export interface LinkOptions {
  host: string;
  port: number;
  secret: Buffer;
  jobKey: string;
  node: string;
  rank: number;
  /** --pull-once: the port this node's image relay listens on. */
  relay?: number;
  pingIntervalMs?: number;
  /** The master is lost after this many ping intervals of silence. */
  missedPings?: number;
  connect?: (port: number, host: string) => Socket;
}

export interface RendezvousWorkerSession {
  /** Each report resolves once its line is handed to the kernel (at once if the link is gone). */
  reportReady(): Promise<void>;
  /** Where this node's sshd listens (the first of the job's candidates it could bind). */
  reportRemotePort(port: number): Promise<void>;
  reportFailed(message: string): Promise<void>;
  /** The image the master announced, or the outcome if that comes first. Never rejects. */
  readonly image: Promise<ImageAnnouncement | WorkerOutcome>;
  /** This node fetches the image: bytes so far of the total (0 while unknown), layers done of those known; `from` a node's relay, else the registry. */
  reportPull(snapshot: NodePullSnapshot, from?: string): Promise<void>;
  /** --pull-once: the node to get the image from and its relay's port, or the outcome if that comes first. Never rejects. */
  readonly relaySource: Promise<RelaySource | WorkerOutcome>;
  /** The image is here: how many bytes came, in how long, from where ("registry" or a node). */
  reportPulled(bytes: number, ms: number, from: string): Promise<void>;
  /** "each" launcher: settles on go, or with the outcome if that comes first. Never rejects. */
  waitForGo(): Promise<{ kind: "go" } | WorkerOutcome>;
  /** The master's port this session joined: a fallback candidate when another program held the first. */
  readonly port: number;
  /** MASTER_PORT as the master's welcome said it; undefined from a master that said none. */
  masterPort(): number | undefined;
  /**
   * Settles once the master says which nodes' sshd is off the first candidate (every node said
   * its port by then), or with the outcome first. Never rejects.
   */
  waitForRemotePorts(): Promise<{ kind: "ports"; moved: readonly NodePort[] } | WorkerOutcome>;
  /** "each" launcher: this node's script ended; then wait for done/abort through `outcome`. */
  reportExited(exitCode: number): Promise<void>;
  /** Settles once, never rejects. */
  readonly outcome: Promise<WorkerOutcome>;
  /** Leaves the rendezvous; `outcome`, if pending, becomes lost. */
  close(): void;
}

/** --pull-once: where this node gets the image. */
export interface RelaySource {
  readonly node: string;
  /** Undefined: that node has no relay (it could not listen); pull from the registry. */
  readonly port: number | undefined;
}

export type JoinAttempt =
  | { ok: true; session: RendezvousWorkerSession }
  /** `connected`: something accepted the connection (and was not our master, or not in time). */
  | { ok: false; error: string; timedOut: boolean; connected: boolean };
