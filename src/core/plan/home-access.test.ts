import { expect, test } from "vitest";
import { adviseHome, type HomeFacts, parseDaemonUsers } from "./home-access.js";

const EXT4 = 0xef53;
const NFS = 0x6969;
const FUSE = 0x65735546;
const HOME: HomeFacts = { home: "/home/alice", mode: 0o700, fsType: EXT4, runtime: "docker", daemonUsers: "root" };

test.each<[string, Partial<HomeFacts>, { ok: boolean; detail: RegExp; fix?: RegExp }]>([
  [
    "docker as root, a local 0700 home: nothing to open",
    {},
    { ok: true, detail: /^\/home\/alice mode 0700: the docker daemon \(root\) reaches .*no one else needs to$/ },
  ],
  [
    "rootless Podman, a local 0700 home: it mounts as you",
    { runtime: "podman", daemonUsers: undefined },
    { ok: true, detail: /^\/home\/alice mode 0700: Podman \(as you\) reaches/ },
  ],
  [
    "rootless Podman on NFS: still as you",
    { runtime: "podman", fsType: NFS },
    { ok: true, detail: /Podman \(as you\)/ },
  ],
  [
    "o+x already set: said what it opens, and that srun-docker does not need it",
    { mode: 0o711 },
    {
      ok: true,
      detail:
        /mode 0711: .*; o\+x lets every user reach the files in it whose names they know \(srun-docker does not need it\)$/,
    },
  ],
  [
    "docker as root on NFS: root may be squashed, which no mode of the home fixes",
    { fsType: NFS },
    { ok: true, detail: /is on NFS: .*root_squash.*no_root_squash.*--runtime=podman \(chmod o\+x would not help/ },
  ],
  ["docker as root on FUSE: the same", { fsType: FUSE, mode: 0o755 }, { ok: true, detail: /is on FUSE: .*o\+x lets/ }],
  [
    "rootless Docker: the home is not yours in its containers",
    { daemonUsers: "rootless" },
    { ok: false, detail: /daemon is rootless: .*no mode of it changes that/, fix: /--runtime=podman/ },
  ],
  [
    "userns-remap: the same",
    { daemonUsers: "userns-remap", mode: 0o711 },
    { ok: false, detail: /daemon is userns-remap/, fix: /without userns-remap/ },
  ],
  [
    "a daemon that did not say: taken as root",
    { daemonUsers: undefined },
    { ok: true, detail: /docker daemon \(root\)/ },
  ],
])("%s", (_name, facts, expected) => {
  const advice = adviseHome({ ...HOME, ...facts });
  expect(advice.ok).toBe(expected.ok);
  expect(advice.detail).toMatch(expected.detail);
  if (expected.fix === undefined) expect(advice.fix).toBeUndefined();
  else expect(advice.fix).toMatch(expected.fix);
  // Nowhere is o+x both needed and enough: doctor never tells anyone to open their home.
  expect(advice.fix ?? "").not.toContain("chmod o+x");
});

test.each<[string, ReturnType<typeof parseDaemonUsers>]>([
  ['["name=seccomp,profile=builtin","name=cgroupns"]', "root"],
  ['["name=seccomp,profile=builtin","name=rootless","name=cgroupns"]', "rootless"],
  ['["name=apparmor","name=userns"]', "userns-remap"],
  ["null", undefined],
  ["not json", undefined],
])("docker info's SecurityOptions %s: %s", (text, expected) => {
  expect(parseDaemonUsers(text)).toBe(expected);
});
