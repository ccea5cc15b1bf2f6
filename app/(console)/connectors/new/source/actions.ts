"use server";
import { redirect } from "next/navigation";
import { z } from "zod";
import { adminAction, formField } from "@/lib/auth";
import {
  MAX_PRIVATE_KEY_BYTES,
  normalisedUrlNotes,
  saveSource,
  testSource,
  wizardHref,
  type SourceSettingsInput,
} from "@/lib/connectors";
import type { StepState } from "../wizard";

export interface SourceState extends StepState {
  test?: { ok: true; summary: string } | { ok: false; reason: string };
}

const sourceForm = z.object({
  connectorId: formField.connectorId(),
  podUrl: formField.text(),
  agentUrl: formField.text(),
  keyManagerUrl: formField.text(),
  botUsername: formField.text(),
  privateKeyPem: formField.text(),
  privateKeyFile: formField.file(),
  streamTypes: formField.list(),
  startDate: formField.text(),
});

async function settingsOf(form: z.output<typeof sourceForm>): Promise<SourceSettingsInput> {
  const { connectorId: _id, privateKeyFile, ...fields } = form;
  const uploaded =
    // One byte over the limit is enough for the schema to say the file is too large.
    privateKeyFile ? (await privateKeyFile.slice(0, MAX_PRIVATE_KEY_BYTES + 1).text()).trim() : "";
  return {
    ...fields,
    privateKeyPem: fields.privateKeyPem.trim() || uploaded,
    streamTypes: fields.streamTypes as SourceSettingsInput["streamTypes"],
  };
}

/** What the admin typed, sent back so the form keeps it (never the private key). */
function echo(input: SourceSettingsInput): StepState["values"] {
  const { privateKeyPem: _secret, ...rest } = input;
  return { ...rest, startDate: String(input.startDate ?? ""), streamTypes: input.streamTypes as string[] };
}

export const saveSourceAction = adminAction(sourceForm, async (form, { actor }): Promise<SourceState> => {
  if (!form.connectorId) redirect(wizardHref("terms"));
  const input = await settingsOf(form);
  const result = await saveSource(form.connectorId, input, actor);
  if (!result.ok) return { errors: result.errors, values: echo(input), attempt: Date.now() };
  redirect(wizardHref("mapping", form.connectorId));
});

/** Signs in to Symphony with the form's values (or the key on file, for the same servers) and says what it found. */
export const testSourceAction = adminAction(sourceForm, async (form): Promise<SourceState> => {
  const input = await settingsOf(form);
  const next = { values: echo(input), attempt: Date.now() };
  const result = await testSource(form.connectorId, input);
  if (!result.ok) return { ...next, errors: result.errors };
  const { report } = result;
  if (!report.ok) return { ...next, test: { ok: false, reason: report.reason } };
  const bot = report.bot.displayName ? `${report.bot.displayName} (${report.bot.username})` : report.bot.username;
  const notes = normalisedUrlNotes(input);
  return {
    ...next,
    test: {
      ok: true,
      summary: [
        `Connected as ${bot}. The bot can see ${report.users} users and ${report.streams} conversations.`,
        ...notes,
      ].join(" "),
    },
  };
});
