// Floor B, run on one node by srun: a container of the test image as the user (--init,
// --net=host) until it can serve remote commands; then `docker rm -f`. Prints seconds for
// each part. Per mode: `sshd` waits for a user sshd's banner (its own config and host key, as
// the tool runs it); `agent` waits for the container's first process to run (it touches a
// file), the least any server in the container needs.
export const FLOOR_B_SCRIPT = `import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
const [mode, dir, port, image, uid, gid] = process.argv.slice(2);
const now = () => Number(process.hrtime.bigint()) / 1e9;
const name = "srun-docker-bench-" + process.env.USER + "-" + port;
const banner = () => new Promise((resolve) => {
  const s = connect({ host: "127.0.0.1", port: Number(port) });
  let got = "";
  s.setEncoding("latin1");
  s.on("data", (d) => { got += d; if (got.includes("SSH-2.0")) { s.destroy(); resolve(true); } });
  s.on("error", () => resolve(false));
  s.on("close", () => resolve(got.includes("SSH-2.0")));
});
// Busy CPU seconds of the whole machine (USER_HZ 100): what starting the container costs the
// daemons, runc and sshd, which no rusage of ours sees. Noisy when others use the machine.
const busy = () => {
  const f = readFileSync("/proc/stat", "utf8").split("\\n")[0].trim().split(/\\s+/).slice(1).map(Number);
  return (f.reduce((a, b) => a + b, 0) - f[3] - f[4]) / 100;
};
const b0 = busy();
const t0 = now();
const marker = dir + "/up-" + port;
rmSync(marker, { force: true });
const main = mode === "sshd"
  ? ["/usr/sbin/sshd", "-D", "-e", "-p", port, "-f", dir + "/sshd_config"]
  : ["/bin/sh", "-c", ": >" + marker + "; exec sleep 60"];
const r = spawnSync("docker", ["run", "-d", "--init", "--rm", "--name", name, "--net=host", "--user", uid + ":" + gid,
  "-v", dir + ":" + dir + ":" + (mode === "sshd" ? "ro" : "rw"), image, ...main], { encoding: "utf8" });
if (r.status !== 0) { console.error(r.stderr); process.exit(1); }
const t1 = now();
const ready = mode === "sshd" ? banner : async () => existsSync(marker);
for (;;) {
  if (await ready()) break;
  if (now() - t0 > 30) { console.error("not ready"); break; }
  await new Promise((res) => setTimeout(res, 5));
}
const t2 = now();
const b2 = busy();
spawnSync("docker", ["rm", "-f", name], { stdio: "ignore" });
rmSync(marker, { force: true });
const t3 = now();
console.log("FLOORB " + JSON.stringify({ run: t1 - t0, ready: t2 - t1, up: t2 - t0, rm: t3 - t2, cpu: b2 - b0 }));
`;
