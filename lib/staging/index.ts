export {
  createStagingStore,
  stagedBlobName,
  STAGED_CONTENT_TYPE,
  type StagingStore,
  type StagingStoreOptions,
  type StagedBlob,
} from "./store";
