// src/control/dashboard/app.js — the dashboard's logic: sign-in with an admin token, a poll of
// the admin API every second, rates and latency percentiles computed here from counter and
// histogram deltas between polls, and the audit trail read live over server-sent events.
// Plain browser JavaScript: no framework, no build step. Every value from the API reaches the
// page through textContent or a data attribute, never as markup.
'use strict';

const POLL_MS = 1000;
const WINDOW_MS = 5000; // rates and percentiles span the last five seconds of polls
const STREAM_RETRY_MS = 2000;
const MAX_EVENTS = 200; // audit records kept in the list
const TOKEN_KEY = 'ballast.adminToken';
const NONE = '—';

const $ = (selector) => document.querySelector(selector);

let token = null;
let session = 0; // bumped on sign-out so late answers of the old session are dropped
let pollTimer = null;
let polling = false;
let pollAgain = false; // a health event arrived mid-poll: poll again right after
let streamAbort = null;
let lastSeq = 0;
let history = []; // [{t, counters: Map, hists: Map}], oldest first

class AuthError extends Error {}

async function errorMessage(res) {
  try {
    const body = await res.json();
    if (body && body.error && body.error.message) {
      return body.error.message;
    }
  } catch (_) {
    // not JSON: fall back to the status
  }
  return `HTTP ${res.status}`;
}

async function api(path, accept = 'application/json') {
  const res = await fetch(path, {
    headers: {Authorization: `Bearer ${token}`, Accept: accept},
    cache: 'no-store',
  });
  if (res.status === 401 || res.status === 403) {
    throw new AuthError(await errorMessage(res));
  }
  if (!res.ok) {
    throw new Error(`${path}: ${await errorMessage(res)}`);
  }
  return accept === 'application/json' ? res.json() : res.text();
}

// ---- sign-in ----------------------------------------------------------------------------

function showSignIn(message) {
  $('#dashboard').hidden = true;
  $('#sign-out').hidden = true;
  $('#stream').hidden = true;
  $('#summary').textContent = '';
  $('#sign-in').hidden = false;
  const error = $('#sign-in-error');
  error.textContent = message || '';
  error.hidden = !message;
  $('#token').focus();
}

async function signIn(candidate) {
  token = candidate;
  try {
    const status = await api('/api/v1/status');
    sessionStorage.setItem(TOKEN_KEY, candidate);
    start(status);
  } catch (e) {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn(e instanceof AuthError ? `Sign-in failed: ${e.message}`
                                      : `Cannot reach Ballast: ${e.message}`);
  }
}

function signOut(message) {
  ++session;
  clearTimeout(pollTimer);
  pollTimer = null;
  polling = false;
  pollAgain = false;
  if (streamAbort) {
    streamAbort.abort();
    streamAbort = null;
  }
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  history = [];
  lastSeq = 0;
  $('#listeners tbody').replaceChildren();
  $('#pools').replaceChildren();
  $('#events').replaceChildren();
  showSignIn(message);
}

async function start(status) {
  $('#sign-in').hidden = true;
  $('#token').value = '';
  $('#dashboard').hidden = false;
  $('#sign-out').hidden = false;
  renderStatus(status);
  const mine = session;
  try {
    const past = await api('/api/v1/events');
    if (mine !== session) {
      return;
    }
    past.events.forEach(addEvent);
    lastSeq = Math.max(lastSeq, past.last_seq);
  } catch (e) {
    if (mine === session && e instanceof AuthError) {
      signOut(`Signed out: ${e.message}`);
      return;
    }
  }
  openStream(mine);
  poll();
}

// ---- polling and deltas -----------------------------------------------------------------

function pollSoon() {
  if (!token) {
    return;
  }
  if (polling) {
    pollAgain = true;
    return;
  }
  clearTimeout(pollTimer);
  poll();
}

async function poll() {
  const mine = session;
  polling = true;
  try {
    const [status, pools, listeners, metrics] = await Promise.all([
      api('/api/v1/status'),
      api('/api/v1/pools'),
      api('/api/v1/listeners'),
      api('/metrics', 'text/plain'),
    ]);
    if (mine !== session) {
      return;
    }
    record(listeners.listeners, pools.pools, metrics);
    renderStatus(status);
    renderListeners(listeners.listeners);
    renderPools(pools.pools);
    $('#fetch-error').hidden = true;
  } catch (e) {
    if (mine !== session) {
      return;
    }
    if (e instanceof AuthError) {
      signOut(`Signed out: ${e.message}`);
      return;
    }
    $('#fetch-error').textContent = `Update failed: ${e.message}`;
    $('#fetch-error').hidden = false;
  } finally {
    if (mine === session) {
      polling = false;
      clearTimeout(pollTimer);
      pollTimer = setTimeout(poll, pollAgain ? 0 : POLL_MS);
      pollAgain = false;
    }
  }
}

