/** Characters of the standard base64 of `bytes` bytes (padding included): 4 for every 3. */
export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}
