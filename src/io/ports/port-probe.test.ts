import { createServer } from "node:net";
import { expect, test } from "vitest";
import { isPortFree } from "./port-probe.js";

test("a port someone listens on is not free; once closed it is", async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  expect(await isPortFree(port)).toBe(false);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  expect(await isPortFree(port)).toBe(true);
});
