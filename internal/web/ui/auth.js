// Login and setup pages. No inline script: the CSP forbids it.

const message = document.getElementById('message');

function say(text) {
  message.textContent = text;
}

async function post(path, body) {
  const r = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    credentials: 'same-origin',
  });
  if (r.ok) return null;
  try {
    return (await r.json()).error || r.statusText;
  } catch {
    return r.statusText;
  }
}

const setup = document.getElementById('setup-form');
if (setup) {
  setup.addEventListener('submit', async (e) => {
    e.preventDefault();
    const pw = document.getElementById('setup-password').value;
    if (pw !== document.getElementById('setup-password2').value) {
      say('The passwords differ.');
      return;
    }
    const err = await post('/api/setup', { code: document.getElementById('setup-code').value.trim(), password: pw });
    if (err) {
      say(err);
      return;
    }
    location.assign('/login');
  });
}

const login = document.getElementById('login-form');
if (login) {
  login.addEventListener('submit', async (e) => {
    e.preventDefault();
    const err = await post('/api/login', {
      username: document.getElementById('login-user').value.trim(),
      password: document.getElementById('login-password').value,
    });
    if (err) {
      say(err);
      return;
    }
    location.assign('/');
  });
}
