// The Lethe dashboard: a thin page over the HTTP API (docs/api.md). It signs in by turning a token into an HttpOnly
// session cookie, and every view is built from the API's JSON with textContent, never from markup in the data.

const FINAL = new Set(['completed', 'denied', 'canceled']);
const main = document.getElementById('main');
const status = document.getElementById('status');
let me = null;

/** An element with attributes and children (strings become text nodes). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

function say(text) {
  status.textContent = text;
  if (text) setTimeout(() => { if (status.textContent === text) status.textContent = ''; }, 6000);
}

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

/** Calls the API with the session cookie; changes carry the CSRF header the server asks for. */
async function api(method, path, body) {
  const res = await fetch(path, {
    method, credentials: 'same-origin',
    headers: { 'x-lethe-csrf': '1', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data?.detail ?? res.statusText);
  return data;
}

/** A GET whose 404 means "not there yet" (no assessment, no certificate): null instead of an error. */
async function getIfAny(path) {
  try {
    return await api('GET', path);
  } catch (err) {
    if (err.status === 404) return null;
    throw err;
  }
}

const may = (...roles) => me !== null && (me.role === 'admin' || roles.includes(me.role));
const days = (r) => (r.daysLeft === null ? '—' : r.overdue ? `${-r.daysLeft} d overdue` : `${r.daysLeft} d`);

function show(title, ...content) {
  main.replaceChildren(h('h2', {}, title), ...content.filter((c) => c !== null && c !== undefined));
  document.title = `${title} · Lethe`;
}

function table(head, rows) {
  return h('table', {}, h('thead', {}, h('tr', {}, head.map((x) => h('th', { scope: 'col' }, x)))), h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c))))));
}

function signIn(problem) {
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true, size: 60 });
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api('POST', '/api/session', { token: input.value });
        location.hash = '#/';
        await start();
      } catch (err) {
        say(`Not signed in: ${err.message}`);
      }
    },
  }, h('label', { for: 'token' }, 'API token (lethe token create, or the admin token lethe serve printed)'), input, ' ', h('button', { class: 'primary', type: 'submit' }, 'Sign in'));
  show('Sign in', problem ? h('p', { class: 'bad' }, problem) : null, form);
  input.focus();
}

async function overview() {
  const rs = await api('GET', '/api/requests');
  const open = rs.filter((r) => !FINAL.has(r.state));
  const cards = [
    ['open', open.length, ''], ['due within 7 days', open.filter((r) => r.daysLeft !== null && r.daysLeft >= 0 && r.daysLeft <= 7).length, ''],
    ['overdue', rs.filter((r) => r.overdue).length, 'bad'], ['failed', rs.filter((r) => r.state === 'failed').length, 'bad'],
  ];
  let stuck = null;
  if (may('operator', 'auditor')) {
    const jobs = await api('GET', '/api/jobs?state=running');
    stuck = jobs.filter((j) => j.stale).length;
    cards.push(['stuck jobs (lease expired)', stuck, 'bad']);
  }
  const attention = rs.filter((r) => r.overdue || r.state === 'failed' || (r.daysLeft !== null && r.daysLeft <= 7 && !FINAL.has(r.state)));
  show('Overview',
    h('div', { class: 'cards' }, cards.map(([label, n, cls]) => h('div', { class: 'card' }, h('b', { class: n > 0 ? cls : '' }, n), label))),
    h('h3', {}, 'Needs attention'),
    attention.length === 0 ? h('p', { class: 'muted' }, 'Nothing is overdue, failed or due within a week.') : requestTable(attention));
}

function requestTable(rs) {
  return table(['request', 'state', 'days left', 'due', 'requester'], rs.map((r) => [
    h('a', { href: `#/requests/${encodeURIComponent(r.id)}` }, r.id), r.state, h('span', { class: r.overdue ? 'bad' : '' }, days(r)), r.dueAt ?? '(waits for identity)', r.requester,
  ]));
}

async function requests(params) {
  const state = params.get('state') ?? '';
  const states = ['', 'identity_unverified', 'pending_approval', 'approved', 'assessing', 'requires_input', 'queued', 'erasing', 'verifying', 'completed', 'failed', 'denied', 'canceled', 'paused'];
  const rs = await api('GET', `/api/requests${state ? `?state=${encodeURIComponent(state)}` : ''}`);
  const select = h('select', { id: 'state', onchange: (e) => { location.hash = `#/requests${e.target.value ? `?state=${e.target.value}` : ''}`; } },
    states.map((s) => h('option', { value: s, selected: s === state }, s || 'every state')));
  const models = may('requester', 'operator') ? await api('GET', '/api/models') : [];
  show('Requests', may('requester', 'operator') ? fileForm(models) : null, h('label', { for: 'state' }, 'State'), select, rs.length === 0 ? h('p', { class: 'muted' }, 'No requests.') : requestTable(rs));
}

