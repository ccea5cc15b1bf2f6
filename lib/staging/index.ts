export {
  createStagingStore,
  stagedBlobName,
  exportFileBlobName,
  STAGED_CONTENT_TYPE,
  type StagingStore,
  type StagingStoreOptions,
  type StagedBlob,
} from "./store";
