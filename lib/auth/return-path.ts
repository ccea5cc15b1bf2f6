/**
 * Where to go after signing in: a path on this site, else the connectors. `//host` and `/\host` start
 * with a slash but name another site (browsers read a backslash as a slash).
 */
export function returnPath(value: string | undefined): string {
  return value && /^\/(?![/\\])/.test(value) ? value : "/connectors";
}