/** Filing a request: the subject's identifiers, the models and corpora in scope, the legal ground. */
function fileForm(models) {
  const field = (id, label, attrs = {}) => [h('label', { for: id }, label), h('input', { id, name: id, size: 60, ...attrs })];
  const list = (form, name) => form.elements[name].value.split(',').map((x) => x.trim()).filter(Boolean);
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      const f = e.target;
      try {
        const r = await api('POST', '/api/requests', {
          subject: { names: list(f, 'names'), emails: list(f, 'emails') },
          scope: { models: list(f, 'models'), corpora: list(f, 'corpora') },
          legalGround: f.elements.ground.value, requester: me.name, identityVerified: f.elements.verified.checked,
        });
        say(`Filed ${r.request.id}`);
        location.hash = `#/requests/${encodeURIComponent(r.request.id)}`;
      } catch (err) {
        say(`Not filed: ${err.message}`);
      }
    },
  },
  ...field('names', 'Names of the subject (comma-separated)'), ...field('emails', 'E-mail addresses (comma-separated)'),
  ...field('models', 'Model folders in scope (comma-separated, on the server)', { required: true, list: 'registered-models' }),
  h('datalist', { id: 'registered-models' }, models.map((m) => h('option', { value: m.path }, `${m.architecture}, ${m.summary.layers} layers`))), ...field('corpora', 'Training-data files in scope (comma-separated, on the server)'),
  h('label', { for: 'ground' }, 'Legal ground, GDPR Art. 17(1)'),
  h('select', { id: 'ground', name: 'ground' }, ['a', 'b', 'c', 'd', 'e', 'f'].map((g) => h('option', { value: g }, `(${g})`))),
  h('label', {}, h('input', { type: 'checkbox', id: 'verified', name: 'verified' }), ' The subject\'s identity is verified'),
  h('p', {}, h('button', { class: 'primary', type: 'submit' }, 'File request')));
  return h('details', {}, h('summary', {}, 'File an erasure request'), form);
}

/** The buttons an operator has for a request in its state. */
function actions(r, hasCertificate, reload) {
  if (!may('operator')) return null;
  const act = (label, path, body) => h('button', {
    type: 'button',
    onclick: async () => {
      try {
        await api('POST', `/api/requests/${encodeURIComponent(r.id)}/${path}`, body);
        say(`${label}: done`);
        await reload();
      } catch (err) {
        say(`${label}: ${err.message}`);
      }
    },
  }, label);
  const buttons = [];
  if (r.state === 'identity_unverified') buttons.push(act('Verify identity', 'verify-identity'));
  if (r.state === 'pending_approval') buttons.push(act('Approve', 'approve'));
  if (r.state === 'identity_unverified' || r.state === 'pending_approval') buttons.push(act('Deny (insufficient verification)', 'deny', { reason: 'insufficient_verification' }));
  if (r.state === 'failed') buttons.push(act('Retry', 'retry'));
  if (r.state === 'paused') buttons.push(act('Resume', 'resume'));
  if (!FINAL.has(r.state)) buttons.push(act('Cancel (duplicate)', 'cancel', { reason: 'duplicate' }));
  if (r.state === 'completed' && !hasCertificate) buttons.push(act('Issue certificate', 'certificate'));
  return buttons.length ? h('p', {}, buttons) : null;
}

function jobsTable(snapshot, chart) {
  const rows = snapshot.jobs.map((j) => [
    j.kind, j.state, `${j.attempts}/${j.maxAttempts}`,
    j.progress ? h('span', {}, h('progress', { max: j.progress.total, value: j.progress.step, 'aria-label': `${j.kind} progress` }), ` step ${j.progress.step} of ${j.progress.total}, loss ${j.progress.loss.toFixed(3)}`) : '—',
    j.lastError ?? '',
  ]);
  const hasCurve = snapshot.jobs.some((j) => j.kind === 'erase' && j.progress);
  if (hasCurve) chart.src = `/api/requests/${encodeURIComponent(snapshot.request.id)}/loss.svg?at=${Date.now()}`;
  chart.hidden = !hasCurve;
  return table(['job', 'state', 'attempts', 'progress', 'last error'], rows);
}

