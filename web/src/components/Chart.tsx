// A Chart.js chart as a React component. Only the controllers and scales
// the views use are registered, which keeps the bundle small.
import { useEffect, useRef } from 'react';
import {
  Chart,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  LogarithmicScale,
  PointElement,
  ScatterController,
  Tooltip,
  type ChartConfiguration,
} from 'chart.js';

Chart.register(LineController, ScatterController, LineElement, PointElement, LinearScale, LogarithmicScale, Tooltip, Legend);
Chart.defaults.font.family = getComputedStyle(document.documentElement).getPropertyValue('--font') || 'system-ui, sans-serif';
Chart.defaults.color = '#334155';

// A palette whose colours stay apart for readers with the common colour
// vision deficiencies (Okabe-Ito).
export const palette = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

export function ChartView({ config, label, height = 320 }: { config: ChartConfiguration; label: string; height?: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const cfg = { ...config, options: { responsive: true, maintainAspectRatio: false, animation: false as const, ...config.options } };
    const chart = new Chart(canvas.current, cfg);
    return () => chart.destroy();
  }, [config]);
  return (
    <div className="chart" style={{ height }}>
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}
