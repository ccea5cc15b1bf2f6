export {
  runImport,
  drainRun,
  failRun,
  finishCaptureRun,
  refreshCaptureRunCounts,
  runIsGone,
  type RunOptions,
  type RunProgress,
  type RunSummary,
  type DrainOptions,
} from "./run";
export { environmentFromConfig, m365AppFromConfig, spoolFromConfig, type PipelineEnvironment } from "./environment";
export { purgeStagedItems } from "./retention";
export { failedWhileImporting } from "./ledger";
export { consentRetryDelay, defaultConsentWait, type ConsentWait } from "./consent-wait";
export { RunSetupError } from "./services";
export { createRecipientResolver } from "./recipients";
export { itemKey, stagedModel } from "./staged-item";
export { parseCoverage, type StreamCoverage } from "./coverage";
export type { DeliveryOptions } from "./deliver";
export {
  openCapture,
  captureFeed,
  capturesRealtime,
  CAPTURE_EVENT_TYPES,
  type Capture,
  type CaptureBatch,
} from "./datahose-source";
