// Why a container was not ready: said in the user's words, with what to check. Pure, so the
// wording is tested without an engine (commands/run/node-container.ts asks for them).
import { UserError } from "../common/index.js";

/** The whole container ended before its server answered (its init gone, or killed). */
export function containerEndedError(node: string, bin: string, code: number): UserError {
  const how =
    code === -1
      ? "was removed"
      : code === 137
        ? "was killed (exit 137: out of memory, or SIGKILL)"
        : `ended with exit ${code}`;
  return new UserError("container-ended", `the container on ${node} ${how} before it was ready`, {
    hint: `see \`${bin} events\` or the kernel log on ${node}; \`--dockopts\` limits (--memory) apply to sshd too`,
  });
}

/** sshd or the agent neither said which port it listens on nor exited within `ms` (a hung start). */
export function serverSilentError(node: string, kind: "sshd" | "agent", ms: number): UserError {
  const what = kind === "sshd" ? "sshd" : "srun-docker's agent";
  return new UserError(
    `${kind}-not-ready`,
    `${what} in the container on ${node} did not start listening within ${(ms / 1000).toFixed(1)} s`,
    { hint: `check the container's log on ${node} (\`docker logs\`) for its errors, or raise --timeout` },
  );
}

/** sshd or the agent exited before it answered; `last` is its last log line (its own words). */
export function serverExitedError(node: string, kind: "sshd" | "agent", code: number, last: string): UserError {
  const what = kind === "sshd" ? "sshd" : "srun-docker's agent";
  // Its start says so when every one of the job's ports was taken (core/engine/sshd-start.ts, the agent).
  const portsTaken = /could not listen on any of its ports|port candidates .* are in use/.test(last);
  return new UserError(
    kind,
    `${what} in the container on ${node} exited with ${code} before it was ready${last ? `: ${last}` : ""}`,
    {
      hint: portsTaken
        ? `other programs hold every one of the job's ports on ${node}; run the step again (a new step draws other ports)`
        : kind === "sshd"
          ? "the image needs openssh-server (/usr/sbin/sshd) for --remote=sshd; `srun-docker doctor` checks it"
          : "the agent needs /bin/sh, glibc (2.28 or newer) and libstdc++ in the image; musl images (Alpine) are not supported",
    },
  );
}
