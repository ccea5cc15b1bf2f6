import { z } from "zod";

/** What a `data-entity-id` in PresentationML stands for, resolved from the message's `data` JSON. */
export type ResolvedEntity =
  | { kind: "mention"; userId: string }
  | { kind: "hashtag"; tag: string }
  | { kind: "cashtag"; tag: string }
  | { kind: "emoji"; unicode?: string; shortcode?: string };

const entitySchema = z.looseObject({
  type: z.string(),
  id: z.array(z.looseObject({ type: z.string(), value: z.union([z.string(), z.number()]) })).optional(),
  data: z.looseObject({ unicode: z.string().optional(), shortcode: z.string().optional() }).optional(),
});

const ID_KINDS: Record<string, "mention" | "hashtag" | "cashtag"> = {
  "com.symphony.user.userId": "mention",
  "org.symphonyoss.taxonomy.hashtag": "hashtag",
  "org.symphonyoss.fin.security.id.ticker": "cashtag",
};

function resolve(raw: unknown): ResolvedEntity | undefined {
  const parsed = entitySchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const entity = parsed.data;
  if (entity.type === "com.symphony.emoji") {
    return { kind: "emoji", unicode: entity.data?.unicode, shortcode: entity.data?.shortcode };
  }
  for (const id of entity.id ?? []) {
    const kind = ID_KINDS[id.type];
    const value = String(id.value);
    if (kind === "mention") return { kind, userId: value };
    if (kind) return { kind, tag: value };
  }
  return undefined;
}

/**
 * Parses Symphony's `data` string (a JSON object of structured entities keyed by entity id).
 * Anything unreadable is ignored: the PresentationML text is then shown as it is.
 */
export function parseEntities(data: string | undefined): Map<string, ResolvedEntity> {
  const entities = new Map<string, ResolvedEntity>();
  if (!data) return entities;
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return entities;
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return entities;
  for (const [key, raw] of Object.entries(json)) {
    const entity = resolve(raw);
    if (entity) entities.set(key, entity);
  }
  return entities;
}
