/**
 * Where to go after signing in: a path on this site, else the connectors. Read as a browser reads it
 * (`//host`, `/\host` and `/<tab>/host` start with a slash but name another site), and kept only when
 * it stays on this one.
 */
export function returnPath(value: string | undefined): string {
  if (!value?.startsWith("/")) return "/connectors";
  const here = "https://connector.invalid";
  try {
    const url = new URL(value, here);
    return url.origin === here ? `${url.pathname}${url.search}${url.hash}` : "/connectors";
  } catch {
    return "/connectors";
  }
}
