// Generated from the imports of other folders: the way into io/channel/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.
export { writeControl, writeData, writeEmpty, writeFrame } from "./agent-wire.js";
export type { AcceptOptions, Channel, FrameStream, Handshake } from "./channel.js";
export { acceptChannel, openChannel } from "./channel.js";
export { channelKey, createNonce, createPortDraw, deriveJobSecret } from "./key.js";
export { createRefusalLog } from "./refusal-log.js";
export { waitForGreeting } from "./remote-greeting.js";
