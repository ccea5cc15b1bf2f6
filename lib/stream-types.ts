import { z } from "zod";

/** Symphony's conversation types (pod API StreamType): one-to-one, group chat, room, wall post. */
export const streamTypeSchema = z.enum(["IM", "MIM", "ROOM", "POST"]);
export type StreamType = z.infer<typeof streamTypeSchema>;
