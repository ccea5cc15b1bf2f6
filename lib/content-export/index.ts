// Reading an export file (zip, PGP, Actiance XML, EML, file names): no database, no network.
export { ExportFileError, ExportDownloadError, DecryptionKeyError } from "./errors";
export {
  openExportContent,
  SYMPHONY_XML_UNSUPPORTED,
  type ExportContent,
  type ExportContentLimits,
} from "./export-content";
export { ExportReaders, type ExportReader, type ExportReadersOptions } from "./export-reader";
export { openExportZip, DEFAULT_ZIP_LIMITS, type ExportZip, type ZipEntryInfo, type ZipLimits } from "./zip";
export { readDecryptionKey, encryptionKeyIdsOf, decryptToFile, type DecryptionKey, type DecryptOptions } from "./pgp";
export { parseExportFileName, type ExportFileName } from "./names";
export { benchActianceParse, type ActianceParseBench } from "./bench";
export type * from "./types";

// Fetching export files: the File Management API and SFTP (network; nothing is ever deleted there).
export type { ExportDelivery, ReadyListing, RemoteExportFile } from "./remote-file";
export { isMd5Name, parseMd5Text } from "./remote-file";
export { createFilesApiDelivery, filesApiSettingsSchema } from "./files-api";
export type { FilesApiDelivery, FilesApiOptions, FilesApiSettings } from "./files-api";
export { createSftpDelivery, probeSftpHostKey } from "./sftp";
export type { SftpDelivery, SftpOptions } from "./sftp";
export { sftpSettingsSchema } from "./sftp-settings";
export type { SftpSettings, SftpSettingsInput } from "./sftp-settings";
export { HostKeyMismatchError, SftpError } from "./sftp-errors";
export type { SftpErrorCode } from "./sftp-errors";
export { normalizeFingerprint } from "./ssh-host-key";
export type { HostKey } from "./ssh-host-key";
export { testFilesApi, testSftp } from "./test-connection";
export type { FilesApiTestReport, SftpTestReport } from "./test-connection";
