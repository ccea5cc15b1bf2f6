// Live traffic for the Datahose: messages added at a steady rate into random active streams, some with a file.
import { seededRandom } from "../org";
import { addMessage } from "./admin";
import type { Context } from "./context";

const TICK_MS = 50;

/** Adds `ctx.datahose.settings().messagesPerSecond` messages a second until stopped (the rate is read every tick). */
export function startTraffic(ctx: Context): { stop(): void } {
  const random = seededRandom(ctx.org.seed, "traffic");
  const streams = ctx.org.streams.filter((stream) => stream.isActive && stream.memberIds.length > 1);
  let owed = 0;
  let last = Date.now();
  let sent = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    owed += ((now - last) / 1000) * ctx.datahose.settings().messagesPerSecond;
    last = now;
    for (; owed >= 1 && streams.length > 0; owed--) {
      const stream = streams[Math.floor(random() * streams.length)]!;
      sent++;
      // Every eighth carries a small file, as chats do (it is downloaded at capture).
      const attachments =
        sent % 8 === 0 ? [{ name: `live-${sent}.pdf`, size: 2_000 + Math.floor(random() * 30_000) }] : [];
      addMessage(ctx, {
        streamId: stream.id,
        text: `Live message ${sent} (${new Date(now).toISOString()})`,
        attachments,
      });
    }
    if (ctx.datahose.settings().messagesPerSecond === 0) owed = 0;
  }, TICK_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
