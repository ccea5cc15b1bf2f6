// ssh2 is CommonJS whose `utils` Node cannot see as a named export: take it from the default export.
import ssh2 from "ssh2";
import { z } from "zod";
import { normalizeFingerprint } from "./ssh-host-key";

const optionalSecret = z
  .string()
  .nullish()
  .transform((value) => (value ? value : undefined));

// Error texts are fixed on purpose: they must never repeat (part of) a key or a password.
export const sftpSettingsSchema = z
  .object({
    host: z
      .string({ error: "SFTP host is required" })
      .trim()
      .min(1, "SFTP host is required")
      .regex(/^[^\s/:@]+$|^\[[0-9a-fA-F:.]+\]$/, "SFTP host must be a host name or an IP address, without a scheme"),
    port: z.coerce.number().int().min(1).max(65535, "SFTP port must be between 1 and 65535").default(22),
    username: z.string({ error: "SFTP user name is required" }).trim().min(1, "SFTP user name is required"),
    privateKeyPem: optionalSecret,
    privateKeyPassphrase: optionalSecret,
    password: optionalSecret,
    folder: z.string().trim().min(1, "Remote folder is required").default("/"),
    /** The confirmed host key (`SHA256:...`); null until an admin confirms the one a probe showed. */
    hostKeySha256: z
      .string()
      .nullish()
      .transform((value, context) => {
        if (!value?.trim()) return null;
        const fingerprint = normalizeFingerprint(value);
        if (!fingerprint) {
          context.addIssue({ code: "custom", message: "Host key fingerprint must look like SHA256:<43 characters>" });
          return z.NEVER;
        }
        return fingerprint;
      }),
    /** Time between the two looks at a file's size; a size that changed means it is still being written. */
    settleMs: z.number().int().min(0).max(600_000).default(2_000),
  })
  .superRefine((settings, context) => {
    if (!settings.privateKeyPem && !settings.password) {
      context.addIssue({ code: "custom", path: ["password"], message: "Enter an SSH private key or a password" });
    }
    if (settings.privateKeyPem && !isPrivateKey(settings.privateKeyPem, settings.privateKeyPassphrase)) {
      context.addIssue({
        code: "custom",
        path: ["privateKeyPem"],
        message: "SSH private key is not an OpenSSH or PEM private key (or its passphrase is wrong)",
      });
    }
  });

export type SftpSettingsInput = z.input<typeof sftpSettingsSchema>;
export type SftpSettings = z.output<typeof sftpSettingsSchema>;

/** What a host-key probe needs: where the server is (no credential is ever sent). */
export const sftpProbeSchema = z.object({
  host: sftpSettingsSchema.shape.host,
  port: sftpSettingsSchema.shape.port,
  username: z.string().trim().min(1).catch("probe"),
});

function isPrivateKey(pem: string, passphrase: string | undefined): boolean {
  try {
    const parsed = ssh2.utils.parseKey(pem, passphrase);
    return !(parsed instanceof Error) && parsed.isPrivateKey();
  } catch {
    return false;
  }
}
