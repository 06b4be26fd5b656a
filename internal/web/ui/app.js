// facegate's main page. Plain ES module, no build step, no inline script.
// Everything shown comes from the JSON API; every change anywhere arrives
// through /api/stream (server-sent events), so the page never polls for it.
// Data is always put in the page with textContent, never as HTML.

const $ = (id) => document.getElementById(id);
const collator = new Intl.Collator('ko', { sensitivity: 'base', numeric: true });

const state = {
  people: [],
  selected: null, // person id
  cameras: [],
  camera: '',
  eventsNext: '',
};

// ---- API ----

class APIError extends Error {}

async function api(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: {} };
  if (body instanceof FormData) {
    opts.body = body;
  } else if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  if (r.status === 401) {
    location.assign('/login');
    throw new APIError('logged out');
  }
  let data = null;
  if (r.status !== 204) {
    const ct = r.headers.get('Content-Type') || '';
    data = ct.startsWith('application/json') ? await r.json() : await r.blob();
  }
  if (!r.ok) {
    const e = new APIError((data && data.error) || r.statusText);
    e.data = data;
    throw e;
  }
  return data;
}

let toastTimer = 0;
function toast(text, bad = false) {
  const t = $('toast');
  t.textContent = text;
  t.classList.toggle('bad', bad);
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, 4000);
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// ---- people ----

function renderPeople(list) {
  state.people = [...list].sort((a, b) => collator.compare(a.name, b.name));
  if (state.selected && !state.people.some((p) => p.id === state.selected)) state.selected = null;
  const ul = $('people');
  ul.replaceChildren();
  for (const p of state.people) {
    const li = el('li', 'person');
    li.dataset.id = p.id;
    const b = el('button', 'pick');
    b.type = 'button';
    b.append(el('span', 'name', p.name), el('span', 'muted count', String(p.samples)));
    b.setAttribute('aria-pressed', String(p.id === state.selected));
    b.addEventListener('click', () => select(p.id === state.selected ? null : p.id));
    li.append(b);
    if (p.id === state.selected) li.append(personTools(p));
    ul.append(li);
  }
  $('people-count').textContent = state.people.length ? `(${state.people.length})` : '';
  const sel = $('ev-person');
  const cur = sel.value;
  sel.replaceChildren(new Option('everyone', ''));
  for (const p of state.people) sel.append(new Option(p.name, p.id));
  sel.value = state.people.some((p) => p.id === cur) ? cur : '';
}

function select(id) {
  state.selected = id;
  renderPeople(state.people);
}

// personTools are the controls shown directly under the selected person.
function personTools(p) {
  const box = $('person-tools').content.firstElementChild.cloneNode(true);
  const input = box.querySelector('.rename-name');
  input.value = p.name;
  box.querySelector('.rename').addEventListener('click', async () => {
    try {
      await api('PATCH', `/api/people/${encodeURIComponent(p.id)}`, { name: input.value });
      toast(`Renamed to ${input.value.trim()}`);
    } catch (e) { toast(e.message, true); }
  });
  const del = box.querySelector('.delete');
  del.id = 'person-delete';
  del.textContent = `Delete ${p.name}`;
  del.addEventListener('click', async () => {
    if (!confirm(`Delete ${p.name} and all their photos?`)) return;
    try {
      await api('DELETE', `/api/people/${encodeURIComponent(p.id)}`);
      toast(`Deleted ${p.name}`);
    } catch (e) { toast(e.message, true); }
  });
  loadSamples(p, box.querySelector('.samples'));
  return box;
}

async function loadSamples(p, into) {
  try {
    const samples = await api('GET', `/api/people/${encodeURIComponent(p.id)}/samples`);
    for (const s of samples) {
      const fig = el('figure', 'sample');
      const img = el('img');
      img.alt = `${p.name}, ${s.source}`;
      img.loading = 'lazy';
      img.src = `/api/people/${encodeURIComponent(p.id)}/samples/${encodeURIComponent(s.id)}/face.jpg`;
      const x = el('button', 'x', '×');
      x.type = 'button';
      x.title = 'delete this photo';
      x.addEventListener('click', async () => {
        try {
          await api('DELETE', `/api/people/${encodeURIComponent(p.id)}/samples/${encodeURIComponent(s.id)}`);
          fig.remove();
        } catch (e) { toast(e.message, true); }
      });
      fig.append(img, x);
      into.append(fig);
    }
  } catch { /* the list shows without samples */ }
}

