import { createHash, timingSafeEqual } from "node:crypto";

/** Whether an Authorization header carries exactly `Bearer <secret>` (constant-time comparison). */
export function hasBearerSecret(authorization: string | null, secret: string): boolean {
  const match = /^Bearer (.+)$/.exec(authorization ?? "");
  if (!match) return false;
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(match[1]!), digest(secret));
}
