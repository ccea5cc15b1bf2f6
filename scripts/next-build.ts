// The web app's production build (.next), shared by `npm start` and `npm run bench`: built again only
// when a source it is made from changed since.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";

export const nextBin = (root: string) => path.join(root, "node_modules/next/dist/bin/next");

export function needsBuild(root: string): boolean {
  const buildId = path.join(root, ".next/BUILD_ID");
  if (!existsSync(buildId)) return true;
  const builtAt = statSync(buildId).mtimeMs;
  const newer = (dir: string): boolean =>
    existsSync(dir) &&
    readdirSync(dir, { withFileTypes: true }).some((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return entry.name !== "generated" && newer(full);
      return statSync(full).mtimeMs > builtAt;
    });
  return (
    ["app", "components", "lib", "public"].some((dir) => newer(path.join(root, dir))) ||
    ["next.config.ts", "package-lock.json", "postcss.config.mjs"].some(
      (f) => existsSync(path.join(root, f)) && statSync(path.join(root, f)).mtimeMs > builtAt,
    )
  );
}

export function run(root: string, command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env, stdio: "inherit" });
    child.once("exit", (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${path.basename(args[0] ?? command)} ${args[1] ?? ""} exited with code ${code}`)),
    );
  });
}

/** `next build` in production mode. */
export function buildNext(root: string, env: NodeJS.ProcessEnv): Promise<void> {
  return run(root, process.execPath, [nextBin(root), "build"], { ...env, NODE_ENV: "production" });
}
