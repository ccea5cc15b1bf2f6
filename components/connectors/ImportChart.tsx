import { formatCount } from "@/components/connectors/format";

/** Items imported per day as plain SVG bars, with a text summary for screen readers. */
export function ImportChart({ data, everImported }: { data: { day: string; count: number }[]; everImported: boolean }) {
  const width = 420;
  const height = 120;
  const max = Math.max(1, ...data.map((d) => d.count));
  const slot = width / data.length;
  const total = data.reduce((sum, d) => sum + d.count, 0);
  if (total === 0) {
    return (
      <div className="border-line rounded border border-dashed px-4 py-6 text-center">
        <p className="font-semibold">
          {everImported ? `No items imported in the last ${data.length} days` : "No items imported yet"}
        </p>
        <p className="text-muted mt-1 text-sm">Each import adds to this chart of items imported per UTC day.</p>
      </div>
    );
  }
  return (
    <figure>
      <svg
        role="img"
        aria-label={`Items imported per day over ${data.length} days: ${total} in all`}
        viewBox={`0 0 ${width} ${height + 1}`}
        className="w-full"
      >
        <line x1="0" y1={height} x2={width} y2={height} stroke="#c7c7c7" />
        {data.map((d, i) => {
          const h = Math.round((d.count / max) * (height - 8));
          return (
            <g key={d.day}>
              <title>{`${d.day}: ${d.count}`}</title>
              <rect x={i * slot + slot * 0.15} y={height - h} width={slot * 0.7} height={h} rx="2" fill="#0f6cbd" />
            </g>
          );
        })}
      </svg>
      {/* Outside the SVG, so that the dates keep the text's size however narrow the chart is drawn. */}
      <div aria-hidden="true" className="text-muted flex justify-between text-xs">
        <span>{data[0]?.day}</span>
        <span>{data.at(-1)?.day}</span>
      </div>
      <figcaption className="text-muted text-xs">
        Last {data.length} days, UTC · peak {formatCount(max)} per day
      </figcaption>
    </figure>
  );
}
