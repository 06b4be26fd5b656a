// WebRTC for facegate's page: this browser's camera sent to the daemon (a
// pipeline source of its own, results drawn over the local video) and the
// live view of the device's camera (one shared VP8 track, results drawn the
// same way). Signalling is one complete offer per peer over the logged-in
// API (POST /api/rtc/offer); results arrive as JSON on the "results"
// DataChannel: {frame, w, h, faces: [{box, keypoints, track, name, ...}]}.
//
// The newest result of each view is also kept on its frame element
// (data-frame, data-faces, data-names) and announced with a bubbling
// "facegate:result" event, so tests and tools can read what the page shows.

const RETRY_MIN = 1000;
const RETRY_MAX = 15000;
const GATHER_TIMEOUT = 3000; // a LAN gathers in milliseconds
const STALE_MS = 1500; // boxes older than this are wiped
const ENROLL_MAX_AGE = 2000; // a result older than this is no face "on camera"
const CONNECT_TIMEOUT = 15000; // answer → results channel open
const SILENCE_TIMEOUT = 10000; // a browser camera gets a result for every processed frame

class HTTPError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function postJSON(path, body) {
  const r = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  let data = null;
  try { data = await r.json(); } catch { /* no body */ }
  if (r.status === 401) {
    location.assign('/login');
    throw new HTTPError(401, 'logged out');
  }
  if (!r.ok) throw new HTTPError(r.status, (data && data.error) || r.statusText);
  return data;
}

// waitGathered resolves when ICE gathering is complete (the offer then
// carries every candidate) or after GATHER_TIMEOUT with what there is.
function waitGathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, GATHER_TIMEOUT);
    function done() {
      clearTimeout(t);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    }
    function check() { if (pc.iceGatheringState === 'complete') done(); }
    pc.addEventListener('icegatheringstatechange', check);
  });
}

// Overlay draws one view's newest result over its video.
class Overlay {
  constructor(video, canvas, frameEl, mirrored) {
    this.video = video;
    this.canvas = canvas;
    this.frameEl = frameEl;
    this.mirrored = mirrored;
    this.last = null;
    this.pending = false;
    this.staleTimer = 0;
    this.font = getComputedStyle(document.documentElement).fontFamily || 'sans-serif';
    new ResizeObserver(() => this.schedule()).observe(video);
  }

  // show records r as the newest result and draws it on the next frame.
  show(r) {
    this.last = r;
    const names = r.faces.map((f) => f.name || '').filter(Boolean);
    const d = this.frameEl.dataset;
    d.frame = String(r.frame);
    d.size = `${r.w}x${r.h}`;
    d.faces = String(r.faces.length);
    d.names = names.join('|');
    clearTimeout(this.staleTimer);
    this.staleTimer = setTimeout(() => this.clear(), STALE_MS);
    this.schedule();
    this.frameEl.dispatchEvent(new CustomEvent('facegate:result', { bubbles: true, detail: r }));
  }

  clear() {
    this.last = null;
    const d = this.frameEl.dataset;
    d.faces = '0';
    d.names = '';
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const cw = Math.round(this.video.clientWidth * dpr);
    const ch = Math.round(this.video.clientHeight * dpr);
    if (c.width !== cw || c.height !== ch) {
      c.width = cw;
      c.height = ch;
      // Exactly over the video, whatever the frame's height is.
      c.style.width = `${this.video.clientWidth}px`;
      c.style.height = `${this.video.clientHeight}px`;
    }
    const g = c.getContext('2d');
    g.clearRect(0, 0, cw, ch);
    const r = this.last;
    if (!r || !r.w || !r.h || !cw || !ch) return;
    // The video keeps its aspect (height: auto), so one scale fits both axes;
    // use each axis anyway in case a style stretches it.
    const sx = cw / r.w;
    const sy = ch / r.h;
    const fontPx = Math.max(12, Math.round(15 * dpr));
    g.font = `600 ${fontPx}px ${this.font}`;
    g.textBaseline = 'bottom';
    for (const f of r.faces) {
      let [x, y, w, h] = f.box;
      if (this.mirrored) x = r.w - x - w;
      const bx = x * sx;
      const by = y * sy;
      const bw = w * sx;
      const bh = h * sy;
      const color = f.known ? '#2e7d32' : '#f9a825';
      g.lineWidth = Math.max(2, 2 * dpr);
      g.strokeStyle = color;
      g.strokeRect(bx, by, bw, bh);
      const label = f.known && f.name ? `${f.name} ${f.similarity.toFixed(2)}` : 'unknown';
      const tw = g.measureText(label).width + 8 * dpr;
      const th = fontPx + 6 * dpr;
      const ty = by >= th ? by : by + bh + th; // above the box, or below it at the top edge
      g.fillStyle = color;
      g.fillRect(bx - g.lineWidth / 2, ty - th, tw, th);
      g.fillStyle = '#fff';
      g.fillText(label, bx + 4 * dpr - g.lineWidth / 2, ty - 3 * dpr);
    }
  }
}

