export interface Series {
  name: string;
  points: [number, number][];
  dashed?: boolean;
}
export function niceTicks(max: number, count?: number): number[];
export function lineChart(chart: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
}): string;
