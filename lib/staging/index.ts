export {
  createStagingStore,
  stagedBlobName,
  bundleBlobName,
  peek,
  BUNDLE_MAX_BYTES,
  exportFileBlobName,
  STAGED_CONTENT_TYPE,
  StagedItemMissingError,
  type StagingStore,
  type StagingStoreOptions,
  type StagedBlob,
} from "./store";
