// nestjs-verk dashboard: the only script of the pages (loaded with the response's CSP
// nonce). Plain DOM, no framework: actions (POST, same-origin), selections, relative
// times, and the overview's live chart. Nothing here writes HTML from data: text only.
(function () {
  'use strict';
  var body = document.body;
  var base = body.getAttribute('data-base') || '';

  function flash(text, bad) {
    var box = document.getElementById('flash');
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
    box.className = bad ? 'flash bad' : 'flash';
  }

  function post(path, payload) {
    return fetch(base + path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(payload || {}),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (!response.ok || json.ok === false) throw new Error(json.error || response.status + ' ' + response.statusText);
        return json;
      });
    });
  }

  function selected() {
    var boxes = document.querySelectorAll('input[name="jid"]:checked');
    var jids = [];
    for (var i = 0; i < boxes.length; i++) jids.push(boxes[i].value);
    return jids;
  }

  function run(button, path, payload) {
    button.disabled = true;
    post(path, payload).then(function (json) {
      var done = typeof json.done === 'number' ? ' (' + json.done.toLocaleString('en-US') + ')' : '';
      flash((button.textContent || 'Done') + ': done' + done + (json.more ? '; more remain, click again' : ''));
      setTimeout(function () { location.reload(); }, 400);
    }, function (error) {
      button.disabled = false;
      flash(String(error.message || error), true);
    });
  }

  document.addEventListener('click', function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var button = target.closest('button[data-post]');
    if (button) {
      var payload = {};
      var raw = button.getAttribute('data-body');
      if (raw) payload = JSON.parse(raw);
      if (button.getAttribute('data-selection') === 'true') {
        var jids = selected();
        if (jids.length === 0) return flash('Select one or more jobs first.', true);
        payload.jids = jids;
      }
      var question = button.getAttribute('data-confirm');
      if (question && !window.confirm(question)) return;
      run(button, button.getAttribute('data-post'), payload);
      return;
    }
    var all = target.closest('input[data-select-all]');
    if (all) {
      var table = all.closest('table');
      var boxes = table ? table.querySelectorAll('input[name="jid"]') : [];
      for (var i = 0; i < boxes.length; i++) boxes[i].checked = all.checked;
    }
  });

  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-post-form')) return;
    event.preventDefault();
    var payload = {};
    new FormData(form).forEach(function (value, key) { payload[key] = String(value); });
    run(form.querySelector('button') || form, form.getAttribute('data-post-form'), payload);
  });

  // Relative times, with the absolute time kept in the title.
  function relative(ms) {
    var diff = Math.round((ms - Date.now()) / 1000);
    var abs = Math.abs(diff);
    if (abs < 2) return 'now';
    var text = abs < 60 ? abs + ' s' : abs < 3600 ? Math.floor(abs / 60) + ' min' : abs < 86400 ? Math.floor(abs / 3600) + ' h' : Math.floor(abs / 86400) + ' d';
    return diff < 0 ? text + ' ago' : 'in ' + text;
  }
  function refreshTimes() {
    var times = document.querySelectorAll('time[datetime]');
    for (var i = 0; i < times.length; i++) {
      var ms = Date.parse(times[i].getAttribute('datetime'));
      if (!isNaN(ms)) times[i].textContent = relative(ms);
    }
  }
  setInterval(refreshTimes, 10000);

  // The overview's live chart: processed/failed per second, polled every N seconds
  // (2 to 20, kept in localStorage with the paused state).
  var canvas = document.getElementById('live-chart');
  if (!canvas) return;
  var slider = document.getElementById('poll-seconds');
  var label = document.getElementById('poll-label');
  var toggle = document.getElementById('poll-toggle');
  var rate = document.getElementById('live-rate');
  var stored = Number(localStorage.getItem('verk.pollSeconds'));
  var seconds = stored >= 2 && stored <= 20 ? stored : Math.min(20, Math.max(2, Math.round(Number(body.getAttribute('data-poll')) / 1000) || 5));
  var paused = localStorage.getItem('verk.paused') === 'true';
  var points = [];
  var last = null;
  var timer = null;

  function render() {
    slider.value = String(seconds);
    label.textContent = String(seconds);
    toggle.textContent = paused ? 'Start polling' : 'Stop polling';
    toggle.setAttribute('aria-pressed', paused ? 'true' : 'false');
  }

  function draw() {
    var ctx = canvas.getContext('2d');
    var style = getComputedStyle(document.documentElement);
    var w = canvas.width;
    var h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    ctx.strokeStyle = style.getPropertyValue('--grid').trim() || '#ccc';
    ctx.lineWidth = 1;
    for (var g = 1; g < 4; g++) { ctx.beginPath(); ctx.moveTo(0, (h * g) / 4); ctx.lineTo(w, (h * g) / 4); ctx.stroke(); }
    var max = 1;
    points.forEach(function (p) { max = Math.max(max, p.processed, p.failed); });
    [['processed', '--processed'], ['failed', '--failed']].forEach(function (series) {
      ctx.strokeStyle = style.getPropertyValue(series[1]).trim() || '#06c';
      ctx.lineWidth = 2;
      ctx.beginPath();
      points.forEach(function (p, i) {
        var x = points.length < 2 ? 0 : (i / 49) * w;
        var y = h - 4 - (p[series[0]] / max) * (h - 12);
        if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.stroke();
    });
    ctx.fillStyle = style.getPropertyValue('--muted').trim() || '#888';
    ctx.font = '12px sans-serif';
    ctx.fillText(max.toLocaleString('en-US', { maximumFractionDigits: 1 }) + '/s', 4, 14);
  }

  function poll() {
    fetch(base + '/api/stats', { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (response) { if (!response.ok) throw new Error(String(response.status)); return response.json(); })
      .then(function (stats) {
        var values = {
          processed: stats.processed, failed: stats.failed, processedToday: stats.today.processed, failedToday: stats.today.failed,
          enqueued: stats.enqueued, busy: stats.inProgress, scheduled: stats.scheduled, retries: stats.retries, dead: stats.dead, nodes: stats.nodes.length,
        };
        Object.keys(values).forEach(function (key) {
          var cell = document.querySelector('[data-stat="' + key + '"]');
          if (cell) cell.textContent = Number(values[key]).toLocaleString('en-US');
        });
        var now = Date.now();
        if (last) {
          var dt = Math.max(0.001, (now - last.at) / 1000);
          points.push({ processed: Math.max(0, stats.processed - last.processed) / dt, failed: Math.max(0, stats.failed - last.failed) / dt });
          if (points.length > 50) points.shift();
          var p = points[points.length - 1];
          rate.textContent = p.processed.toFixed(1) + ' processed/s, ' + p.failed.toFixed(1) + ' failed/s';
        }
        last = { at: now, processed: stats.processed, failed: stats.failed };
        draw();
      })
      .catch(function (error) { rate.textContent = 'polling failed: ' + error.message; });
  }

  function schedule() {
    if (timer) clearInterval(timer);
    timer = null;
    if (!paused) timer = setInterval(poll, seconds * 1000);
  }

  slider.addEventListener('input', function () {
    seconds = Math.min(20, Math.max(2, Number(slider.value) || 5));
    localStorage.setItem('verk.pollSeconds', String(seconds));
    render();
    schedule();
  });
  toggle.addEventListener('click', function () {
    paused = !paused;
    localStorage.setItem('verk.paused', String(paused));
    render();
    schedule();
    if (!paused) poll();
  });
  render();
  draw();
  poll();
  schedule();
})();
