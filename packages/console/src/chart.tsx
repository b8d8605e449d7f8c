import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartSeries {
  label: string;
  values: number[];
  color: string;
}

/**
 * A time chart (uPlot): x in epoch seconds, one or more series. The plot is created once and its
 * data replaced on each refresh, so polling never rebuilds it (no flicker). The numbers behind it
 * are in a visually hidden table for screen readers and for tests.
 */
export function TimeChart(props: {
  title: string;
  id: string;
  times: number[];
  series: ChartSeries[];
  unit?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const shape = props.series.map((s) => s.label).join("|");

  useEffect(() => {
    const element = box.current;
    if (element === null) return;
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 280),
      height: 160,
      legend: { show: true },
      cursor: { show: true },
      scales: { x: { time: true } },
      axes: [{ stroke: "#3d4451" }, { stroke: "#3d4451", size: 56 }],
      series: [
        {},
        ...props.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          points: { show: true, size: 4 },
        })),
      ],
    };
    plot.current = new uPlot(options, [props.times, ...props.series.map((s) => s.values)], element);
    const resize = new ResizeObserver(() =>
      plot.current?.setSize({ width: Math.max(element.clientWidth, 280), height: 160 }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = undefined;
    };
  }, [shape]);

  useEffect(() => {
    plot.current?.setData([props.times, ...props.series.map((s) => s.values)]);
  }, [props.times, props.series]);

  const nonZero = props.series.reduce((n, s) => n + s.values.filter((v) => v !== 0).length, 0);
  return (
    <figure class="chart" data-chart={props.id} data-points={nonZero}>
      <figcaption>
        {props.title}
        {props.unit === undefined ? "" : ` (${props.unit})`}
      </figcaption>
      <div ref={box} class="chart-plot" aria-hidden="true" />
      <table class="visually-hidden">
        <caption>{props.title} per minute</caption>
        <thead>
          <tr>
            <th scope="col">minute</th>
            {props.series.map((s) => (
              <th scope="col" key={s.label}>
                {s.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.times
            .map((t, i) => ({ t, i }))
            .filter(({ i }) => props.series.some((s) => (s.values[i] ?? 0) !== 0))
            .map(({ t, i }) => (
              <tr key={t}>
                <td>{new Date(t * 1000).toISOString().slice(11, 16)}</td>
                {props.series.map((s) => (
                  <td key={s.label}>{s.values[i]}</td>
                ))}
              </tr>
            ))}
        </tbody>
      </table>
    </figure>
  );
}
