#!/usr/bin/env node
'use strict';
/**
 * `npm run bench`: runs every root package.json script named `bench:*` (except `bench:install`), one after the
 * other, and writes docs/benchmarks.md with a table per benchmark and SVG bar charts beside it in docs/.
 *
 * Contract for a benchmark script: print whatever it likes, and as its LAST line of stdout one JSON object:
 *   { "bench": "name", "title"?: "...", "description"?: "...",
 *     "tables"?: { "table title": [ { "library": "...", "p99Ms": 12.3, ... }, ... ] },
 *     "notes"?: [ "..." ], "environment"?: { ... }, ...anything else }
 * With `tables`, each becomes a Markdown table (columns in the order of the first row's keys); without, the object's
 * nested objects are flattened into one table. Numeric columns named in CHART_METRICS get a bar chart per benchmark.
 * A new `bench:*` script joins the suite by being added to package.json; nothing here needs to change.
 * BENCH_ONLY=stampede,hit reruns only those and rebuilds the page with the others' last results (bench/results/).
 */
const { spawn } = require('node:child_process');
const { existsSync, mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const DOCS = path.join(ROOT, 'docs');
const PAGE = path.join(DOCS, 'benchmarks.md');
const SKIPPED = new Set(['bench:install']);
const RESULTS = path.join(ROOT, 'bench', 'results');
/** With BENCH_ONLY, the benchmarks to run again (names without `bench:`); the others' last results are reused. */
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((name) => name.trim())) : undefined;

/** Metrics charted when a benchmark's tables have them: column -> axis title. */
const CHART_METRICS = {
  p99Ms: 'p99 caller latency (ms)',
  loaderCalls: 'loader calls',
  syncMisses: 'synchronous misses (callers that waited for a load)',
};

async function main() {
  const scripts = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts ?? {};
  const names = Object.keys(scripts)
    .filter((name) => name.startsWith('bench:') && !SKIPPED.has(name))
    .sort();
  if (names.length === 0) throw new Error('no bench:* scripts in package.json');
  if (scripts['bench:install'] && !existsSync(path.join(ROOT, 'bench', 'peers', 'node_modules'))) {
    console.log('> peers not installed: npm run bench:install');
    const install = await run('bench:install');
    if (install.code !== 0) throw new Error('npm run bench:install failed');
  }

  const outcomes = [];
  for (const name of names) {
    const previous = path.join(RESULTS, `${name.slice('bench:'.length)}.json`);
    if (ONLY && !ONLY.has(name.slice('bench:'.length))) {
      const summary = existsSync(previous) ? JSON.parse(readFileSync(previous, 'utf8')) : undefined;
      console.log(`\n> ${name}: not run (BENCH_ONLY), ${summary ? 'its last results reused' : 'no earlier results'}`);
      outcomes.push({ script: name, seconds: undefined, summary, error: summary ? undefined : 'not run, and no earlier results' });
      continue;
    }
    console.log(`\n> npm run ${name}`);
    const started = Date.now();
    const { code, stdout } = await run(name);
    const seconds = (Date.now() - started) / 1000;
    const summary = lastJsonLine(stdout);
    const error = code !== 0 ? `exited with code ${code}` : summary ? undefined : 'printed no JSON summary as its last line';
    if (error) console.error(`! ${name} ${error}`);
    outcomes.push({ script: name, seconds, summary, error });
  }

  mkdirSync(DOCS, { recursive: true });
  const charts = [];
  for (const outcome of outcomes.filter((candidate) => candidate.summary)) {
    for (const [metric, title] of Object.entries(CHART_METRICS)) {
      const svg = barChart(tablesOf(outcome.summary), metric, title);
      if (!svg) continue;
      const file = `benchmarks-${slug(outcome.summary.bench ?? outcome.script)}-${slug(metric)}.svg`;
      writeFileSync(path.join(DOCS, file), svg);
      charts.push({ script: outcome.script, file, title });
    }
  }
  writeFileSync(PAGE, page(outcomes, charts));
  console.log(`\nwrote ${path.relative(ROOT, PAGE)} and ${charts.length} chart(s): ${charts.map((chart) => `docs/${chart.file}`).join(', ')}`);
  const failed = outcomes.filter((outcome) => outcome.error);
  if (failed.length > 0) {
    console.error(`${failed.length} benchmark(s) failed: ${failed.map((outcome) => outcome.script).join(', ')}`);
    process.exitCode = 1;
  }
}

