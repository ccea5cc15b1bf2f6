"use client";
import type { ChangeEvent, ReactNode } from "react";
import { Field, describedBy, fileInputClass, inputClass } from "@/components/wizard/fields";
import type { ExportFileRow, SourceState } from "./actions";

/** One option of a radio group, with its explanation read out with it. */
export function Choice({
  name,
  value,
  checked,
  onSelect,
  label,
  children,
}: {
  name: string;
  value: string;
  checked: boolean;
  onSelect: (value: string) => void;
  label: string;
  children: ReactNode;
}) {
  const id = `${name}-${value}`;
  return (
    <div
      className={`flex items-start gap-3 rounded border p-3 ${checked ? "border-brand bg-brand-light" : "border-line bg-white"}`}
    >
      <input
        type="radio"
        id={id}
        name={name}
        value={value}
        checked={checked}
        onChange={() => onSelect(value)}
        aria-describedby={`${id}-description`}
        className="mt-1 h-4 w-4 shrink-0"
      />
      <div>
        <label htmlFor={id} className="cursor-pointer font-semibold">
          {label}
        </label>
        <p id={`${id}-description`} className="text-muted mt-0.5 text-sm">
          {children}
        </p>
      </div>
    </div>
  );
}

/** A secret pasted or uploaded (never shown again), with a note when one is on file. */
export function SecretKeyField({
  legend,
  onFile,
  onFileBadge = "On file",
  pasteName,
  pasteLabel,
  placeholder,
  fileName,
  fileLabel,
  accept,
  errors,
  onFileChange,
  children,
}: {
  legend: string;
  onFile?: ReactNode;
  onFileBadge?: string;
  pasteName: string;
  pasteLabel: string;
  placeholder: string;
  fileName: string;
  fileLabel: string;
  accept: string;
  errors: Record<string, string>;
  onFileChange: (event: ChangeEvent<HTMLInputElement>) => void;
  children?: ReactNode;
}) {
  return (
    <fieldset className="space-y-2">
      <legend className="font-semibold">{legend}</legend>
      {onFile && (
        <p className="text-sm">
          <span className="rounded bg-green-50 px-2 py-0.5 font-semibold text-green-800">{onFileBadge}</span> {onFile}
        </p>
      )}
      <Field id={pasteName} label={pasteLabel} error={errors[pasteName]}>
        <textarea
          name={pasteName}
          rows={4}
          autoComplete="off"
          spellCheck={false}
          placeholder={placeholder}
          className={`${inputClass} font-mono text-xs`}
          {...describedBy(pasteName, errors[pasteName])}
        />
      </Field>
      <Field id={fileName} label={fileLabel} error={errors[fileName]}>
        <input
          type="file"
          name={fileName}
          accept={accept}
          onChange={onFileChange}
          className={fileInputClass}
          {...describedBy(fileName, errors[fileName])}
        />
      </Field>
      {children}
    </fieldset>
  );
}

export type ShownHostKey = NonNullable<NonNullable<SourceState["test"]>["hostKey"]>;

/**
 * The SFTP server's host key for the admin to check and confirm: read by Test connection (first
 * test, or a key that changed), or the one confirmed before.
 */
