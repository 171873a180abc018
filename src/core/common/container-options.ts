// Option types that both the command line (cli) and the plans (core) speak, so core never
// imports from cli (arrows point down only: cli → core).

/** The container engine. */
export type Runtime = "docker" | "podman";

/** How GPUs reach the container: docker's `--gpus` or nvidia-docker2's runtime. */
export type GpuRuntime = "docker" | "nvidia";

export type GpuMode =
  | { readonly kind: "auto" }
  | { readonly kind: "none" }
  | { readonly kind: "all" }
  | { readonly kind: "list"; readonly ids: readonly string[] };

export type Memlock =
  | { readonly kind: "unlimited" }
  | { readonly kind: "off" }
  | { readonly kind: "bytes"; readonly bytes: number };

/**
 * How `ssh node2 ...` (mpirun, pdsh, scripts) reaches the other containers: srun-docker's own
 * agent (any image with a shell and glibc), or an sshd in every container (the reference's way).
 */
export type Remote = "agent" | "sshd";
