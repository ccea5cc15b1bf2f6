// Entry of an export reader thread: TypeScript is loaded through tsx, as in every process of the
// project, whether or not the parent process was started with it (vitest is not).
import { register } from "tsx/esm/api";

register();
await import("./export-reader-thread.ts");