const listenerKey = (l) => `l/${l.name}`;
const backendKey = (pool, b) => `b/${pool}/${b.address}`;

function sumClasses(responses) {
  return responses ? Object.values(responses).reduce((a, b) => a + b, 0) : undefined;
}

// Stores this poll's counters and histograms; keeps one sample at least WINDOW_MS old.
function record(listeners, pools, metricsText) {
  const counters = new Map();
  const put = (key, value) => {
    if (typeof value === 'number') {
      counters.set(key, value);
    }
  };
  for (const l of listeners) {
    const k = listenerKey(l);
    put(`${k}/req`, l.requests_total);
    put(`${k}/conn`, l.connections_total);
    put(`${k}/resp`, sumClasses(l.responses));
    put(`${k}/5xx`, l.responses && l.responses['5xx']);
  }
  for (const p of pools) {
    for (const b of p.backends) {
      const k = backendKey(p.name, b);
      put(`${k}/req`, b.requests_total);
      put(`${k}/conn`, b.connections_total);
      put(`${k}/cerr`, b.connect_errors);
      put(`${k}/5xx`, b.responses && b.responses['5xx']);
    }
  }
  const now = performance.now();
  history.push({t: now, counters, hists: parseHistograms(metricsText)});
  while (history.length > 2 && now - history[1].t >= WINDOW_MS) {
    history.shift();
  }
}

// Counter growth over the window (null without two samples or after a counter reset).
function delta(key) {
  if (history.length < 2) {
    return null;
  }
  const a = history[0].counters.get(key);
  const b = history[history.length - 1].counters.get(key);
  if (a === undefined || b === undefined || b < a) {
    return null;
  }
  return b - a;
}

function windowSeconds() {
  return history.length < 2 ? 0 : (history[history.length - 1].t - history[0].t) / 1000;
}

function rate(key) {
  const d = delta(key);
  const s = windowSeconds();
  return d === null || s <= 0 ? null : d / s;
}

// Prometheus text → Map(series key → [[upper bound in seconds, cumulative count], …]).
function parseHistograms(text) {
  const families = {
    ballast_http_request_duration_seconds_bucket: (l) => `l/${l.listener}`,
    ballast_backend_response_duration_seconds_bucket: (l) => `b/${l.pool}/${l.backend}`,
  };
  const out = new Map();
  for (const line of text.split('\n')) {
    const brace = line.indexOf('{');
    const keyOf = brace > 0 ? families[line.slice(0, brace)] : undefined;
    if (!keyOf) {
      continue;
    }
    const close = line.lastIndexOf('}');
    const labels = parseLabels(line.slice(brace + 1, close));
    const count = Number(line.slice(close + 1).trim().split(' ')[0]);
    const key = keyOf(labels);
    if (!out.has(key)) {
      out.set(key, []);
    }
    out.get(key).push([labels.le === '+Inf' ? Infinity : Number(labels.le), count]);
  }
  for (const buckets of out.values()) {
    buckets.sort((x, y) => x[0] - y[0]);
  }
  return out;
}

function parseLabels(text) {
  const labels = {};
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
    labels[m[1]] = m[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

// The q-quantile of the requests observed in the window, interpolated inside its bucket the
// way PromQL's histogram_quantile does. Returns [seconds, beyondLastBound] or null.
function quantile(key, q) {
  if (history.length < 2) {
    return null;
  }
  const a = history[0].hists.get(key);
  const b = history[history.length - 1].hists.get(key);
  if (!a || !b || a.length !== b.length) {
    return null;
  }
  const buckets = b.map(([le, n], i) => [le, n - a[i][1]]);
  const total = buckets[buckets.length - 1][1];
  if (!(total > 0)) {
    return null;
  }
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) {
        return [prevLe, true];
      }
      return [prevLe + ((le - prevLe) * (rank - prevCount)) / (count - prevCount), false];
    }
    prevLe = le;
    prevCount = count;
  }
  return null;
}

// ---- formatting -------------------------------------------------------------------------

function fmtRate(r) {
  if (r === null) {
    return NONE;
  }
  return r < 10 ? r.toFixed(1) : String(Math.round(r));
}

function fmtShare(part, whole) {
  if (part === null || whole === null || whole <= 0) {
    return NONE;
  }
  const pct = (100 * part) / whole;
  if (pct === 0) {
    return '0%';
  }
  return `${pct < 1 ? pct.toFixed(2) : pct.toFixed(1)}%`;
}

function fmtSeconds(s) {
  const ms = s * 1000;
  if (ms < 1) {
    return `${ms.toFixed(2)} ms`;
  }
  if (ms < 1000) {
    return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  }
  return `${s.toFixed(2)} s`;
}

