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
    const path = `${url.pathname}${url.search}${url.hash}`;
    // Dot segments can leave `//host` once resolved (`/.//host`): that too names another site.
    return url.origin === here && !/^\/[/\\]/.test(path) ? path : "/connectors";
  } catch {
    return "/connectors";
  }
}
