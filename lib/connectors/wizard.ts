// The wizard's writes: each step saves into the Connector row (status DRAFT until Finish) with an audit event.
import { randomUUID } from "node:crypto";
import { recordAudit } from "@/lib/audit";
import { db } from "@/lib/db";
import { Prisma } from "@/lib/generated/prisma/client";
import { releaseCaptureForNewSettings, requestImport } from "@/lib/jobs";
import type { MappingRow } from "./mapping-csv";
import { parseSourceStep, type SourceStepInput } from "./export-source-settings";
import { connectorNameSchema, fieldErrors, mappingSettingsSchema, type FieldErrors } from "./schemas";
import { sourceUpdate } from "./source";
import { completed, loadApplied, loadForEdit, lockForEdit } from "./draft";
import {
  appliedEdit,
  asEdited,
  changesSignIn,
  editsWaitForFinish,
  hasPendingEdit,
  leavesPending,
  pendingEditOf,
  settingsFingerprint,
  withPendingMapping,
  withPendingSource,
} from "./pending-edit";
import { testSavedSource } from "./source-check";
import { provisionalName, stepNumber } from "./steps";
import { nextRunAfter } from "@/lib/next-run";

export type SaveResult = { ok: true; connectorId: string } | { ok: false; errors: FieldErrors };

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
        name: provisionalName(id),
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
  if (!parsed.success) return { ok: false, errors: { name: parsed.error.issues[0]?.message ?? "Enter a valid name." } };
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

/**
 * Step 3. Saves the chosen source (Content Export through the Files API or SFTP, or the service
 * account's conversations). Secrets are stored encrypted; an empty secret field keeps the one on
 * file where ./source.ts allows it. An SFTP source needs a confirmed host key.
 */
export async function saveSource(connectorId: string, input: SourceStepInput, actor: string): Promise<SaveResult> {
  const parsed = await parseSourceStep(input);
  if (!parsed.ok) return parsed;
  return db.$transaction(async (tx): Promise<SaveResult> => {
    const applied = await lockForEdit(tx, connectorId);
    const connector = asEdited(applied);
    const result = sourceUpdate(connector, parsed.settings, actor);
    if (!result.ok) return result;
    const { data, audit } = result.update;
    const pendingEdit = editsWaitForFinish(connector) ? withPendingSource(applied, data) : undefined;
    await tx.connector.update({
      where: { id: connectorId },
      data: { ...(pendingEdit ? { pendingEdit } : data), wizardStep: completed("source", connector.wizardStep) },
    });
    const waits = leavesPending(pendingEdit);
    for (const { action, detail } of audit) {
      await recordAudit(
        { connectorId, actor, action, detail: waits ? { ...detail, waitsForFinish: true } : detail },
        tx,
      );
    }
    return { ok: true, connectorId };
  });
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
  const { mappingMode, fallbackMailbox } = parsed.data;
  const settings = { mappingMode, fallbackMailbox: fallbackMailbox ?? null };
  return db.$transaction(async (tx): Promise<SaveResult> => {
    const applied = await lockForEdit(tx, connectorId);
    const waits = editsWaitForFinish(applied);
    const pending = pendingEditOf(applied);
    const rowsOnFile = () =>
      waits && pending.mapping?.csvReplaced
        ? tx.pendingUserMapping.count({ where: { connectorId } })
        : tx.userMapping.count({ where: { connectorId } });
    if (mappingMode === "CSV" && !csvRows?.length && (await rowsOnFile()) === 0) {
      return {
        ok: false,
        errors: { csv: "Upload a CSV file with at least one mapping, or choose automatic mapping." },
      };
    }
    const csvReplaced = Boolean(csvRows?.length) || (pending.mapping?.csvReplaced ?? false);
    const csvUpload = csvRows?.length ? randomUUID() : pending.mapping?.csvUpload;
    const pendingEdit = waits ? withPendingMapping(applied, { ...settings, csvReplaced, csvUpload }) : undefined;
    await tx.connector.update({
      where: { id: connectorId },
      data: { ...(pendingEdit ? { pendingEdit } : settings), wizardStep: completed("mapping", applied.wizardStep) },
    });
    if (csvRows?.length) {
      const rows = csvRows.map((row) => ({ connectorId, symphonyKey: row.symphonyKey, mailbox: row.mailbox }));
      if (waits) {
        await tx.pendingUserMapping.deleteMany({ where: { connectorId } });
        await tx.pendingUserMapping.createMany({ data: rows });
      } else {
        await tx.userMapping.deleteMany({ where: { connectorId } });
        await tx.userMapping.createMany({ data: rows });
      }
    }
    await recordAudit(
      {
        connectorId,
        actor,
        action: "connector.mapping_saved",
        detail: {
          mappingMode,
          fallbackMailbox: fallbackMailbox ?? null,
          csvRows: csvRows?.length ?? 0,
          ...(leavesPending(pendingEdit) && { waitsForFinish: true }),
        },
      },
      tx,
    );
    return { ok: true, connectorId };
  });
}

