// Who is in a conversation now, as the pod's membership list shows it, and what the bot may read.
// The stays (who joined or left a room when) are the Content Export model's (export-model.ts), so
// both paths describe the same history: the membership list shows the current members only, with
// the time each joined; someone who left is absent from it (pod-api-public.yaml, List the current
// members of an existing stream).
import type { Org, OrgStream, Person } from "../org";
import { planStays, type Stay } from "./export-model";

export type CurrentMember = { person: Person; joinDate: number };

const staysByStream = new WeakMap<OrgStream, Stay[]>();

function staysOf(org: Org, stream: OrgStream): Stay[] {
  let stays = staysByStream.get(stream);
  if (!stays) staysByStream.set(stream, (stays = planStays(org, stream)));
  return stays;
}

/** The stream's current members with their join dates (people present since creation joined then). */
export function currentMembers(org: Org, stream: OrgStream): CurrentMember[] {
  return staysOf(org, stream)
    .filter((stay) => stay.leave === Infinity)
    .map((stay) => ({ person: stay.person, joinDate: Math.max(stream.createdDate, stay.enter) }));
}

/** The agent decrypts a stream's messages for its members only: the bot reads the streams it is in. */
export function botCanRead(stream: OrgStream): boolean {
  return stream.botIsMember;
}

/**
 * Attachments are served beyond membership (Attachment endpoint notes, rest-api.symphony.com): anyone
 * downloads those of public rooms, and the Content Export service user those of every conversation.
 */
export function botCanDownloadAttachments(stream: OrgStream, botIsContentExportUser: boolean): boolean {
  return stream.botIsMember || stream.isPublic || botIsContentExportUser;
}
