/** MAPI extended property ids as Graph writes them ("Integer 0xe07", "String {guid} Name X"). */

const TYPES = [
  "ApplicationTime",
  "Binary",
  "Boolean",
  "CLSID",
  "Currency",
  "Double",
  "Float",
  "Integer",
  "Long",
  "Object",
  "Short",
  "String",
  "SystemTime",
];

export const PR_MESSAGE_FLAGS = "Integer 0xe07";
export const PR_MESSAGE_DELIVERY_TIME = "SystemTime 0xe06";
export const PR_CLIENT_SUBMIT_TIME = "SystemTime 0x39";

const MSGFLAG_READ = 0x1;
const MSGFLAG_UNSENT = 0x8;

/** The canonical form of a property id, or null when it is not a valid id. */
export function normalizePropertyId(id: string): string | null {
  // `[n]!`: none of the groups of these two patterns is optional, so a match has them all.
  const tagged = /^(\w+)\s+0x([0-9a-f]{1,4})$/i.exec(id.trim());
  if (tagged) {
    const type = canonicalType(tagged[1]!);
    return type ? `${type} 0x${parseInt(tagged[2]!, 16).toString(16)}` : null;
  }
  const named = /^(\w+)\s+\{([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}\s+(Name|Id)\s+(.+)$/i.exec(
    id.trim(),
  );
  if (named) {
    const type = canonicalType(named[1]!);
    if (!type) return null;
    const kind = named[3]!.toLowerCase() === "name" ? "Name" : "Id";
    const value = kind === "Id" ? normalizeHex(named[4]!) : named[4]!;
    return value === null ? null : `${type} {${named[2]!.toLowerCase()}} ${kind} ${value}`;
  }
  return null;
}

function canonicalType(type: string): string | undefined {
  return TYPES.find((t) => t.toLowerCase() === type.toLowerCase());
}

function normalizeHex(text: string): string | null {
  return /^0x[0-9a-f]+$/i.test(text) ? `0x${parseInt(text.slice(2), 16).toString(16)}` : null;
}

/** Checks that a value fits its property type; returns an error message or null. */
export function invalidValue(id: string, value: string): string | null {
  const type = id.split(" ")[0];
  if ((type === "Integer" || type === "Short" || type === "Long") && !/^-?\d+$/.test(value))
    return `Value '${value}' is not a valid ${type}.`;
  if (type === "SystemTime" && Number.isNaN(Date.parse(value))) return `Value '${value}' is not a valid SystemTime.`;
  if (type === "Boolean" && !/^(true|false)$/i.test(value)) return `Value '${value}' is not a valid Boolean.`;
  return null;
}

export function messageFlags(properties: { id: string; value: string }[]): number | null {
  const flags = properties.find((p) => p.id === PR_MESSAGE_FLAGS);
  return flags ? Number(flags.value) : null;
}

/** Without PR_MESSAGE_FLAGS, or with MSGFLAG_UNSENT set, Exchange keeps the item a draft. */
export function isDraftFromFlags(flags: number | null): boolean {
  return flags === null || (flags & MSGFLAG_UNSENT) !== 0;
}

export function isReadFromFlags(flags: number | null): boolean {
  return flags !== null && (flags & MSGFLAG_READ) !== 0;
}
