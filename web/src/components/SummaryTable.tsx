// The evidence table: one row per candidate of a run's summary, best
// first, as `tunelab eval` prints it.
import type { Summary, VerdictOption } from '../types';
import { ms, num, pct, usd } from '../util';

export function SummaryTable({ summary, options, pick, caption }: { summary: Summary; options?: VerdictOption[]; pick?: string; caption: string }) {
  const opt = new Map((options ?? []).map((o) => [o.id, o]));
  return (
    <div className="tablewrap">
      <table className="data">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">candidate</th>
            <th scope="col" className="num">accuracy</th>
            <th scope="col" className="num">95% CI</th>
            <th scope="col" className="num">vs best</th>
            <th scope="col" className="num">p50</th>
            <th scope="col" className="num">p95</th>
            <th scope="col" className="num">tokens in / out</th>
            <th scope="col" className="num">$ / 1k calls</th>
            {options && <th scope="col" className="num">$ / month</th>}
            <th scope="col" className="num">errors</th>
            {options && <th scope="col">notes</th>}
          </tr>
        </thead>
        <tbody>
          {summary.candidates.map((c) => {
            const o = opt.get(c.id);
            const vs = c.vs_best;
            return (
              <tr key={c.id} className={c.id === pick ? 'picked' : undefined}>
                <th scope="row" className="mono">
                  {c.id}
                  {c.id === pick && <span className="badge pass">pick</span>}
                </th>
                <td className="num">{pct(c.accuracy)}</td>
                <td className="num">
                  {pct(c.ci_low, 0)}–{pct(c.ci_high, 0)}
                </td>
                <td className="num">
                  {vs ? (
                    <span title={`${vs.method}, p=${vs.p.toFixed(3)}`}>
                      {(100 * vs.diff).toFixed(1)} pts{vs.significant ? ' *' : ''}
                    </span>
                  ) : c.id === summary.best ? (
                    'best'
                  ) : (
                    '–'
                  )}
                </td>
                <td className="num">{ms(c.latency_p50_ms)}</td>
                <td className="num">{ms(c.latency_p95_ms)}</td>
                <td className="num">
                  {num(c.tokens_in_mean)} / {num(c.tokens_out_mean)}
                </td>
                <td className="num">{usd(c.cost_per_1k_usd)}</td>
                {options && <td className="num">{usd(o?.monthly_usd)}</td>}
                <td className="num">{c.errors}</td>
                {options && (
                  <td>
                    {o?.tied_with_best && <span className="tag">tied with best</span>}
                    {o?.tuned && <span className="tag">fine-tuned</span>}
                    {o?.fails?.map((f) => (
                      <span key={f} className="tag warn">
                        fails {f}
                      </span>
                    ))}
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
      <p className="hint">* significantly worse than the best (paired test, p &lt; 0.05).</p>
    </div>
  );
}
