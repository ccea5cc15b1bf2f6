// The wizard's writes: each step saves into the Connector row (status DRAFT until Finish) with an audit event.
import { randomBytes, randomUUID } from "node:crypto";
import { recordAudit } from "@/lib/audit/audit";
import { authorityUrl } from "@/lib/auth/authority";
import { config, required } from "@/lib/config";
import { db } from "@/lib/db";
import { Prisma } from "@/lib/generated/prisma/client";
import { requestImport } from "@/lib/jobs/request";
import { encryptSecret } from "@/lib/secrets";
import type { MappingRow } from "@/lib/connectors/mapping-csv";
import {
  connectorNameSchema,
  fieldErrors,
  mappingSettingsSchema,
  sourceSettingsSchema,
  type FieldErrors,
  type SourceSettingsInput,
} from "@/lib/connectors/schemas";
import { stepNumber, type WizardStepSlug } from "@/lib/connectors/steps";

export type SaveResult = { ok: true; connectorId: string } | { ok: false; errors: FieldErrors };

export class ConnectorNotFound extends Error {
  override name = "ConnectorNotFound";
}

function completed(slug: WizardStepSlug, current: number): number {
  return Math.max(current, stepNumber(slug));
}

async function loadForEdit(id: string) {
  const connector = await db.connector.findUnique({ where: { id } });
  if (!connector) throw new ConnectorNotFound("This connector no longer exists.");
  return connector;
}

/** Step 1. A new connector is created here as a draft with a provisional name, replaced in step 2. */
export async function acceptTerms(connectorId: string | undefined, actor: string): Promise<SaveResult> {
  const now = new Date();
  if (connectorId) {
    const connector = await loadForEdit(connectorId);
    await db.$transaction(async (tx) => {
      await tx.connector.update({
        where: { id: connectorId },
        data: { termsAcceptedBy: actor, termsAcceptedAt: now, wizardStep: completed("terms", connector.wizardStep) },
      });
      await recordAudit({ connectorId, actor, action: "connector.terms_accepted" }, tx);
    });
    return { ok: true, connectorId };
  }
  const id = randomUUID();
  await db.$transaction(async (tx) => {
    await tx.connector.create({
      data: {
        id,
        name: `Untitled connector ${id.slice(0, 8)}`,
        createdBy: actor,
        termsAcceptedBy: actor,
        termsAcceptedAt: now,
        wizardStep: 1,
      },
    });
    await recordAudit({ connectorId: id, actor, action: "connector.terms_accepted" }, tx);
  });
  return { ok: true, connectorId: id };
}

const TAKEN = "A connector with this name already exists. Choose another name.";

/**
 * Step 2. Names are unique case-insensitively: the check and the update run in one transaction that
 * holds an advisory lock on the lower-cased name, so two admins choosing "Desk" and "DESK" at once
 * cannot both win (the unique index on name only catches identical spellings).
 */