export type FinishResult =
  | { ok: true; runId?: string }
  | {
      ok: false;
      message: string;
      /** The source test failed: the admin may finish anyway, on record, naming the settings it tried. */
      sourceFailed?: { testedSettings: string };
    };

/** Why the source refuses the saved settings, or undefined when Test connection passes with them. */
async function sourceProblem(connectorId: string): Promise<string | undefined> {
  const result = await testSavedSource(connectorId);
  if (!result.ok) return Object.values(result.errors).join(" ");
  return result.report.ok ? undefined : result.report.message;
}

/**
 * Step 6. A draft becomes active and its first import is queued; an active connector applies its edit.
 * Both only with the source settings Test connection tried, once they pass it or the admin accepts,
 * on the audit trail, to finish with them failing (`acceptFailedSourceTest` names the settings whose
 * failure the admin saw: settings saved since, by another tab, are not accepted with it).
 */
export async function finishWizard(
  connectorId: string,
  actor: string,
  options: { acceptFailedSourceTest?: string } = {},
): Promise<FinishResult> {
  const connector = await loadApplied(connectorId);
  if (connector.wizardStep < stepNumber("consent"))
    return { ok: false, message: "Complete every step before finishing." };
  if (!connector.consentGrantedAt || !connector.tenantId) {
    return { ok: false, message: "Admin consent has not been granted. Go back to Admin consent and provide it." };
  }
  const isDraft = !editsWaitForFinish(connector);
  const tested = settingsFingerprint(connector);
  const hadEdit = hasPendingEdit(connector);
  const editId = pendingEditOf(connector).id;
  const problem = await sourceProblem(connectorId);
  if (problem && options.acceptFailedSourceTest !== tested) {
    const changed = options.acceptFailedSourceTest !== undefined;
    return {
      ok: false,
      sourceFailed: { testedSettings: tested },
      message: changed
        ? `The settings were saved again after the failure you accepted, and Test connection fails with them: ${problem} Review them, fix the source in the Source step, or finish anyway with these settings.`
        : `Test connection fails with the saved source settings: ${problem} Fix them in the Source step, or finish anyway: imports fail until the source works.`,
    };
  }
  const riskAccepted = problem ? { sourceTestFailed: problem.slice(0, 500), acceptedBy: actor } : undefined;
  const outcome = await db.$transaction(async (tx): Promise<"applied" | "untested" | "done already" | "discarded"> => {
    const locked = await lockForEdit(tx, connectorId);
    // The edit this click found is gone: applied by another click a moment ago (a double click), or discarded.
    if (!isDraft && hadEdit && pendingEditOf(locked).id !== editId)
      return (await editOutcome(tx, connectorId, editId)) ?? "untested";
    if (settingsFingerprint(locked) !== tested) return "untested";
    if (isDraft) {
      // Only from DRAFT: a second Finish (a double click, another tab) queues no second first import.
      const { count } = await tx.connector.updateMany({
        where: { id: connectorId, status: "DRAFT" },
        data: {
          status: "ACTIVE",
          wizardStep: stepNumber("review"),
          nextRunAt: nextRunAfter(new Date(), connector.scheduleIntervalMinutes),
        },
      });
      if (count === 0) return "done already";
      await recordAudit({ connectorId, actor, action: "connector.finished", detail: riskAccepted }, tx);
      return "applied";
    }
    const edit = pendingEditOf(locked);
    const { data, steps } = appliedEdit(edit);
    await tx.connector.update({ where: { id: connectorId }, data: { ...data, wizardStep: stepNumber("review") } });
    if (edit.mapping?.csvReplaced) await replaceMappingRows(tx, connectorId);
    if (steps.length > 0) await releaseCaptureForNewSettings(tx, connectorId, { newSignIn: changesSignIn(edit) });
    await recordAudit(
      { connectorId, actor, action: "connector.updated", detail: { applied: steps, editId: edit.id, ...riskAccepted } },
      tx,
    );
    return "applied";
  });
  if (outcome === "untested") {
    return {
      ok: false,
      message: `The settings were saved again (in another tab, or by another admin) while Test connection ran. Review them, then select ${isDraft ? "Finish" : "Save changes"} again.`,
    };
  }
  if (outcome === "discarded")
    return {
      ok: false,
      message: "The changes were discarded (in another tab, or by another admin): nothing was applied.",
    };
  if (outcome === "done already" || !isDraft) return { ok: true };
  const { runId } = await requestImport({ connectorId, trigger: "SETUP", requestedBy: actor });
  await recordAudit({ connectorId, actor, action: "import.requested", detail: { runId, first: true } });
  return { ok: true, runId };
}

