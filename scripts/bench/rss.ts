// Peak resident set size of this process (sampled every 100 ms) and of another one (every second).
export type RssSampler = { current(): number; stop(): Promise<{ own: number; other: number }> };

export function startRssSampler(otherRss: () => Promise<number>): RssSampler {
  let own = process.memoryUsage().rss;
  let other = 0;
  const sampleOwn = setInterval(() => (own = Math.max(own, process.memoryUsage().rss)), 100);
  const sampleOther = setInterval(
    () =>
      void otherRss().then(
        (rss) => (other = Math.max(other, rss)),
        () => {},
      ),
    1000,
  );
  return {
    current: () => process.memoryUsage().rss,
    async stop() {
      clearInterval(sampleOwn);
      clearInterval(sampleOther);
      own = Math.max(own, process.memoryUsage().rss);
      other = Math.max(other, await otherRss().catch(() => 0));
      return { own, other };
    },
  };
}
