/** The small part of OData the connector sends: $filter clauses, $select, $expand, paging. */

export function unquote(literal: string): string {
  return literal.slice(1, -1).replace(/''/g, "'");
}

const STRING = "'(?:[^']|'')*'";
// No numbered group of the patterns below is optional, so a match has them all (hence `match[n]!`).

/** Splits on a keyword (" or ", " and ") outside quotes and parentheses. */
export function splitTopLevel(text: string, keyword: "or" | "and"): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  const needle = ` ${keyword} `;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") quoted = !quoted;
    else if (!quoted && c === "(") depth++;
    else if (!quoted && c === ")") depth--;
    else if (!quoted && depth === 0 && text.slice(i, i + needle.length).toLowerCase() === needle) {
      parts.push(text.slice(start, i).trim());
      start = i + needle.length;
      i += needle.length - 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

/** `prop eq 'value'` -> { prop, value } */
export function parseEquality(clause: string): { property: string; value: string } | null {
  const match = new RegExp(`^([A-Za-z][\\w/]*)\\s+eq\\s+(${STRING})$`, "i").exec(clause.trim());
  return match ? { property: match[1]!, value: unquote(match[2]!) } : null;
}

/** `collection/any(x: x eq 'value')` -> { collection, value } */
export function parseAnyEquality(clause: string): { collection: string; value: string } | null {
  const match = new RegExp(`^([A-Za-z]\\w*)/any\\(\\s*(\\w+)\\s*:\\s*\\2\\s+eq\\s+(${STRING})\\s*\\)$`, "i").exec(
    clause.trim(),
  );
  return match ? { collection: match[1]!, value: unquote(match[3]!) } : null;
}

/** `singleValueExtendedProperties/Any(ep: ep/id eq 'id' and ep/value eq 'value')` */
export function parseExtendedPropertyFilter(clause: string): { id: string; value: string } | null {
  const match = new RegExp(
    `^singleValueExtendedProperties/any\\(\\s*(\\w+)\\s*:\\s*\\1/id\\s+eq\\s+(${STRING})\\s+and\\s+\\1/value\\s+eq\\s+(${STRING})\\s*\\)$`,
    "i",
  ).exec(clause.trim());
  return match ? { id: unquote(match[2]!), value: unquote(match[3]!) } : null;
}

export function parseSelect(query: URLSearchParams): string[] | null {
  const select = query.get("$select");
  return select
    ? select
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
    : null;
}

export function applySelect(entity: Record<string, unknown>, select: string[] | null): Record<string, unknown> {
  if (!select) return entity;
  const wanted = new Set(select.map((s) => s.toLowerCase()));
  return Object.fromEntries(
    Object.entries(entity).filter(([key]) => key === "id" || key.startsWith("@odata") || wanted.has(key.toLowerCase())),
  );
}

export type Page<T> = { items: T[]; nextSkip: number | null };

export function paginate<T>(
  items: T[],
  query: URLSearchParams,
  defaultTop: number,
  maxTop: number,
): Page<T> | { error: string } {
  const top = query.has("$top") ? Number(query.get("$top")) : defaultTop;
  const skip = query.has("$skip") ? Number(query.get("$skip")) : 0;
  if (!Number.isInteger(top) || top < 1) return { error: `Invalid $top value '${query.get("$top")}'.` };
  if (!Number.isInteger(skip) || skip < 0) return { error: `Invalid $skip value '${query.get("$skip")}'.` };
  const size = Math.min(top, maxTop);
  const slice = items.slice(skip, skip + size);
  // Outlook treats $top as the page size and links the next page with $skip.
  return { items: slice, nextSkip: skip + size < items.length ? skip + size : null };
}

export function nextLink(
  base: string,
  path: string,
  query: URLSearchParams,
  nextSkip: number | null,
): string | undefined {
  if (nextSkip === null) return undefined;
  const next = new URLSearchParams(query);
  next.set("$skip", String(nextSkip));
  return `${base}${path}?${next.toString().replace(/%24/g, "$")}`;
}

/** Splits a $expand / $select list on commas outside parentheses and quotes. */
export function splitCommas(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") quoted = !quoted;
    else if (!quoted && c === "(") depth++;
    else if (!quoted && c === ")") depth--;
    else if (!quoted && depth === 0 && c === ",") {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts.filter(Boolean);
}
