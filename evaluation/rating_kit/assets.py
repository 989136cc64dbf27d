"""The rating page's inline style sheet and script (kept apart from the HTML builder to keep both readable).

The script reads its data from the ``kit-data`` JSON element (numbers and hex only), animates every walk,
keeps the answers in ``localStorage`` under the kit id, counts progress and writes ``ratings.csv``.
It inserts no HTML: every text it shows goes through ``textContent``.
"""

from __future__ import annotations

__all__ = ["CSS", "JS"]

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1280px;
     padding:0 1.6em 3em;color:#1d1d1f;line-height:1.45}
h1{font-size:1.5em;margin:.8em 0 .3em} h2{font-size:1.2em;margin:0 0 .5em} h3{font-size:1em;margin:.2em 0}
.banner{padding:.8em 1.1em;border-radius:6px;margin:1em 0;font-weight:600}
.sim{background:#fff4ce;border:2px solid #c99a00;color:#5c4500}
.note{color:#555;font-size:.9em}
.toolbar{position:sticky;top:0;z-index:5;background:#f3f4f6;border:1px solid #d6d6d6;border-radius:6px;
         padding:.5em .9em;margin:1em 0;display:flex;gap:1em;align-items:center;flex-wrap:wrap}
#download-msg{color:#8a1015}
.case{border:1px solid #d6d6d6;border-radius:8px;padding:1em;margin:1.2em 0}
.case.done{border-color:#2e7d32}
.case-body{display:flex;gap:1em;align-items:flex-start}
.walk{flex:0 0 250px}
.skel{width:250px;height:330px;background:#fafafa;border:1px solid #e3e3e3;stroke-linecap:round}
.bone{stroke:#555} .bone.left{stroke:#1f5fbf} .bone.right{stroke:#d9661b} .ground{stroke:#bbb}
.legend{font-size:.8em;color:#555} .sw{display:inline-block;width:1.4em;height:.35em;margin:0 .3em 0 .6em}
.sw.left{background:#1f5fbf} .sw.right{background:#d9661b}
.controls{margin:.3em 0;font-size:.85em}
.options{display:flex;gap:.8em;flex:1;flex-wrap:wrap}
.option{flex:1 1 240px;border:1px solid #e3e3e3;border-radius:6px;padding:.6em}
.rtext{white-space:pre-wrap;font-size:.92em;min-height:6em}
table.likert{border-collapse:collapse;font-size:.8em;width:100%}
.likert th,.likert td{border:1px solid #e3e3e3;padding:.15em .3em;text-align:center}
.likert th.l{text-align:left;font-weight:600}
.likert th[title]{cursor:help}
fieldset.best{margin-top:.8em;border:1px solid #d6d6d6;border-radius:6px}
fieldset.best label{margin-right:1.5em;font-weight:600}
"""

JS = r"""
(function () {
  "use strict";
  var KIT = JSON.parse(document.getElementById("kit-data").textContent);
  var STORE = "gaitfeat-rating-kit:" + KIT.kit_id;
  var state = {rater: "", answers: {}};
  try {
    var saved = JSON.parse(window.localStorage.getItem(STORE) || "null");
    if (saved && typeof saved === "object" && saved.answers) { state = saved; }
  } catch (e) { /* storage blocked or damaged: start empty */ }

  function save() {
    try { window.localStorage.setItem(STORE, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }

  // ---- answers -------------------------------------------------------------------------------------
  var radios = document.querySelectorAll("input[type=radio]");
  var names = {};
  radios.forEach(function (r) {
    names[r.name] = true;
    if (state.answers[r.name] === r.value) { r.checked = true; }
    r.addEventListener("change", function () {
      if (r.checked) { state.answers[r.name] = r.value; save(); progress(); }
    });
  });
  var rater = document.getElementById("rater");
  rater.value = state.rater || "";
  rater.addEventListener("input", function () { state.rater = rater.value; save(); });

  function progress() {
    var total = Object.keys(names).length, answered = 0;
    Object.keys(names).forEach(function (n) { if (state.answers[n] !== undefined) { answered += 1; } });
    var done = 0;
    KIT.cases.forEach(function (c) {
      var all = Object.keys(names).filter(function (n) { return n.indexOf("c" + c.item + "-") === 0; });
      var complete = all.every(function (n) { return state.answers[n] !== undefined; });
      document.getElementById("case-" + c.item).classList.toggle("done", complete);
      if (complete) { done += 1; }
    });
    var el = document.getElementById("progress");
    el.dataset.answered = answered;
    el.dataset.total = total;
    el.textContent = "answered " + answered + " / " + total + " (cases complete " + done + " / " +
      KIT.cases.length + ")";
  }
  progress();

  // ---- CSV -----------------------------------------------------------------------------------------
  function field(v) {
    v = String(v);
    return /[",\r\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
  }
  function csv() {
    var lines = [KIT.columns.join(",")];
    KIT.cases.forEach(function (c) {
      var best = state.answers["c" + c.item + "-best"];
      KIT.options.forEach(function (o) {
        var row = [KIT.kit_id, state.rater || "", c.item, o];
        KIT.dimensions.forEach(function (d) {
          var v = state.answers["c" + c.item + "-" + o + "-" + d];
          row.push(v === undefined ? "" : v);
        });
        row.push(best === undefined ? "" : (best === o ? 1 : 0));
        lines.push(row.map(field).join(","));
      });
    });
    return lines.join("\r\n") + "\r\n";
  }
  document.getElementById("download").addEventListener("click", function () {
    var msg = document.getElementById("download-msg");
    if (!(state.rater || "").trim()) {
      msg.textContent = "Enter your rater ID first.";
      rater.focus();
      return;
    }
    var url = URL.createObjectURL(new Blob([csv()], {type: "text/csv;charset=utf-8"}));
    var a = document.createElement("a");
    a.href = url;
    a.download = "ratings.csv";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    var el = document.getElementById("progress");
    msg.textContent = "ratings.csv written (" + el.dataset.answered + " of " + el.dataset.total + " answers).";
  });

  // ---- animation -----------------------------------------------------------------------------------
  var walks = KIT.cases.map(function (c) {
    var svg = document.getElementById("skel-" + c.item);
    return {item: c.item, frames: c.frames, svg: svg, lines: svg.querySelectorAll("line.bone"),
            count: document.getElementById("fcount-" + c.item), frame: 0, acc: 0, speed: 1, playing: true};
  });
  function draw(w) {
    var f = w.frames[w.frame];
    KIT.edges.forEach(function (e, i) {
      var line = w.lines[i], a = 2 * e[0], b = 2 * e[1];
      if (f[a] === null || f[a + 1] === null || f[b] === null || f[b + 1] === null) {
        line.style.visibility = "hidden";
        return;
      }
      line.style.visibility = "visible";
      line.setAttribute("x1", f[a]); line.setAttribute("y1", f[a + 1]);
      line.setAttribute("x2", f[b]); line.setAttribute("y2", f[b + 1]);
    });
    w.svg.dataset.frame = w.frame;
    w.count.textContent = "frame " + (w.frame + 1) + " / " + w.frames.length;
  }
  walks.forEach(draw);
  document.querySelectorAll("button.play").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var w = walks.filter(function (x) { return String(x.item) === btn.dataset.case; })[0];
      w.playing = !w.playing;
      btn.textContent = w.playing ? "Pause" : "Play";
    });
  });
  document.querySelectorAll("select.speed").forEach(function (sel) {
    sel.addEventListener("change", function () {
      walks.filter(function (x) { return String(x.item) === sel.dataset.case; })[0].speed = Number(sel.value);
    });
  });
  // One timer for every walk, advanced by elapsed time so the playback speed matches the recording's
  // frame rate even when the browser delays the timer.
  var last = performance.now();
  setInterval(function () {
    var now = performance.now(), dt = (now - last) / 1000;
    last = now;
    walks.forEach(function (w) {
      if (!w.playing) { return; }
      w.acc += dt * KIT.fps * w.speed;
      var step = Math.floor(w.acc);
      if (step > 0) {
        w.acc -= step;
        w.frame = (w.frame + step) % w.frames.length;
        draw(w);
      }
    });
  }, 20);
})();
"""