/** The request's certificate, or null when none has been issued (or the request is not completed). */
async function certificateOf(r) {
  return r.state === 'completed' ? getIfAny(`/api/requests/${encodeURIComponent(r.id)}/certificate`) : null;
}

function certificatePanel(r, envelope) {
  const panel = h('section', { 'aria-labelledby': 'cert-h' }, h('h3', { id: 'cert-h' }, 'Certificate'));
  if (!envelope) {
    panel.append(h('p', { class: 'muted' }, r.state === 'completed' ? 'Not issued yet (an operator issues it).' : 'Issued once the request is completed.'));
    return panel;
  }
  const result = h('p', { id: 'cert-result', 'aria-live': 'polite' });
  const blob = new Blob([JSON.stringify(envelope, null, 2)], { type: 'application/json' });
  panel.append(
    h('p', {}, h('a', { href: URL.createObjectURL(blob), download: `certificate-${r.id}.json` }, 'Download certificate (DSSE envelope)'), ' ',
      h('button', {
        type: 'button',
        onclick: async () => {
          const v = await api('POST', '/api/certificates/verify', { envelope });
          result.className = v.verified ? 'good' : 'bad';
          result.textContent = v.verified
            ? `Verified: signature, statement and audit inclusion proof check out (verification ${v.statement.predicate.verification.result}).`
            : `NOT verified: ${v.problem}`;
        },
      }, 'Verify certificate')),
    result,
  );
  return panel;
}

/** What the assessment found (record counts per corpus, the method chosen per model), for those who may read it. */
async function findingsPanel(r) {
  if (!may('operator', 'auditor')) return null;
  const a = await getIfAny(`/api/requests/${encodeURIComponent(r.id)}/assessment`);
  if (!a) return h('p', { class: 'muted' }, 'Not assessed yet.');
  return h('div', {},
    table(['corpus', 'records matched', 'to confirm'], a.corpora.map((c) => [c.corpus.path, new Set(c.matches.map((m) => m.record)).size, c.matches.filter((m) => m.score < a.threshold).length])),
    table(['model', 'records found', 'method', 'why'], a.models.map((m) => [m.model, m.recordsFound, m.recommendation.method, m.recommendation.why])));
}

/** The verification against the bar: each criterion's value next to its bar, per model of the last attempt. */
async function verificationPanel(r) {
  if (!may('operator', 'auditor')) return null;
  const v = await getIfAny(`/api/requests/${encodeURIComponent(r.id)}/verification`);
  if (!v) return h('p', { class: 'muted' }, 'Not verified yet.');
  const last = v.attempts.at(-1);
  if (!last) return h('p', {}, `Result: ${v.result}.`);
  const num = (x) => (x === null || x === undefined ? '—' : Number(x).toFixed(3));
  return h('div', {},
    h('p', {}, h('b', { class: v.result === 'PASSED' ? 'good' : v.result === 'FAILED' ? 'bad' : '' }, v.result), ` after ${v.attempts.length} attempt(s): ${last.summary}`),
    last.models.map((m) => h('div', {},
      h('p', { class: 'muted' }, `${m.model} (${m.method}): forget probability ${num(m.forgetProbability.before)} → ${num(m.forgetProbability.after)}${m.forgetProbability.nonMember === null ? '' : `, non-members ${num(m.forgetProbability.nonMember)}`}`),
      table(['criterion', 'status', 'value', 'bar', 'before', 'note'], m.criteria.map((c) => [
        c.label, h('span', { class: c.status === 'met' ? 'good' : c.status === 'missed' ? 'bad' : 'muted' }, c.status), num(c.value), num(c.bar), num(c.before), c.note ?? '',
      ])))));
}

let stream = null;