function fmtLatency(v) {
  return v === null ? NONE : `${v[1] ? '> ' : ''}${fmtSeconds(v[0])}`;
}

function fmtUptime(seconds) {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const parts = d > 0 ? [`${d}d`, `${h}h`] : h > 0 ? [`${h}h`, `${m}m`] : [`${m}m`, `${seconds % 60}s`];
  return parts.join(' ');
}

const sum = (...xs) => (xs.some((x) => x === null) ? null : xs.reduce((a, b) => a + b, 0));

// ---- rendering --------------------------------------------------------------------------

// Brings a tbody's rows in line with `items` (keyed, so rows persist between polls).
function syncRows(tbody, items, keyOf, fill) {
  const old = new Map([...tbody.rows].map((r) => [r.dataset.key, r]));
  let prev = null;
  for (const item of items) {
    const key = keyOf(item);
    let row = old.get(key);
    if (row) {
      old.delete(key);
    } else {
      row = document.createElement('tr');
      row.dataset.key = key;
    }
    fill(row, item);
    const want = prev ? prev.nextSibling : tbody.firstChild;
    if (row !== want) {
      tbody.insertBefore(row, want);
    }
    prev = row;
  }
  old.forEach((row) => row.remove());
}

// cells: [text, className] pairs.
function setCells(row, cells) {
  while (row.cells.length < cells.length) {
    row.insertCell();
  }
  cells.forEach(([text, cls], i) => {
    const cell = row.cells[i];
    if (cell.textContent !== text) {
      cell.textContent = text;
    }
    cell.className = cls || '';
  });
}

function renderStatus(s) {
  const parts = [`v${s.version}`, `up ${fmtUptime(s.uptime_seconds)}`,
                 `config generation ${s.config_generation}`, `${s.workers} workers (${s.io})`];
  if (s.draining) {
    parts.push('DRAINING');
  }
  $('#summary').textContent = parts.join(' · ');
}

function renderListeners(listeners) {
  syncRows($('#listeners tbody'), listeners, (l) => l.name, (row, l) => {
    const k = listenerKey(l);
    const http = l.protocol === 'http';
    row.dataset.listener = l.name;
    row.dataset.accepting = String(l.accepting);
    setCells(row, [
      [l.name, 'name'],
      [l.bind],
      [l.protocol],
      [l.pool],
      [String(l.connections_active ?? NONE), 'num'],
      [fmtRate(rate(`${k}/${http ? 'req' : 'conn'}`)) + (http ? '' : ' conn'), 'num rate'],
      [http ? fmtShare(delta(`${k}/5xx`), delta(`${k}/resp`)) : NONE, 'num errors'],
      [fmtLatency(quantile(k, 0.5)), 'num p50'],
      [fmtLatency(quantile(k, 0.9)), 'num p90'],
      [fmtLatency(quantile(k, 0.99)), 'num p99'],
    ]);
  });
}

function setBackendHealth(row, health) {
  row.dataset.health = health;
  row.cells[1].textContent = health;
}

function renderPools(pools) {
  const container = $('#pools');
  const old = new Map([...container.children].map((a) => [a.dataset.key, a]));
  for (const p of pools) {
    let article = old.get(p.name);
    if (article) {
      old.delete(p.name);
    } else {
      article = $('#pool-template').content.firstElementChild.cloneNode(true);
      article.dataset.key = p.name;
    }
    container.appendChild(article); // keeps the API's order
    const total = p.backends.length;
    article.dataset.pool = p.name;
    article.dataset.health = p.backends_up === total ? 'up' : p.backends_up === 0 ? 'down' : 'degraded';
    article.querySelector('.pool-name').textContent = p.name;
    article.querySelector('.pool-meta').textContent =
        `${p.algorithm} · ${p.backends_up}/${total} backends up`;
    syncRows(article.querySelector('tbody'), p.backends, (b) => b.address, (row, b) => {
      const k = backendKey(p.name, b);
      const http = (b.requests_total ?? 0) > 0;
      const attempts = sum(delta(`${k}/${http ? 'req' : 'conn'}`), delta(`${k}/cerr`));
      const errors = sum(http ? delta(`${k}/5xx`) : 0, delta(`${k}/cerr`));
      row.dataset.pool = p.name;
      row.dataset.backend = b.address;
      row.dataset.adminState = b.admin_state;
      setCells(row, [
        [b.address, 'name'],
        [b.ejected ? 'ejected' : b.health, 'health'],
        [b.admin_state, 'state'],
        [String(b.weight), 'num'],
        [String(b.active_connections), 'num'],
        [fmtRate(rate(`${k}/${http ? 'req' : 'conn'}`)) + (http ? '' : ' conn'), 'num rate'],
        [fmtShare(errors, attempts), 'num errors'],
        [fmtLatency(quantile(k, 0.5)), 'num p50'],
        [fmtLatency(quantile(k, 0.99)), 'num p99'],
        [b.check_latency_ms === undefined ? NONE : fmtSeconds(b.check_latency_ms / 1000), 'num'],
      ]);
      setBackendHealth(row, b.ejected ? 'ejected' : b.health);
    });
  }
  old.forEach((article) => article.remove());
}

