/**
 * The /admin/cache dashboard: one self-contained HTML page (no external script, style or font; the admin network may
 * have no internet). Its script polls /admin/cache/stats every 2 s with the token the page was opened with, keeps
 * the last 2 minutes, and draws the hit rate as inline SVG: since start-up (solid) and over each 2 s interval
 * (dashed, only where there was traffic). Everything from the server is inserted as text, never as HTML.
 */
export const ADMIN_CACHE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cache dashboard</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1b2430; background: #f5f7fa; }
  main { max-width: 960px; margin: 0 auto; padding: 24px; }
  h1 { font-size: 22px; margin: 0 0 16px; }
  .cards { display: grid; grid-template-columns: repeat(5, 1fr); gap: 12px; margin-bottom: 16px; }
  .card { background: #fff; border-radius: 8px; padding: 12px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  .card h2 { font-size: 12px; font-weight: 500; color: #5b6675; margin: 0 0 4px; text-transform: uppercase; letter-spacing: .04em; }
  .card p { font-size: 22px; margin: 0; font-variant-numeric: tabular-nums; }
  .ok { color: #18794e; } .bad { color: #c2410c; }
  figure { background: #fff; border-radius: 8px; padding: 12px; margin: 0 0 16px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  figcaption { font-size: 13px; color: #5b6675; margin-top: 6px; }
  svg { width: 100%; height: auto; display: block; }
  .grid line { stroke: #e3e8ef; } .grid text { fill: #8a94a3; font-size: 10px; }
  #line-total { fill: none; stroke: #2563eb; stroke-width: 2; }
  #line-interval { fill: none; stroke: #16a34a; stroke-width: 1.5; stroke-dasharray: 4 3; }
  .swatch { display: inline-block; width: 18px; height: 3px; vertical-align: middle; margin: 0 4px 0 12px; }
  table { width: 100%; border-collapse: collapse; background: #fff; border-radius: 8px; overflow: hidden; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  th, td { padding: 8px 10px; text-align: right; font-size: 14px; font-variant-numeric: tabular-nums; border-bottom: 1px solid #eef1f5; }
  th:first-child, td:first-child { text-align: left; }
  th { font-size: 12px; color: #5b6675; font-weight: 500; text-transform: uppercase; }
  #updated { font-size: 12px; color: #8a94a3; }
</style>
</head>
<body>
<main>
  <h1>Cache</h1>
  <section class="cards">
    <div class="card"><h2>Hit rate</h2><p id="hit-rate">–</p></div>
    <div class="card"><h2>Breaker</h2><p id="breaker">–</p></div>
    <div class="card"><h2>Bus</h2><p id="bus">–</p></div>
    <div class="card"><h2>L1 entries</h2><p id="l1">–</p></div>
    <div class="card"><h2>Store errors</h2><p id="store-errors">–</p></div>
  </section>
  <figure>
    <svg id="chart" viewBox="0 0 600 200" role="img" aria-label="Hit rate over time" data-points="0">
      <g class="grid">
        <line x1="40" y1="10" x2="590" y2="10"/><text x="4" y="14">100%</text>
        <line x1="40" y1="95" x2="590" y2="95"/><text x="10" y="99">50%</text>
        <line x1="40" y1="180" x2="590" y2="180"/><text x="16" y="184">0%</text>
      </g>
      <path id="line-total" d=""/>
      <path id="line-interval" d=""/>
    </svg>
    <figcaption>Hit rate (hits and stale serves over all lookups), last 2 minutes:
      <span class="swatch" style="background:#2563eb"></span>since start-up
      <span class="swatch" style="background:#16a34a"></span>each 2 s</figcaption>
  </figure>
  <table id="policies">
    <thead><tr><th>Policy</th><th>Hits L1</th><th>Hits L2</th><th>Misses</th><th>Stale</th><th>Hit rate</th><th>Loads</th><th>Errors</th><th>p99 load</th></tr></thead>
    <tbody></tbody>
  </table>
  <p id="updated"></p>
</main>
<script>
(() => {
  const token = new URLSearchParams(location.search).get('token') || '';
  const WINDOW = 60; // points: 2 minutes at one poll every 2 s
  const history = [];
  let previous;
  const $ = (id) => document.getElementById(id);
  const percent = (rate) => (rate === null || rate === undefined ? '–' : (rate * 100).toFixed(1) + '%');
  const ms = (value) => (value === undefined || value === null ? '–' : value < 10 ? value.toFixed(2) + ' ms' : Math.round(value) + ' ms');

  function path(values) {
    let d = '';
    let pen = false;
    values.forEach((value, i) => {
      if (value === null) { pen = false; return; }
      const x = 40 + (550 * i) / (WINDOW - 1);
      const y = 180 - 170 * value;
      d += (pen ? ' L' : (d ? ' M' : 'M')) + x.toFixed(1) + ' ' + y.toFixed(1);
      pen = true;
    });
    return d;
  }

  function render(stats) {
    const t = stats.totals;
    let interval = null;
    if (previous) {
      const served = t.hits + t.stale - (previous.hits + previous.stale);
      const lookups = served + t.misses - previous.misses;
      interval = lookups > 0 ? served / lookups : null;
    }
    previous = t;
    history.push({ total: t.hitRate, interval });
    if (history.length > WINDOW) history.shift();
    const offset = WINDOW - history.length;
    const pad = (key) => Array(offset).fill(null).concat(history.map((point) => point[key]));
    $('line-total').setAttribute('d', path(pad('total')));
    $('line-interval').setAttribute('d', path(pad('interval')));
    $('chart').dataset.points = String(history.filter((point) => point.total !== null).length);

    $('hit-rate').textContent = percent(t.hitRate);
    $('breaker').textContent = stats.breaker;
    $('breaker').className = stats.breaker === 'closed' ? 'ok' : 'bad';
    $('bus').textContent = stats.busSubscribed ? 'subscribed' : 'disconnected';
    $('bus').className = stats.busSubscribed ? 'ok' : 'bad';
    $('l1').textContent = String(stats.l1Entries);
    $('store-errors').textContent = stats.store.errors + (stats.store.timeouts ? ' (' + stats.store.timeouts + ' timeouts)' : '');

    const body = $('policies').tBodies[0];
    body.replaceChildren(...stats.policies.map((p) => {
      const served = p.hits.l1 + p.hits.l2 + p.stale;
      const lookups = served + p.misses;
      const cells = [p.policy, p.hits.l1, p.hits.l2, p.misses, p.stale, percent(lookups ? served / lookups : null), p.loads, p.loadErrors, ms(p.loadP99Ms)];
      const row = document.createElement('tr');
      row.dataset.policy = p.policy;
      for (const cell of cells) {
        const td = document.createElement('td');
        td.textContent = String(cell);
        row.appendChild(td);
      }
      return row;
    }));
    $('updated').textContent = 'Updated ' + new Date(stats.at).toLocaleTimeString();
  }

  async function poll() {
    try {
      const response = await fetch('/admin/cache/stats', { headers: { authorization: 'Bearer ' + token }, cache: 'no-store' });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      render(await response.json());
    } catch (error) {
      $('updated').textContent = 'Update failed: ' + error.message;
    }
  }
  poll();
  setInterval(poll, 2000);
})();
</script>
</body>
</html>
`;
