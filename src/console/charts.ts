// Charts, all drawn with uPlot: canvas rendering that stays fast with thousands of points (the
// library Prometheus's UI and Grafana use). Colours come from the style sheet's custom properties,
// so charts follow the light or dark scheme like the rest of the page.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

/** One plotted series. */
export interface SeriesSpec {
  label: string;
  /** Name of a CSS custom property holding the colour, e.g. "--series-1". */
  color: string;
  values: (number | null)[];
  /** Draw points only (a scatter), no line. */
  pointsOnly?: boolean;
  dash?: number[];
  /** A shaded band between these bounds (e.g. a 90% interval), in the series' colour. */
  band?: { lower: (number | null)[]; upper: (number | null)[]; label: string };
}

/** What a chart shows. */
export interface ChartSpec {
  /** Accessible name of the chart (its data is also given as a table beside it). */
  title: string;
  x: number[];
  /** x holds seconds since the epoch. */
  xTime: boolean;
  xLabel?: string;
  yLabel: string;
  series: SeriesSpec[];
  yRange?: [number, number];
  xRange?: [number, number];
  log?: boolean;
  height?: number;
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

/** A #rrggbb colour with an alpha, for the canvas (which needs a plain colour). */
function withAlpha(hex: string, alpha: number): string {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!match) return hex;
  const [r, g, b] = match.slice(1).map((part) => Number.parseInt(part, 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** Draws a chart into a new element appended to `parent`; it resizes with its container. */
export function chart(parent: HTMLElement, spec: ChartSpec, signal: AbortSignal): void {
  const holder = document.createElement("figure");
  holder.className = "chart";
  holder.setAttribute("role", "img");
  holder.setAttribute("aria-label", spec.title);
  parent.append(holder);
  const text = cssVar("--text");
  const grid = cssVar("--grid");
  const axis = (label: string | undefined): uPlot.Axis => ({
    stroke: text,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1 },
    ...(label ? { label } : {}),
  });
  const series: uPlot.Series[] = [{ label: spec.xLabel ?? "x" }];
  const data: (number | null)[][] = [spec.x];
  const bands: uPlot.Band[] = [];
  for (const s of spec.series) {
    const color = cssVar(s.color);
    if (s.band) {
      // Bounds are drawn invisibly and filled between; uPlot bands name [upper, lower] series.
      series.push({ label: `${s.band.label} upper`, stroke: "transparent", points: { show: false } });
      data.push(s.band.upper);
      series.push({ label: `${s.band.label} lower`, stroke: "transparent", points: { show: false } });
      data.push(s.band.lower);
      bands.push({ series: [series.length - 2, series.length - 1], fill: withAlpha(color, 0.18) });
    }
    series.push({
      label: s.label,
      stroke: color,
      width: 2,
      spanGaps: true,
      ...(s.dash ? { dash: s.dash } : {}),
      ...(s.pointsOnly ? { paths: () => null, points: { show: true, size: 6, fill: color } } : { points: { show: true, size: 5 } }),
    });
    data.push(s.values);
  }
  const width = () => Math.max(260, holder.clientWidth);
  const plot = new uPlot(
    {
      width: width(),
      height: spec.height ?? 260,
      series,
      bands,
      // Our own legend below: uPlot's would also list the invisible band bounds.
      legend: { show: false },
      scales: {
        x: { time: spec.xTime, ...(spec.xRange ? { range: spec.xRange } : {}), ...(spec.log ? { distr: 3 } : {}) },
        y: { ...(spec.yRange ? { range: spec.yRange } : {}), ...(spec.log ? { distr: 3 } : {}) },
      },
      axes: [axis(spec.xLabel), axis(spec.yLabel)],
    },
    data as uPlot.AlignedData,
    holder,
  );
  const legend = document.createElement("p");
  legend.className = "legend";
  for (const s of spec.series) {
    const key = document.createElement("span");
    const swatch = document.createElement("span");
    swatch.className = s.pointsOnly ? "swatch dot" : s.dash ? "swatch dashed" : "swatch";
    swatch.style.borderColor = cssVar(s.color);
    key.append(swatch, s.band ? `${s.label} (shaded: ${s.band.label})` : s.label);
    legend.append(key);
  }
  holder.append(legend);
  const onResize = () => plot.setSize({ width: width(), height: spec.height ?? 260 });
  window.addEventListener("resize", onResize);
  signal.addEventListener("abort", () => {
    window.removeEventListener("resize", onResize);
    plot.destroy();
  });
}