// ---- audit stream -----------------------------------------------------------------------

function compact(value) {
  if (value === null || value === undefined) {
    return '∅';
  }
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

function describe(r) {
  const a = r.after || {};
  if (r.kind === 'backend.health') {
    return `${a.pool} ${a.backend} is ${a.up ? 'up' : 'down'}${a.reason ? ` (${a.reason})` : ''}`;
  }
  if (r.kind === 'backend.ejected') {
    return `${a.pool} ${a.backend} ejected for ${fmtSeconds(a.ejection_ms / 1000)} (${a.reason})`;
  }
  if (r.kind === 'backend.returned') {
    return `${a.pool} ${a.backend} back in service (${a.why})`;
  }
  return `${compact(r.before)} → ${compact(r.after)}`;
}

function addEvent(r) {
  const list = $('#events');
  if (list.querySelector(`li[data-seq="${Number(r.seq)}"]`)) {
    return; // seen before a reconnect
  }
  const li = document.createElement('li');
  li.dataset.seq = String(r.seq);
  li.dataset.kind = r.kind;
  const span = (cls, text) => {
    const s = document.createElement('span');
    s.className = cls;
    s.textContent = text;
    return s;
  };
  const time = document.createElement('time');
  const when = new Date(r.time_ms);
  time.dateTime = when.toISOString();
  time.textContent = when.toLocaleTimeString();
  li.append(time, span('kind', r.kind), span('actor', r.actor), span('detail', describe(r)));
  list.prepend(li);
  while (list.children.length > MAX_EVENTS) {
    list.lastElementChild.remove();
  }
}

// A health change seen on the stream shows at once; the poll it triggers fills in the rest.
function applyLive(r) {
  const kinds = ['backend.health', 'backend.ejected', 'backend.returned'];
  if (!kinds.includes(r.kind) || !r.after) {
    return;
  }
  const health = r.kind === 'backend.ejected' ? 'ejected'
      : r.kind === 'backend.returned' ? 'up' : r.after.up ? 'up' : 'down';
  for (const row of document.querySelectorAll('tr[data-backend]')) {
    if (row.dataset.pool === r.after.pool && row.dataset.backend === r.after.backend) {
      setBackendHealth(row, health);
    }
  }
  pollSoon();
}

function handleFrame(frame) {
  let event = 'message';
  const data = [];
  for (const line of frame.split('\n')) {
    if (line.startsWith('event:')) {
      event = line.slice(6).trim();
    } else if (line.startsWith('data:')) {
      data.push(line.slice(5).replace(/^ /, ''));
    }
  }
  if (event !== 'audit' || data.length === 0) {
    return;
  }
  const r = JSON.parse(data.join('\n'));
  lastSeq = Math.max(lastSeq, r.seq);
  addEvent(r);
  applyLive(r);
}

function setStreamState(state) {
  const badge = $('#stream');
  badge.hidden = false;
  badge.dataset.state = state;
  badge.textContent = state === 'open' ? 'live' : 'reconnecting…';
}

// EventSource cannot send an Authorization header, so the stream is read with fetch().
async function openStream(mine) {
  const abort = new AbortController();
  streamAbort = abort;
  try {
    const res = await fetch(`/api/v1/events?since=${lastSeq}`, {
      headers: {Authorization: `Bearer ${token}`, Accept: 'text/event-stream'},
      cache: 'no-store',
      signal: abort.signal,
    });
    if (res.status === 401 || res.status === 403) {
      if (mine === session) {
        signOut(`Signed out: ${await errorMessage(res)}`);
      }
      return;
    }
    if (res.ok && res.body) {
      setStreamState('open');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const {value, done} = await reader.read();
        if (done) {
          break;
        }
        buffer += value.replace(/\r\n?/g, '\n');
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          handleFrame(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    }
  } catch (_) {
    // network error or abort: retried below unless signed out
  }
  if (mine !== session || abort.signal.aborted) {
    return;
  }
  setStreamState('closed');
  setTimeout(() => {
    if (mine === session) {
      openStream(mine);
    }
  }, STREAM_RETRY_MS);
}

// ---- wiring -----------------------------------------------------------------------------

$('#sign-in-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const candidate = $('#token').value.trim();
  if (candidate) {
    signIn(candidate);
  }
});
$('#sign-out').addEventListener('click', () => signOut(''));

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) {
  signIn(saved);
} else {
  showSignIn('');
}
