import type { Metadata } from "next";
import { connection } from "next/server";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Symphony archive connector", template: "%s · Symphony archive connector" },
  description: "Archive Symphony conversations into Microsoft 365 mailboxes",
};

// Every page is rendered per request: Next.js can only put the request's CSP nonce (proxy.ts) on its
// inline scripts when the page is rendered dynamically.
export default async function RootLayout({ children }: { children: ReactNode }) {
  await connection();
  return (
    <html lang="en">
      <body className="min-h-screen font-sans text-sm">{children}</body>
    </html>
  );
}
