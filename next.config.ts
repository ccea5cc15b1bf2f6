import type { NextConfig } from "next";

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
  ],
  poweredByHeader: false,
  typedRoutes: false,
};

export default nextConfig;
