// The bench's chart writer: round axis ticks, one path per series, points where the data is.
import { expect, test } from "vitest";
import { lineChart, niceTicks } from "../../scripts/bench/svg-chart.mjs";

test.each<[number, number[]]>([
  [1, [0, 0.2, 0.4, 0.6, 0.8, 1]],
  [2.37, [0, 0.5, 1, 1.5, 2, 2.5]],
  [535, [0, 200, 400, 600]],
  [0, [0, 1]],
])("niceTicks(%d)", (max, ticks) => {
  expect(niceTicks(max)).toEqual(ticks);
});

test("a chart: one path per series, points for the data, the legend, escaped text", () => {
  const svg = lineChart({
    title: "launch <vs> N",
    xLabel: "nodes",
    yLabel: "seconds",
    logX: true,
    series: [
      {
        name: "agent",
        points: [
          [2, 0.5],
          [4, 0.9],
        ],
      },
      {
        name: "floor",
        points: [
          [2, 0.2],
          [4, 0.25],
        ],
        dashed: true,
      },
    ],
  });
  expect(svg.startsWith("<svg ")).toBe(true);
  expect(svg.match(/<path /g)).toHaveLength(2);
  // Points for the data; a dashed reference line has none.
  expect(svg.match(/<circle /g)).toHaveLength(2);
  expect(svg).toContain("launch &lt;vs&gt; N");
  expect(svg).toContain('stroke-dasharray="6 4"');
  // log2 x: 2 and 4 are the two ends of the plot, the highest point near the top.
  const xs = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((m) => Number(m[1]));
  expect(Math.min(...xs)).toBe(64);
  expect(Math.max(...xs)).toBe(720 - 190);
});
