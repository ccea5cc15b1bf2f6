// Test support: sandboxes over a seeded organisation, private servers, worker processes, fresh
// databases and the schema drift check. Only tests, benchmarks and scripts import this folder.
export * from "./databases";
export * from "./harness";
export * from "./heap-cap";
export * from "./ledger-rows";
export * from "./private-servers";
export * from "./schema-drift";
export * from "./worker-process";
