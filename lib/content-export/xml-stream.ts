import type { Readable } from "node:stream";
import { ExportFileError } from "./errors";

export type XmlHandlers = {
  open: (name: string, attributes: Record<string, string>, line: number) => void;
  close: (name: string) => void;
  /** Text and CDATA, entities already replaced (only XML's five and character references exist). */
  text: (text: string) => void;
};

export type XmlLimits = {
  /** Characters without any markup (one text, comment, attribute or declaration) before the file is refused. */
  maxTextChars: number;
  /** Elements open at once before the file is refused (the parser keeps one object for each). */
  maxDepth: number;
};

export const DEFAULT_XML_LIMITS: XmlLimits = { maxTextChars: 16 * 1024 * 1024, maxDepth: 64 };

/** saxes's complaint about a character reference to a character XML 1.0 does not allow (kept as its text). */
const BAD_REFERENCE = /^\d+:\d+: malformed character entity\.$/;
/**
 * saxes's complaint about a disallowed character. It says the same of a `<` inside an attribute value,
 * which it drops: that one is damage, so only as many of these pass as raw control characters were read.
 */
const DISALLOWED = /^\d+:\d+: disallowed character\.$/;
/** The characters XML 1.0 does not allow that a text editor can put in a message. */
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g;

export const DOCTYPE_REFUSED = "the XML declares a DOCTYPE (external entities and DTDs are refused)";

/**
 * Parses a UTF-8 XML stream with saxes, which never reads a DTD nor resolves an entity other than
 * XML's own; a DOCTYPE is refused outright all the same. Yields after each chunk so that a caller
 * can hand on what the handlers collected before more is read. Any problem with the XML throws an
 * ExportFileError naming the line and column.
 */
export async function* parseXml(
  stream: Readable,
  handlers: XmlHandlers,
  limits: XmlLimits = DEFAULT_XML_LIMITS,
): AsyncGenerator<void> {
  const { SaxesParser } = await import("saxes");
  const parser = new SaxesParser({ xmlns: false, position: true });
  const where = () => `line ${parser.line}, column ${parser.column + 1}`;
  let lastMarkup = 0;
  let depth = 0;
  let controlsRead = 0;
  let controlsTolerated = 0;
  parser.on("xmldecl", (decl) => {
    const encoding = decl.encoding?.toLowerCase();
    if (encoding !== undefined && encoding !== "utf-8" && encoding !== "utf8" && encoding !== "us-ascii") {
      throw new ExportFileError(`the XML declares the encoding ${JSON.stringify(decl.encoding)}; only UTF-8 is read`);
    }
  });
  parser.on("doctype", () => {
    throw new ExportFileError(`${DOCTYPE_REFUSED} (${where()})`);
  });
  parser.on("opentag", (tag) => {
    lastMarkup = parser.position;
    depth += 1;
    if (depth > limits.maxDepth)
      throw new ExportFileError(`the XML nests more than ${limits.maxDepth} elements at ${where()}`);
    handlers.open(tag.name, tag.attributes, parser.line);
  });
  parser.on("closetag", (tag) => {
    lastMarkup = parser.position;
    depth -= 1;
    handlers.close(tag.name);
  });
  parser.on("text", handlers.text);
  parser.on("cdata", handlers.text);
  parser.on("error", (error) => {
    // A control character XML 1.0 does not allow (a vertical tab or form feed pasted from Word or
    // Excel), raw or as a character reference, as Java's XML writers leave it: saxes keeps the raw one
    // in the text and the reference as its literal text, and reads on. One such character in one
    // message must not refuse the whole day's file; only damage to the structure does.
    if (BAD_REFERENCE.test(error.message)) return;
    if (DISALLOWED.test(error.message) && controlsTolerated < controlsRead) {
      controlsTolerated += 1;
      return;
    }
    // saxes writes "<line>:<column>: <what>"; said in words for an admin.
    const match = /^(\d+):(\d+): (.*)$/s.exec(error.message);
    const detail = match ? `line ${match[1]}, column ${Number(match[2]) + 1}: ${match[3]}` : error.message;
    throw new ExportFileError(`the XML is malformed at ${detail}`);
  });

  const decoder = new TextDecoder("utf-8", { fatal: true });
  let bytesRead = 0;
  const decode = (chunk?: Buffer) => {
    let text: string;
    try {
      text = chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode();
    } catch {
      throw new ExportFileError(`the XML is not valid UTF-8 (within its first ${bytesRead} bytes)`);
    }
    controlsRead += text.match(CONTROL)?.length ?? 0;
    return text;
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytesRead += chunk.length;
      parser.write(decode(chunk));
      if (parser.position - lastMarkup > limits.maxTextChars) {
        throw new ExportFileError(
          `the XML has more than ${limits.maxTextChars} characters without markup before ${where()}`,
        );
      }
      yield;
    }
    parser.write(decode());
    parser.close();
    yield;
  } finally {
    stream.destroy();
  }
}

/** The name of the root element (reads no further than its start tag, so later damage does not matter here). */
export async function readXmlRootName(stream: Readable): Promise<string> {
  class RootFound extends Error {
    constructor(readonly rootName: string) {
      super("root found");
    }
  }
  const handlers: XmlHandlers = {
    open: (name) => {
      throw new RootFound(name);
    },
    close: () => {},
    text: () => {},
  };
  try {
    for await (const _ of parseXml(stream, handlers));
  } catch (found) {
    if (found instanceof RootFound) return found.rootName;
    throw found;
  }
  throw new ExportFileError("the XML has no root element");
}
