/**
 * One connection to the rendezvous master, as one state: in its handshake until the peer proves
 * it holds the secret (the authenticated channel, core/channel/) and takes an expected node's
 * place; then joined, its messages going to the master (rendezvous-master.ts); dropped once it
 * ended, with the first reason why. Anything an unauthenticated peer sends can only get its own
 * connection dropped: it never changes a node's state, so another user on the port cannot start
 * or stop the job. At most so many connections are in their handshake at once
 * (core/channel/handshake-slots.ts): a flood of them makes room for a newcomer by losing its oldest.
 */
import type { Socket } from "node:net";
import type { HandshakeSlots, Peer, RefusalKind } from "../../core/channel/index.js";
import {
  encodeMessage,
  type MasterMessage,
  messageFrameLimit,
  PROTOCOL_VERSION,
  parseHelloAbout,
  parseWorkerMessage,
  type WorkerMessage,
} from "../../core/rendezvous/index.js";
import { type AcceptOptions, acceptChannel, type Channel, channelKey, type Handshake } from "../channel/index.js";
import type { Timers } from "../process/index.js";

export type ConnectionState =
  /** `handshake`: the channel's, fed the timeout and crowding; `deadline`: the handshake's timeout. */
  | { readonly phase: "handshake"; readonly handshake: Handshake; readonly deadline: unknown }
  /** The peer is `node`'s worker; `heardAt`: its last message, for the heartbeat. */
  | { readonly phase: "joined"; readonly node: string; readonly heardAt: number }
  /** Ended, or ending; `reason`: the first reason why, which a close after it reports. */
  | { readonly phase: "dropped"; readonly reason: string; readonly node?: string };

/** What a connection asks of the master, and tells it. */
export interface ConnectionHost {
  readonly timers: Timers;
  /** The connections not yet authenticated, bounded. */
  readonly slots: HandshakeSlots<MasterConnection>;
  /** Whether an authentic hello may take its node's place: undefined when it may, else why not. */
  refusal(peer: Peer): string | undefined;
  /** Told to the user if `claimed` never joins: someone may be trying to take its place. */
  noteForgery(claimed: string, remote: string): void;
  /** The worker was welcomed; `rank` from its hello, `relay` its image relay's port. */
  joined(conn: MasterConnection, rank: number, relay: number | undefined): void;
  /** A well-formed message from a joined worker. */
  message(conn: MasterConnection, message: WorkerMessage): void;
  closed(conn: MasterConnection): void;
  /** A stranger's connection was refused: `kind` as the refusal summary counts it. */
  refused(conn: MasterConnection, reason: string, kind: RefusalKind): void;
}

export interface ConnectionOptions {
  secret: Buffer;
  jobKey: string;
  /** An unauthenticated connection is dropped after this long. */
  handshakeTimeoutMs: number;
  /** MASTER_PORT, told to every worker in its welcome. */
  masterPort?: number | undefined;
}

export interface DropOptions {
  /** Lets a last message (a reject) flush before the close. */
  readonly gently?: boolean;
  /** What it counts as, before authentication (default: rejected). */
  readonly kind?: RefusalKind;
}

export class MasterConnection {
  #state: ConnectionState;
  readonly remote: string;

