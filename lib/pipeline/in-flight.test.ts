import { describe, expect, it } from "vitest";
import { ClaimLostError, InFlight } from "./in-flight";

const claims = { claimMs: 60_000, everyMs: 20_000 };

/** Starts an item whose work runs until its claim is lost or it is finished, and says why it stopped. */
function startUntilStopped(flight: InFlight, id: bigint) {
  let reason: unknown;
  let finish = () => {};
  flight.start(
    { id, mailbox: "ann@bank.example" },
    (claimLost) =>
      new Promise<void>((resolve) => {
        finish = resolve;
        claimLost.addEventListener("abort", () => {
          reason = claimLost.reason;
          resolve();
        });
      }),
  );
  return { stopped: () => reason, finish: () => finish() };
}

describe("InFlight", () => {
  it("stops an attempt whose claim could not be renewed before it lapses, so that no other worker takes it meanwhile", async () => {
    const flight = new InFlight({
      ...claims,
      renew: () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432")),
    });
    const item = startUntilStopped(flight, 1n);
    const start = Date.now();
    // Two renewals fail; the claim still has more than an interval left: the attempt goes on.
    await flight.renew(start + 20_000);
    await flight.renew(start + 39_000);
    expect(item.stopped()).toBeUndefined();
    // The next renewal would come after the claim lapses: stopped now.
    await flight.renew(start + 40_000);
    expect(item.stopped()).toBeInstanceOf(ClaimLostError);
    expect(String((item.stopped() as Error).message)).toContain("could not be renewed for 40 s");
    await flight.close();
  });

  it("keeps attempts whose claims are renewed going however long they take", async () => {
    const renewed: bigint[][] = [];
    const flight = new InFlight({ ...claims, renew: (ids) => Promise.resolve(void renewed.push(ids)) });
    const item = startUntilStopped(flight, 2n);
    const start = Date.now();
    for (let minute = 1; minute <= 30; minute++) await flight.renew(start + minute * 20_000);
    expect(item.stopped()).toBeUndefined();
    expect(renewed).toHaveLength(30);
    expect(renewed.every((ids) => ids.length === 1 && ids[0] === 2n)).toBe(true);
    item.finish();
    await flight.close();
  });

  it("stops an attempt in time while a renewal hangs (PostgreSQL unreachable, no answer)", async () => {
    const flight = new InFlight({ ...claims, renew: () => new Promise<void>(() => {}) });
    const item = startUntilStopped(flight, 3n);
    const start = Date.now();
    void flight.renew(start + 20_000);
    void flight.renew(start + 40_000);
    expect(item.stopped()).toBeInstanceOf(ClaimLostError);
    await flight.close();
  });
});
