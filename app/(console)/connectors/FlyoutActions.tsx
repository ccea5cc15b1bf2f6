"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useRef, useState, useTransition } from "react";
import type { RunProgress } from "@/lib/connectors";
import { deleteAction, pauseAction, resumeAction, retryFailedAction, runNowAction } from "./actions";

const button = "rounded border border-gray-500 bg-white px-3 py-1.5 font-semibold hover:bg-canvas disabled:opacity-60";

interface Props {
  connectorId: string;
  name: string;
  status: string;
  isAdmin: boolean;
  initialProgress: RunProgress | null;
  /** Items that failed while being imported into Microsoft 365 (Retry failed items takes them). */
  retryableItems: number;
}

function running(progress: RunProgress | null) {
  return progress?.status === "QUEUED" || progress?.status === "RUNNING";
}

export function FlyoutActions({ connectorId, name, status, isAdmin, initialProgress, retryableItems }: Props) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [message, setMessage] = useState<string>();
  const [progress, setProgress] = useState(initialProgress);
  const [confirming, setConfirming] = useState(false);
  const [notice, setNotice] = useState<string>();

  // New progress from the server (after router.refresh()) replaces what polling last showed.
  const [shownInitial, setShownInitial] = useState(initialProgress);
  if (initialProgress !== shownInitial) {
    setShownInitial(initialProgress);
    setProgress(initialProgress);
  }

  // Polls so far; kept across the effect's re-runs (each new progress starts it again).
  const polls = useRef(0);
  useEffect(() => {
    if (!running(progress)) return;
    const poll = async () => {
      const response = await fetch(`/api/connectors/${connectorId}/progress`, { cache: "no-store" });
      if (!response.ok) return;
      const next = ((await response.json()) as { progress: RunProgress | null }).progress;
      setProgress(next);
      // The page's figures (the totals, the list's count, the chart) follow the run every 15 s, and at its end.
      polls.current += 1;
      if (!running(next) || polls.current % 10 === 0) router.refresh();
    };
    // A poll that fails (network down) is skipped like a non-OK answer: the next tick asks again.
    const timer = setInterval(() => void poll().catch(() => undefined), 1500);
    return () => clearInterval(timer);
  }, [connectorId, progress, router]);

  const act = <R extends { ok: boolean; message?: string }>(
    action: (id: string) => Promise<R>,
    after?: (result: R) => void,
  ) =>
    startTransition(async () => {
      const result = await action(connectorId);
      setMessage(result.ok ? undefined : result.message);
      setNotice(undefined);
      if (result.ok) after?.(result);
      router.refresh();
    });

  // A queued run, or one still collecting, has no item count yet: the bar is indeterminate rather than "0 of 0".
  const percent =
    progress?.status === "RUNNING" && progress.itemsTotal > 0
      ? Math.round((progress.itemsDone / progress.itemsTotal) * 100)
      : undefined;
  // A run stopped by an error (or waiting for admin consent to apply) says why and when it tries again.
  const waiting = progress?.status === "RUNNING" && progress.error !== null;

  return (
    <div className="space-y-3">
      <div className="flex flex-wrap gap-2">
        {isAdmin && status !== "DRAFT" && (
          <button
            type="button"
            className={button}
            disabled={pending || running(progress) || status === "PAUSED"}
            onClick={() => act(runNowAction, () => setProgress(queued))}
          >
            Run now
          </button>
        )}
        {isAdmin && retryableItems > 0 && (status === "ACTIVE" || status === "ERROR") && (
          <button
            type="button"
            className={button}
            disabled={pending || running(progress)}
            onClick={() =>
              act(retryFailedAction, (result) => {
                const count = result.ok ? (result.retried ?? 0) : 0;
                setProgress(queued);
                setNotice(`${count} failed item${count === 1 ? "" : "s"} queued again.`);
              })
            }
          >
            Retry {retryableItems.toLocaleString("en-US")} failed item{retryableItems === 1 ? "" : "s"}
          </button>
        )}
        {isAdmin && (status === "ACTIVE" || status === "ERROR") && (
          <button
            type="button"
            className={button}
            disabled={pending}
            onClick={() =>
              act(pauseAction, () => {
                if (running(progress))
                  setNotice(
                    "Paused: the run in progress stops taking new items within seconds; what it has not imported waits for Resume.",
                  );
              })
            }
          >
            Pause
          </button>
        )}
        {isAdmin && status === "PAUSED" && (
          <button type="button" className={button} disabled={pending} onClick={() => act(resumeAction)}>
            Resume
          </button>
        )}
        {isAdmin && (
          <Link
            href={`/connectors/new/${status === "DRAFT" ? "terms" : "review"}?id=${connectorId}`}
            className={button}
          >
            {status === "DRAFT" ? "Continue setup" : "Edit"}
          </Link>
        )}
        <a href={`/api/connectors/${connectorId}/log`} className={button} download>
          Download log
        </a>
        {isAdmin && (
          <button
            type="button"
            className={`${button} text-red-800`}
            disabled={pending}
            onClick={() => setConfirming(true)}
          >
            Delete
          </button>
        )}
      </div>
      {running(progress) && waiting && (
        <p className="rounded border border-amber-300 bg-amber-50 p-2 text-sm text-amber-900" role="status">
          {progress.nextAttemptAt
            ? `Retrying: ${sentence(progress.error!)} Next try at ${timeOfDay(progress.nextAttemptAt)}.`
            : progress.error}
        </p>
      )}
      {running(progress) && !waiting && (
        <div>
          <p className="text-sm" role="status">
            {progressText(progress!)}
          </p>
          <div
            role="progressbar"
            aria-label="Import progress"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={percent}
            className="mt-1 h-2 w-full overflow-hidden rounded bg-gray-200"
          >
            {/* Until the run knows how many items it has, a short segment pulses instead of a made-up share. */}
            <div
              className={percent === undefined ? "bg-brand/50 h-full w-1/4 animate-pulse" : "bg-brand h-full"}
              style={percent === undefined ? undefined : { width: `${percent}%` }}
            />
          </div>
        </div>
      )}
      {notice && !message && (
        <p role="status" className="text-sm">
          {notice}
        </p>
      )}
      {message && (
        <p role="alert" className="text-sm text-red-700">
          {message}
        </p>
      )}
      {confirming && (
        <div
          role="alertdialog"
          aria-labelledby="delete-title"
          aria-describedby="delete-text"
          className="rounded border border-red-300 bg-red-50 p-4"
        >
          <h3 id="delete-title" className="font-semibold">
            Delete {name}?
          </h3>
          <p id="delete-text" className="mt-1">
            The connector, its schedule and its status log are deleted. Items already imported stay in the mailboxes.
            The audit trail is kept.
          </p>
          <div className="mt-3 flex gap-2">
            <button
              type="button"
              className="rounded bg-red-700 px-3 py-1.5 font-semibold text-white hover:bg-red-800"
              disabled={pending}
              onClick={() => act(deleteAction, () => router.push("/connectors"))}
            >
              Delete connector
            </button>
            <button type="button" className={button} onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        </div>
      )}
    </div>
  );
}

function progressText(progress: RunProgress): string {
  if (progress.status === "QUEUED") return "Import queued…";
  if (progress.itemsTotal === 0) {
    const collected = progress.messagesCollected;
    return `Reading Symphony… ${collected} new message${collected === 1 ? "" : "s"} so far`;
  }
  return `Importing… ${progress.itemsDone} of ${progress.itemsTotal} items processed`;
}

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** "14:02:31 UTC": the console writes every time in UTC. */
function timeOfDay(iso: string): string {
  return `${iso.slice(11, 19)} UTC`;
}

const queued: RunProgress = {
  runId: "",
  status: "QUEUED",
  messagesCollected: 0,
  itemsImported: 0,
  itemsSkipped: 0,
  itemsFailed: 0,
  itemsTotal: 0,
  itemsDone: 0,
  error: null,
  nextAttemptAt: null,
};
