import * as echarts from 'echarts';
import { decodeHistogram } from '../core/histogram.js';
import type { TransportResult } from '../core/result.js';
import { TRANSPORT_INFO, isTransport, transportLabel } from '../core/transports.js';
import type { SoakInterval } from '../scenarios/soak-tables.js';
import { detailsOf } from '../core/details.js';

/**
 * The report's charts, drawn to SVG in Node by ECharts' server-side renderer (no DOM, no browser,
 * nothing native). Each transport keeps one colour everywhere (core/transports.ts).
 */
export interface Chart {
  readonly name: string;
  readonly title: string;
  readonly svg: string;
}

const WIDTH = 760;
const HEIGHT = 380;

function colour(transport: string): string {
  return isTransport(transport) ? TRANSPORT_INFO[transport].colour : '#7f7f7f';
}

const label = (r: TransportResult): string => `${transportLabel(r.transport)}${r.config.resume === false ? ' (no resume)' : ''}${r.repeat ? ` #${r.repeat}` : ''}`;

/** Renders one option to an SVG string and disposes the chart (its timers would keep Node alive). */
function render(option: echarts.EChartsCoreOption, height = HEIGHT): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: WIDTH, height });
  try {
    // A static picture: no hover or emphasis states.
    const series = ([] as Array<Record<string, unknown>>).concat((option.series as Array<Record<string, unknown>> | undefined) ?? []).map((one) => ({ ...one, silent: true, emphasis: { disabled: true } }));
    chart.setOption({ animation: false, backgroundColor: '#ffffff', textStyle: { fontFamily: 'sans-serif' }, ...option, series });
    // The picture is static, so the hover stylesheet ECharts still emits (legend and visual-map
    // states, some written as `fill:[object Object]`) and the classes it numbers with a counter
    // that runs across charts are dropped: same runs, same bytes.
    return chart
      .renderToSVGString()
      .replace(/<style\b[\s\S]*?<\/style>\s*/g, '')
      .replace(/ class="zr\d+-cls-\d+"/g, '');
  } finally {
    chart.dispose();
  }
}

/**
 * Names every chart uniquely (a second ramp of the same transport gets `-2`) and gives the ids inside
 * its SVG (clip paths, gradients) that name instead of ECharts' per-process counter, so ids never
 * clash between charts inlined in one page and the same runs always give the same bytes.
 */
export function nameCharts(charts: readonly Chart[]): Chart[] {
  const seen = new Map<string, number>();
  return charts.map((chart) => {
    const count = (seen.get(chart.name) ?? 0) + 1;
    seen.set(chart.name, count);
    const name = count === 1 ? chart.name : `${chart.name}-${count}`;
    return { ...chart, name, svg: chart.svg.replace(/\bzr\d+-/g, `${name}-`) };
  });
}

/** Percentiles of the spectrum, as 1/(1-p): 50% is 2, 99% is 100, 99.99% is 10,000. */
const SPECTRUM = [0, 10, 25, 50, 75, 90, 95, 97.5, 99, 99.5, 99.75, 99.9, 99.95, 99.975, 99.99];

/**
 * The latency percentile spectrum of each transport on one chart, as HdrHistogram's plotter draws it:
 * x is 1/(1-p) on a log axis labelled with the percentiles, so the tail gets the room it needs.
 */
export function spectrumChart(results: readonly TransportResult[]): Chart | null {
  const drawn = results.filter((r) => r.latencyUs.perMessage.count > 0 && r.histograms.perMessage);
  if (drawn.length === 0) return null;
  const series = drawn.map((r) => {
    const histogram = decodeHistogram(r.histograms.perMessage);
    const data = SPECTRUM.map((p) => [Math.log10(1 / (1 - p / 100)), histogram.getValueAtPercentile(p) / 1000]);
    return { name: label(r), type: 'line', showSymbol: false, lineStyle: { width: 2 }, itemStyle: { color: colour(r.transport) }, data };
  });
  // The axis is log10 of 1/(1-p), ticks at the percentiles people quote.
  const ticks = [0, Math.log10(2), 1, 2, 3, 4];
  const percentLabel = (x: number): string => {
    const p = 100 * (1 - 1 / 10 ** x);
    return p <= 0.001 ? '0%' : `${Number(p.toPrecision(4))}%`;
  };
  return {
    name: 'latency-spectrum',
    title: 'Per-message latency by percentile',
    svg: render({
      title: { text: 'Per-message latency by percentile (ms)', left: 'center', textStyle: { fontSize: 14 } },
      legend: { bottom: 0 },
      grid: { left: 60, right: 30, top: 40, bottom: 60 },
      xAxis: { type: 'value', min: 0, max: 4, name: 'percentile', nameLocation: 'middle', nameGap: 28, axisTick: { customValues: ticks }, axisLabel: { customValues: ticks, formatter: percentLabel }, splitLine: { show: false } },
      yAxis: { type: 'value', name: 'ms' },
      series,
    }),
  };
}