function showResults(photos) {
  const ul = $('reg-results');
  ul.replaceChildren();
  for (const r of photos || []) {
    ul.append(el('li', r.ok ? 'ok' : 'bad', `photo ${r.index + 1}: ${r.ok ? 'used' : r.reason}`));
  }
}

$('register-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const name = $('reg-name').value.trim();
  const files = $('reg-photos').files;
  if (!name || files.length === 0) {
    toast('Enter a name and choose at least one photo.', true);
    return;
  }
  const fd = new FormData();
  fd.append('name', name);
  for (const f of files) fd.append('photo', f, f.name);
  $('reg-upload').disabled = true;
  try {
    const res = await api('POST', '/api/people', fd);
    showResults(res.photos);
    toast(`Registered ${res.person.name}`);
    $('reg-name').value = '';
    $('reg-photos').value = '';
  } catch (err) {
    showResults(err.data && err.data.photos);
    toast(err.message, true);
  } finally {
    $('reg-upload').disabled = false;
  }
});

// "Register the face on camera" takes the largest face (the one standing
// closest) of the selected view: this browser's camera, whose newest
// WebRTC result names its track, or the device camera. The daemon's quality
// gate answers with the reason when the face won't do (too small, blurred,
// turned away): shown as it is.
$('reg-camera').addEventListener('click', async () => {
  const name = $('reg-name').value.trim();
  if (!name) { toast('Enter a name first.', true); return; }
  const btn = $('reg-camera');
  btn.disabled = true;
  try {
    let target;
    if (rtc) {
      target = rtc.enrollTarget(); // throws with the reason when there is no face
    } else {
      if (!state.camera) throw new Error('No camera to take the face from.');
      const faces = await api('GET', `/api/cameras/${encodeURIComponent(state.camera)}/faces`);
      if (faces.length === 0) throw new Error('No face on camera right now.');
      faces.sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3]);
      target = { camera: state.camera, track: faces[0].track };
    }
    const p = await api('POST', '/api/people/from-track', { camera: target.camera, track: target.track, name });
    toast(`Registered ${p.name} from the camera`);
    $('reg-name').value = '';
  } catch (e) {
    toast(e.message, true);
  } finally {
    btn.disabled = false;
  }
});

// ---- events ----