export async function saveName(connectorId: string, input: unknown, actor: string): Promise<SaveResult> {
  const parsed = connectorNameSchema.safeParse(input);
  if (!parsed.success) return { ok: false, errors: { name: parsed.error.issues[0].message } };
  const name = parsed.data;
  const connector = await loadForEdit(connectorId);
  try {
    const saved = await db.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('connector-name:' || lower(${name})))`;
      const clash = await tx.connector.findFirst({
        where: { name: { equals: name, mode: "insensitive" }, id: { not: connectorId } },
        select: { id: true },
      });
      if (clash) return false;
      await tx.connector.update({
        where: { id: connectorId },
        data: { name, wizardStep: completed("name", connector.wizardStep) },
      });
      await recordAudit(
        { connectorId, actor, action: "connector.named", detail: { from: connector.name, to: name } },
        tx,
      );
      return true;
    });
    if (!saved) return { ok: false, errors: { name: TAKEN } };
  } catch (error) {
    // A name saved outside this function (no lock): the unique index still refuses an identical one.
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002")
      return { ok: false, errors: { name: TAKEN } };
    throw error;
  }
  return { ok: true, connectorId };
}

/** Step 3. The private key is stored encrypted; an empty key field keeps the key on file. */
export async function saveSource(connectorId: string, input: SourceSettingsInput, actor: string): Promise<SaveResult> {
  const parsed = sourceSettingsSchema.safeParse(input);
  if (!parsed.success) return { ok: false, errors: fieldErrors(parsed.error) };
  const connector = await loadForEdit(connectorId);
  const { privateKeyPem, ...settings } = parsed.data;
  if (!privateKeyPem && !connector.privateKeyEncrypted) {
    return { ok: false, errors: { privateKeyPem: "Paste or upload the bot's RSA private key." } };
  }
  await db.$transaction(async (tx) => {
    await tx.connector.update({
      where: { id: connectorId },
      data: {
        ...settings,
        startDate: settings.startDate ?? null,
        ...(privateKeyPem ? { privateKeyEncrypted: encryptSecret(privateKeyPem) } : {}),
        wizardStep: completed("source", connector.wizardStep),
      },
    });
    await recordAudit(
      {
        connectorId,
        actor,
        action: "connector.source_saved",
        detail: { podUrl: settings.podUrl, botUsername: settings.botUsername, keyReplaced: Boolean(privateKeyPem) },
      },
      tx,
    );
  });
  return { ok: true, connectorId };
}

/** Step 4. In CSV mode the uploaded rows replace the previous ones; no rows keeps those on file. */
export async function saveMapping(
  connectorId: string,
  input: { mappingMode: unknown; fallbackMailbox: unknown },
  csvRows: MappingRow[] | undefined,
  actor: string,
): Promise<SaveResult> {
  const parsed = mappingSettingsSchema.safeParse(input);
  if (!parsed.success) return { ok: false, errors: fieldErrors(parsed.error) };
  const connector = await loadForEdit(connectorId);
  const { mappingMode, fallbackMailbox } = parsed.data;
  if (mappingMode === "CSV" && !csvRows?.length && (await db.userMapping.count({ where: { connectorId } })) === 0) {
    return { ok: false, errors: { csv: "Upload a CSV file with at least one mapping, or choose automatic mapping." } };
  }
  await db.$transaction(async (tx) => {
    await tx.connector.update({
      where: { id: connectorId },
      data: {
        mappingMode,
        fallbackMailbox: fallbackMailbox ?? null,
        wizardStep: completed("mapping", connector.wizardStep),
      },
    });
    if (csvRows?.length) {
      await tx.userMapping.deleteMany({ where: { connectorId } });
      await tx.userMapping.createMany({
        data: csvRows.map((row) => ({ connectorId, symphonyKey: row.symphonyKey, mailbox: row.mailbox })),
      });
    }
    await recordAudit(
      {
        connectorId,
        actor,
        action: "connector.mapping_saved",
        detail: { mappingMode, fallbackMailbox: fallbackMailbox ?? null, csvRows: csvRows?.length ?? 0 },
      },
      tx,
    );
  });
  return { ok: true, connectorId };
}

export function consentRedirectUri(): string {
  return new URL("/api/consent/callback", config().APP_URL).toString();
}

/** Step 5, leaving: a one-time state is stored and the admin-consent URL returned. */
export async function beginConsent(connectorId: string, actor: string): Promise<string> {
  await loadForEdit(connectorId);
  const state = randomBytes(24).toString("base64url");
  await db.$transaction(async (tx) => {
    await tx.connector.update({ where: { id: connectorId }, data: { consentState: state } });
    await recordAudit({ connectorId, actor, action: "connector.consent_requested" }, tx);
  });
  const url = new URL(`${authorityUrl(config().ENTRA_TENANT_ID ?? "organizations")}/adminconsent`);
  url.searchParams.set("client_id", required("ENTRA_CLIENT_ID"));
  url.searchParams.set("redirect_uri", consentRedirectUri());
  url.searchParams.set("state", state);
  return url.toString();
}

export type ConsentOutcome =
  | { kind: "granted"; connectorId: string }
  | { kind: "refused"; connectorId: string; description: string }
  | { kind: "unknown-state" };

/** Step 5, returning: the state must be the one we stored; it is cleared so it cannot be replayed. */
export async function completeConsent(
  params: { state?: string; admin_consent?: string; tenant?: string; error?: string; error_description?: string },
  actor: string,
): Promise<ConsentOutcome> {
  if (!params.state) return { kind: "unknown-state" };
  const connector = await db.connector.findFirst({ where: { consentState: params.state } });
  if (!connector) return { kind: "unknown-state" };
  const connectorId = connector.id;
  const granted = params.admin_consent?.toLowerCase() === "true" && Boolean(params.tenant) && !params.error;
  await db.$transaction(async (tx) => {
    await tx.connector.update({
      where: { id: connectorId },
      data: granted
        ? {
            consentState: null,
            tenantId: params.tenant,
            consentGrantedBy: actor,
            consentGrantedAt: new Date(),
            wizardStep: completed("consent", connector.wizardStep),
          }
        : { consentState: null },
    });
    await recordAudit(
      granted
        ? { connectorId, actor, action: "connector.consent_granted", detail: { tenant: params.tenant ?? null } }
        : { connectorId, actor, action: "connector.consent_refused", detail: { error: params.error ?? "unknown" } },
      tx,
    );
  });
  if (granted) return { kind: "granted", connectorId };
  return {
    kind: "refused",
    connectorId,
    description: (params.error_description ?? params.error ?? "Consent was not granted.").slice(0, 300),
  };
}

export type FinishResult = { ok: true; runId?: string } | { ok: false; message: string };

/** Step 6. A draft becomes active and its first import is queued; an active connector just keeps its changes. */
export async function finishWizard(connectorId: string, actor: string): Promise<FinishResult> {
  const connector = await loadForEdit(connectorId);
  if (connector.wizardStep < stepNumber("consent"))
    return { ok: false, message: "Complete every step before finishing." };
  if (!connector.consentGrantedAt || !connector.tenantId) {
    return { ok: false, message: "Admin consent has not been granted. Go back to Admin consent and provide it." };
  }
  if (connector.status !== "DRAFT") {
    await db.$transaction(async (tx) => {
      await tx.connector.update({ where: { id: connectorId }, data: { wizardStep: stepNumber("review") } });
      await recordAudit({ connectorId, actor, action: "connector.updated" }, tx);
    });
    return { ok: true };
  }
  await db.$transaction(async (tx) => {
    await tx.connector.update({
      where: { id: connectorId },
      data: {
        status: "ACTIVE",
        wizardStep: stepNumber("review"),
        nextRunAt: new Date(Date.now() + connector.scheduleIntervalMinutes * 60_000),
      },
    });
    await recordAudit({ connectorId, actor, action: "connector.finished" }, tx);
  });
  const { runId } = await requestImport({ connectorId, trigger: "MANUAL", requestedBy: actor });
  await recordAudit({ connectorId, actor, action: "import.requested", detail: { runId, first: true } });
  return { ok: true, runId };
}