/** What became of the edit a click found, gone since: applied by another click, or discarded. */
async function editOutcome(tx: Prisma.TransactionClient, connectorId: string, editId: string | undefined) {
  if (!editId) return undefined;
  const ended = await tx.auditEvent.findFirst({
    where: {
      connectorId,
      action: { in: ["connector.updated", "connector.edit_discarded"] },
      detail: { path: ["editId"], equals: editId },
    },
    select: { action: true },
  });
  if (!ended) return undefined;
  return ended.action === "connector.edit_discarded" ? ("discarded" as const) : ("done already" as const);
}

/** The CSV rows uploaded in Edit take the place of the connector's. */
async function replaceMappingRows(tx: Prisma.TransactionClient, connectorId: string) {
  await tx.userMapping.deleteMany({ where: { connectorId } });
  await tx.$executeRaw`
    INSERT INTO "UserMapping" ("connectorId", "symphonyKey", mailbox)
    SELECT "connectorId", "symphonyKey", mailbox FROM "PendingUserMapping" WHERE "connectorId" = ${connectorId}::uuid`;
  await tx.pendingUserMapping.deleteMany({ where: { connectorId } });
}

/** Drops an edit not yet applied: the connector keeps the settings its runs use. */
export async function discardPendingEdit(connectorId: string, actor: string): Promise<{ ok: boolean }> {
  const discarded = await db.$transaction(async (tx) => {
    // Cleared without being read: an edit this version cannot read can still be dropped.
    const locked = await lockForEdit(tx, connectorId);
    if (locked.pendingEdit === null) return false;
    await tx.connector.update({ where: { id: connectorId }, data: { pendingEdit: Prisma.DbNull } });
    await tx.pendingUserMapping.deleteMany({ where: { connectorId } });
    const editId = pendingEditOf(locked).id;
    await recordAudit({ connectorId, actor, action: "connector.edit_discarded", detail: editId && { editId } }, tx);
    return true;
  });
  return { ok: discarded };
}
