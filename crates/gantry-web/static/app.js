// Gantry web UI behaviour: live run status, live job logs (ANSI colours, line links,
// follow), relative times. Hand-written, no build step, no dependencies; served at
// /static/app.js. Every page works without it, just not live.
//
// Log text is untrusted: it only ever reaches the DOM through textContent or text nodes.
"use strict";

(function () {
  var GLYPHS = {
    success: "\u2713", failure: "\u2715", running: "\u25CF", cancelled: "\u2298",
    skipped: "\u21B7", waiting: "\u25CC", queued: "\u25CB"
  };
  var FINISHED = { success: 1, failure: 1, cancelled: 1, skipped: 1 };

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // ---- Times: the same wording as the server's format.rs ---------------------------

  function duration(ms) {
    if (!(ms >= 0)) ms = 0;
    if (ms < 1000) return Math.floor(ms) + "ms";
    var secs = Math.floor(ms / 1000);
    var d = Math.floor(secs / 86400), h = Math.floor(secs / 3600) % 24;
    var m = Math.floor(secs / 60) % 60, s = secs % 60;
    if (d > 0) return d + "d " + h + "h";
    if (h > 0) return h + "h " + m + "m";
    if (m > 0) return m + "m " + s + "s";
    return s + "s";
  }

  function relative(t, now) {
    var secs = Math.floor((now - t) / 1000);
    if (secs < 0) return -secs < 45 ? "just now" : "in " + Math.ceil(-secs / 60) + " min";
    if (secs < 45) return "just now";
    if (secs < 3600) return Math.floor((secs + 30) / 60) + " min ago";
    if (secs < 86400) return Math.floor(secs / 3600) + " h ago";
    if (secs < 172800) return "yesterday";
    if (secs < 2592000) return Math.floor(secs / 86400) + " days ago";
    return new Date(t).toISOString().slice(0, 10);
  }

  function refreshTimes(localTitles) {
    var now = Date.now();
    $all("time[data-rel]").forEach(function (el) {
      var t = Date.parse(el.getAttribute("datetime"));
      if (isNaN(t)) return;
      el.textContent = relative(t, now);
      // The server can only say UTC; the browser knows the reader's zone.
      if (localTitles) el.title = new Date(t).toLocaleString();
    });
  }

  function tickDurations() {
    var now = Date.now();
    $all("[data-since]").forEach(function (el) {
      var t = Date.parse(el.getAttribute("data-since"));
      if (!isNaN(t)) el.textContent = duration(now - t);
    });
  }

  function timeElement(iso) {
    var el = document.createElement("time");
    el.setAttribute("datetime", iso);
    el.setAttribute("data-rel", "");
    var t = Date.parse(iso);
    el.textContent = relative(t, Date.now());
    el.title = new Date(t).toLocaleString();
    return el;
  }

  function announce(text) {
    var el = document.getElementById("live-announce");
    if (el) el.textContent = text;
  }

  // ---- Run page: live status ------------------------------------------------------

  function setBadge(badge, status) {
    if (!badge) return;
    badge.setAttribute("data-status", status);
    var g = $(".glyph", badge), l = $(".badge-label", badge);
    if (g) g.textContent = GLYPHS[status] || "\u25CB";
    if (l) l.textContent = status;
  }

  function jobDuration(job) {
    if (job.started_at && job.finished_at) {
      return { text: duration(Date.parse(job.finished_at) - Date.parse(job.started_at)), since: null };
    }
    if (job.started_at && job.status === "running") {
      return { text: duration(Date.now() - Date.parse(job.started_at)), since: job.started_at };
    }
    return null;
  }

  function setDur(el, d) {
    if (!el) return;
    el.textContent = d ? d.text : "\u2014";
    if (d && d.since) el.setAttribute("data-since", d.since); else el.removeAttribute("data-since");
  }

  var SVG_NS = "http://www.w3.org/2000/svg";

  function updateNode(node, job, d) {
    node.setAttribute("data-status", job.status);
    node.setAttribute("aria-label", job.name + ": " + job.status);
    var title = $("title", node);
    if (title) title.textContent = job.name + " (" + job.status + ")";
    var glyph = $(".node-glyph", node);
    if (glyph) glyph.textContent = GLYPHS[job.status] || "";
    var meta = $(".node-meta", node);
    if (!meta) return;
    while (meta.firstChild) meta.removeChild(meta.firstChild);
    var st = document.createElementNS(SVG_NS, "tspan");
    st.setAttribute("class", "node-status");
    st.textContent = job.status;
    meta.appendChild(st);
    if (d) {
      meta.appendChild(document.createTextNode(" \u00B7 "));
      var dur = document.createElementNS(SVG_NS, "tspan");
      dur.setAttribute("class", "dur");
      setDur(dur, d);
      meta.appendChild(dur);
    }
  }

  // Recorded steps (sent with a finished job): status, glyph, exit code, duration.
  function updateSteps(item, steps) {
    for (var i = 0; i < steps.length; i++) {
      var st = steps[i];
      var li = $('.step[data-step-index="' + st.index + '"]', item);
      if (!li || !st.result) continue;
      li.setAttribute("data-status", st.result);
      var icon = $(".step-icon", li);
      if (icon) icon.textContent = GLYPHS[st.result] || "";
      var side = $(".step-side", li);
      if (!side) continue;
      var exit = $(".exit", side);
      if (st.exit_code != null && st.exit_code !== 0) {
        if (!exit) {
          exit = document.createElement("span");
          exit.className = "exit";
          exit.title = "exit code";
          side.insertBefore(exit, side.firstChild);
        }
        exit.textContent = "exit " + st.exit_code;
      }
      setDur($(".dur", side), { text: duration(st.duration_ms), since: null });
    }
  }

  function updateJob(job) {
    var id = String(job.id);
    var d = jobDuration(job);
    var node = $('.dag .node[data-job-id="' + id + '"]');
    var before = node ? node.getAttribute("data-status") : null;
    if (node) updateNode(node, job, d);
    var item = document.getElementById("job-" + id);
    if (item) {
      before = before || item.getAttribute("data-status");
      item.setAttribute("data-status", job.status);
      var icon = $(".job-icon", item);
      if (icon) { icon.setAttribute("data-status", job.status); icon.textContent = GLYPHS[job.status] || ""; }
      var text = $(".job-status-text", item);
      if (text) text.textContent = job.status;
      setDur($(".job-side .dur", item), d);
    }
    if (item && job.steps) updateSteps(item, job.steps);
    var log = document.getElementById("log");
    if (log && log.getAttribute("data-job-id") === id) {
      log.setAttribute("data-status", job.status);
      setBadge($(".log-bar .badge", log), job.status);
    }
    if (before && before !== job.status) announce(job.name + ": " + job.status);
  }

  function updateRun(root, run) {
    var status = run.status;
    root.setAttribute("data-status", status);
    setBadge($("#run-status .badge"), status);
    var cancel = document.getElementById("cancel-form");
    if (cancel && run.cancel_requested && !FINISHED[status]) {
      var b = $("button", cancel);
      if (b) { b.disabled = true; b.textContent = "Cancelling\u2026"; }
    }
    var started = document.getElementById("run-started");
    if (started && run.started_at && !$("time", started)) {
      // The page was opened while the run was queued: show when it started, and let
      // the duration tick from then.
      started.textContent = "";
      started.appendChild(timeElement(run.started_at));
      if (!run.finished_at) {
        setDur($("#run-duration .dur"), {
          text: duration(Date.now() - Date.parse(run.started_at)), since: run.started_at
        });
      }
    }
    if (!FINISHED[status]) return false;
    if (cancel) cancel.hidden = true;
    var rerun = document.getElementById("rerun-form");
    if (rerun) rerun.hidden = false;
    var failed = document.getElementById("rerun-failed-form");
    if (failed) failed.hidden = status !== "failure";
    if (run.finished_at) {
      var fin = document.getElementById("run-finished");
      if (fin) { fin.textContent = ""; fin.appendChild(timeElement(run.finished_at)); }
      if (run.started_at) {
        setDur($("#run-duration .dur"), {
          text: duration(Date.parse(run.finished_at) - Date.parse(run.started_at)), since: null
        });
      }
    }
    announce("Run " + status);
    return true;
  }

  function parse(data) {
    try { return JSON.parse(data); } catch (e) { return null; }
  }

  function initRun() {
    var root = document.getElementById("run");
    if (!root || !window.EventSource) return;
    if (FINISHED[root.getAttribute("data-status")]) return;
    var es = new EventSource(root.getAttribute("data-live"));
    es.addEventListener("job", function (e) {
      var job = parse(e.data);
      if (job && job.id != null && job.status) updateJob(job);
    });
    es.addEventListener("run", function (e) {
      var run = parse(e.data);
      if (run && run.status && updateRun(root, run)) es.close();
    });
  }

  // ---- ANSI SGR → spans -------------------------------------------------------------

  // CSI sequences (SGR is the one we keep), OSC strings, other two-byte escapes, and
  // control characters other than tab.
  var ESCAPES = /\x1b\[([0-9;:?<=>]*)[ -\/]*([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?|[\x00-\x08\x0a-\x1f\x7f]/g;

  function newStyle() { return { fg: null, bg: null, b: false, d: false, i: false, u: false }; }

  function color256(n) {
    if (n < 16) return n;
    if (n < 232) {
      n -= 16;
      var lv = function (v) { return v ? 55 + v * 40 : 0; };
      return "rgb(" + lv(Math.floor(n / 36)) + "," + lv(Math.floor(n / 6) % 6) + "," + lv(n % 6) + ")";
    }
    var g = 8 + (n - 232) * 10;
    return "rgb(" + g + "," + g + "," + g + ")";
  }

  function sgr(st, params) {
    var p = params === "" ? [0] : params.split(/[;:]/).map(function (x) { return x === "" ? 0 : parseInt(x, 10); });
    for (var i = 0; i < p.length; i++) {
      var n = p[i];
      if (n === 0) { var fresh = newStyle(); for (var k in fresh) st[k] = fresh[k]; }
      else if (n === 1) st.b = true;
      else if (n === 2) st.d = true;
      else if (n === 3) st.i = true;
      else if (n === 4) st.u = true;
      else if (n === 22) { st.b = false; st.d = false; }
      else if (n === 23) st.i = false;
      else if (n === 24) st.u = false;
      else if (n >= 30 && n <= 37) st.fg = n - 30;
      else if (n === 39) st.fg = null;
      else if (n >= 40 && n <= 47) st.bg = n - 40;
      else if (n === 49) st.bg = null;
      else if (n >= 90 && n <= 97) st.fg = n - 90 + 8;
      else if (n >= 100 && n <= 107) st.bg = n - 100 + 8;
      else if (n === 38 || n === 48) {
        var c = null;
        if (p[i + 1] === 5 && p[i + 2] >= 0 && p[i + 2] <= 255) { c = color256(p[i + 2]); i += 2; }
        else if (p[i + 1] === 2 && i + 4 < p.length) {
          var r = p[i + 2] & 255, g = p[i + 3] & 255, b = p[i + 4] & 255;
          c = "rgb(" + r + "," + g + "," + b + ")"; i += 4;
        } else { i = p.length; }
        if (n === 38) st.fg = c; else st.bg = c;
      }
    }
  }

  function plain(st) { return st.fg === null && st.bg === null && !st.b && !st.d && !st.i && !st.u; }

  function emit(parent, st, text) {
    if (!text) return;
    if (plain(st)) { parent.appendChild(document.createTextNode(text)); return; }
    var span = document.createElement("span");
    var cls = [];
    if (typeof st.fg === "number") cls.push("a-fg" + st.fg); else if (st.fg) span.style.color = st.fg;
    if (typeof st.bg === "number") cls.push("a-bg" + st.bg); else if (st.bg) span.style.backgroundColor = st.bg;
    if (st.b) cls.push("a-b");
    if (st.d) cls.push("a-d");
    if (st.i) cls.push("a-i");
    if (st.u) cls.push("a-u");
    if (cls.length) span.className = cls.join(" ");
    span.textContent = text;
    parent.appendChild(span);
  }

  // Appends `text` to `parent` as text nodes and styled spans: text only, never markup.
  function ansi(text, parent) {
    text = String(text).replace(/[\r\n]+$/, "");
    // A carriage return overwrites the line (progress bars): keep what was drawn last.
    var cr = text.lastIndexOf("\r");
    if (cr >= 0) text = text.slice(cr + 1);
    var st = newStyle(), last = 0, m;
    ESCAPES.lastIndex = 0;
    while ((m = ESCAPES.exec(text)) !== null) {
      emit(parent, st, text.slice(last, m.index));
      if (m[2] === "m") sgr(st, m[1]);
      last = ESCAPES.lastIndex;
      if (m[0] === "") ESCAPES.lastIndex++;
    }
    emit(parent, st, text.slice(last));
  }

  // ---- Log panel --------------------------------------------------------------------

  function initLog() {
    var panel = document.getElementById("log");
    if (!panel || !window.EventSource) return;
    var body = document.getElementById("log-body");
    var lines = document.getElementById("log-lines");
    var note = document.getElementById("log-note");
    var followBtn = document.getElementById("log-follow");
    var wrapBtn = document.getElementById("log-wrap");
    var jobId = panel.getAttribute("data-job-id");
    var status = panel.getAttribute("data-status");
    var pending = [], scheduled = false, lastLine = 0, lastStep = null, ended = false;
    var highlighted = null;
    var hash = /^#L(\d+)$/.exec(location.hash);
    var target = hash ? parseInt(hash[1], 10) : 0;
    var follow = !target;

    if (status === "waiting" || status === "queued") note.textContent = "Waiting for the job to start\u2026";

    function setFollow(on) {
      follow = on;
      followBtn.setAttribute("aria-pressed", on ? "true" : "false");
      if (on) body.scrollTop = body.scrollHeight;
    }
    setFollow(follow);
    followBtn.addEventListener("click", function () { setFollow(!follow); });
    wrapBtn.addEventListener("click", function () {
      var on = wrapBtn.getAttribute("aria-pressed") !== "true";
      wrapBtn.setAttribute("aria-pressed", on ? "true" : "false");
      panel.classList.toggle("wrap", on);
    });
    // Scrolling up stops following; scrolling back to the bottom resumes it.
    body.addEventListener("scroll", function () {
      var atBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 4;
      if (atBottom !== follow) {
        follow = atBottom;
        followBtn.setAttribute("aria-pressed", atBottom ? "true" : "false");
      }
    }, { passive: true });

    function highlight(row) {
      if (highlighted) highlighted.classList.remove("hl");
      highlighted = row;
      if (row) row.classList.add("hl");
    }
    lines.addEventListener("click", function (e) {
      var a = e.target.closest ? e.target.closest(".ln-no") : null;
      if (!a) return;
      e.preventDefault();
      history.replaceState(null, "", "#" + a.parentNode.id);
      setFollow(false);
      highlight(a.parentNode);
    });

    function stepHeader(index) {
      var row = document.createElement("div");
      row.className = "ln-step";
      var li = $('#job-' + jobId + ' .step[data-step-index="' + index + '"]');
      var name = li ? li.getAttribute("data-step-name") : "";
      row.textContent = "\u25B8 " + (name || "Step " + (index + 1));
      return row;
    }

    function lineRow(rec) {
      var row = document.createElement("div");
      row.className = rec.stream === "err" ? "ln err" : rec.stream === "sys" ? "ln sys" : "ln";
      row.id = "L" + rec.line;
      var a = document.createElement("a");
      a.className = "ln-no";
      a.href = "#L" + rec.line;
      a.textContent = String(rec.line);
      var text = document.createElement("span");
      text.className = "ln-text";
      ansi(rec.text == null ? "" : rec.text, text);
      row.appendChild(a);
      row.appendChild(text);
      return row;
    }

    // At most this many lines per frame, so a 10,000-line log paints progressively
    // instead of freezing the tab.
    var PER_FRAME = 1500;

    function flush() {
      scheduled = false;
      var batch = pending.splice(0, PER_FRAME);
      if (batch.length) {
        var frag = document.createDocumentFragment();
        for (var i = 0; i < batch.length; i++) {
          var rec = batch[i];
          // A reconnecting EventSource starts again from offset 0: skip what we have.
          if (!(rec.line > lastLine)) continue;
          lastLine = rec.line;
          if (rec.step != null && rec.step !== lastStep) {
            frag.appendChild(stepHeader(rec.step));
            lastStep = rec.step;
          }
          frag.appendChild(lineRow(rec));
        }
        lines.appendChild(frag);
        if (lastLine > 0) note.hidden = true;
      }
      if (target) {
        var row = document.getElementById("L" + target);
        if (row) {
          highlight(row);
          // Centre the line inside the pane, and bring the pane (not the line) into view
          // so the page itself moves as little as possible.
          body.scrollTop = row.offsetTop - body.clientHeight / 2;
          panel.scrollIntoView({ block: "nearest" });
          target = 0;
        }
      }
      if (follow) body.scrollTop = body.scrollHeight;
      if (pending.length) schedule();
      else if (ended && lastLine === 0) {
        note.hidden = false;
        note.textContent = status === "skipped" ? "This job was skipped." : "This job wrote no log.";
      }
    }

    function schedule() {
      if (scheduled) return;
      scheduled = true;
      requestAnimationFrame(flush);
    }

    var es = new EventSource(panel.getAttribute("data-stream"));
    es.addEventListener("line", function (e) {
      var rec = parse(e.data);
      if (rec && typeof rec.line === "number") { pending.push(rec); schedule(); }
    });
    es.addEventListener("end", function () {
      es.close();
      ended = true;
      schedule();
    });
    es.addEventListener("error", function () {
      if (es.readyState === EventSource.CLOSED && !ended) {
        note.hidden = false;
        note.textContent = "The log stream closed. Reload the page to try again.";
      }
    });
  }

  // ---- A deployment's live view ------------------------------------------------------

  var DEPLOY_STATES = {
    succeeded: ["success", "\u2713"], failed: ["failure", "\u2715"], rolled_back: ["failure", "\u21b6"],
    running: ["running", "\u25cf"], waiting_approval: ["waiting", "\u25b3"], cancelled: ["cancelled", "\u2298"]
  };

  function initDeployment() {
    var root = document.getElementById("deployment");
    if (!root || !window.EventSource || !root.getAttribute("data-live")) return;
    var list = document.getElementById("deploy-lines");
    var last = parseInt(root.getAttribute("data-last") || "0", 10);
    var es = new EventSource(root.getAttribute("data-live"));
    es.addEventListener("line", function (e) {
      var line = parse(e.data);
      if (!line || line.seq <= last) return;
      last = line.seq;
      var li = document.createElement("li");
      li.setAttribute("data-seq", String(line.seq));
      li.appendChild(timeElement(line.at));
      li.appendChild(document.createTextNode(" " + line.line));
      list.appendChild(li);
    });
    es.addEventListener("deployment", function (e) {
      var d = parse(e.data);
      if (!d || !d.state) return;
      var badge = document.getElementById("deployment-state");
      var look = DEPLOY_STATES[d.state] || ["skipped", "\u25cb"];
      if (badge) {
        badge.setAttribute("data-status", look[0]);
        $(".glyph", badge).textContent = look[1];
        $(".badge-label", badge).textContent = d.state;
      }
      Object.keys(d.hosts || {}).forEach(function (host) {
        $all("tr[data-host]", root.parentNode).forEach(function (row) {
          if (row.getAttribute("data-host") === host) $(".phase", row).textContent = d.hosts[host].phase;
        });
      });
      var approve = document.getElementById("approve-form");
      if (approve && d.state !== "waiting_approval") approve.hidden = true;
    });
    es.addEventListener("end", function () {
      es.close();
      announce("The deployment ended.");
      // The page rendered now shows the record (per-host results, errors); it opens no
      // stream of its own once the deployment has ended.
      window.location.reload();
    });
  }

  // ---- Start ------------------------------------------------------------------------

  function start() {
    refreshTimes(true);
    setInterval(function () { refreshTimes(false); }, 30000);
    setInterval(tickDurations, 1000);
    initRun();
    initLog();
    initDeployment();
  }

  // Exposed for tests in a browser console; harmless otherwise.
  window.gantry = { duration: duration, relative: relative, ansi: ansi };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
