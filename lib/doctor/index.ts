// Checks of a configuration against the real services, in plain words: npm run doctor, the Health
// page and GET /api/health (its database and storage probes).
export { runDoctor, type DoctorOptions } from "./run";
export { doctorSettingsFromConfig, type DoctorSettings } from "./settings";
export { checkHealth, publicHealth, sharedHealthCheck, type ComponentHealth, type Health } from "./health";
export { latestDoctorReport, runDoctorAndKeep } from "./latest";
export { REQUIRED_ROLES, type AppRegistration, type MicrosoftSettings } from "./microsoft";
export type { CheckGroup, CheckResult, CheckStatus, DoctorReport } from "./types";
