// Generated from the imports of other folders: the way into core/channel/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.

export type { Frame, FrameLimits } from "./agent-frames.js";
export {
  createFrameDecoder,
  encodeFrame,
  encodeFrameHeader,
  FRAME_HEADER_BYTES,
  FrameType,
  MAX_CONTROL_BYTES,
  MAX_DATA_BYTES,
  MAX_EXEC_BYTES,
  splitPayload,
} from "./agent-frames.js";
export type { ChannelFailure, ClientContext, FailureWords } from "./client.js";
export { describeChannelFailure, serverHandshakeLimit, startClient, stepClient } from "./client.js";
export type { About, ChannelKey, ChannelProtocol, ChannelSide, HandshakeInput, Outgoing, Step } from "./handshake.js";
export { HandshakeFrame, parseHandshake, transcript } from "./handshake.js";
export type { HandshakeSlots } from "./handshake-slots.js";
export { AGENT_HANDSHAKE_LIMIT, createHandshakeSlots, rendezvousHandshakeLimit } from "./handshake-slots.js";
export type { RefusalKind, RefusalTallyOptions } from "./refusal-tally.js";
export { createRefusalTally, isRefusalSummary } from "./refusal-tally.js";
export type { Admission, Peer, ServerContext, ServerHandshake } from "./server.js";
export { clientHandshakeLimit, startServer, stepServer } from "./server.js";
