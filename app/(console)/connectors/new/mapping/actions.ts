"use server";
import { redirect } from "next/navigation";
import { z } from "zod";
import { adminAction, formField } from "@/lib/auth";
import {
  MAX_MAPPING_BYTES,
  parseMappingCsv,
  saveMapping,
  wizardHref,
  type MappingRow,
  type ParsedMapping,
} from "@/lib/connectors";
import type { StepState } from "../wizard";

export interface MappingState extends StepState {
  preview?: {
    rows: MappingRow[];
    total: number;
    errors: ParsedMapping["errors"];
    moreErrors: number;
    fileName: string;
  };
}

const PREVIEW_ROWS = 20;

const mappingForm = z.object({
  connectorId: formField.connectorId(),
  mappingMode: formField.text(),
  fallbackMailbox: formField.text(),
  csv: formField.file(),
});
type MappingForm = z.output<typeof mappingForm>;

type ReadCsv = ParsedMapping & { fileName: string };

async function readCsv(file: File): Promise<ReadCsv> {
  if (file.size > MAX_MAPPING_BYTES) {
    return {
      fileName: file.name,
      rows: [],
      errors: [{ line: 0, message: "The file is larger than 2 MB." }],
      moreErrors: 0,
    };
  }
  return { fileName: file.name, ...parseMappingCsv(await file.text()) };
}

function values(form: MappingForm) {
  return { mappingMode: form.mappingMode || "AUTO", fallbackMailbox: form.fallbackMailbox };
}

function preview(csv: ReadCsv): MappingState["preview"] {
  return {
    fileName: csv.fileName,
    rows: csv.rows.slice(0, PREVIEW_ROWS),
    total: csv.rows.length,
    errors: csv.errors,
    moreErrors: csv.moreErrors,
  };
}

export const previewMappingAction = adminAction(mappingForm, async (form): Promise<MappingState> => {
  const next = { values: values(form), attempt: Date.now() };
  if (!form.csv) return { ...next, errors: { csv: "Choose a CSV file to preview." } };
  return { ...next, preview: preview(await readCsv(form.csv)) };
});

export const saveMappingAction = adminAction(mappingForm, async (form, { actor }): Promise<MappingState> => {
  if (!form.connectorId) redirect(wizardHref("terms"));
  const input = values(form);
  const next = { values: input, attempt: Date.now() };
  const csv = input.mappingMode === "CSV" && form.csv ? await readCsv(form.csv) : undefined;
  if (csv?.errors.length) {
    const total = csv.errors.length + csv.moreErrors;
    const count = total === 1 ? "error" : `${total} errors`;
    return {
      ...next,
      errors: { csv: `Fix the ${count} in ${csv.fileName} and upload it again.` },
      preview: preview(csv),
    };
  }
  const result = await saveMapping(form.connectorId, input, csv?.rows, actor);
  if (!result.ok) return { ...next, errors: result.errors };
  redirect(wizardHref("consent", form.connectorId));
});
