import { describe, expect, it } from "vitest";
import { ReadResponse } from "./node-http-handler";

/** What a standard Response gives for the same bytes: the reference. */
const standard = (bytes: Buffer, init: ResponseInit) => new Response(new Uint8Array(bytes), init);

describe("ReadResponse", () => {
  const init = { status: 201, statusText: "Created", headers: { "content-type": "application/json; charset=utf-8" } };
  const bodies = [
    Buffer.from(JSON.stringify({ id: "AAMk=", subject: "Trade ✓ 日本語 😀", body: { content: "<p>é</p>" } })),
    // A byte order mark, an invalid sequence and a character split at the end.
    Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":"x'), Buffer.from([0xc3, 0x28, 0xe2, 0x82])]),
    Buffer.alloc(0),
  ];

  it("reads as text, JSON and bytes exactly as a standard Response", async () => {
    for (const bytes of bodies) {
      const read = new ReadResponse(bytes, init);
      expect(await read.text()).toBe(await standard(bytes, init).text());
      expect(Buffer.from(await read.arrayBuffer())).toEqual(bytes);
    }
    const json = new ReadResponse(bodies[0]!, init);
    expect(await json.json()).toEqual(await standard(bodies[0]!, init).json());
    await expect(new ReadResponse(bodies[1]!, init).json()).rejects.toThrow(SyntaxError);
  });

  it("keeps the status, status text and headers", () => {
    const read = new ReadResponse(bodies[0]!, init);
    expect([read.status, read.statusText, read.ok, read.headers.get("content-type")]).toEqual([
      201,
      "Created",
      true,
      "application/json; charset=utf-8",
    ]);
  });
});
