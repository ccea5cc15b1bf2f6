export { buildEmail, messageIdFor, type BuildEmailOptions } from "./email";
export { buildMime, bufferedMime, ATTACHMENT_ID_HEADER, type WrittenPart } from "./mime";
export { ConversionPool, ConversionUnavailableError, convertMessage, type ConversionPoolOptions } from "./pool";
export { MAX_HTML_BYTES, MAX_INPUT_BYTES, MAX_TEXT_BYTES, ORIGINAL_DATA_FILE, ORIGINAL_MESSAGE_FILE } from "./limits";
export { toGraphMessage, type GraphMessage, type GraphRecipient, type GraphExtendedProperty } from "./graph";
export { MAX_TEXT_READ_BACK_BYTES, WHOLE_COPY_FILE, withBodyAttached, withCopyAttached } from "./large-body";
export {
  textExceeds,
  readBackContentType,
  readStagedHeaders,
  readStagedMime,
  readStagedMimeWhole,
  type StagedMessage,
  type StagedAttachment,
} from "./read-mime";
export { isMarkup, renderPresentationML, type MessageBody } from "./presentation";
export * from "./types";
