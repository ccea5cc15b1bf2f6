// CSV user mapping: one line per person, "Symphony email or user id, Microsoft 365 mailbox".
import { parse } from "csv-parse/sync";
import { z } from "zod";

export interface MappingRow {
  line: number;
  /** Lower-cased email, or the numeric Symphony user id. */
  symphonyKey: string;
  mailbox: string;
}

export interface MappingError {
  line: number;
  message: string;
}

export interface ParsedMapping {
  rows: MappingRow[];
  errors: MappingError[];
}

export const MAX_MAPPING_BYTES = 2 * 1024 * 1024;
export const MAX_MAPPING_ROWS = 50_000;

const email = z.email();
const userId = /^\d{1,20}$/;
const headerWords = /symphony|source|user|mailbox|target|m365|microsoft/i;

function symphonyKey(value: string): string | undefined {
  if (userId.test(value)) return value;
  return email.safeParse(value).success ? value.toLowerCase() : undefined;
}

/** Parses the whole file; every bad line is reported with its line number, good lines are kept. */
export function parseMappingCsv(text: string): ParsedMapping {
  if (Buffer.byteLength(text, "utf8") > MAX_MAPPING_BYTES) {
    return {
      rows: [],
      errors: [{ line: 0, message: `The file is larger than ${MAX_MAPPING_BYTES / 1024 / 1024} MB.` }],
    };
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text.replace(/^\uFEFF/, ""), {
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
    }) as unknown as typeof records;
  } catch (error) {
    const line = (error as { lines?: number }).lines ?? 0;
    return { rows: [], errors: [{ line, message: "The file is not valid CSV (check the quotes on this line)." }] };
  }

  const rows: MappingRow[] = [];
  const errors: MappingError[] = [];
  const seen = new Map<string, number>();
  records.forEach(({ record, info }, index) => {
    const line = info.lines;
    const [source = "", mailbox = "", ...extra] = record;
    if (index === 0 && headerWords.test(source) && !symphonyKey(source)) return;
    if (record.every((cell) => cell === "") || source.startsWith("#")) return;
    if (extra.some((cell) => cell !== "") || record.length < 2) {
      errors.push({
        line,
        message: `Expected 2 columns (Symphony email or user id, Microsoft 365 mailbox), found ${record.length}.`,
      });
      return;
    }
    const key = symphonyKey(source);
    if (!key) {
      errors.push({ line, message: `"${source}" is neither an email address nor a numeric Symphony user id.` });
      return;
    }
    if (!email.safeParse(mailbox).success) {
      errors.push({ line, message: `"${mailbox}" is not a valid Microsoft 365 email address.` });
      return;
    }
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      errors.push({ line, message: `"${source}" is already mapped on line ${earlier}.` });
      return;
    }
    seen.set(key, line);
    rows.push({ line, symphonyKey: key, mailbox: mailbox.toLowerCase() });
  });
  if (rows.length > MAX_MAPPING_ROWS) {
    errors.push({ line: 0, message: `At most ${MAX_MAPPING_ROWS} mappings per file.` });
  }
  return { rows, errors };
}
