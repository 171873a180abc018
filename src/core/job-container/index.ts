// The job's containers beyond one step: named containers (`--container-name`), the choice of
// `srun-docker exec` among a job's containers, and `--container-save`'s commit. Other folders
// import it from here.
export type { ImageRunConfig } from "./container-save.js";
export {
  buildCommitArgs,
  buildSaveArgs,
  parseImageRunConfig,
  SAVE_ARCHIVE_RE,
  savedImageTag,
} from "./container-save.js";
export type { ContainerWanted } from "./job-container-choice.js";
export { chooseJobContainer } from "./job-container-choice.js";
export type { Devices, NamedContainerChoice, NamedContainerWanted } from "./named-container.js";
export {
  CONTAINER_NAME_RE,
  chooseNamedContainer,
  describeNamedChoice,
  namedContainerStep,
  namedLabels,
} from "./named-container.js";
