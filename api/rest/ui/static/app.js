// pincluster status page. Plain JavaScript, no framework, no CDN. Every string from the API
// (names, metadata, errors, tags) goes into the page with textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
// failed pins shown per page (?page=N in the page's address changes it)
const FAILED_PAGE = Math.max(1, parseInt(new URLSearchParams(location.search).get("page"), 10) || 50);
const SEARCH_LIMIT = 50;     // search results shown
const CRED_KEY = "pincluster.credentials";

const state = { cred: null, write: false, failed: null, peernames: {} };

// ---- credentials --------------------------------------------------------------------------

function loadCred() {
  try { return JSON.parse(sessionStorage.getItem(CRED_KEY) || "null"); } catch (e) { return null; }
}
function saveCred(c) {
  if (c) sessionStorage.setItem(CRED_KEY, JSON.stringify(c)); else sessionStorage.removeItem(CRED_KEY);
  state.cred = c;
}
function authHeader(c) {
  if (!c) return null;
  if (c.token) return "Bearer " + c.token;
  // btoa takes Latin-1 only: encode UTF-8 first.
  const bytes = new TextEncoder().encode(c.user + ":" + c.password);
  let bin = "";
  bytes.forEach((b) => { bin += String.fromCharCode(b); });
  return "Basic " + btoa(bin);
}

// ---- API calls ----------------------------------------------------------------------------

class APIError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function call(method, path, opts) {
  const headers = { "X-Pincluster-UI": "1" };
  const a = authHeader(state.cred);
  if (a) headers["Authorization"] = a;
  const resp = await fetch(path, { method, headers, signal: opts && opts.signal, credentials: "omit", cache: "no-store" });
  if (!resp.ok) {
    let msg = resp.status + " " + resp.statusText;
    try { const e = await resp.json(); if (e && e.message) msg = e.message; } catch (e) { /* not JSON */ }
    throw new APIError(resp.status, msg);
  }
  return resp;
}
async function getJSON(path) { return (await call("GET", path)).json(); }

// NDJSON stream reader: next() returns the next parsed line, or null at the end.
class LineStream {
  constructor(path) { this.path = path; this.ctl = new AbortController(); this.buf = ""; this.lines = []; this.done = false; }
  async next() {
    if (!this.reader) {
      const resp = await call("GET", this.path, { signal: this.ctl.signal });
      this.reader = resp.body.getReader();
      this.dec = new TextDecoder();
    }
    while (this.lines.length === 0 && !this.done) {
      const { value, done } = await this.reader.read();
      if (done) { this.done = true; this.buf += this.dec.decode(); } else { this.buf += this.dec.decode(value, { stream: true }); }
      const parts = this.buf.split("\n");
      this.buf = this.done ? "" : parts.pop();
      for (const p of parts) if (p.trim() !== "") this.lines.push(p);
    }
    const l = this.lines.shift();
    return l === undefined ? null : JSON.parse(l);
  }
  close() { this.ctl.abort(); }
}

// ---- DOM helpers (text only) --------------------------------------------------------------

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) tr.appendChild(c instanceof Node ? c : el("td", c));
  return tr;
}
function td(child, cls) {
  const t = el("td", null, cls);
  if (child instanceof Node) t.appendChild(child); else if (child !== undefined && child !== null) t.textContent = String(child);
  return t;
}
function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
function bytes(n) {
  const v = Number(n);
  if (!isFinite(v)) return String(n);
  const u = ["B", "KB", "MB", "GB", "TB", "PB"];
  let i = 0, x = v;
  while (x >= 1000 && i < u.length - 1) { x /= 1000; i++; }
  return (i === 0 ? x : x.toFixed(1)) + " " + u[i];
}
function peerLabel(id) { return state.peernames[id] || id; }
function showError(where, err) { $(where).textContent = err ? String(err.message || err) : ""; }

// ---- login --------------------------------------------------------------------------------

async function start() {
  state.cred = loadCred();
  let who;
  try {
    who = await getJSON("/token/whoami");
  } catch (e) {
    if (e.status === 401 || e.status === 403) {
      if (state.cred) showError("login-error", e);
      saveCred(null);
      showLogin();
      return;
    }
    showLogin();
    showError("login-error", e);
    return;
  }
  state.write = !!who.write;
  $("whoami").textContent = who.auth ? (who.user || "?") + (who.token ? " (token)" : "") + " · " + who.permissions.join(", ") : "no authentication";
  $("logout").hidden = !who.auth;
  $("refresh").hidden = false;
  $("login").hidden = true;
  $("app").hidden = false;
  $("pin-section").hidden = !state.write;
  if (!state.write) $("pin-section").remove(); // read-only: no write form in the page at all
  refresh();
}

function showLogin() {
  $("app").hidden = true;
  $("login").hidden = false;
  $("logout").hidden = true;
  $("refresh").hidden = true;
  $("whoami").textContent = "";
}

