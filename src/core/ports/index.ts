// Generated from the imports of other folders: the way into core/ports/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.

export type { PortCandidates, PortDraw } from "./port-candidates.js";
export { describeTakenCandidates, jobPortCandidates } from "./port-candidates.js";
export type { JobPorts } from "./ports.js";
export { firstPorts, PORT_RANGE_END, PORT_RANGE_START } from "./ports.js";
export type { NodePort } from "./remote-ports.js";
export { describeRemotePorts, movedPorts, nodesByPort, remotePortMap } from "./remote-ports.js";