/** A ramp: latency (p50, p99) and error rate against connections held, one chart per transport run. */
export function rampChart(result: TransportResult): Chart | null {
  const steps = detailsOf(result, 'ramp')?.steps;
  if (!steps || steps.length === 0) return null;
  const x = steps.map((s) => s.connectionsHeld);
  const c = colour(result.transport);
  return {
    name: `ramp-${result.transport}${result.repeat ? `-${result.repeat}` : ''}`,
    title: `Ramp, ${label(result)}: latency and errors against connections`,
    svg: render({
      title: { text: `Ramp, ${label(result)}`, left: 'center', textStyle: { fontSize: 14 } },
      legend: { bottom: 0 },
      grid: { left: 60, right: 60, top: 40, bottom: 60 },
      xAxis: { type: 'log', name: 'connections', nameLocation: 'middle', nameGap: 28, min: Math.min(...x) / 2, max: Math.max(...x) * 2 },
      yAxis: [{ type: 'value', name: 'latency (ms)' }, { type: 'value', name: 'error rate (%)', min: 0 }],
      series: [
        { name: 'p50', type: 'line', itemStyle: { color: c }, data: steps.map((s) => [s.connectionsHeld, (s.latencyUs.perMessage.p50 ?? 0) / 1000]) },
        { name: 'p99', type: 'line', lineStyle: { type: 'dashed' }, itemStyle: { color: c }, data: steps.map((s) => [s.connectionsHeld, (s.latencyUs.perMessage.p99 ?? 0) / 1000]) },
        { name: 'error rate', type: 'bar', yAxisIndex: 1, barWidth: 8, itemStyle: { color: '#aaaaaa' }, data: steps.map((s) => [s.connectionsHeld, s.errorRate * 100]) },
      ],
    }),
  };
}

/** Throughput: delivered rate and p99 against the offered rate, every transport on one chart. */
export function throughputChart(results: readonly TransportResult[]): Chart | null {
  const runs = results.flatMap((r) => {
    const details = detailsOf(r, 'throughput');
    return details ? [{ r, steps: details.steps }] : [];
  });
  if (runs.length === 0) return null;
  const series = runs.flatMap(({ r, steps }) => {
    return [
      // Both lines of a transport share its name, so the legend has one entry per transport (its
      // colour); the title says which line is which. A static picture cannot page a long legend.
      { name: label(r), type: 'line', itemStyle: { color: colour(r.transport) }, data: steps.map((s) => [s.offeredPerS, s.deliveredPerS]) },
      { name: label(r), type: 'line', yAxisIndex: 1, lineStyle: { type: 'dashed' }, itemStyle: { color: colour(r.transport) }, data: steps.map((s) => [s.offeredPerS, (s.latencyUs.perMessage.p99 ?? 0) / 1000]) },
    ];
  });
  return {
    name: 'throughput',
    title: 'Throughput: delivered messages per second and p99 against the offered rate',
    svg: render({
      title: { text: 'Delivered/s (solid) and p99 (dashed) against offered/s', left: 'center', textStyle: { fontSize: 14 } },
      legend: { bottom: 0 },
      grid: { left: 70, right: 60, top: 40, bottom: 70 },
      xAxis: { type: 'log', name: 'offered messages/s', nameLocation: 'middle', nameGap: 28 },
      yAxis: [{ type: 'log', name: 'delivered/s' }, { type: 'value', name: 'p99 (ms)' }],
      series,
    }),
  };
}

