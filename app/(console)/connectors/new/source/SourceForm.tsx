"use client";
import { useActionState, useState } from "react";
import {
  CheckButton,
  Field,
  ErrorSummary,
  FormMessage,
  StepButtons,
  describedBy,
  inputClass,
  useFileSizeLimit,
} from "@/components/wizard/fields";
import { saveSourceAction, testSourceAction, type SourceState } from "./actions";
import { Choice, ExportFilesTable, HostKeyConfirmation, SecretKeyField } from "./source-fields";

export interface SourceDefaults {
  sourceKind: string;
  exportDelivery: string;
  podUrl: string;
  agentUrl: string;
  keyManagerUrl: string;
  botUsername: string;
  streamTypes: string[];
  sftpHost: string;
  sftpPort: string;
  sftpUsername: string;
  sftpAuth: string;
  sftpFolder: string;
  startDate: string;
  /** "on" when a Files API Content Export connector also captures in real time. */
  realtime: string;
}

/** What is on file, without any secret: whether there is one, and what may be shown of it. */
export interface SourceOnFile {
  privateKey: boolean;
  sftpCredential: boolean;
  /** The stored PGP key's ids, or null when there is none. */
  pgpKeyIds: string[] | null;
  hostKey?: { fingerprint: string; confirmedBy: string | null; server: string };
}

interface Props {
  connectorId: string;
  backHref: string;
  saved: SourceDefaults;
  onFile: SourceOnFile;
  streamTypeOptions: readonly { value: string; label: string; hint: string }[];
  limits: { privateKey: number; sshKey: number; pgpKey: number };
}

type TextField = Exclude<keyof SourceDefaults, "streamTypes">;

