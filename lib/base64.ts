/** Characters of the standard base64 of `bytes` bytes (padding included): 4 for every 3. */
export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/**
 * The URL-safe form of a base64 id ("+" -> "-", "/" -> "_", no "=" padding), as Symphony's paths take
 * them. The padding is cut with a loop: a regular expression anchored at the end (`/=+$/`) tries every
 * run of "=" from each of its characters, so a hostile id of a million "=" and one other character
 * would hold the thread for minutes.
 */
export function toUrlSafeBase64(id: string): string {
  let end = id.length;
  while (end > 0 && id.charCodeAt(end - 1) === 0x3d) end--;
  return id.slice(0, end).replaceAll("+", "-").replaceAll("/", "_");
}