$("login-basic").addEventListener("submit", (ev) => {
  ev.preventDefault();
  showError("login-error", null);
  saveCred({ user: $("login-user").value, password: $("login-password").value });
  start();
});
$("login-token").addEventListener("submit", (ev) => {
  ev.preventDefault();
  showError("login-error", null);
  saveCred({ token: $("login-tokenvalue").value.trim() });
  start();
});
$("logout").addEventListener("click", () => { saveCred(null); location.reload(); });
$("refresh").addEventListener("click", () => refresh());

// ---- overview -----------------------------------------------------------------------------

async function refresh() {
  showError("app-error", null);
  try {
    await Promise.all([loadSelf(), loadPeers()]);
  } catch (e) {
    if (e.status === 401) { saveCred(null); showLogin(); showError("login-error", e); return; }
    showError("app-error", e);
  }
  loadFailed();
}

async function loadSelf() {
  const id = await getJSON("/id");
  $("self").textContent = (id.peername ? id.peername + " · " : "") + id.id + (id.version ? " · v" + id.version : "");
}

function metricMap(ms) {
  const m = {};
  for (const x of ms || []) m[x.peer] = x;
  return m;
}

async function loadPeers() {
  const [counts, names, alerts] = await Promise.all([getJSON("/pins/counts"), getJSON("/monitor/metrics"), getJSON("/health/alerts")]);
  const peers = [];
  const s = new LineStream("/peers");
  for (let p = await s.next(); p !== null; p = await s.next()) peers.push(p);
  for (const p of peers) if (p.peername) state.peernames[p.id] = p.peername;
  const tagNames = (names || []).filter((n) => n.startsWith("tag:"));
  const [free, ping, ...tags] = await Promise.all(["freespace", "ping", ...tagNames].map((n) => getJSON("/monitor/metrics/" + encodeURIComponent(n)).then(metricMap, (e) => {
    if (e.status === 404) return {}; // no valid metric of that name now
    throw e;
  })));
  const byPeer = {};
  for (const c of counts.peers) byPeer[c.peer] = c;

  $("pinset-count").textContent = counts.pinset.toLocaleString("en-US");
  $("peer-count").textContent = String(peers.length);
  let queued = 0;
  for (const c of counts.peers) if (c.queued > 0) queued += c.queued;
  $("queued-count").textContent = queued.toLocaleString("en-US");
  $("alert-count").textContent = String(alerts.length);

  const tb = $("peers").tBodies[0];
  clear(tb);
  const ids = new Set(peers.map((p) => p.id));
  for (const c of counts.peers) ids.add(c.peer);
  for (const id of ids) {
    const c = byPeer[id] || { pinned: -1, queued: -1 };
    const name = el("div", peerLabel(id));
    const idLine = el("div", id, "mono muted");
    const peerCell = td(name); peerCell.appendChild(idLine);
    peerCell.dataset.peer = id;
    const err = (peers.find((p) => p.id === id) || {}).error;
    if (err) peerCell.appendChild(el("div", err, "error"));
    const tagCell = td(null);
    tagNames.forEach((n, i) => {
      const m = tags[i][id];
      if (m && m.valid) tagCell.appendChild(el("span", n.slice(4) + "=" + m.value, "tag"));
    });
    const p = ping[id];
    const tr = row([peerCell, td(c.pinned < 0 ? "–" : c.pinned.toLocaleString("en-US"), "pinned"), td(c.queued < 0 ? "–" : c.queued.toLocaleString("en-US"), "queued"),
      td(free[id] ? bytes(free[id].value) : "–"), td(p && p.valid ? "ok" : "expired", p && p.valid ? "ok" : "error"), tagCell]);
    tb.appendChild(tr);
  }

  const ul = $("alerts");
  clear(ul);
  if (alerts.length === 0) ul.appendChild(el("li", "No alerts.", "muted"));
  for (const a of alerts) {
    const when = a.triggered_at ? new Date(a.triggered_at / 1e6).toLocaleString() : "";
    ul.appendChild(el("li", peerLabel(a.peer) + ": metric " + a.name + " expired " + when));
  }
}

// ---- failed pins (paged from the status stream) -------------------------------------------

async function loadFailed() {
  if (state.failed) state.failed.stream.close();
  state.failed = { stream: new LineStream("/pins?filter=pin_error,unpin_error,cluster_error"), shown: 0 };
  clear($("failed").tBodies[0]);
  await moreFailed();
}

async function moreFailed() {
  const f = state.failed;
  const tb = $("failed").tBodies[0];
  let n = 0;
  try {
    while (n < FAILED_PAGE) {
      const g = await f.stream.next();
      if (g === null) break;
      n++;
      for (const [peer, st] of Object.entries(g.peer_map || {})) {
        if (!/error/.test(st.status)) continue;
        const cells = [td(g.cid, "cid"), td(g.name), td(st.peername || peerLabel(peer)), td(st.status, "st-" + st.status), td(st.error, "err")];
        const act = td(null);
        if (state.write) {
          const b = el("button", "Recover");
          b.type = "button";
          b.className = "recover";
          b.addEventListener("click", () => recover(g.cid, b));
          act.appendChild(b);
        }
        cells.push(act);
        tb.appendChild(row(cells));
      }
    }
  } catch (e) {
    if (e.name !== "AbortError") showError("app-error", e);
  }
  f.shown += n;
  const more = n === FAILED_PAGE && !f.stream.done;
  $("failed-more").hidden = !more;
  $("failed-note").textContent = f.shown === 0 ? "No failed pins." : f.shown + (more ? "+" : "") + " failed pin" + (f.shown === 1 ? "" : "s") + (more ? " so far" : "");
}
$("failed-more").addEventListener("click", () => moreFailed());

