// The Debian package of `npm run release` (scripts/release.mjs), built with dpkg-deb alone, no
// debian/ source tree: /usr/bin/srun-docker (the single executable), the man page, bash
// completion, docs, and the example config and Epilog snippet under
// /usr/share/doc/srun-docker/examples/, where installing them changes nothing. Lintian-clean;
// its two overrides, in packaging/debian/lintian-overrides, carry their reasons.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

const DESCRIPTION = `run multi-node Docker/Podman containers under Slurm
 srun-docker starts one container per node of a Slurm job step, as the user
 (uid, groups, home), and runs a job script in the first; ssh, mpirun and pdsh
 reach the other nodes through srun-docker's own agent, so any image with
 glibc works. Every container is removed when the step ends, is cancelled or
 dies.`;

function changelog(version, epoch) {
  const date = new Date(epoch * 1000).toUTCString().replace("GMT", "+0000");
  return `srun-docker (${version}) unstable; urgency=medium\n\n  * Release ${version}.\n\n -- The srun-docker authors <srun-docker@users.noreply.github.com>  ${date}\n`;
}

/** Installed-Size: the sum of the files' sizes in KiB, rounded up per file, as dpkg-gencontrol counts. */
function installedSize(root) {
  let kib = 0;
  for (const entry of readdirSync(root, { recursive: true })) {
    if (String(entry).startsWith("DEBIAN")) continue;
    const s = statSync(path.join(root, String(entry)));
    kib += s.isFile() ? Math.ceil(s.size / 1024) : 1;
  }
  return kib;
}

function control({ version, arch, size }) {
  return [
    "Package: srun-docker",
    `Version: ${version}`,
    `Architecture: ${arch}`,
    "Maintainer: The srun-docker authors <srun-docker@users.noreply.github.com>",
    `Installed-Size: ${size}`,
    // The single executable is Node.js: glibc 2.28+, libstdc++ and libgcc_s, nothing else.
    "Depends: libc6 (>= 2.28), libgcc-s1, libstdc++6",
    "Recommends: docker.io | podman, slurm-client",
    "Section: admin",
    "Priority: optional",
    `Description: ${DESCRIPTION}`,
    "",
  ].join("\n");
}

export function buildDeb({ repo, out, version, arch, epoch, binary, files, run, touchTree, put }) {
  const root = path.join(out, ".stage", "deb");
  const doc = path.join(root, "usr/share/doc/srun-docker");
  const gz = (content) => run("gzip", ["-9n"], { input: content });
  put(path.join(root, "usr/bin/srun-docker"), readFileSync(binary), 0o755);
  put(path.join(doc, "README.md.gz"), gz(readFileSync(path.join(repo, "README.md"))));
  put(path.join(doc, "copyright"), readFileSync(path.join(repo, "packaging/debian/copyright")));
  put(path.join(doc, "changelog.gz"), gz(changelog(version, epoch)));
  put(path.join(doc, "examples/config.toml"), files.config);
  put(path.join(doc, "examples/epilog.sh"), files.epilog);
  put(path.join(root, "usr/share/man/man1/srun-docker.1.gz"), gz(files.man));
  put(path.join(root, "usr/share/bash-completion/completions/srun-docker"), files.completion);
  put(
    path.join(root, "usr/share/lintian/overrides/srun-docker"),
    readFileSync(path.join(repo, "packaging/debian/lintian-overrides")),
  );
  put(path.join(root, "DEBIAN/control"), control({ version, arch, size: installedSize(root) }));
  touchTree(root, epoch);
  const deb = path.join(out, `srun-docker_${version}_${arch}.deb`);
  run("dpkg-deb", ["--root-owner-group", "-Zxz", "--build", root, deb], {
    env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
  });
  return deb;
}
