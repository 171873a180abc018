// The program each process of the scale bench runs (bundled by scripts/bench-scale.mjs with
// esbuild, so it runs the TypeScript sources of src/ as they are): `master` or `workers`,
// driven over the fork IPC channel (see scale-ipc.ts).
import { type FromMaster, type FromWorkers, processChannel, type ToMaster, type ToWorkers } from "./scale-ipc.js";
import { runMasterRole } from "./scale-master.js";
import { runWorkersRole } from "./scale-workers.js";

const role = process.argv[2];
if (role === "master") {
  const channel = processChannel<ToMaster, FromMaster>();
  process.once("message", (message: ToMaster) => {
    if (message.type !== "config") throw new Error(`master: expected config first, got ${message.type}`);
    runMasterRole(message.job, channel).catch((error: unknown) => {
      console.error(`master: ${error instanceof Error ? error.stack : String(error)}`);
      process.exit(1);
    });
  });
} else if (role === "workers") {
  runWorkersRole(processChannel<ToWorkers, FromWorkers>());
} else {
  console.error(`scale-entry: unknown role \`${role}\` (expected master or workers)`);
  process.exit(2);
}
