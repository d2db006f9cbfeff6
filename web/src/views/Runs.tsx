// The list of evaluation runs, newest first.
import type { RunInfo } from '../types';
import { href, Status, useApi, when } from '../util';

export function Runs() {
  const runs = useApi<RunInfo[]>('/api/runs');
  return (
    <section aria-labelledby="runs-title">
      <h1 id="runs-title">Runs</h1>
      <p className="lead">Every evaluation: candidates × test cases × repeats, with each call's answer and scores.</p>
      <Status l={runs} what="runs">
        {(rs) =>
          rs.length === 0 ? (
            <p className="panel">
              No runs yet. Start one with <code>tunelab eval</code>, or run the ladder from <a href="#/ladder">Ladder &amp; verdict</a>.
            </p>
          ) : (
            <div className="tablewrap">
              <table className="data">
                <caption className="sr-only">Runs, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">run</th>
                    <th scope="col">status</th>
                    <th scope="col">started</th>
                    <th scope="col" className="num">candidates</th>
                    <th scope="col" className="num">cases</th>
                    <th scope="col" className="num">repeats</th>
                    <th scope="col">primary scorer</th>
                  </tr>
                </thead>
                <tbody>
                  {rs.map((r) => (
                    <tr key={r.id}>
                      <th scope="row">
                        <a className="mono" href={href('runs', r.id)}>
                          {r.id}
                        </a>
                      </th>
                      <td>
                        <span className={`badge ${r.status === 'done' ? 'pass' : r.status === 'running' ? 'neutral' : 'fail'}`}>{r.status}</span>
                      </td>
                      <td>{when(r.created_at)}</td>
                      <td className="num" title={r.candidates.map((c) => c.id).join('\n')}>
                        {r.candidates.length}
                      </td>
                      <td className="num">{r.cases}</td>
                      <td className="num">{r.repeats}</td>
                      <td>{r.primary_scorer}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Status>
    </section>
  );
}