function fmtTime(t) {
  const d = new Date(t);
  return d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

function eventItem(ev) {
  const li = el('li', `event ${ev.person_id ? 'known' : 'unknown'}`);
  li.dataset.id = ev.id;
  if (ev.type === 'recognized' || ev.type === 'unknown') {
    const img = el('img', 'thumb');
    img.alt = '';
    img.loading = 'lazy';
    img.src = `/api/events/${encodeURIComponent(ev.id)}/thumb`;
    img.addEventListener('error', () => img.remove());
    li.append(img);
  }
  const text = el('div', 'what');
  const who = ev.name === null || ev.name === undefined ? 'unknown face' : ev.name;
  text.append(el('strong', '', who), el('span', 'muted', ` ${ev.type} · ${ev.camera} · ${fmtTime(ev.time)}`));
  if (ev.similarity > 0) text.append(el('span', 'muted', ` · ${ev.similarity.toFixed(2)}`));
  li.append(text);
  return li;
}

function eventQuery(before) {
  const q = new URLSearchParams({ limit: '30' });
  if ($('ev-known').value) q.set('known', $('ev-known').value);
  if ($('ev-person').value) q.set('person', $('ev-person').value);
  if (before) q.set('before', before);
  return q.toString();
}

async function loadEvents(more = false) {
  try {
    const res = await api('GET', `/api/events?${eventQuery(more ? state.eventsNext : '')}`);
    const ul = $('event-list');
    if (!more) ul.replaceChildren();
    for (const ev of res.events) ul.append(eventItem(ev));
    state.eventsNext = res.next || '';
    $('ev-more').hidden = !state.eventsNext;
  } catch (e) { if (!(e instanceof APIError && e.message === 'logged out')) toast(e.message, true); }
}

function addLiveEvent(ev) {
  if (ev.type === 'presence') return;
  const known = $('ev-known').value;
  if (known === 'true' && !ev.person_id) return;
  if (known === 'false' && ev.person_id) return;
  if ($('ev-person').value && ev.person_id !== $('ev-person').value) return;
  const ul = $('event-list');
  ul.prepend(eventItem(ev));
  while (ul.children.length > 200) ul.lastElementChild.remove();
}

$('ev-known').addEventListener('change', () => loadEvents());
$('ev-person').addEventListener('change', () => loadEvents());
$('ev-more').addEventListener('click', () => loadEvents(true));

// ---- cameras and the live area ----

// The device tile shows the device's own cameras; browsers' cameras (this
// page's and other phones') are sessions, not something to watch here.
function renderCameras(all) {
  const list = all.filter((c) => c.kind !== 'browser');
  state.cameras = list;
  const sel = $('camera-select');
  sel.replaceChildren();
  for (const c of list) sel.append(new Option(`${c.name} (${c.state})`, c.name));
  if (!list.some((c) => c.name === state.camera)) state.camera = list.length ? list[0].name : '';
  sel.value = state.camera;
  sel.hidden = list.length < 2;
  const cur = list.find((c) => c.name === state.camera);
  $('camera-state').textContent = cur ? `${cur.name}: ${cur.state}${cur.error ? ' — ' + cur.error : ''}` : '';
  $('no-camera').hidden = list.length > 0;
  if (rtc) rtc.camerasChanged(list);
}

$('camera-select').addEventListener('change', (e) => {
  state.camera = e.target.value;
  renderCameras(state.cameras);
});

// Until rtc.js plays the device camera's live view, the snapshot (boxes and
// names drawn by the daemon) is refreshed about once a second while the
// page is visible.
let rtc = null; // rtc.js's controller once started
let snapBusy = false;
async function refreshSnapshot() {
  if (rtc && rtc.livePlays()) {
    $('snapshot').hidden = true;
    return;
  }
  if (snapBusy || document.hidden || !state.camera) return;
  const cam = state.cameras.find((c) => c.name === state.camera);
  if (!cam || cam.state !== 'running') return;
  snapBusy = true;
  try {
    const r = await fetch(`/api/cameras/${encodeURIComponent(state.camera)}/snapshot.jpg`, { credentials: 'same-origin' });
    if (r.ok) {
      const url = URL.createObjectURL(await r.blob());
      const img = $('snapshot');
      const old = img.src;
      img.src = url;
      img.hidden = false;
      if (old.startsWith('blob:')) URL.revokeObjectURL(old);
    }
  } catch { /* next tick */ } finally {
    snapBusy = false;
  }
}
setInterval(refreshSnapshot, 1000);

// rtc.js sends this browser's camera and plays the device camera's live
// view (see its start()). Without WebRTC the page keeps the snapshot and
// registers from the device camera.
async function startRTC() {
  let ctl = null;
  try {
    const mod = await import('./rtc.js');
    ctl = await mod.start({
      video: $('live-video'),
      overlay: $('live-overlay'),
      getCamera: () => state.camera,
      toast,
      onSelect: (label) => { $('reg-camera').textContent = `Register the face on ${label}`; },
      mine: {
        tile: $('mine'), frame: $('mine-frame'), video: $('mine-video'), overlay: $('mine-overlay'),
        button: $('mine-start'), state: $('mine-state'),
      },
      live: { tile: $('device'), frame: $('stage'), button: $('live-play'), state: $('live-state') },
    });
  } catch (e) {
    toast(`Live video unavailable: ${e.message}`, true);
  }
  if (!ctl) {
    $('mine').hidden = true;
    $('reg-camera').textContent = 'Register the face on camera';
    return;
  }
  rtc = ctl;
  rtc.camerasChanged(state.cameras);
}

// ---- settings, tokens, backup, password ----

function fillSettings(s) {
  $('set-threshold').value = s.threshold;
  $('set-presence').value = s.presence_timeout;
  $('set-retention').value = s.retention;
  $('set-model').value = s.detector_model;
}

$('settings-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    await api('PUT', '/api/settings', {
      threshold: Number($('set-threshold').value) || 0,
      presence_timeout: $('set-presence').value.trim(),
      retention: $('set-retention').value.trim() || '0s',
      detector_model: $('set-model').value,
    });
    toast('Settings saved');
  } catch (err) { toast(err.message, true); }
});

