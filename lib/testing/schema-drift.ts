// Compares a migrated database with the Prisma model (the DMMF written by `npm run db:generate`):
// tables, columns, types, nullability, enums, primary/unique keys and indexes.
import pg from "pg";

interface DmmfField {
  name: string;
  kind: "scalar" | "enum" | "object" | "unsupported";
  type: string;
  isList: boolean;
  isRequired: boolean;
  dbName?: string | null;
  nativeType?: [string, string[]] | null;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
export interface Datamodel {
  models: DmmfModel[];
  enums: { name: string; dbName?: string | null; values: { name: string; dbName?: string | null }[] }[];
  indexes: { model: string; type: "id" | "unique" | "normal" | "fulltext"; fields: { name: string }[] }[];
}

/**
 * Indexes Prisma's schema language cannot express (partial or on an expression), created by hand in a
 * migration. They are compared by their full definition instead of with the model.
 */
export const HAND_MANAGED_INDEXES: Record<string, string> = {
  ImportItem_pending_idx: `CREATE INDEX "ImportItem_pending_idx" ON public."ImportItem" USING btree ("connectorId", "createdAt", id) WHERE (status = 'PENDING'::"ItemStatus")`,
  ImportItem_pending_mailbox_idx: `CREATE INDEX "ImportItem_pending_mailbox_idx" ON public."ImportItem" USING btree ("connectorId", mailbox, id) WHERE (status = 'PENDING'::"ItemStatus")`,
  Connector_name_lower_key: `CREATE UNIQUE INDEX "Connector_name_lower_key" ON public."Connector" USING btree (lower(name))`,
};

const SCALAR_TYPES: Record<string, string> = {
  String: "text",
  Int: "int4",
  BigInt: "int8",
  Float: "float8",
  Decimal: "numeric",
  Boolean: "bool",
  DateTime: "timestamp",
  Json: "jsonb",
  Bytes: "bytea",
};
const NATIVE_TYPES: Record<string, string> = { Uuid: "uuid", Text: "text", Timestamptz: "timestamptz", Date: "date" };

function expectedUdt(field: DmmfField): string {
  const base =
    field.kind === "enum"
      ? field.type
      : field.nativeType
        ? (NATIVE_TYPES[field.nativeType[0]] ?? field.nativeType[0].toLowerCase())
        : (SCALAR_TYPES[field.type] ?? field.type);
  return field.isList ? `_${base}` : base;
}

export async function schemaDifferences(datamodel: Datamodel, databaseUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const columns = await client.query<{
      table_name: string;
      column_name: string;
      udt_name: string;
      is_nullable: string;
    }>(
      `SELECT table_name, column_name, udt_name, is_nullable FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`,
    );
    const enums = await client.query<{ name: string; values: string[] }>(
      `SELECT t.typname AS name, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text[] AS values
       FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
       WHERE n.nspname = 'public' GROUP BY t.typname`,
    );
    const indexes = await client.query<{
      name: string;
      definition: string;
      hand_managed: boolean;
      table_name: string;
      columns: string[];
      is_unique: boolean;
      is_primary: boolean;
    }>(
      `SELECT ic.relname AS name, pg_get_indexdef(i.indexrelid) AS definition,
              (i.indpred IS NOT NULL OR i.indexprs IS NOT NULL) AS hand_managed,
              c.relname AS table_name, i.indisunique AS is_unique, i.indisprimary AS is_primary,
              array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum ORDER BY k.ord)::text[] AS columns
       FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relname <> '_prisma_migrations'`,
    );

    const differences: string[] = [];
    const tableOf = new Map(datamodel.models.map((m) => [m.name, m.dbName ?? m.name]));
    const actualColumns = new Map(columns.rows.map((c) => [`${c.table_name}.${c.column_name}`, c]));
    const expectedColumns = new Set<string>();

    for (const model of datamodel.models) {
      const table = tableOf.get(model.name)!;
      if (!columns.rows.some((c) => c.table_name === table)) differences.push(`table ${table} is missing`);
      for (const field of model.fields.filter((f) => f.kind === "scalar" || f.kind === "enum")) {
        const key = `${table}.${field.dbName ?? field.name}`;
        expectedColumns.add(key);
        const actual = actualColumns.get(key);
        if (!actual) {
          differences.push(`column ${key} is missing`);
          continue;
        }
        const udt = expectedUdt(field);
        if (actual.udt_name !== udt) differences.push(`column ${key} has type ${actual.udt_name}, model says ${udt}`);
        const nullable = !field.isRequired || field.isList;
        if ((actual.is_nullable === "YES") !== nullable) {
          differences.push(
            `column ${key} is ${actual.is_nullable === "YES" ? "nullable" : "NOT NULL"}, model says ${nullable ? "nullable" : "required"}`,
          );
        }
      }
    }
    for (const key of actualColumns.keys()) {
      if (!expectedColumns.has(key)) differences.push(`column ${key} is not in the model`);
    }

    const actualEnums = new Map(enums.rows.map((e) => [e.name, e.values.join(",")]));
    for (const e of datamodel.enums) {
      const values = e.values.map((v) => v.dbName ?? v.name).join(",");
      const actual = actualEnums.get(e.dbName ?? e.name);
      if (actual !== values)
        differences.push(`enum ${e.name} has values [${actual ?? "missing"}], model says [${values}]`);
      actualEnums.delete(e.dbName ?? e.name);
    }
    for (const name of actualEnums.keys()) differences.push(`enum ${name} is not in the model`);

    const describe = (table: string, kind: string, cols: string[]) => `${kind} ${table}(${cols.join(", ")})`;
    const columnName = (model: string, field: string) =>
      datamodel.models.find((m) => m.name === model)?.fields.find((f) => f.name === field)?.dbName ?? field;
    const expectedIndexes = new Set(
      datamodel.indexes
        .filter((i) => i.type !== "fulltext")
        .map((i) =>
          describe(
            tableOf.get(i.model)!,
            i.type === "normal" ? "index" : i.type === "id" ? "primary key" : "unique",
            i.fields.map((f) => columnName(i.model, f.name)),
          ),
        ),
    );
    const handManaged = indexes.rows.filter((i) => i.hand_managed || i.name in HAND_MANAGED_INDEXES);
    for (const [name, definition] of Object.entries(HAND_MANAGED_INDEXES)) {
      const actual = handManaged.find((i) => i.name === name);
      if (!actual) differences.push(`hand-managed index ${name} is missing`);
      else if (actual.definition !== definition) differences.push(`hand-managed index ${name} is ${actual.definition}`);
    }
    for (const index of handManaged) {
      if (!(index.name in HAND_MANAGED_INDEXES))
        differences.push(`index ${index.name} (${index.definition}) is not in the model`);
    }
    const actualIndexes = new Set(
      indexes.rows
        .filter((i) => !handManaged.includes(i))
        .map((i) => describe(i.table_name, i.is_primary ? "primary key" : i.is_unique ? "unique" : "index", i.columns)),
    );
    for (const index of expectedIndexes) if (!actualIndexes.has(index)) differences.push(`${index} is missing`);
    for (const index of actualIndexes)
      if (!expectedIndexes.has(index)) differences.push(`${index} is not in the model`);

    return differences;
  } finally {
    await client.end();
  }
}
