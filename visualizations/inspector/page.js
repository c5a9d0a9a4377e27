// The inspector page (plain JS, no dependencies, nothing fetched from outside).
// Talks to server.ts over the WebSocket at /ws (messages: visualizations/inspector/wire.ts).
// A classic script (not a module), so strict mode is asked for.
'use strict';
(() => {
  const MAX_EVENTS = 200000; // kept in the page (older ones dropped)
  const MAX_LOG_ROWS = 400; // rows shown in the log
  const MODULE_BATCHES_SHOWN = 3; // newest batches per sharded module shown on its chart
  // State changes arrive in batches (the server flushes every ~40 ms, and one flush can hold
  // several training batches). Applying a batch at once would only ever show its last state,
  // which is whichever state the run happened to be in when the server flushed (usually the
  // slowest one, e.g. backward), so the charts would look frozen. Instead each arriving
  // batch of state changes is played back in order over PLAYBACK_TICKS ticks.
  const PLAYBACK_TICK_MS = 16;
  const PLAYBACK_TICKS = 3;

  const $ = (id) => document.getElementById(id);
  const state = {
    events: [],
    /** rank -> Map(key -> { actor, batch, state, t }) */
    actors: new Map(),
    ranks: new Set(),
    actorNames: new Set(),
    counter: 0,
    charts: new Map(), // chart name -> { panel, svg, actorsLine }
    selectedRank: 0,
    controls: false,
    paused: false,
    done: false,
    connected: false,
    renderQueued: false,
    /** actor.state events received but not yet shown on the charts (oldest first). */
    playback: [],
    playbackPerTick: 1,
    playbackTimer: null,
  };

  /** Which chart an actor's states are drawn on. */
  function chartFor(actor) {
    // 'coordinator', or a pipeline kind's own coordinator ('coordinator-semi-sync', …)
    if (actor === 'coordinator' || actor.startsWith('coordinator-')) return actor;
    if (/Stage$/.test(actor)) return 'stage';
    if (actor.startsWith('module:')) return 'shardedModule';
    return actor;
  }

  function shortName(actor) {
    if (/Stage$/.test(actor)) return actor.replace(/Stage$/, '');
    if (actor.startsWith('module:')) return actor.slice('module:'.length);
    return actor;
  }

  // ---- events in -------------------------------------------------------------------------

  /** `history`: events from before the page connected (shown at once, not played back). */
  function ingest(list, history) {
    let newRank = false;
    let newActor = false;
    for (const e of list) {
      state.events.push(e);
      if (!state.ranks.has(e.rank)) {
        state.ranks.add(e.rank);
        newRank = true;
      }
      if (e.type === 'forward.end' && e.rank === 0) state.counter++;
      if (e.type === 'actor.state') {
        if (!state.actorNames.has(e.actor)) {
          state.actorNames.add(e.actor);
          newActor = true;
        }
        state.playback.push(e);
      }
    }
    if (state.events.length > MAX_EVENTS) state.events.splice(0, state.events.length - MAX_EVENTS);
    if (newRank) refreshRankSelectors();
    if (newActor) refreshActorFilter();
    $('batch-counter').textContent = String(state.counter);
    appendLog(list);
    if (history) {
      applyStates(state.playback.length);
      queueRender();
    } else {
      state.playbackPerTick = Math.max(1, Math.ceil(state.playback.length / PLAYBACK_TICKS));
      if (state.playbackTimer === null)
        state.playbackTimer = setTimeout(playbackTick, PLAYBACK_TICK_MS);
    }
  }

  /** Shows the next slice of received state changes; more ticks follow while some remain. */
  function playbackTick() {
    state.playbackTimer = null;
    applyStates(state.playbackPerTick);
    renderHighlights();
    if (state.playback.length > 0) state.playbackTimer = setTimeout(playbackTick, PLAYBACK_TICK_MS);
  }

  function applyStates(count) {
    for (const e of state.playback.splice(0, count)) {
      let perRank = state.actors.get(e.rank);
      if (!perRank) {
        perRank = new Map();
        state.actors.set(e.rank, perRank);
      }
      const key = e.batch === undefined ? e.actor : `${e.actor}#${e.batch}`;
      perRank.set(key, { actor: e.actor, batch: e.batch, state: e.to, t: e.t });
      if (e.actor.startsWith('module:')) pruneModules(perRank, e.actor);
    }
  }

  /** Keep the newest few batches of a module (so its chart shows the pipelining, not history). */
  function pruneModules(perRank, actor) {
    const batches = [];
    for (const v of perRank.values())
      if (v.actor === actor && v.batch !== undefined) batches.push(v.batch);
    if (batches.length <= MODULE_BATCHES_SHOWN) return;
    batches.sort((a, b) => b - a);
    const keepFrom = batches[MODULE_BATCHES_SHOWN - 1];
    for (const [key, v] of perRank)
      if (v.actor === actor && v.batch !== undefined && v.batch < keepFrom) perRank.delete(key);
  }

  // ---- charts ------------------------------------------------------------------------------

  function installCharts(charts) {
    const host = $('charts');
    host.textContent = '';
    state.charts.clear();
    for (const { name, svg } of charts) {
      const panel = document.createElement('div');
      panel.className = 'chart';
      panel.dataset.chart = name;
      const h = document.createElement('h3');
      h.textContent = name;
      const actorsLine = document.createElement('div');
      actorsLine.className = 'actors';
      panel.append(h, actorsLine);
      const holder = document.createElement('div');
      holder.innerHTML = svg; // our own server's SVG (rendered from the machines)
      panel.append(holder);
      host.append(panel);
      state.charts.set(name, { panel, svg: holder.querySelector('svg'), actorsLine });
    }
  }

  function queueRender() {
    if (state.renderQueued) return;
    state.renderQueued = true;
    setTimeout(() => {
      state.renderQueued = false;
      renderHighlights();
    }, 30);
  }

  function renderHighlights() {
    const perRank = state.actors.get(state.selectedRank) || new Map();
    const byChart = new Map();
    for (const v of perRank.values()) {
      const chart = chartFor(v.actor);
      if (!byChart.has(chart)) byChart.set(chart, []);
      byChart.get(chart).push(v);
    }
    for (const [name, chart] of state.charts) {
      const svg = chart.svg;
      if (!svg) continue;
      for (const el of svg.querySelectorAll('.state.active, .state.active-ancestor'))
        el.classList.remove('active', 'active-ancestor');
      for (const el of svg.querySelectorAll('.marker')) el.remove();
      const actors = (byChart.get(name) || [])
        .slice()
        .sort((a, b) =>
          a.actor < b.actor ? -1 : a.actor > b.actor ? 1 : (a.batch || 0) - (b.batch || 0),
        );
      const labels = [];
      const markersAt = new Map();
      for (const a of actors) {
        const label = shortName(a.actor) + (a.batch === undefined ? '' : ` b${a.batch}`);
        labels.push(`${label}: ${a.state}`);
        for (const path of a.state.split(',')) {
          const node = findState(svg, path);
          if (!node) continue;
          node.classList.add('active');
          const parts = path.split('.');
          for (let i = parts.length - 1; i > 0; i--) {
            const up = findState(svg, parts.slice(0, i).join('.'));
            if (up && !up.classList.contains('active')) up.classList.add('active-ancestor');
          }
          if (actors.length > 1 || name !== 'coordinator') {
            const n = markersAt.get(path) || 0;
            markersAt.set(path, n + 1);
            addMarker(svg, node, label, n);
          }
        }
      }
      keepInView(chart.panel, svg.querySelector('.state.active'));
      chart.actorsLine.textContent = labels.length
        ? labels.join('  ·  ')
        : `(no actor of rank ${state.selectedRank} yet)`;
    }
  }

  /** Scroll a chart panel (not the page) so its highlighted state is visible. */
  function keepInView(panel, node) {
    if (!node) return;
    const p = panel.getBoundingClientRect();
    const n = node.getBoundingClientRect();
    if (n.top < p.top + 40) panel.scrollTop -= p.top + 40 - n.top;
    else if (n.bottom > p.bottom - 10) panel.scrollTop += n.bottom - p.bottom + 40;
  }

  function findState(svg, path) {
    for (const el of svg.querySelectorAll('.state'))
      if (el.getAttribute('data-state') === path) return el;
    return null;
  }

  function addMarker(svg, node, label, index) {
    const rect = node.querySelector('rect');
    if (!rect) return;
    const x = Number(rect.getAttribute('x')) + Number(rect.getAttribute('width'));
    const y = Number(rect.getAttribute('y')) + index * 13;
    const w = label.length * 5.8 + 8;
    const ns = 'http://www.w3.org/2000/svg';
    const g = document.createElementNS(ns, 'g');
    g.setAttribute('class', 'marker');
    const r = document.createElementNS(ns, 'rect');
    r.setAttribute('x', String(x - w / 2));
    r.setAttribute('y', String(y - 6));
    r.setAttribute('width', String(w));
    r.setAttribute('height', '12');
    r.setAttribute('rx', '6');
    const t = document.createElementNS(ns, 'text');
    t.setAttribute('x', String(x));
    t.setAttribute('y', String(y + 3));
    t.setAttribute('text-anchor', 'middle');
    t.textContent = label;
    g.append(r, t);
    svg.append(g);
  }

  // ---- rank selector and filters --------------------------------------------------------

  function sortedRanks() {
    return [...state.ranks].sort((a, b) => a - b);
  }

  function refreshRankSelectors() {
    const sel = $('rank');
    const keep = state.selectedRank;
    sel.textContent = '';
    for (const r of sortedRanks())
      sel.append(new Option(`rank ${r}`, String(r), false, r === keep));
    const filter = $('filter-rank');
    const fkeep = filter.value;
    filter.textContent = '';
    filter.append(new Option('all', ''));
    for (const r of sortedRanks()) filter.append(new Option(String(r), String(r)));
    filter.value = fkeep;
  }

  function refreshActorFilter() {
    const sel = $('filter-actor');
    const keep = sel.value;
    sel.textContent = '';
    sel.append(new Option('all', ''), new Option('no actor (spans, points)', '-'));
    for (const a of [...state.actorNames].sort()) sel.append(new Option(a, a));
    sel.value = keep;
  }

  function filters() {
    const rank = $('filter-rank').value;
    const actor = $('filter-actor').value;
    const batch = $('filter-batch').value;
    return {
      rank: rank === '' ? null : Number(rank),
      actor: actor === '' ? null : actor,
      batch: batch === '' ? null : Number(batch),
    };
  }

  function matches(e, f) {
    if (f.rank !== null && e.rank !== f.rank) return false;
    if (f.batch !== null && e.batch !== f.batch) return false;
    if (f.actor === '-') return e.type !== 'actor.state';
    if (f.actor !== null) return e.type === 'actor.state' && e.actor === f.actor;
    return true;
  }

  // ---- event log ---------------------------------------------------------------------------

  function row(e) {
    const tr = document.createElement('tr');
    tr.className =
      e.type === 'actor.state'
        ? 'state'
        : /\.(start|end|splits)$/.test(e.type)
          ? 'span'
          : e.type === 'pipeline.failed'
            ? 'fail'
            : 'point';
    const details =
      e.type === 'actor.state'
        ? `${e.actor}: ${e.from || '∅'} → ${e.to}`
        : Object.keys(e)
            .filter((k) => !['type', 'rank', 't', 'batch'].includes(k))
            .map((k) => `${k}=${typeof e[k] === 'string' ? e[k] : JSON.stringify(e[k])}`)
            .join(' ');
    const cells = [
      ['t', (Math.round(e.t * 1000) / 1000).toFixed(3)],
      ['rank', `r${e.rank}`],
      ['type', e.type],
      ['batch', e.batch === undefined ? '' : `b${e.batch}`],
      ['details', details],
    ];
    for (const [cls, text] of cells) {
      const td = document.createElement('td');
      td.className = cls;
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  }

  function appendLog(list) {
    const f = filters();
    const body = $('log-body');
    const box = $('log');
    const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
    const frag = document.createDocumentFragment();
    const fresh = list.filter((e) => matches(e, f)).slice(-MAX_LOG_ROWS);
    for (const e of fresh) frag.append(row(e));
    body.append(frag);
    while (body.childElementCount > MAX_LOG_ROWS) body.firstElementChild.remove();
    if (atBottom) box.scrollTop = box.scrollHeight;
    updateLogCount();
  }

  function rebuildLog() {
    const f = filters();
    const body = $('log-body');
    body.textContent = '';
    const shown = [];
    for (let i = state.events.length - 1; i >= 0 && shown.length < MAX_LOG_ROWS; i--) {
      if (matches(state.events[i], f)) shown.push(state.events[i]);
    }
    const frag = document.createDocumentFragment();
    for (let i = shown.length - 1; i >= 0; i--) frag.append(row(shown[i]));
    body.append(frag);
    $('log').scrollTop = $('log').scrollHeight;
    updateLogCount();
  }

  function updateLogCount() {
    $('log-count').textContent =
      `${$('log-body').childElementCount} shown of ${state.events.length}`;
  }

  // ---- status and controls ----------------------------------------------------------------

  function renderStatus() {
    const el = $('status');
    const label = !state.connected
      ? 'disconnected'
      : state.done
        ? 'finished'
        : state.paused
          ? 'paused'
          : 'running';
    el.textContent = label;
    el.className = !state.connected
      ? 'offline'
      : state.done
        ? 'done'
        : state.paused
          ? 'paused'
          : 'running';
    const live = state.connected && state.controls && !state.done;
    $('pause').disabled = !live || state.paused;
    $('step').disabled = !live || !state.paused;
    $('resume').disabled = !live || !state.paused;
  }

  let socket = null;
  function control(action) {
    if (socket && socket.readyState === WebSocket.OPEN)
      socket.send(JSON.stringify({ type: 'control', action }));
  }

  function connect() {
    socket = new WebSocket(
      `${(location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host}/ws`,
    );
    socket.onopen = () => {
      state.connected = true;
      $('error').textContent = '';
      renderStatus();
    };
    socket.onclose = () => {
      state.connected = false;
      renderStatus();
    };
    socket.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      switch (msg.type) {
        case 'init':
          document.title = msg.title;
          $('title').textContent = msg.title;
          state.events = [];
          state.actors.clear();
          state.playback = [];
          state.counter = 0;
          $('log-body').textContent = '';
          installCharts(msg.charts);
          $('timeline-wrap').innerHTML = msg.timeline;
          Object.assign(state, { paused: msg.paused, done: msg.done, controls: msg.controls });
          ingest(msg.events, true);
          renderStatus();
          break;
        case 'events':
          ingest(msg.events);
          break;
        case 'timeline':
          $('timeline-wrap').innerHTML = msg.svg;
          break;
        case 'status':
          Object.assign(state, { paused: msg.paused, done: msg.done, controls: msg.controls });
          renderStatus();
          break;
        case 'ack':
          break;
        case 'error':
          $('error').textContent = msg.message;
          break;
      }
    };
  }

  $('pause').onclick = () => control('pause');
  $('step').onclick = () => control('step');
  $('resume').onclick = () => control('resume');
  $('rank').onchange = (e) => {
    state.selectedRank = Number(e.target.value);
    renderHighlights();
  };
  for (const id of ['filter-rank', 'filter-actor', 'filter-batch'])
    $(id).addEventListener('input', rebuildLog);
  connect();
})();
