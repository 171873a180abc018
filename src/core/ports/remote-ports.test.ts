import { describe, expect, test } from "vitest";
import { describeRemotePorts, movedPorts, remotePortMap } from "./remote-ports.js";

describe("remotePortMap and movedPorts", () => {
  const nodes = ["n1", "n2", "n3"];

  test("the first candidate for every node not heard from", () => {
    expect([...remotePortMap(nodes, 7, [{ node: "n2", port: 9 }])]).toEqual([
      ["n1", 7],
      ["n2", 9],
      ["n3", 7],
    ]);
  });

  test("a node that is not in the job is ignored", () => {
    expect([...remotePortMap(["n1"], 7, [{ node: "x", port: 9 }])]).toEqual([["n1", 7]]);
  });

  test("only the nodes off the first candidate move, in node order", () => {
    const ports = remotePortMap(nodes, 7, [
      { node: "n3", port: 8 },
      { node: "n1", port: 9 },
      { node: "n2", port: 7 },
    ]);
    expect(movedPorts(ports, 7)).toEqual([
      { node: "n1", port: 9 },
      { node: "n3", port: 8 },
    ]);
  });

  test("the usual case sends nothing", () => {
    expect(movedPorts(remotePortMap(nodes, 7, []), 7)).toEqual([]);
  });
});

test("describeRemotePorts", () => {
  expect(describeRemotePorts(remotePortMap(["n1", "n2"], 7, []), 7)).toBe("every node on 7");
  const ports = remotePortMap(["node1", "node2", "node3", "node4"], 7, [
    { node: "node2", port: 9 },
    { node: "node3", port: 9 },
    { node: "node4", port: 8 },
  ]);
  expect(describeRemotePorts(ports, 7)).toBe("node[2-3] on 9, node4 on 8, the others on 7");
});