/** A soak over time: server RSS and CPU, connections alive, and p99, per interval. */
export function soakChart(result: TransportResult): Chart | null {
  const intervals = detailsOf(result, 'soak')?.intervals;
  if (!intervals || intervals.length === 0) return null;
  const c = colour(result.transport);
  const at = (i: SoakInterval): number => i.elapsedS / 60;
  const grid = (top: number) => ({ left: 70, right: 30, top, height: 90 });
  return {
    name: `soak-${result.transport}${result.repeat ? `-${result.repeat}` : ''}`,
    title: `Soak, ${label(result)}: memory, CPU, connections and p99 over time`,
    svg: render(
      {
        title: { text: `Soak, ${label(result)} (minutes)`, left: 'center', textStyle: { fontSize: 14 } },
        grid: [grid(40), grid(175), grid(310), grid(445)],
        xAxis: [0, 1, 2, 3].map((g) => ({ type: 'value', gridIndex: g, min: 0, axisLabel: { show: g === 3 } })),
        yAxis: [
          { type: 'value', gridIndex: 0, name: 'server RSS (MiB)', scale: true },
          { type: 'value', gridIndex: 1, name: 'server CPU %', min: 0 },
          { type: 'value', gridIndex: 2, name: 'connections', min: 0 },
          { type: 'value', gridIndex: 3, name: 'p99 (ms)', min: 0 },
        ],
        series: [
          { type: 'line', xAxisIndex: 0, yAxisIndex: 0, showSymbol: false, itemStyle: { color: c }, data: intervals.map((i) => [at(i), (i.serverRssBytes ?? 0) / 1048576]) },
          { type: 'line', xAxisIndex: 1, yAxisIndex: 1, showSymbol: false, itemStyle: { color: c }, data: intervals.map((i) => [at(i), i.serverCpuPct ?? 0]) },
          { type: 'line', xAxisIndex: 2, yAxisIndex: 2, showSymbol: false, itemStyle: { color: c }, data: intervals.map((i) => [at(i), i.connectionsAlive]) },
          { type: 'line', xAxisIndex: 3, yAxisIndex: 3, showSymbol: false, itemStyle: { color: c }, data: intervals.map((i) => [at(i), (i.latencyUs.p99 ?? 0) / 1000]) },
        ],
      },
      580,
    ),
  };
}

/** The faults matrix: for each transport and resume mode, the share of deliveries each fault lost. */
export function faultsChart(results: readonly TransportResult[]): Chart | null {
  const rows = results.flatMap((r) => (detailsOf(r, 'faults')?.faults ?? []).map((f) => ({ r, f })));
  if (rows.length === 0) return null;
  const faults = [...new Set(rows.map(({ f }) => f.fault))];
  const lines = [...new Set(rows.map(({ r, f }) => `${transportLabel(r.transport)}, resume ${f.resume ? 'on' : 'off'}`))];
  const data = rows.map(({ r, f }) => {
    const pct = f.messages.expected === 0 ? 0 : (100 * f.messages.lost) / f.messages.expected;
    return { value: [faults.indexOf(f.fault), lines.indexOf(`${transportLabel(r.transport)}, resume ${f.resume ? 'on' : 'off'}`), Math.round(pct * 10) / 10], label: { show: true, formatter: `${f.messages.lost}/${f.messages.expected}` } };
  });
  return {
    name: 'faults',
    title: 'Faults: deliveries lost per transport, resume mode and fault',
    svg: render(
      {
        title: { text: 'Deliveries lost (lost/expected; colour: share lost)', left: 'center', textStyle: { fontSize: 14 } },
        grid: { left: 200, right: 30, top: 40, bottom: 70 },
        xAxis: { type: 'category', data: faults, splitArea: { show: true } },
        yAxis: { type: 'category', data: lines, splitArea: { show: true } },
        visualMap: { min: 0, max: 50, calculable: false, orient: 'horizontal', left: 'center', bottom: 0, inRange: { color: ['#e8f5e9', '#fdd835', '#c62828'] }, text: ['50%+', '0%'] },
        series: [{ type: 'heatmap', data, label: { show: true } }],
      },
      Math.max(260, 80 + lines.length * 34),
    ),
  };
}
