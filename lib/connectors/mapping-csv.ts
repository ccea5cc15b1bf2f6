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
  /** The first MAX_LISTED_ERRORS errors. */
  errors: MappingError[];
  /** How many more errors there are than listed. */
  moreErrors: number;
}

export const MAX_MAPPING_BYTES = 2 * 1024 * 1024;
export const MAX_MAPPING_ROWS = 50_000;
/** A file of 50,000 bad lines would otherwise send them all to the browser. */
export const MAX_LISTED_ERRORS = 100;
const MAX_QUOTED_CHARS = 100;

const email = z.email();
const userId = /^\d{1,20}$/;
const headerWords = /symphony|source|user|mailbox|target|m365|microsoft/i;

/** A cell as an error quotes it: at most MAX_QUOTED_CHARS characters, "…" marking the cut. */
function quote(cell: string): string {
  const head = Array.from(cell.slice(0, 2 * MAX_QUOTED_CHARS))
    .slice(0, MAX_QUOTED_CHARS)
    .join("");
  return `"${head}${head.length < cell.length ? "…" : ""}"`;
}

function listed(rows: MappingRow[], errors: MappingError[]): ParsedMapping {
  return {
    rows,
    errors: errors.slice(0, MAX_LISTED_ERRORS),
    moreErrors: Math.max(0, errors.length - MAX_LISTED_ERRORS),
  };
}

function symphonyKey(value: string): string | undefined {
  if (userId.test(value)) return value;
  return email.safeParse(value).success ? value.toLowerCase() : undefined;
}

/** Parses the whole file; bad lines are reported with their line numbers (the first 100 listed), good lines are kept. */
export function parseMappingCsv(text: string): ParsedMapping {
  if (Buffer.byteLength(text, "utf8") > MAX_MAPPING_BYTES) {
    return listed([], [{ line: 0, message: `The file is larger than ${MAX_MAPPING_BYTES / 1024 / 1024} MB.` }]);
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
    return listed([], [{ line, message: "The file is not valid CSV (check the quotes on this line)." }]);
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
      errors.push({ line, message: `${quote(source)} is neither an email address nor a numeric Symphony user id.` });
      return;
    }
    if (!email.safeParse(mailbox).success) {
      errors.push({ line, message: `${quote(mailbox)} is not a valid Microsoft 365 email address.` });
      return;
    }
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      errors.push({ line, message: `${quote(source)} is already mapped on line ${earlier}.` });
      return;
    }
    seen.set(key, line);
    rows.push({ line, symphonyKey: key, mailbox: mailbox.toLowerCase() });
  });
  if (rows.length > MAX_MAPPING_ROWS) {
    errors.unshift({ line: 0, message: `At most ${MAX_MAPPING_ROWS} mappings per file.` });
  }
  return listed(rows, errors);
}