async function recover(cid, button) {
  button.disabled = true;
  button.textContent = "Recovering…";
  try {
    await call("POST", "/pins/" + encodeURIComponent(cid) + "/recover");
    button.textContent = "Recovered";
  } catch (e) {
    button.disabled = false;
    button.textContent = "Recover";
    showError("app-error", e);
  }
}

// ---- search -------------------------------------------------------------------------------

function looksLikeCid(q) { return /^(Qm[1-9A-HJ-NP-Za-km-z]{44}|b[a-z2-7]{20,}|[zfFkK][0-9A-Za-z]{20,})$/.test(q); }

function statusCell(peerMap) {
  const t = td(null);
  for (const [peer, st] of Object.entries(peerMap || {})) {
    const d = el("div");
    d.appendChild(el("span", (st.peername || peerLabel(peer)) + ": "));
    d.appendChild(el("span", st.status, "st-" + st.status));
    if (st.error) d.appendChild(el("span", " " + st.error, "error"));
    t.appendChild(d);
  }
  return t;
}
function metaCell(meta) {
  const t = td(null);
  for (const [k, v] of Object.entries(meta || {})) t.appendChild(el("span", k + "=" + v, "tag"));
  return t;
}

$("search-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const q = $("search-q").value.trim();
  const tb = $("search-results").tBodies[0];
  clear(tb);
  $("search-note").textContent = "";
  if (!q) return;
  try {
    if (looksLikeCid(q)) {
      const g = await getJSON("/pins/" + encodeURIComponent(q));
      tb.appendChild(row([td(g.cid, "cid"), td(g.name), statusCell(g.peer_map), metaCell(g.metadata)]));
      return;
    }
    const s = new LineStream("/allocations?name=" + encodeURIComponent(q) + "&name-match=ipartial");
    let n = 0;
    for (let p = await s.next(); p !== null; p = await s.next()) {
      if (n === SEARCH_LIMIT) { s.close(); $("search-note").textContent = "Showing the first " + SEARCH_LIMIT + " matches."; break; }
      n++;
      const r = row([td(p.cid, "cid"), td(p.name), td("…"), metaCell(p.metadata)]);
      tb.appendChild(r);
      getJSON("/pins/" + encodeURIComponent(p.cid)).then((g) => r.replaceChild(statusCell(g.peer_map), r.cells[2])).catch(() => { r.cells[2].textContent = "?"; });
    }
    if (n === 0) $("search-note").textContent = "No pin is named like that.";
  } catch (e) {
    if (e.name === "AbortError") return;
    $("search-note").textContent = e.status === 404 ? "Not in the pinset." : String(e.message);
  }
});

// ---- pin form -----------------------------------------------------------------------------

$("pin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const res = $("pin-result");
  res.textContent = "Pinning…";
  res.className = "";
  const cid = $("pin-cid").value.trim();
  const qs = new URLSearchParams();
  const name = $("pin-name").value;
  if (name) qs.set("name", name);
  if ($("pin-rmin").value !== "") qs.set("replication-min", $("pin-rmin").value);
  if ($("pin-rmax").value !== "") qs.set("replication-max", $("pin-rmax").value);
  if ($("pin-mode").value) qs.set("mode", $("pin-mode").value);
  if ($("pin-expire").value.trim()) qs.set("expire-in", $("pin-expire").value.trim());
  for (const line of $("pin-meta").value.split("\n")) {
    if (!line.trim()) continue;
    const i = line.indexOf("=");
    if (i <= 0) { res.textContent = "Metadata lines are key=value: " + line; res.className = "error"; return; }
    qs.set("meta-" + line.slice(0, i).trim(), line.slice(i + 1));
  }
  try {
    const p = await (await call("POST", "/pins/" + encodeURIComponent(cid) + "?" + qs.toString())).json();
    $("pin-form").reset();
    res.textContent = "Pinned " + p.cid;
    res.className = "ok";
    const r = row([td(p.cid, "cid"), td(p.name), td("…")]);
    r.dataset.cid = p.cid;
    $("recent").tBodies[0].prepend(r);
    getJSON("/pins/" + encodeURIComponent(p.cid)).then((g) => r.replaceChild(statusCell(g.peer_map), r.cells[2])).catch(() => { r.cells[2].textContent = "?"; });
    loadPeers().catch((e) => showError("app-error", e));
  } catch (e) {
    res.textContent = String(e.message);
    res.className = "error";
  }
});

start();
