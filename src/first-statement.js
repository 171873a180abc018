// srun-docker's first statement, in the bundle and so in the single executable: scripts/build.mjs
// puts this file before everything else, so that it runs before any module is loaded.
//
// Node answers SIGUSR1 by opening its inspector on 127.0.0.1:9229 until the process listens
// for that signal itself, and every local user can attach to it and run code as this user.
// Slurm sends SIGUSR1 and SIGUSR2 to a job's steps (`--signal=USR1@T`, `scancel --signal`) to
// ask for a checkpoint; without a listener SIGUSR2 would end the process. So both get a listener
// here, that stays for the whole life of the process (removing the last one would give SIGUSR1
// back to the inspector), and passes each signal to whoever subscribed through
// io/process/signals.ts `onUserSignals`; a signal nobody subscribed to is ignored.
// io/process/signals.ts imports this file too, so that the sources run unbundled (tests) behave alike;
// in the bundle that second run finds the listener in place and does nothing.
(() => {
  const registry = Symbol.for("srun-docker.user-signals");
  if (Object.hasOwn(globalThis, registry)) return;
  const subscribers = new Set();
  const pass = (signal) => {
    for (const subscriber of subscribers) subscriber(signal);
  };
  process.on("SIGUSR1", pass);
  process.on("SIGUSR2", pass);
  Object.defineProperty(globalThis, registry, { value: subscribers });
})();
