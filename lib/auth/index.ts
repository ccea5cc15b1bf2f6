export * from "./bearer";
export * from "./options";
export * from "./roles";
export * from "./session";
export * from "./admin-action";
export * from "./return-path";
