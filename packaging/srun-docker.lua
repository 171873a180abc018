-- Lmod modulefile for srun-docker @VERSION@: `module load srun-docker` puts it on the PATH, its
-- man page on the MANPATH and its bash completion where bash-completion's loader looks (each
-- directory of XDG_DATA_DIRS, then bash-completion/completions/srun-docker).
-- In the release archive it finds the archive's files from its own place (modulefiles/
-- srun-docker/@VERSION@.lua): `module use <archive dir>/modulefiles`. Copied into a site's
-- module tree instead, set root to where the archive was unpacked.
local root = myFileName():match("^(.*)/modulefiles/srun%-docker/[^/]+$") or "/opt/@NAME@"

whatis("Name: srun-docker")
whatis("Version: @VERSION@")
whatis("Description: run multi-node Docker/Podman containers under Slurm")
help([[srun-docker @VERSION@: run multi-node Docker/Podman containers under Slurm.
  salloc -N 2 srun srun-docker --container=IMAGE --script=./job.sh
  man srun-docker]])

prepend_path("PATH", pathJoin(root, "bin"))
prepend_path("MANPATH", pathJoin(root, "share/man"))
-- Unset, XDG_DATA_DIRS means /usr/local/share:/usr/share; keep those behind ours.
if os.getenv("XDG_DATA_DIRS") == nil then
  append_path("XDG_DATA_DIRS", "/usr/local/share")
  append_path("XDG_DATA_DIRS", "/usr/share")
end
prepend_path("XDG_DATA_DIRS", pathJoin(root, "share"))
