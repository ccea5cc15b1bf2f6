"use server";
import { redirect } from "next/navigation";
import { MAX_MAPPING_BYTES, parseMappingCsv, type MappingError, type MappingRow } from "@/lib/connectors/mapping-csv";
import { saveMapping } from "@/lib/connectors/wizard";
import { wizardHref } from "@/lib/connectors/steps";
import { actionContext, type StepState } from "../wizard";

export interface MappingState extends StepState {
  preview?: { rows: MappingRow[]; total: number; errors: MappingError[]; fileName: string };
}

const PREVIEW_ROWS = 20;

async function readCsv(
  formData: FormData,
): Promise<{ fileName: string; rows: MappingRow[]; errors: MappingError[] } | undefined> {
  const file = formData.get("csv");
  if (!(file instanceof File) || file.size === 0) return undefined;
  if (file.size > MAX_MAPPING_BYTES)
    return { fileName: file.name, rows: [], errors: [{ line: 0, message: "The file is larger than 2 MB." }] };
  return { fileName: file.name, ...parseMappingCsv(await file.text()) };
}

function values(formData: FormData) {
  return {
    mappingMode: String(formData.get("mappingMode") ?? "AUTO"),
    fallbackMailbox: String(formData.get("fallbackMailbox") ?? ""),
  };
}

export async function previewMappingAction(_: MappingState, formData: FormData): Promise<MappingState> {
  await actionContext(formData);
  const csv = await readCsv(formData);
  const next = { values: values(formData), attempt: Date.now() };
  if (!csv) return { ...next, errors: { csv: "Choose a CSV file to preview." } };
  return {
    ...next,
    preview: {
      fileName: csv.fileName,
      rows: csv.rows.slice(0, PREVIEW_ROWS),
      total: csv.rows.length,
      errors: csv.errors,
    },
  };
}

export async function saveMappingAction(_: MappingState, formData: FormData): Promise<MappingState> {
  const { actor, connectorId } = await actionContext(formData);
  if (!connectorId) redirect(wizardHref("terms"));
  const input = values(formData);
  const next = { values: input, attempt: Date.now() };
  const csv = input.mappingMode === "CSV" ? await readCsv(formData) : undefined;
  if (csv?.errors.length) {
    return {
      ...next,
      errors: {
        csv: `Fix the ${csv.errors.length === 1 ? "error" : `${csv.errors.length} errors`} in ${csv.fileName} and upload it again.`,
      },
      preview: {
        fileName: csv.fileName,
        rows: csv.rows.slice(0, PREVIEW_ROWS),
        total: csv.rows.length,
        errors: csv.errors,
      },
    };
  }
  const result = await saveMapping(connectorId, input, csv?.rows, actor);
  if (!result.ok) return { ...next, errors: result.errors };
  redirect(wizardHref("consent", connectorId));
}
