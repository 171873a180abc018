/** A file srun-docker writes into a node's job dir before the container starts (core/plan/node-plan.ts). */
export interface PlannedFile {
  readonly content: string;
  readonly mode: number;
  /**
   * Mounted into the container by itself (`-v file:/etc/...`): a change after the container
   * started must keep the file's inode, or the container would go on seeing the old one.
   */
  readonly boundAsFile?: true;
}
