/**
 * How a node knows the server of remote commands in a container is ready: by what it says
 * first on a new connection, not by an open port (docker-proxy, or a half-started daemon, can
 * hold a port). sshd sends its version line; srun-docker's agent sends its challenge frame.
 */
import { FRAME_HEADER_BYTES, FrameType, HandshakeFrame, MAX_CONTROL_BYTES, parseHandshake } from "../channel/index.js";

export type GreetingCheck = { kind: "ready" } | { kind: "more" } | { kind: "wrong"; why: string };

export type GreetingService = "sshd" | "agent";

export function checkGreeting(service: GreetingService, received: Buffer): GreetingCheck {
  return service === "sshd" ? checkSshBanner(received) : checkAgentChallenge(received);
}

function checkSshBanner(received: Buffer): GreetingCheck {
  const lines = received.toString("latin1").split("\n");
  const complete = lines.slice(0, -1).map((line) => line.trimEnd());
  // RFC 4253 §4.2 lets a server send other lines before its version line.
  if (complete.some((line) => line.startsWith("SSH-2.0-") || line.startsWith("SSH-1.99-"))) return { kind: "ready" };
  const last = complete.at(-1) ?? lines.at(-1) ?? "";
  if (complete.length > 20 || received.length > 255 * 21) return notA("an ssh server", last);
  if ((lines.at(-1) ?? "").length > 255) return notA("an ssh server", lines.at(-1) ?? "");
  return { kind: "more" };
}

function checkAgentChallenge(received: Buffer): GreetingCheck {
  if (received.length === 0) return { kind: "more" };
  if (received[0] !== FrameType.challenge) return notA("srun-docker's agent", received.toString("latin1"));
  if (received.length < FRAME_HEADER_BYTES) return { kind: "more" };
  const length = received.readUInt32BE(1);
  if (length > MAX_CONTROL_BYTES) return notA("srun-docker's agent", received.toString("latin1"));
  if (received.length < FRAME_HEADER_BYTES + length) return { kind: "more" };
  const payload = received.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length).toString("utf8");
  const challenge = parseHandshake(HandshakeFrame.challenge, payload);
  return challenge === undefined ? { kind: "wrong", why: "a malformed agent challenge" } : { kind: "ready" };
}

function notA(what: string, text: string): GreetingCheck {
  return { kind: "wrong", why: `not ${what} (${JSON.stringify(text.slice(0, 40))})` };
}
