// Lint is part of `npm test`. Type-checked rules catch floating promises and unsafe casts; the
// no-restricted-imports blocks below are the layer rules of docs/ARCHITECTURE.md.
import nextVitals from "eslint-config-next/core-web-vitals";
import { defineConfig, globalIgnores } from "eslint/config";
import tseslint from "typescript-eslint";

const LIB_FOLDERS = [
  "audit",
  "auth",
  "connectors",
  "content-export",
  "convert",
  "doctor",
  "jobs",
  "m365",
  "notify",
  "pipeline",
  "staging",
  "symphony",
  "testing",
];

const sandboxOnlyFromTests = {
  group: ["@/sandbox", "@/sandbox/*", "**/sandbox", "**/sandbox/*"],
  message: "The sandboxes play the outside world: only tests, scripts and lib/testing may start them.",
};

// Outside lib/<folder>, code imports that folder through its index.ts: `@/lib/<folder>`.
const throughIndexOnly = {
  regex: `^@/lib/(${LIB_FOLDERS.join("|")})/.+`,
  message: "Import a lib folder through its entry point (`@/lib/<folder>`), not its internal files.",
};

// Inside lib/, other folders are reached by `@/lib/...`, never by climbing out with `../`.
const noClimbingOut = {
  regex: "^\\.\\./",
  message: "Reach another lib folder through `@/lib/<folder>`; relative imports stay inside the folder.",
};

const dataLayerNotFromUi = {
  group: ["@/lib/db", "@/lib/generated", "@/lib/generated/*", "@/lib/generated/**"],
  message: "Pages and components call lib/ functions; only lib/ touches the database.",
};

export default defineConfig([
  globalIgnores([
    ".next/**",
    ".data/**",
    "build/**",
    "node_modules/**",
    "lib/generated/**",
    "next-env.d.ts",
    "playwright-report/**",
    "test-results/**",
  ]),
  ...nextVitals,
  {
    files: ["**/*.ts", "**/*.tsx", "**/*.mjs"],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { attributes: false } }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  { files: ["**/*.mjs"], extends: [tseslint.configs.disableTypeChecked] },
  // Layers. Each block lists every rule for its files, because a later block's
  // no-restricted-imports replaces an earlier one's for the same file.
  {
    files: ["app/**", "components/**"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [sandboxOnlyFromTests, dataLayerNotFromUi, throughIndexOnly] }],
    },
  },
  {
    files: ["lib/**"],
    ignores: ["lib/testing/**", "lib/**/*.test.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [sandboxOnlyFromTests, throughIndexOnly, noClimbingOut] }],
    },
  },
  {
    files: ["lib/testing/**", "lib/**/*.test.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: [throughIndexOnly, noClimbingOut] }] },
  },
  {
    files: ["sandbox/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["@/lib", "@/lib/*", "@/lib/**", "**/lib/*", "**/lib/**"],
              message: "The sandboxes follow ../shared/specs and share no code with lib/.",
            },
          ],
        },
      ],
    },
  },
  { files: ["scripts/**", "e2e/**"], rules: { "no-restricted-imports": ["error", { patterns: [throughIndexOnly] }] } },
]);
