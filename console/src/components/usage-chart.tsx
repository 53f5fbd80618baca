import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

/** One layer of a chart: a group's quantity per bucket. */
export interface ChartLayer {
  label: string;
  values: number[];
}

/** Buckets to draw: start times in seconds, and one layer per group (one without grouping). */
export interface ChartSeries {
  times: number[];
  layers: ChartLayer[];
}

// Colour-blind-safe hues (Okabe–Ito), in the order layers take them.
const COLOURS = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442"];

/**
 * Usage per bucket as bars, drawn by uPlot (typed arrays in, no per-point objects) in UTC, as
 * the server buckets; several groups stack, each bar's top the bucket's total. uPlot has no
 * stacking of its own: each layer is drawn at its running total, the highest first, so every
 * layer shows as the band between its total and the one below. The legend shows each group's
 * own value. It follows its container's width, so it reads at 390 px as at 1280 px.
 */
export function UsageChart({ series, title }: { series: ChartSeries; title: string }) {
  const holder = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = holder.current;
    if (element === null) return;
    const running = series.times.map(() => 0);
    const stacked = series.layers.map((layer) =>
      layer.values.map((value, i) => {
        running[i] = (running[i] ?? 0) + value;
        return running[i] ?? 0;
      }),
    );
    const order = series.layers.map((_, i) => i).reverse();
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
          ...order.map((i) => {
            const layer = series.layers[i] as ChartLayer;
            const colour = COLOURS[i % COLOURS.length] as string;
            return {
              label: layer.label,
              stroke: colour,
              fill: colour,
              paths: uPlot.paths.bars?.({ size: [0.8, 48] }),
              points: { show: false },
              value: (_u: uPlot, _v: number | null, _s: number, at: number | null) =>
                at === null ? "" : String(layer.values[at] ?? 0),
            };
          }),
        ],
        axes: [{}, { size: 60 }],
      },
      [series.times, ...order.map((i) => stacked[i] as number[])],
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
