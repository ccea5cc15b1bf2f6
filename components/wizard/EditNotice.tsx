import type { ReactNode } from "react";

/**
 * On Edit of a connector that imports: its Source and Mapping steps wait for Save changes, so that an
 * edit left half done changes nothing.
 */
export function EditNotice({ pending, children }: { pending: boolean; children?: ReactNode }) {
  return (
    <div
      role="note"
      aria-label="When changes apply"
      className="border-brand/40 bg-brand-light mb-6 max-w-2xl rounded border p-3 text-blue-950"
    >
      <p>
        {pending && "This edit has changes not applied yet. "}
        Changes to the source and the user mapping apply only when you select <strong>Save changes</strong> on the
        Review step, after Test connection passes with them (or you accept that it fails); until then the connector
        keeps the settings in use.
      </p>
      {children}
    </div>
  );
}
