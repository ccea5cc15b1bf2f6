import { describe, expect, it } from "vitest";
import { SymphonyError } from "@/lib/symphony";
import { diagnose } from "./health";

const connector = {
  podUrl: "http://acme.symphony.com",
  agentUrl: "https://agent.acme.example",
  keyManagerUrl: null,
  botUsername: "archive-bot",
};

describe("diagnose", () => {
  it("asks an admin to change an http:// URL of a public host, which was not called", () => {
    const error = new SymphonyError({
      code: "insecure_url",
      endpoint: "POST /login/pubkey/authenticate",
      message:
        "acme.symphony.com is on the public internet, where http:// would carry credentials unencrypted; the URL must start with https:// (http:// only for a test pod on this machine or a private network with SYMPHONY_ALLOW_PRIVATE_HOSTS)",
    });
    expect(diagnose(error, connector)).toEqual({
      needsAdmin: true,
      reason:
        "The pod URL http://acme.symphony.com was not called: acme.symphony.com is on the public internet, where http:// would carry credentials unencrypted; the URL must start with https:// (http:// only for a test pod on this machine or a private network with SYMPHONY_ALLOW_PRIVATE_HOSTS). Change it in the Source step.",
    });
  });

  it("says a download URL the pod handed out was refused, without sending the admin to the Source step", () => {
    const error = new SymphonyError({
      code: "insecure_url",
      endpoint: "GET /files/v1/{fileId}",
      status: 200,
      message:
        "the pod handed out an http:// download URL at storage.example, which would carry the file and its signature unencrypted: download URLs must be https://",
    });
    expect(diagnose(error, connector)).toEqual({
      needsAdmin: true,
      reason:
        "Symphony GET /files/v1/{fileId}: the pod handed out an http:// download URL at storage.example, which would carry the file and its signature unencrypted: download URLs must be https://.",
    });
  });
});
