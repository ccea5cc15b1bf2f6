"use client";
import { useState, useTransition } from "react";
import type { ChannelResult } from "@/lib/notify";

const labels: Record<ChannelResult["channel"], string> = { email: "E-mail", webhook: "Webhook" };

export function TestNotificationButton({ sendTest }: { sendTest: () => Promise<ChannelResult[]> }) {
  const [pending, startTransition] = useTransition();
  const [results, setResults] = useState<ChannelResult[]>();
  const [failed, setFailed] = useState(false);

  const send = () =>
    startTransition(async () => {
      try {
        setResults(await sendTest());
        setFailed(false);
      } catch {
        setFailed(true);
      }
    });

  return (
    <div>
      <button
        type="button"
        className="hover:bg-canvas rounded border border-gray-500 bg-white px-3 py-1.5 font-semibold disabled:opacity-60"
        disabled={pending}
        onClick={send}
      >
        {pending ? "Sending…" : "Send test notification"}
      </button>
      <div role="status" className="mt-2 text-sm">
        {failed && <p className="text-red-700">The test could not be sent. Try again, or look at the server log.</p>}
        {results?.map((result) => (
          <p key={result.channel} className={result.ok ? "text-green-800" : "text-red-700"}>
            {labels[result.channel]}: {result.ok ? result.detail : `failed — ${result.detail}`}
          </p>
        ))}
      </div>
    </div>
  );
}
