"""The assessment page's inline style sheet and script (kept apart from the HTML builder to keep both readable).

The script reads every visit's skeleton frames from the ``assessment-data`` JSON element (numbers only),
animates each ``svg.skel`` by elapsed time at ``fps / step`` frames per second, and writes the drawn frame
into the svg's ``data-frame`` attribute. It inserts no HTML: the frame counter is set through ``textContent``.
"""

from __future__ import annotations

__all__ = ["CSS", "JS"]

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1120px;
     padding:0 1.8em 3em;color:#1d1d1f;line-height:1.45}
h1{font-size:1.55em;margin:.7em 0 .2em} h2{font-size:1.22em;margin-top:1.8em;border-bottom:2px solid #ccd;
   padding-bottom:.2em} h3{font-size:1.02em;margin:1.3em 0 .4em}
table{border-collapse:collapse;margin:.5em 0 .9em;font-size:.86em}
th,td{border:1px solid #d6d6d6;padding:.25em .55em;text-align:right;vertical-align:top}
th{background:#f3f4f6} td.l,th.l{text-align:left}
.note{color:#555;font-size:.88em}
.sim-banner{position:sticky;top:0;z-index:10;background:#fde2e1;border:2px solid #c0262d;color:#8a1015;
            padding:.55em 1em;margin:0 0 .6em;border-radius:0 0 6px 6px;font-size:.92em}
.sim-banner b{font-size:1.08em;text-transform:uppercase;letter-spacing:.02em}
.meta{display:flex;flex-wrap:wrap;gap:.2em 1.6em;margin:.3em 0 .8em;font-size:.95em}
.meta span b{color:#555;font-weight:600}
.warn{background:#fff8e6;border-left:4px solid #c99a00;color:#5c4500;padding:.5em .9em;margin:.6em 0}
.not-assessed{background:#fff4ce;border:2px solid #c99a00;color:#5c4500;border-radius:6px;padding:.9em 1.1em;
              margin:1em 0;font-weight:600}
.below{color:#b3261e;font-weight:600} .above{color:#8a4b00;font-weight:600} .within{color:#1d1d1f}
.pred{font-size:1.1em;margin:.3em 0} .pred b{font-size:1.15em}
.fig{display:inline-block;vertical-align:top;margin:0 .8em .8em 0;break-inside:avoid}
.figs{display:flex;flex-wrap:wrap;gap:.4em 1em}
svg.chart{width:320px;max-width:100%;height:auto} svg.bars{width:440px;max-width:100%;height:auto}
svg.cam{width:240px;max-width:100%;height:auto}
svg text{font-family:inherit} .ax{font-size:9px;fill:#555} .ttl{font-size:11px;font-weight:600;fill:#1d1d1f}
.lbl{font-size:11px;fill:#1d1d1f}
.grid{stroke:#e6e6e6;stroke-width:1} .axl{stroke:#999} .frame{fill:none;stroke:#bbb}
.band{fill:#d9d9d9;stroke:none;fill-opacity:.8} .median{fill:none;stroke-dasharray:4 3;stroke-width:1.2}
.curve{fill:none;stroke-width:1.8;stroke-linejoin:round}
.track{fill:#f0f2f5} .whisk{stroke:#111;stroke-width:1.3}
.cbone{stroke:#aaa;stroke-width:3;stroke-linecap:round} .cj{stroke:#555;stroke-width:.6}
.legend{font-size:.82em;color:#555} .sw{display:inline-block;width:1.5em;height:.35em;margin:0 .3em 0 .7em;
        vertical-align:middle} .sw.left{background:#1f5fbf} .sw.right{background:#d9661b}
.sw.trunk{background:#444} .sw.band{background:#d9d9d9;height:.8em} .sw.median{border-top:2px dashed #777;height:0}
.walk{display:inline-block;vertical-align:top}
.pictures{gap:.4em 3em} .picture{flex:0 0 auto;max-width:420px} .picture .fig{display:block} figcaption{max-width:260px}
svg.skel{width:260px;height:300px;background:#fafafa;border:1px solid #e3e3e3;stroke-linecap:round}
.bone{stroke:#555} .bone.left{stroke:#1f5fbf} .bone.right{stroke:#d9661b} .ground{stroke:#bbb}
.controls{margin:.3em 0;font-size:.85em}
ol.evidence li{margin:.15em 0}
.contrib{color:#555;font-size:.88em;font-variant-numeric:tabular-nums}
table,figure,.fig,.walk,.not-assessed,.warn,.pred-block{break-inside:avoid;page-break-inside:avoid}
section.visit{border-top:1px solid #ccd;margin-top:1.4em}
footer{margin-top:2.5em;border-top:1px solid #ddd;padding-top:.6em}
@page{size:A4;margin:14mm}
@media print{
  body{max-width:none;padding:0;font-size:10pt}
  .sim-banner{position:fixed;top:0;left:0;right:0;height:11mm;overflow:hidden;margin:0;border-radius:0;
              font-size:8pt;line-height:1.3;padding:.25em .8em;box-sizing:border-box}
  /* the body's top padding is repeated on every printed page (clone), so the banner never covers content */
  body.simulated{padding-top:14mm;box-decoration-break:clone;-webkit-box-decoration-break:clone}
  .controls{display:none}
  h2{break-after:avoid;page-break-after:avoid} h3{break-after:avoid;page-break-after:avoid}
  section.visit{break-before:page;page-break-before:always;border-top:none}
  section.provenance{break-before:page;page-break-before:always}
  .curves{gap:.2em 2%} .curves .fig{width:31%;margin:0} svg.chart{width:100%}
  svg.skel{width:200px;height:230px}
  a{color:inherit;text-decoration:none}
}
"""

JS = r"""
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("assessment-data").textContent);
  var printing = window.matchMedia ? window.matchMedia("print") : null;
  var walks = [];
  DATA.visits.forEach(function (v) {
    var svg = document.getElementById("anim-" + v.visit);
    if (!svg || !v.frames || !v.frames.length) { return; }
    walks.push({visit: v.visit, frames: v.frames, edges: v.edges, rate: v.fps / Math.max(v.step || 1, 1),
                svg: svg, lines: svg.querySelectorAll("line.bone"),
                count: document.getElementById("fcount-" + v.visit), frame: 0, acc: 0, speed: 1, playing: true});
  });
  function draw(w) {
    var f = w.frames[w.frame];
    w.edges.forEach(function (e, i) {
      var line = w.lines[i], a = 2 * e[0], b = 2 * e[1];
      if (!line) { return; }
      // a joint the pose estimator missed (null) hides the bone rather than drawing it to the origin
      if (!f || f[a] == null || f[a + 1] == null || f[b] == null || f[b + 1] == null) {
        line.style.visibility = "hidden";
        return;
      }
      line.style.visibility = "visible";
      line.setAttribute("x1", f[a]); line.setAttribute("y1", f[a + 1]);
      line.setAttribute("x2", f[b]); line.setAttribute("y2", f[b + 1]);
    });
    w.svg.setAttribute("data-frame", String(w.frame));
    if (w.count) { w.count.textContent = "frame " + (w.frame + 1) + " / " + w.frames.length; }
  }
  walks.forEach(draw);
  function byVisit(el) {
    return walks.filter(function (w) { return String(w.visit) === el.getAttribute("data-visit"); })[0];
  }
  document.querySelectorAll("button.play").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var w = byVisit(btn);
      if (!w) { return; }
      w.playing = !w.playing;
      btn.textContent = w.playing ? "Pause" : "Play";
    });
  });
  document.querySelectorAll("select.speed").forEach(function (sel) {
    sel.addEventListener("change", function () {
      var w = byVisit(sel);
      if (w) { w.speed = Number(sel.value); }
    });
  });
  // A printed page shows the first frame: reset before printing and do not advance while print media applies.
  function toFirst() { walks.forEach(function (w) { w.frame = 0; w.acc = 0; draw(w); }); }
  window.addEventListener("beforeprint", toFirst);
  // One timer for every walk, advanced by elapsed time so playback follows the recording's frame rate
  // (fps / step) even when the browser delays the timer.
  var last = performance.now();
  setInterval(function () {
    var now = performance.now(), dt = (now - last) / 1000;
    last = now;
    if (printing && printing.matches) { return; }
    walks.forEach(function (w) {
      if (!w.playing) { return; }
      w.acc += dt * w.rate * w.speed;
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