async function loadTokens() {
  const ul = $('tokens');
  try {
    const list = await api('GET', '/api/tokens');
    list.sort((a, b) => collator.compare(a.name, b.name));
    ul.replaceChildren();
    for (const t of list) {
      const li = el('li', 'token');
      li.append(el('span', '', t.name), el('span', 'muted', ` created ${fmtTime(t.created)} `));
      const b = el('button', 'danger', 'Revoke');
      b.type = 'button';
      b.addEventListener('click', async () => {
        if (!confirm(`Revoke the token "${t.name}"?`)) return;
        try { await api('DELETE', `/api/tokens/${encodeURIComponent(t.id)}`); loadTokens(); } catch (err) { toast(err.message, true); }
      });
      li.append(b);
      ul.append(li);
    }
  } catch { /* shown empty */ }
}

$('token-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    const t = await api('POST', '/api/tokens', { name: $('token-name').value.trim() });
    const p = $('token-new');
    p.textContent = `New token (shown once): ${t.token}`;
    p.hidden = false;
    $('token-name').value = '';
    loadTokens();
  } catch (err) { toast(err.message, true); }
});

$('restore-file').addEventListener('change', async (e) => {
  const f = e.target.files[0];
  if (!f || !confirm(`Replace everything with the backup ${f.name}?`)) return;
  try {
    const r = await fetch('/api/restore', { method: 'POST', body: f, credentials: 'same-origin', headers: { 'Content-Type': 'application/octet-stream' } });
    if (!r.ok) throw new Error((await r.json()).error);
    toast('Backup restored');
  } catch (err) { toast(err.message, true); } finally { e.target.value = ''; }
});

$('password-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    await api('POST', '/api/password', { current: $('pw-current').value, new: $('pw-new').value });
    $('password-form').reset();
    toast('Password changed');
  } catch (err) { toast(err.message, true); }
});

$('logout').addEventListener('click', async () => {
  if (rtc) rtc.close();
  try { await api('POST', '/api/logout'); } catch { /* going anyway */ }
  location.assign('/login');
});

// ---- live updates ----

async function loadAll() {
  const [people, cameras, settings] = await Promise.all([
    api('GET', '/api/people'), api('GET', '/api/cameras'), api('GET', '/api/settings'),
  ]);
  renderPeople(people);
  renderCameras(cameras);
  fillSettings(settings);
  loadEvents();
  loadTokens();
}

function connect() {
  const es = new EventSource('/api/stream');
  const conn = $('conn');
  const json = (fn) => (m) => { try { fn(JSON.parse(m.data)); } catch { /* ignore a bad message */ } };
  // "hello" comes first on every (re)connection and "resync" after lost
  // messages: reload everything, so nothing missed in between stays stale.
  const reload = () => loadAll().catch((e) => toast(e.message, true));
  es.addEventListener('hello', () => { conn.classList.add('on'); reload(); });
  es.addEventListener('resync', reload);
  es.addEventListener('people', json(renderPeople));
  es.addEventListener('cameras', json(renderCameras));
  es.addEventListener('settings', json(fillSettings));
  es.addEventListener('event', json(addLiveEvent));
  es.addEventListener('error', async () => {
    conn.classList.remove('on');
    if (es.readyState === EventSource.CLOSED) {
      // Refused (e.g. logged out elsewhere): api() redirects on 401.
      try { await api('GET', '/api/me'); setTimeout(connect, 2000); } catch { /* redirected */ }
    }
  });
}

connect();
startRTC();
