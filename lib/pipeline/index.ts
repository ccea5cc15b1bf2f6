export {
  runImport,
  drainRun,
  failRun,
  runIsGone,
  type RunOptions,
  type RunProgress,
  type RunSummary,
  type DrainOptions,
} from "./run";
export { environmentFromConfig, type PipelineEnvironment } from "./environment";
export { purgeStagedItems } from "./retention";
export { RunSetupError } from "./services";
export { createRecipientResolver } from "./recipients";
export { itemKey } from "./staged-item";
export type { DeliveryOptions } from "./deliver";
