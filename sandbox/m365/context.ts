import type { AppCertificate, SigningKey } from "./keys";
import type { SignInUser } from "./options";
import type { State } from "./state";

/** Everything a route handler needs: the in-memory state, keys, registered apps and our own origins. */
export type SandboxContext = {
  state: State;
  signingKey: SigningKey;
  app: { clientId: string; clientSecret: string; certificate: AppCertificate; displayName: string };
  webApp: { clientId: string; clientSecret: string; redirectUris: string[]; displayName: string };
  signInUsers: SignInUser[];
  /** https://localhost:port — Entra ID and Graph. */
  origin: () => string;
  /** https://127.0.0.1:port — pre-authenticated upload URLs, a different host as outlook.office.com is in reality. */
  uploadOrigin: () => string;
};
