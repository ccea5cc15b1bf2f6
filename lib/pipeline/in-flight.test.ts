import { describe, expect, it } from "vitest";
import { ClaimLostError, InFlight } from "./in-flight";

const claims = { claimMs: 60_000, everyMs: 20_000 };

/** Starts an item whose work runs until its claim is lost or it is finished, and says why it stopped. */
function startUntilStopped(flight: InFlight, id: bigint, claimedAt: number) {
  let reason: unknown;
  let finish = () => {};
  flight.start(
    { id, mailbox: "ann@bank.example" },
    claimedAt,
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
  it("stops an attempt whose claim could not be renewed one renewal interval before it lapses", async () => {
    const flight = new InFlight({
      ...claims,
      renew: () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432")),
    });
    const start = Math.round(performance.now());
    const item = startUntilStopped(flight, 1n, start);
    // Two renewals fail; the claim still has more than an interval left: the attempt goes on.
    await flight.renew(start + 20_000);
    flight.stopLapsing(start + 39_000);
    expect(item.stopped()).toBeUndefined();
    // From here the next renewal would come after the claim lapses: stopped at the next check.
    flight.stopLapsing(start + 40_000);
    expect(item.stopped()).toBeInstanceOf(ClaimLostError);
    expect(String((item.stopped() as Error).message)).toContain("could not be renewed for 40 s");
    await flight.close();
  });

  it("counts a claim's life from when the claim was sent, not from when its item started", async () => {
    const flight = new InFlight({ ...claims, renew: () => Promise.reject(new Error("unreachable")) });
    const start = Math.round(performance.now());
    // The claim statement took 30 s to answer (PostgreSQL struggling): 10 s are left before the stop.
    const item = startUntilStopped(flight, 4n, start - 30_000);
    flight.stopLapsing(start + 9_000);
    expect(item.stopped()).toBeUndefined();
    flight.stopLapsing(start + 10_000);
    expect(item.stopped()).toBeInstanceOf(ClaimLostError);
    await flight.close();
  });

  it("keeps attempts whose claims are renewed going however long they take", async () => {
    const renewed: bigint[][] = [];
    const flight = new InFlight({ ...claims, renew: (ids) => Promise.resolve(void renewed.push(ids)) });
    const start = Math.round(performance.now());
    const item = startUntilStopped(flight, 2n, start);
    for (let tick = 1; tick <= 30; tick++) {
      await flight.renew(start + tick * 20_000);
      flight.stopLapsing(start + tick * 20_000 + 19_000);
    }
    expect(item.stopped()).toBeUndefined();
    expect(renewed).toHaveLength(30);
    expect(renewed.every((ids) => ids.length === 1 && ids[0] === 2n)).toBe(true);
    item.finish();
    await flight.close();
  });

  it("stops an attempt in time while a renewal hangs, and sends the next renewal anyway", async () => {
    let renewals = 0;
    const flight = new InFlight({
      ...claims,
      renew: () => {
        renewals += 1;
        return new Promise<void>(() => {});
      },
    });
    const start = Math.round(performance.now());
    const item = startUntilStopped(flight, 3n, start);
    void flight.renew(start + 20_000);
    void flight.renew(start + 30_000); // the first still unanswered, within its interval: not sent again
    void flight.renew(start + 40_000);
    expect(renewals).toBe(2);
    flight.stopLapsing(start + 40_000);
    expect(item.stopped()).toBeInstanceOf(ClaimLostError);
    await flight.close();
  });
});