export function SourceForm({ connectorId, backHref, saved, onFile, streamTypeOptions, limits }: Props) {
  const [saveState, save] = useActionState<SourceState, FormData>(saveSourceAction, {});
  const [testState, test] = useActionState<SourceState, FormData>(testSourceAction, {});
  // Whichever action ran last decides what the form shows.
  const state = (testState.attempt ?? 0) > (saveState.attempt ?? 0) ? testState : saveState;
  const values = { ...saved, ...state.values } as SourceDefaults & Record<string, string | string[] | undefined>;
  const [kind, setKind] = useState(saved.sourceKind);
  const [delivery, setDelivery] = useState(saved.exportDelivery);
  const [sftpAuth, setSftpAuth] = useState(saved.sftpAuth);
  const [realtime, setRealtime] = useState(saved.realtime === "on");
  const keyLimit = useFileSizeLimit(limits.privateKey, "This file is too large to be an RSA private key.");
  const sshKeyLimit = useFileSizeLimit(limits.sshKey, "This file is too large to be an SSH private key.");
  const pgpKeyLimit = useFileSizeLimit(limits.pgpKey, "This file is too large to be a PGP private key.");
  const errors: Record<string, string> = { ...state.errors };
  if (keyLimit.error) errors.privateKeyFile = keyLimit.error;
  if (sshKeyLimit.error) errors.sftpPrivateKeyFile = sshKeyLimit.error;
  if (pgpKeyLimit.error) errors.pgpKeyFile = pgpKeyLimit.error;

  const contentExport = kind === "CONTENT_EXPORT";
  const datahose = kind === "DATAHOSE";
  // The real-time source signs in with the agent and chooses conversation types as the REST source does.
  const readsAgent = kind === "CONVERSATIONS" || datahose;
  const sftp = contentExport && delivery === "SFTP";
  // Real time beside a Files API export reads the Datahose through the agent: its URLs are asked for too.
  const exportRealtime = contentExport && delivery === "FILES_API" && realtime;
  const symphonySignIn = readsAgent || (contentExport && delivery === "FILES_API");
  const tested = state === testState ? testState.test : undefined;
  const shownHostKey =
    typeof values.sftpHostKeySha256 === "string" && values.sftpHostKeySha256
      ? {
          fingerprint: values.sftpHostKeySha256,
          readFrom: String(values.sftpHostKeyFor ?? ""),
          algorithm: tested?.hostKey?.algorithm,
          replaces: tested?.hostKey?.replaces,
        }
      : undefined;

  const text = (
    name: TextField,
    label: string,
    options: { hint?: string; placeholder?: string; className?: string; inputMode?: "numeric"; type?: "date" } = {},
  ) => (
    <Field id={name} label={label} hint={options.hint} error={errors[name]}>
      <input
        name={name}
        type={options.type ?? "text"}
        defaultValue={values[name]}
        placeholder={options.placeholder}
        inputMode={options.inputMode}
        className={`${inputClass} ${options.className ?? ""}`}
        {...describedBy(name, errors[name], Boolean(options.hint))}
      />
    </Field>
  );

  return (
    <form
      action={save}
      // Only a refused save re-renders the fields from what the server sent back; a test keeps them as typed.
      key={saveState.attempt ?? 0}
      noValidate
      className="max-w-2xl space-y-6"
    >
      <ErrorSummary errors={state.errors ?? {}} attempt={state.attempt} />
      {state === saveState && Object.keys(saveState.errors ?? {}).length > 0 && (
        <p className="text-muted">
          Nothing was saved. Any private key, password or passphrase you entered is never sent back to this page: enter
          it again before you save.
        </p>
      )}
      <input type="hidden" name="connectorId" value={connectorId} />

      <fieldset className="space-y-2" aria-describedby={errors.sourceKind ? "sourceKind-error" : undefined}>
        <legend className="mb-1 font-semibold">What to archive</legend>
        <Choice
          name="sourceKind"
          value="CONTENT_EXPORT"
          checked={contentExport}
          onSelect={setKind}
          label="Content Export: every conversation of the firm (recommended)"
        >
          Symphony exports every conversation of your company as files (daily or on demand, Actiance XML or EML,
          optionally PGP-encrypted), set up in the Admin Portal under Company Settings &gt; Export Content. The
          connector imports each file once.
        </Choice>
        <Choice
          name="sourceKind"
          value="CONVERSATIONS"
          checked={kind === "CONVERSATIONS"}
          onSelect={setKind}
          label="Conversations of the service account"
        >
          Reads messages through Symphony&apos;s REST API. Symphony decrypts only the conversations the service account
          is a member of, so this misses every other conversation of the firm. Use it only where Content Export is not
          available.
        </Choice>
        <Choice name="sourceKind" value="DATAHOSE" checked={datahose} onSelect={setKind} label="Real time (Datahose)">
          Every conversation of the pod, in the mailboxes within seconds, through Symphony&apos;s Datahose: a paid
          add-on Symphony enables for your pod and service account. Test connection checks that it is enabled.
        </Choice>
        {errors.sourceKind && (
          <p id="sourceKind-error" className="text-sm text-red-700">
            {errors.sourceKind}
          </p>
        )}
      </fieldset>

      <fieldset
        hidden={!contentExport}
        className="space-y-2"
        aria-describedby={errors.exportDelivery ? "exportDelivery-error" : undefined}
      >
        <legend className="mb-1 font-semibold">How Symphony delivers the files</legend>
        <Choice
          name="exportDelivery"
          value="FILES_API"
          checked={delivery === "FILES_API"}
          onSelect={setDelivery}
          label="File Management API"
        >
          The connector downloads the files from your pod as a service account with the{" "}
          <strong>Content Export Reader</strong> role.
        </Choice>
        <Choice name="exportDelivery" value="SFTP" checked={delivery === "SFTP"} onSelect={setDelivery} label="SFTP">
          Symphony puts the files on your SFTP server; the connector reads them there and never deletes, renames or
          changes them.
        </Choice>
        {errors.exportDelivery && (
          <p id="exportDelivery-error" className="text-sm text-red-700">
            {errors.exportDelivery}
          </p>
        )}
        <div hidden={delivery !== "FILES_API"} className="flex items-start gap-2 pt-2">
          <input
            type="checkbox"
            id="realtime"
            name="realtime"
            checked={realtime}
            onChange={(event) => setRealtime(event.target.checked)}
            aria-describedby="realtime-hint"
            className="mt-1 h-4 w-4 shrink-0"
          />
          <div>
            <label htmlFor="realtime">Also capture in real time (Datahose)</label>
            <p id="realtime-hint" className="text-muted text-xs">
              Messages reach the mailboxes within seconds through Symphony&apos;s Datahose, a paid add-on; the daily
              export stays the record and brings what the stream missed, each message imported once. Needs the agent URL
              below; Test connection checks that the pod has Datahose.
            </p>
          </div>
        </div>
      </fieldset>

      <fieldset hidden={!symphonySignIn} className="space-y-4">
        <legend className="font-semibold">Symphony service account</legend>
        <p className="text-muted !mt-1 text-sm">
          {readsAgent
            ? "It signs in with an RSA key pair and needs the User Provisioning role to list users and conversations."
            : "It signs in with an RSA key pair and needs the Content Export Reader role."}{" "}
          Register its public key in the Symphony Admin Portal, then enter its details here.
        </p>
        {text("podUrl", "Pod URL", {
          hint: "Base URL of your Symphony pod, without /pod.",
          placeholder: "https://acme.symphony.com",
        })}
        <div hidden={!readsAgent && !exportRealtime} className="space-y-4">
          {text("agentUrl", "Agent URL", {
            hint: "Base URL of the agent, without /agent.",
            placeholder: "https://agent.acme.example",
          })}
          {text("keyManagerUrl", "Key manager URL", {
            hint: "Base URL of the key manager, without /relay. Leave it empty when your pod offers simplified key delivery (agent 24.12 or later): Test connection tells whether it does.",
            placeholder: "https://km.acme.example",
          })}
        </div>
        {text("botUsername", "Service account user name")}
        <SecretKeyField
          legend="Service account RSA private key"
          onFileBadge="Key on file"
          onFile={
            onFile.privateKey &&
            (readsAgent
              ? "Leave both fields empty to keep it while the URLs above stay the same."
              : "Leave both fields empty to keep it while the pod URL stays the same.")
          }
          pasteName="privateKeyPem"
          pasteLabel="Paste the key (PEM)"
          placeholder="-----BEGIN PRIVATE KEY-----"
          fileName="privateKeyFile"
          fileLabel="…or upload the key file"
          accept=".pem,.key,text/plain"
          errors={errors}
          onFileChange={keyLimit.onChange}
        >
          <p className="text-muted text-xs">The key is stored encrypted and never shown again.</p>
        </SecretKeyField>
        <fieldset hidden={!readsAgent} aria-describedby={errors.streamTypes ? "streamTypes-error" : undefined}>
          <legend className="font-semibold">What to collect</legend>
          <div className="mt-2 grid grid-cols-1 gap-2 sm:grid-cols-2">
            {streamTypeOptions.map((option) => (
              <div key={option.value} className="flex items-start gap-2">
                <input
                  type="checkbox"
                  id={`streamTypes-${option.value}`}
                  name="streamTypes"
                  value={option.value}
                  defaultChecked={values.streamTypes.includes(option.value)}
                  aria-describedby={`streamTypes-${option.value}-hint`}
                  className="mt-1 h-4 w-4 shrink-0"
                />
                <div>
                  <label htmlFor={`streamTypes-${option.value}`}>{option.label}</label>
                  <p id={`streamTypes-${option.value}-hint`} className="text-muted text-xs">
                    {option.hint}
                  </p>
                </div>
              </div>
            ))}
          </div>
          {errors.streamTypes && (
            <p id="streamTypes-error" className="mt-1 text-sm text-red-700">
              {errors.streamTypes}
            </p>
          )}
        </fieldset>
      </fieldset>

      <fieldset hidden={!sftp} className="space-y-4">
        <legend className="font-semibold">SFTP server</legend>
        <div className="grid grid-cols-1 gap-4 sm:grid-cols-[1fr_8rem]">
          {text("sftpHost", "Host", { placeholder: "sftp.acme.example" })}
          {text("sftpPort", "Port", { inputMode: "numeric" })}
        </div>
        {text("sftpUsername", "User name")}
        {text("sftpFolder", "Remote folder", {
          hint: "The absolute path Symphony puts the export files in.",
          placeholder: "/exports",
        })}
        <fieldset className="space-y-2">
          <legend className="font-semibold">Sign in with</legend>
          {onFile.sftpCredential && (
            <p className="text-sm">
              <span className="rounded bg-green-50 px-2 py-0.5 font-semibold text-green-800">On file</span> An SSH key
              or password is stored. Leave the fields empty to keep it while the host, port and user name stay the same.
            </p>
          )}
          <div className="flex flex-wrap gap-x-6 gap-y-2">
            {(
              [
                ["KEY", "SSH private key"],
                ["PASSWORD", "Password"],
              ] as const
            ).map(([value, label]) => (
              <label key={value} className="flex items-center gap-2">
                <input
                  type="radio"
                  name="sftpAuth"
                  value={value}
                  checked={sftpAuth === value}
                  onChange={() => setSftpAuth(value)}
                  className="h-4 w-4"
                />
                {label}
              </label>
            ))}
          </div>
          <div hidden={sftpAuth !== "KEY"} className="space-y-2">
            <SecretKeyField
              legend="SSH private key"
              pasteName="sftpPrivateKeyPem"
              pasteLabel="Paste the SSH key"
              placeholder="-----BEGIN OPENSSH PRIVATE KEY-----"
              fileName="sftpPrivateKeyFile"
              fileLabel="…or upload the SSH key file"
              accept=".pem,.key,text/plain,*"
              errors={errors}
              onFileChange={sshKeyLimit.onChange}
            >
              <p className="text-muted text-xs">A key without a passphrase, stored encrypted and never shown again.</p>
            </SecretKeyField>
          </div>
          <div hidden={sftpAuth !== "PASSWORD"}>
            <Field id="sftpPassword" label="Password of the SFTP user" error={errors.sftpPassword}>
              <input
                type="password"
                name="sftpPassword"
                autoComplete="new-password"
                className={`${inputClass} max-w-sm`}
                {...describedBy("sftpPassword", errors.sftpPassword)}
              />
            </Field>
          </div>
        </fieldset>
        <HostKeyConfirmation
          shown={shownHostKey}
          confirmed={values.sftpHostKeyConfirmed === "on"}
          onFile={onFile.hostKey}
          error={errors.sftpHostKeyConfirmed}
        />
      </fieldset>

      <div hidden={!contentExport}>
        <SecretKeyField
          legend="PGP decryption key (optional)"
          onFile={
            onFile.pgpKeyIds &&
            `Key ${onFile.pgpKeyIds.map((id) => id.toUpperCase()).join(", ")}. Leave the fields empty to keep it.`
          }
          pasteName="pgpPrivateKey"
          pasteLabel="Paste the armored private key"
          placeholder="-----BEGIN PGP PRIVATE KEY BLOCK-----"
          fileName="pgpKeyFile"
          fileLabel="…or upload the PGP key file"
          accept=".asc,.gpg,.pgp,.key,text/plain"
          errors={errors}
          onFileChange={pgpKeyLimit.onChange}
        >
          <Field id="pgpPassphrase" label="Passphrase of the key" error={errors.pgpPassphrase}>
            <input
              type="password"
              name="pgpPassphrase"
              autoComplete="new-password"
              className={`${inputClass} max-w-sm`}
              {...describedBy("pgpPassphrase", errors.pgpPassphrase)}
            />
          </Field>
          <p className="text-muted text-xs">
            Needed only when the Admin Portal&apos;s Export Content settings encrypt the files. The key and its
            passphrase are stored encrypted and never shown again.
          </p>
        </SecretKeyField>
      </div>

      {text("startDate", "Start from", {
        hint: contentExport
          ? "Export files whose period ends before this date are ignored. Leave empty to import every file."
          : "Messages sent before this date are not collected. Leave empty to collect the whole history.",
        className: "w-48",
        type: "date",
      })}

      <div className="space-y-3">
        <CheckButton action={test}>Test connection</CheckButton>
        {tested && (
          // overflow-wrap: anywhere lets fingerprints and file names wrap on a narrow screen.
          <div className="space-y-2 [overflow-wrap:anywhere]">
            <FormMessage tone={tested.tone} message={tested.message} />
            {tested.files && tested.files.length > 0 && <ExportFilesTable files={tested.files} />}
            {tested.notes?.map((note) => (
              <FormMessage key={note.text} tone={note.tone} message={note.text} />
            ))}
          </div>
        )}
      </div>
      <StepButtons backHref={backHref} />
    </form>
  );
}
