/** `{host}/{tenant}` of the Entra authority; a bare host name (msal's knownAuthorities style) means https. */
export function authorityUrl(tenant: string, authorityHost: string): string {
  const host = authorityHost.replace(/\/+$/, "");
  return `${/^https?:\/\//.test(host) ? host : `https://${host}`}/${tenant}`;
}
