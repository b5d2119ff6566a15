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

  // The selected rows as { jid, at }: the score the page listed lets the engine find
  // each job with one exact read (a bare jid, without a score, is looked for by a scan).
  function selected() {
    var boxes = document.querySelectorAll('input[name="jid"]:checked');
    var jobs = [];
    for (var i = 0; i < boxes.length; i++) {
      var at = Number(boxes[i].getAttribute('data-at'));
      jobs.push(boxes[i].getAttribute('data-at') && isFinite(at) ? { jid: boxes[i].value, at: at } : { jid: boxes[i].value });
    }
    return jobs;
  }

  function run(button, path, payload) {
    button.disabled = true;
    post(path, payload).then(function (json) {
      var done = typeof json.done === 'number' ? ' (' + json.done.toLocaleString('en-US') + ')' : '';
      flash((button.textContent || 'Done') + ': done' + done + (json.skipped ? '; ' + Number(json.skipped).toLocaleString('en-US') + ' left (not a job, or no queue)' : ''));
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
        var jobs = selected();
        if (jobs.length === 0) return flash('Select one or more jobs first.', true);
        payload.jobs = jobs;
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
    var raw = form.getAttribute('data-body');
    var payload = raw ? JSON.parse(raw) : {};
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
  // (2 to 20, kept in localStorage with the paused state). Drawn in SVG by attributes
  // only (points, x, y, width, height): a nonce CSP blocks style attributes, not these.
  var chart = document.getElementById('live-chart');
  if (!chart) return;
  var SVG = 'http://www.w3.org/2000/svg';
  var slider = document.getElementById('poll-seconds');
  var label = document.getElementById('poll-label');
  var toggle = document.getElementById('poll-toggle');
  var rate = document.getElementById('live-rate');
  var maxLabel = document.getElementById('live-max');
  var waiting = document.getElementById('live-wait');
  var history = document.getElementById('history-chart');
  var historyDays = history ? Number(history.getAttribute('data-days')) || 7 : 1;
  var stored = Number(localStorage.getItem('verk.pollSeconds'));
  var seconds = stored >= 2 && stored <= 20 ? stored : Math.min(20, Math.max(2, Math.round(Number(body.getAttribute('data-poll')) / 1000) || 5));
  var paused = localStorage.getItem('verk.paused') === 'true';
  var SLOTS = 50;
  var points = [];
  var last = null;
  var timer = null;

  function render() {
    slider.value = String(seconds);
    label.textContent = String(seconds);
    toggle.textContent = paused ? 'Start polling' : 'Stop polling';
    toggle.setAttribute('aria-pressed', paused ? 'true' : 'false');
  }

  // The newest rate at the right edge, one slot per poll, scaled to the largest rate shown.
  function draw() {
    var w = 900;
    var h = 180;
    var max = 1;
    points.forEach(function (p) { max = Math.max(max, p.processed, p.failed); });
    ['processed', 'failed'].forEach(function (series) {
      var line = chart.querySelector('polyline.' + series);
      var coords = points.map(function (p, i) {
        // Few rates are spread over at least a fifth of the width, so a new chart reads.
        var x = w - (points.length - 1 - i) * (w / (Math.max(points.length, 10) - 1));
        var y = h - 4 - (p[series] / max) * (h - 24);
        return x.toFixed(1) + ',' + y.toFixed(1);
      });
      line.setAttribute('points', coords.join(' '));
    });
    maxLabel.textContent = points.length ? 'max ' + max.toLocaleString('en-US', { maximumFractionDigits: 1 }) + '/s' : '';
    waiting.textContent = points.length >= 2 ? '' : points.length === 1 ? 'One rate so far: the line appears with the next poll' : 'Measuring: the first rate needs two polls';
  }

  // The history bars, redrawn from the poll (the same layout as the server's chart).
  function drawHistory(days) {
    if (!history || !days || !days.length) return;
    var ordered = days.slice().reverse();
    var width = 900;
    var height = 160;
    var max = 1;
    ordered.forEach(function (d) { max = Math.max(max, d.processed + d.failed); });
    var step = width / ordered.length;
    var bar = Math.max(1, step * 0.8);
    ordered.forEach(function (d, i) {
      var group = history.querySelector('g[data-date="' + d.date + '"]');
      if (!group) return;
      var p = (d.processed / max) * height;
      var f = (d.failed / max) * height;
      var x = (i * step).toFixed(1);
      var processed = group.querySelector('rect.processed');
      var failed = group.querySelector('rect.failed');
      processed.setAttribute('x', x); processed.setAttribute('width', bar.toFixed(1));
      processed.setAttribute('y', (height - p - f).toFixed(1)); processed.setAttribute('height', p.toFixed(1));
      failed.setAttribute('x', x); failed.setAttribute('width', bar.toFixed(1));
      failed.setAttribute('y', (height - f).toFixed(1)); failed.setAttribute('height', f.toFixed(1));
      var title = group.querySelector('title');
      if (title) title.textContent = d.date + ': ' + d.processed.toLocaleString('en-US') + ' processed, ' + d.failed.toLocaleString('en-US') + ' failed';
    });
  }

  function setText(selector, value) {
    var cell = document.querySelector(selector);
    if (cell) cell.textContent = Number(value).toLocaleString('en-US');
  }

  function poll() {
    fetch(base + '/api/stats?days=' + historyDays, { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (response) { if (!response.ok) throw new Error(String(response.status)); return response.json(); })
      .then(function (stats) {
        var values = {
          processed: stats.processed, failed: stats.failed, processedToday: stats.today.processed, failedToday: stats.today.failed,
          enqueued: stats.enqueued, busy: stats.inProgress, scheduled: stats.scheduled, retries: stats.retries, dead: stats.dead, blocked: stats.blocked, nodes: stats.nodes.length,
        };
        Object.keys(values).forEach(function (key) { setText('[data-stat="' + key + '"]', values[key]); });
        (stats.queues || []).forEach(function (queue) {
          var row = '#glance tr[data-queue="' + (window.CSS && CSS.escape ? CSS.escape(queue.name) : queue.name) + '"] ';
          setText(row + '[data-processed-today]', queue.today.processed);
          setText(row + '[data-failed-today]', queue.today.failed);
        });
        drawHistory(stats.days);
        var now = Date.now();
        if (last) {
          var dt = Math.max(0.001, (now - last.at) / 1000);
          points.push({ processed: Math.max(0, stats.processed - last.processed) / dt, failed: Math.max(0, stats.failed - last.failed) / dt });
          if (points.length > SLOTS) points.shift();
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
  if (!paused) {
    // A first rate needs two samples: take the second one second after the first
    // instead of a whole interval later.
    poll();
    setTimeout(poll, 1000);
  }
  schedule();
})();
