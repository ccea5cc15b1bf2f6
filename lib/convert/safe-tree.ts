/** The sanitizer's output: only allow-listed tags with checked attributes, and plain text. */
export type SafeNode = SafeText | SafeElement;

export interface SafeText {
  type: "text";
  text: string;
}

export interface SafeElement {
  type: "element";
  tag: string;
  attrs: Record<string, string>;
  children: SafeNode[];
}

/** Elements without content or closing tag. */
export const VOID_TAGS: ReadonlySet<string> = new Set(["br", "hr", "img"]);