async function requestDetail(id) {
  const reload = () => requestDetail(id);
  const r = await api('GET', `/api/requests/${encodeURIComponent(id)}`);
  const envelope = await certificateOf(r);
  const chart = h('img', { class: 'chart', alt: 'loss curve of the erasure', hidden: true });
  const jobs = h('div', {}, h('p', { class: 'muted' }, 'No jobs yet.'));
  const stateLine = h('p', {}, h('b', { id: 'state' }, r.state), ` · due ${r.dueAt ?? '(waits for identity)'} · ${days(r)}`);
  show(`Request ${r.id}`,
    stateLine,
    h('p', { class: 'muted' }, `Art. 17(1)(${r.legalGround}) · requester ${r.requester} · scope: ${r.scope.models.join(', ')}`),
    actions(r, envelope !== null, reload),
    may('operator', 'auditor') ? h('h3', {}, 'Records found') : null, await findingsPanel(r),
    h('h3', {}, 'Jobs'), jobs, chart,
    may('operator', 'auditor') ? h('h3', {}, 'Verification against the bar') : null, await verificationPanel(r),
    h('h3', {}, 'Timeline'),
    table(['when', 'from', 'to', 'who', 'reason'], r.history.map((e) => [e.at, e.from ?? '—', e.to, e.actor, e.reason ?? ''])),
    certificatePanel(r, envelope),
    may('operator', 'auditor') ? h('p', {}, h('a', { href: `/api/requests/${encodeURIComponent(r.id)}/report`, target: '_blank', rel: 'noopener' }, 'DPO report (opens in a new tab)')) : null);
  // Live: the event stream sends a snapshot whenever the state or a job's progress changes, and ends at a final state.
  stream?.close();
  stream = new EventSource(`/api/requests/${encodeURIComponent(id)}/events`);
  let lastState = r.state;
  stream.addEventListener('progress', (e) => {
    const snap = JSON.parse(e.data);
    jobs.replaceChildren(snap.jobs.length ? jobsTable(snap, chart) : h('p', { class: 'muted' }, 'No jobs yet.'));
    if (snap.request.state !== lastState) {
      lastState = snap.request.state;
      say(`State: ${lastState}`);
      stream.close();
      void reload();
    }
  });
  stream.addEventListener('error', () => stream.close());
}

async function workers() {
  const jobs = await api('GET', '/api/jobs?limit=100');
  show('Workers and leases', table(['job', 'request', 'kind', 'state', 'worker', 'lease until', 'attempts', 'last error'], jobs.map((j) => [
    j.id, h('a', { href: `#/requests/${encodeURIComponent(j.requestId)}` }, j.requestId), j.kind, h('span', { class: j.stale ? 'bad' : '' }, j.stale ? `${j.state} (lease expired)` : j.state),
    j.worker ?? '—', j.leaseUntil ?? '—', `${j.attempts}/${j.maxAttempts}`, j.lastError ?? '',
  ])));
}

async function audit() {
  const cps = await api('GET', '/api/audit/checkpoints');
  const result = h('p', { id: 'audit-result', 'aria-live': 'polite' });
  const verify = h('button', {
    type: 'button', class: 'primary',
    onclick: async () => {
      const v = await api('GET', '/api/audit/verify');
      result.className = v.ok ? 'good' : 'bad';
      result.textContent = v.ok ? `Audit log verified: ${v.entries} entries, ${v.checkpoints} checkpoints.` : `Audit log NOT verified: ${v.problem}`;
    },
  }, 'Verify the audit log');
  const sign = may('operator') ? h('button', { type: 'button', onclick: async () => { await api('POST', '/api/audit/checkpoints'); say('Checkpoint signed'); await audit(); } }, 'Sign a checkpoint now') : null;
  show('Audit log', h('p', {}, verify, sign), result,
    cps.length === 0 ? h('p', { class: 'muted' }, 'No checkpoints yet.') : table(['entries', 'root', 'signed at'], cps.map((c) => [c.size, h('code', {}, c.root), c.at])));
}

async function route() {
  stream?.close();
  const [path, query] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query ?? '');
  try {
    if (!path || path === '/') await overview();
    else if (path === '/requests') await requests(params);
    else if (path.startsWith('/requests/')) await requestDetail(decodeURIComponent(path.slice('/requests/'.length)));
    else if (path === '/workers') await workers();
    else if (path === '/audit') await audit();
    else show('Not found', h('p', {}, 'No such page.'));
    main.focus();
  } catch (err) {
    if (err.status === 401) return signIn(err.message);
    show('Error', h('p', { class: 'bad' }, err.message));
  }
}

async function start() {
  try {
    me = await api('GET', '/api/me');
  } catch (err) {
    me = null;
    document.getElementById('who').replaceChildren();
    return signIn(err.status === 401 ? null : err.message);
  }
  const out = h('button', { type: 'button', onclick: async () => { await api('DELETE', '/api/session'); me = null; await start(); } }, 'Sign out');
  document.getElementById('who').replaceChildren(`${me.name} (${me.role}${me.role === 'auditor' ? ', read-only' : ''}) `, out);
  await route();
}

window.addEventListener('hashchange', () => void route());
void start();
