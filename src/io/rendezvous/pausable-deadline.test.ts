import { expect, test } from "vitest";
import { createPausableDeadline } from "./pausable-deadline.js";
import { manualTimers } from "./rendezvous-harness.test-support.js";

test("the deadline stands still while any node holds it, and runs on with what was left", () => {
  const timers = manualTimers();
  let expired = false;
  const deadline = createPausableDeadline(timers, () => {
    expired = true;
  });
  deadline.start(10_000);
  timers.advance(4000);
  deadline.hold("n1");
  deadline.hold("n2");
  timers.advance(600_000); // a long pull
  deadline.release("n1");
  timers.advance(600_000);
  expect(expired).toBe(false);
  deadline.release("n2");
  timers.advance(5999);
  expect(expired).toBe(false);
  timers.advance(1);
  expect(expired).toBe(true);
});

test("a release by a node that held nothing changes nothing; cancel ends it for good", () => {
  const timers = manualTimers();
  let expired = 0;
  const deadline = createPausableDeadline(timers, () => expired++);
  deadline.start(1000);
  deadline.release("n9");
  timers.advance(500);
  deadline.cancel();
  deadline.hold("n1");
  deadline.release("n1");
  timers.advance(10_000);
  expect(expired).toBe(0);
});

test("held before it starts: it starts only once released", () => {
  const timers = manualTimers();
  let expired = false;
  const deadline = createPausableDeadline(timers, () => {
    expired = true;
  });
  deadline.hold("master");
  deadline.start(1000);
  timers.advance(5000);
  expect(expired).toBe(false);
  deadline.release("master");
  timers.advance(1000);
  expect(expired).toBe(true);
});