/** Runs `npm run <name>`, echoing its output, and resolves to its exit code and stdout. */
function run(name) {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', name], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      process.stdout.write(chunk);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout }));
  });
}

function lastJsonLine(stdout) {
  const line = stdout.trim().split('\n').pop()?.trim();
  if (!line?.startsWith('{')) return undefined;
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** The benchmark's tables, or one table flattened from its nested objects. */
function tablesOf(summary) {
  if (summary.tables && typeof summary.tables === 'object') return summary.tables;
  const rows = [];
  const walk = (value, trail) => {
    const entries = Object.entries(value);
    const leaves = entries.filter(([, child]) => child === null || typeof child !== 'object');
    if (trail.length > 0 && leaves.length > 0) rows.push({ name: trail.join(' / '), ...Object.fromEntries(leaves) });
    for (const [key, child] of entries) if (child && typeof child === 'object' && !Array.isArray(child)) walk(child, [...trail, key]);
  };
  const { bench, title, description, notes, environment, ...rest } = summary;
  walk(rest, []);
  return rows.length > 0 ? { [title ?? bench]: rows } : {};
}

function page(outcomes, charts) {
  const lines = [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench\` (bench/run-all.js) on ${new Date().toISOString().slice(0, 10)}; do not edit by hand, run it again.`,
    `Machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()}.`,
    '',
    '## How to run',
    '',
    '```sh',
    'npm ci',
    'npm run bench:install      # the peer libraries, in their own package (bench/peers)',
    'npm run bench              # every bench:* script, then this page and its charts',
    'npm run bench:stampede     # one benchmark; prints a table and a JSON summary as its last line',
    '```',
    '',
    'Redis: `REDIS_URL` if set, else 127.0.0.1:6379 if it answers, else a `redis-server` from the PATH on a free port.',
    'A benchmark joins the suite by being a root script named `bench:*` whose last line of output is a JSON summary',
    '(see bench/run-all.js). Numbers depend on the machine and on what else runs on it: compare rows of one run, not',
    'runs of different machines.',
    '',
    '| benchmark | script | time | status |',
    '| --- | --- | ---: | --- |',
    ...outcomes.map(
      (o) =>
        `| ${escapeCell(o.summary?.title ?? o.script)} | \`npm run ${o.script}\` | ${o.seconds === undefined ? '-' : `${o.seconds.toFixed(0)} s`} | ${o.error ? `failed: ${escapeCell(o.error)}` : o.seconds === undefined ? 'ok (results of an earlier run)' : 'ok'} |`,
    ),
  ];
  for (const outcome of outcomes) {
    const summary = outcome.summary;
    lines.push('', `## ${summary?.title ?? outcome.script}`, '', `\`npm run ${outcome.script}\``);
    if (!summary) {
      lines.push('', `No results: the script ${outcome.error}.`);
      continue;
    }
    if (summary.description) lines.push('', summary.description);
    const environment = summary.environment;
    if (environment && typeof environment === 'object') {
      lines.push('', '<details><summary>Environment of the run</summary>', '');
      for (const [key, value] of Object.entries(environment)) {
        const text = typeof value === 'object' ? Object.entries(value).map(([k, v]) => `${k}: ${v}`).join('; ') : String(value);
        lines.push(`- ${key}: ${escapeCell(text)}`);
      }
      lines.push('', '</details>');
    }
    for (const [title, rows] of Object.entries(tablesOf(summary))) {
      if (!Array.isArray(rows) || rows.length === 0) continue;
      lines.push('', `### ${title}`, '', ...markdownTable(rows));
    }
    for (const chart of charts.filter((candidate) => candidate.script === outcome.script)) {
      lines.push('', `![${chart.title}](${chart.file})`);
    }
    if (Array.isArray(summary.notes) && summary.notes.length > 0) {
      lines.push('', ...summary.notes.map((note) => `- ${note}`));
    }
  }
  return `${lines.join('\n')}\n`;
}

function markdownTable(rows) {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const numeric = columns.map((column) => rows.some((row) => typeof row[column] === 'number'));
  const cell = (value) => (value === undefined || value === null ? '-' : typeof value === 'boolean' ? (value ? 'yes' : 'no') : escapeCell(String(value)));
  return [
    `| ${columns.join(' | ')} |`,
    `| ${numeric.map((isNumber) => (isNumber ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((row) => `| ${columns.map((column) => cell(row[column])).join(' | ')} |`),
  ];
}

/**
 * A horizontal bar chart of one metric: one panel per table that has it, one bar per row, labelled by the row's
 * first text column. Rows whose label starts with "ours" are drawn in the accent colour. A log scale is used when
 * the values span more than two orders of magnitude (e.g. 1 vs 1,000 loader calls).
 */
function barChart(tables, metric, axisTitle) {
  const panels = Object.entries(tables)
    .map(([title, rows]) => {
      if (!Array.isArray(rows)) return undefined;
      const labelKey = Object.keys(rows[0] ?? {}).find((key) => typeof rows[0][key] === 'string');
      const bars = rows.filter((row) => typeof row[metric] === 'number').map((row) => ({ label: String(row[labelKey] ?? ''), value: row[metric] }));
      return bars.length > 0 ? { title, bars } : undefined;
    })
    .filter(Boolean);
  if (panels.length === 0) return undefined;

  const values = panels.flatMap((panel) => panel.bars.map((bar) => bar.value));
  const max = Math.max(...values, 0);
  const minPositive = Math.min(...values.filter((value) => value > 0));
  const log = max > 0 && Number.isFinite(minPositive) && max / minPositive > 100;
  const width = 820;
  const labelWidth = 280;
  const barArea = width - labelWidth - 90;
  const barHeight = 16;
  const rowHeight = 22;
  const scale = (value) => {
    if (value <= 0 || max <= 0) return 0;
    if (!log) return (value / max) * barArea;
    const top = Math.log10(max) + 0.1; // 1 (log 0) still gets a sliver, so it is not mistaken for 0
    return Math.max(2, ((Math.log10(value) + 0.1) / top) * barArea);
  };

  const parts = [];
  let y = 34;
  parts.push(`<text x="10" y="22" font-size="15" font-weight="bold">${xml(axisTitle)}${log ? ' (log scale)' : ''}</text>`);
  for (const panel of panels) {
    y += 14;
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold" fill="#333">${xml(panel.title)}</text>`);
    y += 8;
    for (const bar of panel.bars) {
      const length = scale(bar.value);
      const ours = /^ours\b/i.test(bar.label);
      parts.push(
        `<text x="${labelWidth - 8}" y="${y + 12}" font-size="12" text-anchor="end">${xml(bar.label)}</text>`,
        `<rect x="${labelWidth}" y="${y}" width="${length.toFixed(1)}" height="${barHeight}" fill="${ours ? '#d9480f' : '#868e96'}"/>`,
        `<text x="${(labelWidth + length + 6).toFixed(1)}" y="${y + 12}" font-size="12">${xml(formatNumber(bar.value))}</text>`,
      );
      y += rowHeight;
    }
  }
  const height = y + 16;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function formatNumber(value) {
  return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(1);
}

function xml(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function escapeCell(text) {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function slug(text) {
  return String(text)
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

main().catch((error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
