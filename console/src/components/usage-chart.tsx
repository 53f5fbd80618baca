import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

/** A series of buckets to draw: start times in seconds and their quantities. */
export interface ChartSeries {
  times: number[];
  values: number[];
  label: string;
}

/**
 * Usage per bucket as bars, drawn by uPlot (typed arrays in, no per-point objects) in UTC, as
 * the server buckets. It follows its container's width, so it reads at 390 px as at 1280 px.
 */
export function UsageChart({ series, title }: { series: ChartSeries; title: string }) {
  const holder = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = holder.current;
    if (element === null) return;
    const plot = new uPlot(
      {
        title,
        width: Math.max(280, element.clientWidth),
        height: 220,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        series: [
          { label: "UTC" },
          {
            label: series.label,
            stroke: "#1f5fa8",
            fill: "rgba(31, 95, 168, 0.35)",
            paths: uPlot.paths.bars?.({ size: [0.8, 48] }),
            points: { show: false },
          },
        ],
        axes: [{}, { size: 60 }],
      },
      [series.times, series.values],
      element,
    );
    const resize = new ResizeObserver(() => {
      plot.setSize({ width: Math.max(280, element.clientWidth), height: 220 });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [series, title]);
  return <div class="chart" ref={holder} aria-hidden="true" />;
}
