export { buildEmail, messageIdFor, type BuildEmailOptions } from "./email";
export { buildMime, ATTACHMENT_ID_HEADER } from "./mime";
export { toGraphMessage, type GraphMessage, type GraphRecipient, type GraphExtendedProperty } from "./graph";
export { readStagedMime, type StagedMessage, type StagedAttachment } from "./read-mime";
export { renderPresentationML, type MessageBody } from "./presentation";
export * from "./types";