  constructor(
    readonly socket: Socket,
    readonly host: ConnectionHost,
    options: ConnectionOptions,
  ) {
    this.remote = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    socket.setKeepAlive(true, 1000);
    socket.setNoDelay(true);
    host.slots.admit(this, socket.remoteAddress ?? "?")?.crowdOut();
    const deadline = host.timers.setTimeout(() => this.#handshakeInput("timed-out"), options.handshakeTimeoutMs);
    const handshake = acceptChannel(socket, this.#channelOptions(options), {
      established: (channel, peer) => this.#onEstablished(channel, peer),
      refused: (refusal) => this.#onRefused(refusal),
    });
    this.#state = { phase: "handshake", handshake, deadline };
    socket.on("error", (error) => this.#noteEnd(error.message));
    socket.on("close", () => this.#onClose());
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The node this connection joined as; undefined until it did. */
  get node(): string | undefined {
    return this.#state.phase === "handshake" ? undefined : this.#state.node;
  }

  /** Why it ended, as far as known. */
  get endReason(): string | undefined {
    return this.#state.phase === "dropped" ? this.#state.reason : undefined;
  }

  /** Drops a connection still in its handshake to make room for a newer one. */
  crowdOut(): void {
    this.#handshakeInput("crowded");
  }

  #handshakeInput(type: "crowded" | "timed-out"): void {
    if (this.#state.phase === "handshake") this.#state.handshake.input({ type });
  }

  /** Bound to the port the worker reached: a peer on another candidate port cannot relay it here. */
  #channelOptions({ secret, jobKey, masterPort }: ConnectionOptions): AcceptOptions {
    const port = this.socket.localPort ?? 0;
    return {
      key: channelKey(secret),
      binding: { protocol: "rendezvous", version: PROTOCOL_VERSION, jobKey, port },
      admit: (peer) => {
        const refuse = this.host.refusal(peer);
        if (refuse !== undefined) return { refuse, tell: refuse };
        return { welcome: masterPort === undefined ? {} : { masterPort } };
      },
    };
  }

  #onEstablished(channel: Channel, peer: Peer): void {
    channel.frames.readWith({
      limits: messageFrameLimit,
      frame: (frame) => this.#onMessage(frame.payload.toString("utf8")),
      error: (reason) => this.drop(reason),
    });
    const before = this.#state;
    if (before.phase !== "handshake") return;
    this.host.timers.clearTimeout(before.deadline);
    this.host.slots.release(this);
    this.#state = { phase: "joined", node: peer.node, heardAt: this.host.timers.now() };
    const about = parseHelloAbout(peer.about);
    this.host.joined(this, about?.rank ?? 0, about?.relay);
  }

  #onRefused(refusal: Parameters<Parameters<typeof acceptChannel>[2]["refused"]>[0]): void {
    if (refusal.claimed !== undefined) this.host.noteForgery(refusal.claimed, this.remote);
    if (refusal.stranger === "gone") this.#noteEnd(refusal.reason);
    else this.drop(refusal.reason, { gently: refusal.tell !== undefined, kind: refusal.stranger ?? "rejected" });
  }

  #onMessage(payload: string): void {
    if (this.#state.phase !== "joined") return;
    const message = parseWorkerMessage(payload);
    if (message === undefined) {
      this.drop("malformed message");
      return;
    }
    this.#state = { ...this.#state, heardAt: this.host.timers.now() };
    this.host.message(this, message);
  }

  #onClose(): void {
    const state = this.#state;
    if (state.phase === "handshake") {
      state.handshake.input({ type: "closed", reason: "connection closed" });
      this.host.timers.clearTimeout(state.deadline);
    }
    this.host.slots.release(this);
    this.host.closed(this);
  }

  /** The connection is ending (an error, a peer gone): the first reason stays. */
  #noteEnd(reason: string): void {
    const state = this.#state;
    if (state.phase === "dropped") return;
    if (state.phase === "handshake") this.host.timers.clearTimeout(state.deadline);
    this.#state =
      state.phase === "joined" ? { phase: "dropped", reason, node: state.node } : { phase: "dropped", reason };
  }

  /** Ends the connection. A joined worker's loss is reported by its node, not as a refusal. */
  drop(reason: string, options: DropOptions = {}): void {
    if (this.#state.phase === "handshake") this.host.refused(this, reason, options.kind ?? "rejected");
    this.#noteEnd(reason);
    if (options.gently ?? false) this.socket.end();
    else this.socket.destroy();
  }

  /** Sends a message to a joined worker; nothing to one not joined or gone. */
  send(message: MasterMessage): void {
    if (!this.socket.destroyed && this.socket.writable && this.node !== undefined) {
      this.socket.write(encodeMessage(message));
    }
  }
}
