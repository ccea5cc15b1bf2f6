import type { NextConfig } from "next";
import { securityHeaders } from "./lib/security-headers";

const nextConfig: NextConfig = {
  // Node-only packages loaded at run time rather than bundled.
  serverExternalPackages: [
    "pg",
    "pg-boss",
    "pino",
    "@prisma/adapter-pg",
    "@azure/msal-node",
    "@azure/storage-blob",
    "@microsoft/microsoft-graph-client",
    "nodemailer",
    "mailparser",
    "ssh2",
    "openpgp",
    "yauzl",
    "saxes",
  ],
  poweredByHeader: false,
  // The largest form is the mapping step: a CSV of up to 2 MB (MAX_MAPPING_BYTES) with a few fields.
  // The forms refuse larger files in the browser, so this limit is only ever met by a crafted request.
  experimental: { serverActions: { bodySizeLimit: "3mb" } },
  // Static files skip proxy.ts; they get the same headers here (pages and API get them from proxy.ts).
  headers() {
    const https = (process.env.APP_URL ?? "").startsWith("https://");
    const headers = Object.entries(securityHeaders({ https })).map(([key, value]) => ({ key, value }));
    return Promise.resolve([{ source: "/_next/static/:path*", headers }]);
  },
  typedRoutes: false,
};

export default nextConfig;