export function HostKeyConfirmation({
  shown,
  confirmed,
  onFile,
  error,
}: {
  shown?: ShownHostKey;
  confirmed: boolean;
  onFile?: { fingerprint: string; confirmedBy: string | null; server: string };
  error?: string;
}) {
  const errorId = "sftpHostKeyConfirmed-error";
  const errorText = error && (
    <p id={errorId} className="text-sm text-red-700">
      {error}
    </p>
  );
  if (!shown) {
    return (
      <div className="space-y-1">
        <p className="font-semibold">Host key</p>
        {onFile ? (
          <p className="text-sm">
            Confirmed for {onFile.server}
            {onFile.confirmedBy ? ` by ${onFile.confirmedBy}` : ""}:{" "}
            <code className="bg-canvas rounded px-1 break-all">{onFile.fingerprint}</code>. A server presenting any
            other key is refused.
          </p>
        ) : (
          <p className="text-muted text-sm">
            Test connection reads the server&apos;s host key for you to check. The connector sends the user name and the
            key or password only to a server whose key you have confirmed.
          </p>
        )}
        {errorText}
      </div>
    );
  }
  return (
    <div
      role="group"
      aria-labelledby="sftpHostKey-title"
      className={`space-y-2 rounded border p-3 ${shown.replaces ? "border-red-300 bg-red-50" : "border-amber-300 bg-amber-50"}`}
    >
      <p id="sftpHostKey-title" className="font-semibold">
        {shown.replaces ? "The SFTP server presented a different host key" : "Host key of the SFTP server"}
      </p>
      <p className="text-sm">
        Fingerprint of the {shown.algorithm ? `${shown.algorithm} ` : ""}key of {shown.readFrom}:
      </p>
      <p>
        <code className="rounded bg-white px-1 break-all">{shown.fingerprint}</code>
      </p>
      {shown.replaces && (
        <p className="text-sm">
          The key confirmed before was <code className="rounded bg-white px-1 break-all">{shown.replaces}</code>. A
          changed host key can mean that someone is intercepting the connection: confirm the new one only if the
          server&apos;s administrator tells you the key changed.
        </p>
      )}
      <p className="text-muted text-sm">
        Ask the server&apos;s administrator for its fingerprint (<code>ssh-keygen -lf</code> on the host key) and
        compare every character.
      </p>
      <input type="hidden" name="sftpHostKeySha256" value={shown.fingerprint} />
      <input type="hidden" name="sftpHostKeyFor" value={shown.readFrom} />
      <label className="flex items-start gap-2">
        <input
          type="checkbox"
          name="sftpHostKeyConfirmed"
          defaultChecked={confirmed}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
          className="mt-1 h-4 w-4 shrink-0"
        />
        <span>I have checked this fingerprint with the SFTP server&apos;s administrator</span>
      </label>
      {errorText}
    </div>
  );
}

/** The newest export files Test connection found. */
export function ExportFilesTable({ files }: { files: ExportFileRow[] }) {
  return (
    // w-0 min-w-full: the table scrolls within the form's width instead of widening the page; focusable
    // so that keyboard users can scroll it too.
    <div
      role="region"
      aria-label="Newest Content Export files"
      tabIndex={0}
      className="border-line w-0 min-w-full overflow-x-auto rounded border bg-white [overflow-wrap:normal]"
    >
      <table className="w-full text-left text-sm">
        <caption className="sr-only">Newest Content Export files</caption>
        <thead className="bg-canvas">
          <tr>
            <th scope="col" className="px-2 py-1.5">
              File
            </th>
            <th scope="col" className="px-2 py-1.5">
              Format
            </th>
            <th scope="col" className="px-2 py-1.5 text-right">
              Size
            </th>
            <th scope="col" className="px-2 py-1.5">
              Period
            </th>
            <th scope="col" className="px-2 py-1.5">
              Encryption
            </th>
          </tr>
        </thead>
        <tbody>
          {files.map((file) => (
            <tr key={file.name} className="border-line border-t">
              <td className="min-w-56 px-2 py-1.5 font-mono text-xs break-all">{file.name}</td>
              <td className="px-2 py-1.5 whitespace-nowrap">{file.format}</td>
              <td className="px-2 py-1.5 text-right whitespace-nowrap">{file.size}</td>
              <td className="px-2 py-1.5">
                <PeriodText period={file.period} />
              </td>
              <td className="px-2 py-1.5">
                {file.encryption}
                {file.encryptedTo && <span className="text-muted block font-mono text-xs">{file.encryptedTo}</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** "start – end UTC", wrapping only between its two ends (a date never breaks at its hyphens). */
function PeriodText({ period }: { period: string }) {
  const [start, end] = period.split(" – ");
  if (end === undefined) return <span className="whitespace-nowrap">{period}</span>;
  return (
    <>
      <span className="whitespace-nowrap">{start} –</span> <span className="whitespace-nowrap">{end}</span>
    </>
  );
}