// Peer is one WebRTC connection to the daemon that re-connects itself
// (with backoff) until closed: kind "camera" sends stream, kind "live"
// receives the device camera into video.
class Peer {
  constructor({ kind, camera = '', stream = null, video, overlay, onState }) {
    this.kind = kind;
    this.camera = camera;
    this.stream = stream;
    this.video = video;
    this.overlay = overlay;
    this.onState = onState;
    this.pc = null;
    this.source = ''; // the daemon's source name of this browser camera
    this.closed = false;
    this.retry = RETRY_MIN;
    this.timer = 0;
    this.gen = 0; // connection generation: late callbacks of an old one are ignored
    this.watchdog = 0;
  }

  // watch re-connects unless something (a result, the channel opening)
  // calls it again within ms.
  watch(gen, ms, why) {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => { if (gen === this.gen) this.lost(why); }, ms);
  }

  start() {
    this.connect();
    return this;
  }

  async connect() {
    const gen = ++this.gen;
    this.teardown();
    const pc = new RTCPeerConnection();
    this.pc = pc;
    const dc = pc.createDataChannel('results', { ordered: false, maxRetransmits: 0 });
    dc.onmessage = (m) => {
      if (gen !== this.gen) return;
      try {
        const r = JSON.parse(m.data);
        r.arrived = performance.now();
        // A browser camera's results stop only if its video stopped
        // reaching the daemon: start over then.
        if (this.kind === 'camera') this.watch(gen, SILENCE_TIMEOUT, 'no results');
        this.overlay.show(r);
      } catch { /* a bad message is skipped */ }
    };
    dc.onclose = () => { if (gen === this.gen) this.lost('results channel closed'); };
    dc.onopen = () => {
      if (gen !== this.gen) return;
      this.retry = RETRY_MIN;
      if (this.kind === 'camera') this.watch(gen, SILENCE_TIMEOUT, 'no results');
      else clearTimeout(this.watchdog);
      this.onState('connected');
    };
    pc.onconnectionstatechange = () => {
      if (gen !== this.gen) return;
      if (pc.connectionState === 'failed') this.lost('connection failed');
      if (pc.connectionState === 'disconnected') {
        // Disconnected may recover by itself; give it a few seconds.
        setTimeout(() => {
          if (gen === this.gen && pc.connectionState === 'disconnected') this.lost('connection lost');
        }, 4000);
      }
    };
    let sender = null;
    if (this.kind === 'camera') {
      const track = this.stream.getVideoTracks()[0];
      // Full resolution from the first frame (Chrome otherwise starts small).
      track.contentHint = 'detail';
      sender = pc.addTransceiver(track, { direction: 'sendonly', streams: [this.stream] }).sender;
    } else {
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.ontrack = (e) => {
        if (gen !== this.gen) return;
        this.video.srcObject = new MediaStream([e.track]);
        this.video.play().catch(() => this.onState('autoplay'));
      };
    }
    this.onState('connecting');
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await waitGathered(pc);
      if (gen !== this.gen) return;
      const ans = await postJSON('/api/rtc/offer', { kind: this.kind, camera: this.camera, sdp: pc.localDescription.sdp });
      if (gen !== this.gen) return;
      this.source = ans.camera || '';
      if (this.source) this.overlay.frameEl.dataset.source = this.source;
      await pc.setRemoteDescription({ type: 'answer', sdp: ans.sdp });
      this.watch(gen, CONNECT_TIMEOUT, 'no connection');
      if (sender) {
        try {
          const p = sender.getParameters();
          p.degradationPreference = 'maintain-resolution';
          await sender.setParameters(p);
        } catch { /* older browsers: resolution may start low */ }
      }
    } catch (e) {
      if (gen !== this.gen || e.status === 401) return;
      this.lost(e.message, e.status === 503 ? RETRY_MAX : 0);
    }
  }

  // lost schedules a re-connection after the current backoff.
  lost(why, wait = 0) {
    if (this.closed) return;
    this.gen++;
    this.teardown();
    this.onState('retrying', why);
    const delay = Math.max(wait, this.retry);
    this.retry = Math.min(this.retry * 2, RETRY_MAX);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { if (!this.closed) this.connect(); }, delay);
  }

  teardown() {
    clearTimeout(this.watchdog);
    if (this.pc) {
      this.pc.onconnectionstatechange = null;
      this.pc.ontrack = null;
      this.pc.close();
      this.pc = null;
      // A frozen live picture would look like a quiet door: show none.
      if (this.kind === 'live') this.video.srcObject = null;
    }
    this.source = '';
    delete this.overlay.frameEl.dataset.source;
  }

  close() {
    this.closed = true;
    this.gen++;
    clearTimeout(this.timer);
    this.teardown();
    this.overlay.clear();
  }
}

