"use server";
import { redirect } from "next/navigation";
import { db } from "@/lib/db";
import { decryptSecret } from "@/lib/secrets";
import { testConnection } from "@/lib/symphony";
import { fieldErrors, sourceSettingsSchema, type SourceSettingsInput } from "@/lib/connectors/schemas";
import { saveSource } from "@/lib/connectors/wizard";
import { wizardHref } from "@/lib/connectors/steps";
import { actionContext, type StepState } from "../wizard";

export interface SourceState extends StepState {
  test?: { ok: true; summary: string } | { ok: false; reason: string };
}

async function readForm(formData: FormData): Promise<SourceSettingsInput> {
  const pasted = String(formData.get("privateKeyPem") ?? "").trim();
  const file = formData.get("privateKeyFile");
  const uploaded = file instanceof File && file.size > 0 && file.size <= 16_384 ? (await file.text()).trim() : "";
  return {
    podUrl: String(formData.get("podUrl") ?? ""),
    agentUrl: String(formData.get("agentUrl") ?? ""),
    keyManagerUrl: String(formData.get("keyManagerUrl") ?? ""),
    botUsername: String(formData.get("botUsername") ?? ""),
    privateKeyPem: pasted || uploaded,
    streamTypes: formData.getAll("streamTypes").map(String) as SourceSettingsInput["streamTypes"],
    startDate: String(formData.get("startDate") ?? ""),
  };
}

function echo(input: SourceSettingsInput): StepState["values"] {
  const { privateKeyPem: _secret, ...rest } = input;
  return { ...rest, startDate: String(input.startDate ?? ""), streamTypes: input.streamTypes as string[] };
}

export async function saveSourceAction(_: SourceState, formData: FormData): Promise<SourceState> {
  const { actor, connectorId } = await actionContext(formData);
  if (!connectorId) redirect(wizardHref("terms"));
  const input = await readForm(formData);
  const result = await saveSource(connectorId, input, actor);
  if (!result.ok) return { errors: result.errors, values: echo(input), attempt: Date.now() };
  redirect(wizardHref("mapping", connectorId));
}

/** Authenticates against Symphony with the form's values (or the key on file) and says what it found. */
export async function testSourceAction(_: SourceState, formData: FormData): Promise<SourceState> {
  const { connectorId } = await actionContext(formData);
  const input = await readForm(formData);
  const next = { values: echo(input), attempt: Date.now() };
  const parsed = sourceSettingsSchema.safeParse(input);
  if (!parsed.success) return { ...next, errors: fieldErrors(parsed.error) };
  let privateKeyPem = parsed.data.privateKeyPem;
  if (!privateKeyPem && connectorId) {
    const stored = await db.connector.findUnique({ where: { id: connectorId }, select: { privateKeyEncrypted: true } });
    privateKeyPem = stored?.privateKeyEncrypted ? decryptSecret(stored.privateKeyEncrypted) : undefined;
  }
  if (!privateKeyPem)
    return { ...next, errors: { privateKeyPem: "Paste or upload the bot's RSA private key to test the connection." } };
  const report = await testConnection({ ...parsed.data, privateKeyPem });
  if (!report.ok) return { ...next, test: { ok: false, reason: report.reason } };
  const bot = report.bot.displayName ? `${report.bot.displayName} (${report.bot.username})` : report.bot.username;
  return {
    ...next,
    test: {
      ok: true,
      summary: `Connected as ${bot}. The bot can see ${report.users} users and ${report.streams} conversations.`,
    },
  };
}
