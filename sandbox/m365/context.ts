import type { AppCertificate, SigningKey } from "./keys";
import type { SignInUser } from "./options";
import type { State } from "./state";

/** An app registration: its credentials, its Web redirect URIs and, if it has one, its own token signing key. */
export type Registration = {
  clientId: string;
  clientSecret: string;
  displayName: string;
  redirectUris: string[];
  /** Registered certificate (Certificates & secrets): client assertions must be signed with its key. */
  certificate?: AppCertificate;
  /** Custom signing key (claims mapping): signs this app's ID tokens, published only at `keys?appid=`. */
  signingKey?: SigningKey;
};

/** Everything a route handler needs: the in-memory state, keys, registered apps and our own origins. */
export type SandboxContext = {
  state: State;
  signingKey: SigningKey;
  app: Registration & { certificate: AppCertificate };
  webApp: Registration;
  signInUsers: SignInUser[];
  /** https://localhost:port — Entra ID and Graph. */
  origin: () => string;
  /** https://127.0.0.1:port — pre-authenticated upload URLs, a different host as outlook.office.com is in reality. */
  uploadOrigin: () => string;
};