// Views wires the page: "mine" (this browser's camera) and "device" (the
// live view of the device camera picked in the page).
class Views {
  constructor(o) {
    this.o = o;
    this.stream = null;
    this.mine = null; // Peer
    this.live = null; // Peer
    this.liveCamera = '';
    this.deviceCameras = [];
    this.selected = 'mine';
    this.autoSelected = false; // the device view was picked for want of a camera here
    this.livePlays = false;
    this.mineOverlay = new Overlay(o.mine.video, o.mine.overlay, o.mine.frame, true);
    this.liveOverlay = new Overlay(o.video, o.overlay, o.live.frame, false);
    this.hidden = false;
    this.camGen = 0;

    o.mine.button.addEventListener('click', () => {
      if (!this.stream) { this.openCamera(true); return; }
      // The camera is sent already; the preview only waited for a tap.
      o.mine.video.play().then(() => { o.mine.button.hidden = true; }, () => {});
    });
    o.live.button.addEventListener('click', () => {
      o.live.button.hidden = true;
      o.video.play().catch(() => { o.live.button.hidden = false; });
    });
    // The live video shows once it plays; until then the page's snapshot
    // of the device camera stays.
    o.video.addEventListener('playing', () => {
      this.livePlays = true;
      o.live.button.hidden = true;
      o.video.hidden = false;
      o.overlay.hidden = false;
    });
    o.video.addEventListener('emptied', () => {
      this.livePlays = false;
      o.video.hidden = true;
      o.overlay.hidden = true;
    });
    // A tile is picked (for "register the face on camera") by a click or
    // by Enter/Space when focused.
    for (const [which, el] of [['mine', o.mine.tile], ['device', o.live.tile]]) {
      el.tabIndex = 0;
      el.addEventListener('click', () => this.select(which));
      el.addEventListener('keydown', (e) => {
        if (e.target === el && (e.key === 'Enter' || e.key === ' ')) {
          e.preventDefault();
          this.select(which);
        }
      });
    }
    // Close everything when the page goes away or into the background (a
    // phone in a pocket should not keep sending), and come back with it.
    window.addEventListener('pagehide', () => this.suspend());
    window.addEventListener('pageshow', (e) => { if (e.persisted) this.resume(); });
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) this.suspend(); else this.resume();
    });
  }

  select(which, auto = false) {
    if (which === 'device' && this.o.live.tile.hidden) return;
    this.autoSelected = auto;
    this.selected = which;
    this.o.mine.tile.classList.toggle('selected', which === 'mine');
    this.o.live.tile.classList.toggle('selected', which === 'device');
    this.o.mine.tile.setAttribute('aria-current', String(which === 'mine'));
    this.o.live.tile.setAttribute('aria-current', String(which === 'device'));
    this.o.onSelect(which === 'mine' ? 'my camera' : this.liveCamera || 'the device camera');
  }

  mineState(text, bad = false) {
    const s = this.o.mine.state;
    s.textContent = text;
    s.classList.toggle('bad', bad);
  }

  // openCamera asks for this browser's camera and starts sending it. Called
  // on load; from the button after a refusal (gesture = true).
  async openCamera(gesture = false) {
    const m = this.o.mine;
    if (this.hidden) return;
    const gen = ++this.camGen; // a later open or a suspend supersedes this one
    if (this.mine) this.mine.close();
    this.mine = null;
    this.stopStream();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      this.mineState('This browser cannot share a camera here (it needs HTTPS).', true);
      return;
    }
    m.button.hidden = true;
    this.mineState('opening the camera…');
    let stream;
    try {
      // 640×480 at 15 fps is what recognition needs; more only costs the
      // device CPU. ideal, not exact: any camera will do.
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 15 } },
      });
    } catch (e) {
      if (gen !== this.camGen) return;
      m.tile.classList.add('off');
      m.button.textContent = 'Turn on my camera';
      if (e.name === 'NotFoundError') {
        this.mineState('No camera on this device.');
      } else {
        this.mineState(gesture ? `Camera refused: ${e.message}` : 'Allow the camera to be recognized and to register your face.', true);
        m.button.hidden = false;
      }
      // Registration can still take faces from the device camera.
      if (this.selected === 'mine') this.select('device', true);
      return;
    }
    if (gen !== this.camGen) {
      for (const t of stream.getTracks()) t.stop();
      return;
    }
    this.stream = stream;
    m.tile.classList.remove('off');
    if (this.autoSelected) this.select('mine');
    m.video.srcObject = stream;
    stream.getVideoTracks()[0].addEventListener('ended', () => {
      if (gen !== this.camGen) return;
      // Unplugged, or taken away by the system: offer to start it again.
      this.camGen++;
      if (this.mine) this.mine.close();
      this.mine = null;
      this.stopStream();
      m.tile.classList.add('off');
      m.button.textContent = 'Turn on my camera';
      m.button.hidden = false;
      this.mineState('The camera stopped.', true);
    });
    this.mine = new Peer({
      kind: 'camera', stream, video: m.video, overlay: this.mineOverlay,
      onState: (s, why) => this.mineState(s === 'connected' ? 'recognizing' : s === 'retrying' ? `reconnecting (${why})` : `${s}…`, s === 'retrying'),
    }).start();
    try {
      await m.video.play();
    } catch {
      // Autoplay refused: the camera is sent anyway, the preview needs a tap.
      if (gen !== this.camGen) return;
      m.button.textContent = 'Show my camera';
      m.button.hidden = false;
    }
    return true;
  }

  stopStream() {
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
    this.o.mine.video.srcObject = null;
  }

  // camerasChanged follows the daemon's camera list: the live view shows
  // the device camera picked in the page, if there is one.
  camerasChanged(list) {
    this.deviceCameras = list.filter((c) => c.kind !== 'browser');
    this.syncLive();
  }

  syncLive() {
    const want = this.hidden ? '' : this.deviceCameras.some((c) => c.name === this.o.getCamera()) ? this.o.getCamera() : '';
    const l = this.o.live;
    l.tile.hidden = this.deviceCameras.length === 0;
    if (l.tile.hidden && this.selected === 'device') this.select('mine');
    if (!l.tile.hidden && this.selected === 'mine' && this.o.mine.tile.classList.contains('off')) this.select('device', true);
    if (want === this.liveCamera) return;
    if (this.live) this.live.close();
    this.live = null;
    this.livePlays = false;
    this.o.video.srcObject = null;
    this.liveCamera = want;
    this.o.video.hidden = true;
    this.o.overlay.hidden = true;
    if (!want) return;
    this.live = new Peer({
      kind: 'live', camera: want, video: this.o.video, overlay: this.liveOverlay,
      onState: (s, why) => {
        if (s === 'autoplay') { l.button.hidden = false; return; }
        l.state.textContent = s === 'connected' ? '' : s === 'retrying' ? `live view: reconnecting (${why})` : 'live view: connecting…';
      },
    }).start();
    if (this.selected === 'device') this.o.onSelect(want);
  }

  suspend() {
    if (this.hidden) return;
    this.hidden = true;
    this.camGen++;
    if (this.mine) this.mine.close();
    this.mine = null;
    this.stopStream();
    this.syncLive();
    this.mineState('paused');
  }

  resume() {
    if (!this.hidden) return;
    this.hidden = false;
    this.syncLive();
    this.openCamera();
  }

  // enrollTarget picks the face to register: the largest face of the
  // selected view's newest result (the person standing closest).
  enrollTarget() {
    const mine = this.selected === 'mine';
    const peer = mine ? this.mine : this.live;
    const camera = mine ? peer && peer.source : this.liveCamera;
    if (!peer || !camera) throw new Error(mine ? 'My camera is not connected.' : 'No device camera to take the face from.');
    const r = (mine ? this.mineOverlay : this.liveOverlay).last;
    if (!r || performance.now() - r.arrived > ENROLL_MAX_AGE || r.faces.length === 0) throw new Error('No face on camera right now.');
    const faces = r.faces.filter((f) => f.track > 0).sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3]);
    if (faces.length === 0) throw new Error('The face is not tracked yet; hold still a moment.');
    return { camera, track: faces[0].track };
  }

  close() {
    this.camGen++;
    if (this.mine) this.mine.close();
    if (this.live) this.live.close();
    this.mine = null;
    this.live = null;
    this.liveCamera = '';
    this.stopStream();
  }
}

// start wires the live area. o: {video, overlay} (the device camera's live
// view), getCamera() (the device camera picked in the page), toast,
// onSelect(label) (the view registration takes faces from changed),
// mine: {tile, frame, video, overlay, button, state}, live: {tile, frame,
// button, state}. It resolves to a controller: camerasChanged(list),
// enrollTarget() → {camera, track}, livePlays(), close().
export async function start(o) {
  if (typeof RTCPeerConnection !== 'function') return null;
  const v = new Views(o);
  v.select('mine');
  v.openCamera();
  return {
    camerasChanged: (list) => v.camerasChanged(list),
    enrollTarget: () => v.enrollTarget(),
    livePlays: () => v.livePlays,
    close: () => v.close(),
  };
}
