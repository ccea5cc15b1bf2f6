export * from "./boss";
export * from "./database-errors";
export * from "./definitions";
export * from "./health";
export * from "./heartbeat";
export * from "./request";
export * from "./schedule";
export * from "./worker";
export { releaseCaptureForNewSettings } from "./capture";
