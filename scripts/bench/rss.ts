// Peak resident set size of this process (sampled every 100 ms) and of another one (every second).
export type RssSampler = { current(): number; stop(): Promise<{ own: number; other: number; flatness: RssFlatness }> };

/** The peak of this process's RSS in the first and in the last half of the run (a leak grows the second). */
export type RssFlatness = { firstHalf: number; lastHalf: number };

/** The peaks of the first and the last half of a series of RSS samples. */
export function flatnessOf(series: number[]): RssFlatness {
  const half = Math.floor(series.length / 2);
  const peak = (values: number[]) => values.reduce((max, value) => Math.max(max, value), 0);
  return { firstHalf: peak(series.slice(0, half)), lastHalf: peak(series.slice(half)) };
}

export function startRssSampler(otherRss: () => Promise<number>): RssSampler {
  let own = process.memoryUsage().rss;
  let other = 0;
  const series: number[] = [];
  const sampleOwn = setInterval(() => {
    const rss = process.memoryUsage().rss;
    own = Math.max(own, rss);
    series.push(rss);
  }, 100);
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
      return { own, other, flatness: flatnessOf(series) };
    },
  };
}
