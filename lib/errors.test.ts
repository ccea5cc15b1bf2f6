import { describe, expect, it } from "vitest";
import { errorMessage, errorText, redactCredentials } from "./errors";

describe("error words", () => {
  it("hide the credentials an error may carry, and keep the rest", () => {
    const upload =
      "PUT https://outlook.office.com/api/gv1.0/users('a')/messages('b')/AttachmentSessions('c')?authtoken=eyJ0eXAi.eyJhdWQ.sig failed";
    expect(redactCredentials(upload)).toBe(
      "PUT https://outlook.office.com/api/gv1.0/users('a')/messages('b')/AttachmentSessions('c')?authtoken=[hidden] failed",
    );
    expect(redactCredentials("connect to postgresql://connector:s3cret@db:5432/connector refused")).toBe(
      "connect to postgresql://connector:[hidden]@db:5432/connector refused",
    );
    expect(
      redactCredentials("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Zm9vYmFy==;EndpointSuffix=x"),
    ).toBe("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=[hidden];EndpointSuffix=x");
    expect(redactCredentials("https://acct.blob.core.windows.net/c/b?sv=2024&sig=abc%2Bdef&se=1")).toBe(
      "https://acct.blob.core.windows.net/c/b?sv=2024&sig=[hidden]&se=1",
    );
    expect(redactCredentials("Authorization: Bearer eyJ0eXAiOiJKV1QifQ.payload.signature")).toBe(
      "Authorization: Bearer [hidden]",
    );
    const plain = "Graph answered 404 ErrorItemNotFound for a@bank.example (code: forbidden)";
    expect(redactCredentials(plain)).toBe(plain);
  });

  it("are redacted in messages and texts of anything thrown", () => {
    const error = new TypeError("fetch https://x/?access_token=abc123456 failed");
    expect(errorMessage(error)).toBe("fetch https://x/?access_token=[hidden] failed");
    expect(errorText(error)).toBe("TypeError: fetch https://x/?access_token=[hidden] failed");
    expect(errorMessage("token=abcdef")).toBe("token=[hidden]");
  });

  it("take a long hostile text in stride (a pattern retried from every character took seconds)", () => {
    const long = `${"a".repeat(300_000)} https://user:${"p".repeat(300_000)}`;
    expect(redactCredentials(long)).toBe(long);
    expect(redactCredentials("Basic authentication is disabled for this account")).toBe(
      "Basic authentication is disabled for this account",
    );
  });
});
