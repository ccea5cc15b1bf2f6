import { z } from "zod";
import { actorName, type SessionUser } from "./roles";
import { requireAdmin } from "./session";

export type AdminActionContext = { user: SessionUser; actor: string };

/**
 * A server action for admins: the session and the admin role are checked before anything else, then
 * the input (a form's FormData as a plain object, or the one argument of a direct call) is parsed with
 * `schema`, and only then does `handler` run with typed input. Works with useActionState (the last
 * argument is the form) and as a plain async function.
 */
export function adminAction<TSchema extends z.ZodType, TResult>(
  schema: TSchema,
  handler: (input: z.output<TSchema>, ctx: AdminActionContext) => Promise<TResult>,
): (...args: unknown[]) => Promise<TResult> {
  return async (...args) => {
    const user = await requireAdmin();
    const last = args.at(-1);
    const raw = last instanceof FormData ? formDataObject(last) : last;
    const parsed = schema.safeParse(raw);
    // The schemas accept anything the app's own forms send: a refusal is a crafted request.
    if (!parsed.success) throw new Error(`Invalid request: ${z.prettifyError(parsed.error)}`);
    return handler(parsed.data, { user, actor: actorName(user) });
  };
}

/** A form as a plain object: a field sent more than once becomes an array. */
export function formDataObject(formData: FormData): Record<string, FormDataEntryValue | FormDataEntryValue[]> {
  const object: Record<string, FormDataEntryValue | FormDataEntryValue[]> = {};
  for (const [key, value] of formData) {
    const previous = object[key];
    object[key] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return object;
}

/** Form field helpers for action schemas. */
export const formField = {
  /** A text field; missing is "". */
  text: () => z.string().default(""),
  /** A field that may be sent any number of times (checkboxes). */
  list: () =>
    z.preprocess(
      (value): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]),
      z.array(z.string()),
    ),
  /** An uploaded file; an empty file input (nothing chosen) counts as none. */
  file: () =>
    z.preprocess(
      (value) => (value instanceof File && value.size > 0 ? value : undefined),
      z.instanceof(File).optional(),
    ),
  /** A connector id when valid; anything else counts as no connector (the wizard starts over). */
  connectorId: () => z.uuid().optional().catch(undefined),
  /** A checkbox: true when ticked. */
  checkbox: () => z.preprocess((value) => value === "on" || value === "true", z.boolean()),
};
