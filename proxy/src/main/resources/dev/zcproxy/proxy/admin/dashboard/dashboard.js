// zcproxy dashboard: plain JS, no dependencies. Every value from the server is written with
// textContent (URLs and ban expressions come from clients and operators), never as HTML.
'use strict';
(function () {
  var HISTORY = 300;
  var MODES = ['sendfile', 'splice', 'copy'];
  var OUTCOMES = ['HIT', 'STALE', 'REVALIDATED', 'MISS', 'PASS'];
  var points = [];

  function $(id) { return document.getElementById(id); }
  function text(id, v) { var e = $(id); if (e) { e.textContent = v; } }
  function num(n) { return n == null ? '–' : Math.round(n).toLocaleString('en-US'); }
  function bytes(n) {
    if (n == null) { return '–'; }
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? Math.round(n) : n.toFixed(1)) + ' ' + u[i];
  }
  function pct(x) { return x == null ? '–' : (x * 100).toFixed(1) + '%'; }
  function ms(x) { return x == null ? '–' : (x < 10 ? x.toFixed(2) : x.toFixed(0)); }
  function cell(tr, v, cls) { var td = document.createElement('td'); td.textContent = v; if (cls) { td.className = cls; } tr.appendChild(td); return td; }
  function rows(id, list, fill) {
    var body = $(id);
    while (body.firstChild) { body.removeChild(body.firstChild); }
    list.forEach(function (item) { var tr = document.createElement('tr'); fill(tr, item); body.appendChild(tr); });
  }

  function color(name) { return getComputedStyle(document.documentElement).getPropertyValue('--' + name).trim() || '#888'; }

  // A line chart on a canvas: series = [{values, color}] on one scale (max, or the largest value);
  // a null value leaves a gap.
  function chart(canvas, series, max, label) {
    var ctx = canvas.getContext('2d'), w = canvas.width, h = canvas.height, pad = 4;
    ctx.clearRect(0, 0, w, h);
    ctx.strokeStyle = '#e2e5ea'; ctx.lineWidth = 1;
    for (var g = 0; g <= 4; g++) { var gy = pad + (h - 2 * pad) * g / 4; ctx.beginPath(); ctx.moveTo(0, gy); ctx.lineTo(w, gy); ctx.stroke(); }
    series.forEach(function (s) {
      var top = s.max || max;
      ctx.strokeStyle = s.color; ctx.lineWidth = 2; ctx.beginPath();
      var pen = false;
      s.values.forEach(function (v, i) {
        if (v == null) { pen = false; return; }
        var x = w - (s.values.length - 1 - i) * (w / (HISTORY - 1));
        var y = h - pad - (h - 2 * pad) * Math.min(1, v / top);
        if (pen) { ctx.lineTo(x, y); } else { ctx.moveTo(x, y); pen = true; }
      });
      ctx.stroke();
    });
    if (label) { ctx.fillStyle = '#6b7383'; ctx.font = '11px sans-serif'; ctx.fillText(label, 6, 14); }
  }

  function maxOf(lists) {
    var m = 1e-9;
    lists.forEach(function (l) { l.forEach(function (v) { if (v != null && v > m) { m = v; } }); });
    return m;
  }

  // Hit ratio over the last 10 points (a second each): per-second ratios of a few requests jump about.
  function hitRatios() {
    return points.map(function (p, i) {
      var req = 0, hits = 0;
      for (var k = Math.max(0, i - 9); k <= i; k++) { req += points[k].requests; hits += points[k].hits; }
      return req > 0 ? hits / req : null;
    });
  }

  function drawCharts() {
    var rps = points.map(function (p) { return p.rps; });
    var rpsMax = maxOf([rps]);
    chart($('chart-rps'), [{ values: rps, color: color('rps') }, { values: hitRatios(), color: color('hit'), max: 1 }],
      rpsMax, 'top: ' + rpsMax.toFixed(1) + ' req/s, 100%');
    var modes = MODES.map(function (m) { return points.map(function (p) { return p.bps[m]; }); });
    var bMax = maxOf(modes);
    chart($('chart-bytes'), MODES.map(function (m, i) { return { values: modes[i], color: color(m) }; }), bMax,
      'top: ' + bytes(bMax) + '/s');
  }

  function render(s) {
    var p = s.point;
    points.push(p);
    while (points.length > HISTORY) { points.shift(); }
    text('updated', 'updated ' + new Date(s.time).toLocaleTimeString());
    text('rps', p.rps.toFixed(1));
    var total = 0;
    Object.keys(s.responses).forEach(function (k) { total += s.responses[k]; });
    text('requests-total', num(total));
    text('hit-ratio', pct(s.hit_ratio_last_minute));
    var sent = 0, all = 0, zero = 0;
    MODES.forEach(function (m) { sent += p.bps[m]; all += s.bytes[m]; if (m !== 'copy') { zero += s.bytes[m]; } });
    text('bps', bytes(sent));
    text('zero-copy', all > 0 ? pct(zero / all) : '–');

    // bytes by mode: the bar, the table
    var bar = $('mode-bar');
    while (bar.firstChild) { bar.removeChild(bar.firstChild); }
    MODES.forEach(function (m) {
      if (all > 0 && s.bytes[m] > 0) {
        var d = document.createElement('div'); d.className = 'm-' + m; d.style.width = (100 * s.bytes[m] / all) + '%';
        d.textContent = m + ' ' + pct(s.bytes[m] / all); d.title = m + ': ' + bytes(s.bytes[m]); bar.appendChild(d);
      }
    });
    rows('modes', MODES, function (tr, m) {
      cell(tr, m); cell(tr, bytes(s.bytes[m]), 'num'); cell(tr, all > 0 ? pct(s.bytes[m] / all) : '–', 'num');
      cell(tr, bytes(p.bps[m]), 'num'); cell(tr, num(s.mode_responses[m]), 'num');
    });
    var modeRows = $('modes').children;
    for (var i = 0; i < modeRows.length; i++) { modeRows[i].id = 'mode-' + MODES[i]; }

    rows('latency', OUTCOMES, function (tr, o) {
      var l = s.latency_ms[o] || {};
      tr.id = 'latency-' + o;
      cell(tr, o); cell(tr, num(l.count), 'num'); cell(tr, ms(l.p50), 'num'); cell(tr, ms(l.p90), 'num'); cell(tr, ms(l.p99), 'num');
    });
    rows('outcomes', Object.keys(s.responses), function (tr, o) {
      var th = document.createElement('th'); th.textContent = o; tr.appendChild(th); cell(tr, num(s.responses[o]), 'num');
    });

    var c = s.cache;
    if (c.enabled) {
      text('cache-entries', num(c.entries) + ' entries');
      text('cache-bytes', bytes(c.bytes) + ' of ' + bytes(c.max_bytes));
      var fb = c.max_bytes > 0 ? c.bytes / c.max_bytes : 0, fh = c.max_index_heap > 0 ? c.index_heap / c.max_index_heap : 0;
      $('fill-bytes').style.width = Math.min(100, 100 * fb) + '%';
      $('fill-heap').style.width = Math.min(100, 100 * fh) + '%';
      text('fill-bytes-text', bytes(c.bytes) + ' / ' + bytes(c.max_bytes) + ' (' + pct(fb) + ')');
      text('fill-heap-text', bytes(c.index_heap) + ' / ' + bytes(c.max_index_heap) + ' (' + pct(fh) + ')');
      text('entries', num(c.entries));
      text('evictions', num(c.evictions.size) + ' / ' + num(c.evictions.expired) + ' / ' + num(c.evictions.explicit));
    } else {
      text('cache-entries', 'disabled');
    }
    text('stored', num(c.stored));
    text('fills', num(c.fills_in_flight));

    var o = s.origin;
    text('origin-errors', num(o.errors_last_minute));
    text('origin-p50', o.latency_ms.p50 == null ? '–' : ms(o.latency_ms.p50) + ' ms');
    text('origin-requests', num(o.requests));
    text('origin-errors-total', num(o.errors));
    text('origin-errors-minute', num(o.errors_last_minute));
    text('origin-latency', ms(o.latency_ms.p50) + ' / ' + ms(o.latency_ms.p90) + ' / ' + ms(o.latency_ms.p99));

    rows('top-hits', s.top_hits || [], function (tr, r) {
      cell(tr, r.url, 'url').title = r.url; cell(tr, num(r.hits), 'num'); cell(tr, num(r.requests), 'num'); cell(tr, bytes(r.bytes), 'num');
    });
    rows('top-bytes', s.top_bytes || [], function (tr, r) {
      cell(tr, r.url, 'url').title = r.url; cell(tr, bytes(r.bytes), 'num'); cell(tr, num(r.requests), 'num'); cell(tr, num(r.hits), 'num');
    });
    rows('invalidations', s.invalidations, function (tr, r) {
      cell(tr, new Date(r.time).toLocaleTimeString()); cell(tr, r.kind); cell(tr, r.target, 'url').title = r.target;
      cell(tr, num(r.removed), 'num');
    });
    text('bans-count', num(s.bans.count));
    text('bans-matched', num(s.bans.matched));
    drawCharts();
  }

  function connect() {
    var conn = $('conn');
    var es = new EventSource('/events');
    es.addEventListener('history', function (e) {
      points = JSON.parse(e.data);
    });
    es.addEventListener('snapshot', function (e) {
      conn.dataset.state = 'live'; conn.textContent = 'live';
      render(JSON.parse(e.data));
    });
    es.onerror = function () { conn.dataset.state = 'down'; conn.textContent = 'reconnecting'; };
  }

  // The purge/ban form: calls the admin API with the bearer token (kept in sessionStorage).
  var ACTIONS = {
    'purge': { label: 'URL', param: 'url', path: '/purge' },
    'soft-purge': { label: 'URL', param: 'url', path: '/purge', extra: '&soft=true' },
    'tag': { label: 'Tag', param: 'tag', path: '/purge' },
    'soft-tag': { label: 'Tag', param: 'tag', path: '/purge', extra: '&soft=true' },
    'prefix': { label: 'URL prefix', param: 'prefix', path: '/ban' },
    'regex': { label: 'Regular expression (on host + path)', param: 'regex', path: '/ban' },
    'header': { label: 'Header name', param: 'header', path: '/ban', value: true }
  };

  function setupForm() {
    var token = $('token'), action = $('action'), result = $('result');
    token.value = sessionStorage.getItem('zcproxy.adminToken') || '';
    token.addEventListener('change', function () { sessionStorage.setItem('zcproxy.adminToken', token.value); });
    function sync() {
      var a = ACTIONS[action.value];
      text('target-label', a.label);
      $('value-row').hidden = !a.value;
    }
    action.addEventListener('change', sync);
    sync();
    $('purge-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      sessionStorage.setItem('zcproxy.adminToken', token.value);
      var a = ACTIONS[action.value];
      var q = a.param + '=' + encodeURIComponent($('target').value) + (a.extra || '');
      if (a.value) { q += '&value=' + encodeURIComponent($('value').value); }
      result.className = 'result'; result.textContent = '…';
      fetch(a.path + '?' + q, { method: 'POST', headers: { 'Authorization': 'Bearer ' + token.value }, credentials: 'omit' })
        .then(function (r) {
          return r.text().then(function (body) {
            result.className = r.ok ? 'result ok' : 'result error';
            result.textContent = r.status + ' ' + body.trim();
          });
        })
        .catch(function (e) { result.className = 'result error'; result.textContent = String(e); });
    });
  }

  document.addEventListener('DOMContentLoaded', function () { setupForm(); connect(); });
})();
