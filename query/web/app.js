/*
 * query/web/app.js - ctrail's page: the container list and one container's
 * timeline, from the /v1 API of the server that serves this file.
 *
 * Everything shown comes from evidence (container names, log lines, audit
 * URIs): it goes into the page as text nodes only, never as HTML.  The
 * token, when the server asks for one, is kept in sessionStorage: this tab
 * only, gone when it closes.
 */
'use strict';

const TOKEN_KEY = 'ctrail.token';
const PAGE = 500;
const $ = (id) => document.getElementById(id);

class AuthError extends Error {}

let retry = null;       // what to run again once a token is given
let listTimer = null;   // debounce of the filters
let timelineNext = null;
let current = null;     // the container shown

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

async function api(path) {
  const headers = { Accept: 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = 'Bearer ' + token;
  const r = await fetch(path, { headers });
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (r.status === 401) throw new AuthError((body && body.error) || 'a token is needed');
  if (!r.ok) throw new Error((body && body.error) || ('HTTP ' + r.status));
  return body;
}

function askToken(err, again) {
  retry = again;
  const had = sessionStorage.getItem(TOKEN_KEY);
  sessionStorage.removeItem(TOKEN_KEY);
  $('token-error').textContent = had ? 'that token was refused: ' + err.message : '';
  $('token-form').hidden = false;
  $('forget-token').hidden = true;
  $('token-input').focus();
}

function failed(where, err, again) {
  if (err instanceof AuthError) askToken(err, again);
  else where.textContent = 'error: ' + err.message;
}

function showTime(ts) {
  return ts ? ts.replace('T', ' ').replace('Z', '') : '-';
}

function isDead(c) {
  return Boolean(c.died || c.destroyed) ||
    ['exited', 'dead', 'destroyed', 'removed'].includes(c.state);
}

/* --- the container list --- */

function listQuery() {
  const q = new URLSearchParams({ limit: '5000' });
  const add = (name, id) => { const v = $(id).value.trim(); if (v) q.set(name, v); };
  add('q', 'f-q');
  add('since', 'f-since');
  add('until', 'f-until');
  add('image', 'f-image');
  add('pod', 'f-pod');
  add('privileged', 'f-priv');
  return q.toString();
}

function containerRow(c) {
  const tr = el('tr', isDead(c) ? 'dead' : '');
  tr.dataset.id = c.id;
  const id = el('td', 'mono', c.id.slice(0, 12));
  id.title = c.id;
  tr.append(id, el('td', '', c.name || '-'), el('td', '', c.image || '-'));
  const state = el('td', '', c.state || '?');
  state.title = (c.state || '?') + (isDead(c) ? ', dead' : '') +
    (c.exit_code !== null && c.exit_code !== undefined ? ', exit code ' + c.exit_code : '');
  if (c.privileged === true) state.prepend(el('span', 'badge priv', 'priv'), ' ');
  const created = el('td', '', showTime(c.created || c.first_seen).slice(0, 10));
  created.title = showTime(c.created || c.first_seen);
  tr.append(state, created);
  tr.append(el('td', '', c.pod ? (c.namespace || '') + '/' + c.pod : '-'));
  if (current === c.id) tr.classList.add('selected');
  tr.addEventListener('click', () => { location.hash = '#/c/' + encodeURIComponent(c.id); });
  return tr;
}

async function loadList() {
  const status = $('list-status');
  status.textContent = 'loading…';
  try {
    const page = await api('/v1/containers?' + listQuery());
    const dead = $('f-dead').checked;
    const rows = page.items.filter((c) => !dead || isDead(c));
    $('containers').tBodies[0].replaceChildren(...rows.map(containerRow));
    status.textContent = rows.length + ' container' + (rows.length === 1 ? '' : 's') +
      (page.next ? ' (the first ' + page.items.length + ' of ' + page.total + '; narrow the filters)' : '');
  } catch (err) {
    failed(status, err, loadList);
  }
}

function scheduleList() {
  clearTimeout(listTimer);
  listTimer = setTimeout(loadList, 250);
}

/* --- one container's timeline --- */

function category(r) {
  const kind = r.kind || '';
  if (r.source === 'k8s_audit') return 'audit';
  if (['syslog', 'text', 'auditd', 'container_log'].includes(r.source)) return 'hostlog';
  if (kind.includes('exec')) return 'exec';
  if (r.source === 'inspect') return 'inspect';
  return 'lifecycle';
}

function summary(r) {
  const raw = r.raw;
  if (typeof raw === 'string') return raw.length > 300 ? raw.slice(0, 300) + '…' : raw;
  if (!raw || typeof raw !== 'object') return '';
  const parts = [];
  const add = (label, v) => { if (v !== undefined && v !== null && v !== '') parts.push(label + v); };
  if (r.source === 'docker') {
    const a = (raw.Actor && raw.Actor.Attributes) || {};
    add('name=', a.name);
    add('image=', a.image);
    add('exitCode=', a.exitCode);
    add('signal=', a.signal);
    const action = raw.Action || raw.status || '';
    if (action.includes(': ')) add('cmd=', action.slice(action.indexOf(': ') + 2));
  } else if (r.source === 'inspect') {
    const st = raw.State || {};
    add('state=', st.Status);
    add('exit=', st.ExitCode);
    if (raw.HostConfig && raw.HostConfig.Privileged) parts.push('PRIVILEGED');
    add('image=', raw.Config && raw.Config.Image);
    add('cmd=', raw.Path ? [raw.Path].concat(raw.Args || []).join(' ') : undefined);
    const pc = raw.ProcessConfig;
    if (pc) add('exec=', [pc.entrypoint].concat(pc.arguments || []).join(' ') + (pc.user ? ' as ' + pc.user : ''));
  } else if (r.source === 'k8s_audit') {
    add('user=', raw.user && raw.user.username);
    add('', raw.verb);
    add('', raw.requestURI);
    add('code=', raw.responseStatus && raw.responseStatus.code);
  } else if (r.source === 'container_log') {
    add('', raw.log);
  }
  return parts.join(' ');
}

function timelineItem(r) {
  const cat = category(r);
  const li = el('li', cat);
  li.dataset.kind = r.kind || '';
  li.dataset.source = r.source;
  li.append(el('span', 'when', showTime(r.ts)), el('span', 'kind', r.kind || '-'),
    el('span', 'src', r.source + (r.host ? ' @' + r.host : '')), el('span', 'summary', summary(r)));
  const d = el('details', 'raw');
  d.append(el('summary', '', 'raw ' + (typeof r.raw === 'string' ? 'line' : 'JSON')));
  d.append(el('pre', '', typeof r.raw === 'string' ? r.raw : JSON.stringify(r.raw, null, 2)));
  li.append(d);
  return li;
}

function showFacts(c) {
  $('d-title').textContent = (c.name || c.id.slice(0, 12)) + (isDead(c) ? ' (dead)' : '');
  const dl = $('d-facts');
  dl.replaceChildren();
  const fact = (k, v) => { if (v !== null && v !== undefined && v !== '') dl.append(el('dt', '', k), el('dd', '', v)); };
  fact('id', c.id);
  fact('image', c.image);
  fact('state', c.state);
  fact('created', c.created && showTime(c.created));
  fact('started', c.started && showTime(c.started));
  fact('died', c.died && showTime(c.died));
  fact('destroyed', c.destroyed && showTime(c.destroyed));
  fact('exit code', c.exit_code);
  fact('privileged', c.privileged === null ? 'unknown' : c.privileged ? 'yes' : 'no');
  fact('pod', c.pod ? (c.namespace || '') + '/' + c.pod : null);
  $('d-details').textContent = JSON.stringify(c.details || {}, null, 2);
}

async function loadTimelinePage(id) {
  const status = $('timeline-status');
  const path = '/v1/containers/' + encodeURIComponent(id) + '/timeline?limit=' + PAGE +
    (timelineNext ? '&cursor=' + encodeURIComponent(timelineNext) : '');
  try {
    const page = await api(path);
    if (current !== id) return;
    $('timeline').append(...page.items.map(timelineItem));
    timelineNext = page.next;
    $('more').hidden = !page.next;
    const n = $('timeline').children.length;
    status.textContent = n + ' record' + (n === 1 ? '' : 's') + (page.next ? ' so far' : '');
  } catch (err) {
    failed(status, err, () => loadTimelinePage(id));
  }
}

async function openContainer(id) {
  current = id;
  timelineNext = null;
  $('timeline-hint').hidden = true;
  $('detail').hidden = false;
  $('timeline').replaceChildren();
  $('more').hidden = true;
  $('timeline-status').textContent = 'loading…';
  for (const tr of $('containers').tBodies[0].rows) tr.classList.toggle('selected', tr.dataset.id === id);
  try {
    showFacts(await api('/v1/containers/' + encodeURIComponent(id)));
  } catch (err) {
    failed($('timeline-status'), err, () => openContainer(id));
    return;
  }
  await loadTimelinePage(id);
}

function route() {
  const m = location.hash.match(/^#\/c\/(.+)$/);
  if (m) {
    openContainer(decodeURIComponent(m[1]));
  } else {
    current = null;
    $('detail').hidden = true;
    $('timeline-hint').hidden = false;
  }
}

function start() {
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = $('token-input').value.trim();
    if (!v) return;
    sessionStorage.setItem(TOKEN_KEY, v);
    $('token-input').value = '';
    $('token-form').hidden = true;
    $('forget-token').hidden = false;
    const again = retry;
    retry = null;
    loadList();
    if (again && again !== loadList) again();
  });
  $('forget-token').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.reload();
  });
  $('forget-token').hidden = !sessionStorage.getItem(TOKEN_KEY);
  $('filters').addEventListener('submit', (ev) => { ev.preventDefault(); loadList(); });
  for (const id of ['f-q', 'f-since', 'f-until', 'f-image', 'f-pod']) $(id).addEventListener('input', scheduleList);
  for (const id of ['f-priv', 'f-dead']) $(id).addEventListener('change', loadList);
  $('more').addEventListener('click', () => { if (current) loadTimelinePage(current); });
  window.addEventListener('hashchange', route);
  loadList();
  route();
}

start();
