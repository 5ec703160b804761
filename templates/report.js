/* advisor report: sorting, cards, and the interactive call tree. Everything works from the page itself;
   nothing is fetched. Names from the profile are only ever set with textContent, never as HTML. */
(function () {
  "use strict";
  var doc = document;
  doc.documentElement.classList.remove("no-js");
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };

  /* ---- sortable tables ---------------------------------------------------------------------- */
  function cellKey(row, i, numeric) {
    var cell = row.cells[i];
    var v = cell ? (cell.getAttribute("data-v") || cell.textContent) : "";
    return numeric ? (parseFloat(v) || 0) : v.toLowerCase();
  }
  each(doc.querySelectorAll("table.sortable"), function (table) {
    var heads = table.tHead.rows[0].cells;
    each(heads, function (th, i) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var numeric = th.getAttribute("data-sort") === "num";
        var current = th.getAttribute("aria-sort");
        var dir = current === "descending" ? 1 : current === "ascending" ? -1 : (numeric && i > 0 ? -1 : 1);
        each(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellKey(a, i, numeric), y = cellKey(b, i, numeric);
          return x < y ? -dir : x > y ? dir : 0;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });

  /* ---- cards -------------------------------------------------------------------------------- */
  var cards = doc.querySelectorAll("details.card");
  each(doc.querySelectorAll("[data-cards]"), function (button) {
    button.addEventListener("click", function () {
      var open = button.getAttribute("data-cards") === "open";
      each(cards, function (c) { c.open = open; });
    });
  });
  function openFromHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && doc.getElementById(id);
    if (el && el.tagName === "DETAILS") { el.open = true; }
  }
  window.addEventListener("hashchange", openFromHash);
  openFromHash();
  var closedBeforePrint = [];
  window.addEventListener("beforeprint", function () {
    closedBeforePrint = Array.prototype.filter.call(cards, function (c) { return !c.open; });
    closedBeforePrint.forEach(function (c) { c.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closedBeforePrint.forEach(function (c) { c.open = false; });
  });

  /* ---- call tree (icicle) ------------------------------------------------------------------- */
  var box = doc.getElementById("flame-chart");
  var source = doc.getElementById("flame-data");
  if (!box || !source) { return; }
  var data = JSON.parse(source.textContent);
  /* the SVG namespace, read from the parser rather than written out as a URL */
  var probe = doc.createElement("div");
  probe.innerHTML = "<svg/>";
  var ROW = 20, SVGNS = probe.firstChild.namespaceURI;
  var COLORS = [[232, 89, 12], [28, 126, 214], [242, 183, 5], [156, 54, 181]];
  var BUCKETS = ["interpreted", "native", "waiting", "GC"];
  var nodes = data.nodes.map(function (n) {
    var s = n.slice(2);
    return { parent: n[0], frame: n[1], s: s, v: s[0] + s[1] + s[2] + s[3], kids: [], depth: 0, x: 0 };
  });
  if (!nodes.length) { box.textContent = "No samples fell in the measured step."; return; }
  nodes.forEach(function (n) { if (n.parent >= 0) { nodes[n.parent].kids.push(n); } });
  var root = nodes[0];
  (function layout() {
    var stack = [root];
    while (stack.length) {
      var n = stack.pop(), x = n.x;
      n.kids.sort(function (a, b) { return (a.frame === -1) - (b.frame === -1) || b.v - a.v; });
      n.kids.forEach(function (k) { k.depth = n.depth + 1; k.x = x; x += k.v; stack.push(k); });
    }
  })();

  function frameOf(n) {
    if (n.frame === -1) { return { name: "other (small frames)", where: "frames under " + (data.min_share * 100) + "% each", user: 1 }; }
    if (n.frame === -2) { return { name: "(measured step)", where: "", user: 1 }; }
    var f = data.frames[n.frame];
    return { name: f[0], where: f[1] + (f[2] ? ":" + f[2] : ""), user: f[3] };
  }
  function color(n) {
    if (n.frame === -1) { return "rgb(200,204,212)"; }
    var rgb = [0, 0, 0], v = n.v || 1;
    for (var b = 0; b < 4; b++) { for (var c = 0; c < 3; c++) { rgb[c] += COLORS[b][c] * n.s[b] / v; } }
    var pale = frameOf(n).user ? 0.18 : 0.55;
    return "rgb(" + rgb.map(function (c) { return Math.round(c + (255 - c) * pale); }).join(",") + ")";
  }
  function fmtTime(s) {
    if (s >= 1) { return s.toFixed(2) + " s"; }
    if (s >= 1e-3) { return (s * 1e3).toPrecision(3) + " ms"; }
    return (s * 1e6).toPrecision(3) + " µs";
  }
  function pct(x) { return (x * 100 >= 10 ? (x * 100).toFixed(0) : (x * 100).toFixed(1)) + "%"; }

  var tip = doc.getElementById("flame-tip");
  function showTip(n, ev) {
    var f = frameOf(n);
    tip.textContent = "";
    var title = doc.createElement("b");
    title.textContent = f.name;
    tip.appendChild(title);
    var lines = [f.where, fmtTime(n.v / data.steps) + " per step · " + pct(n.v / root.v) + " of the step",
      BUCKETS.map(function (b, i) { return b + " " + pct(n.v ? n.s[i] / n.v : 0); }).join(" · ")];
    lines.forEach(function (text) {
      if (!text) { return; }
      var div = doc.createElement("div");
      div.textContent = text;
      tip.appendChild(div);
    });
    tip.hidden = false;
    var x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    var y = ev.clientY + 16 + tip.offsetHeight > window.innerHeight ? ev.clientY - tip.offsetHeight - 10 : ev.clientY + 16;
    tip.style.left = Math.max(4, x) + "px";
    tip.style.top = y + "px";
  }

  var focus = root;
  function draw() {
    var width = box.clientWidth || 800, scale = width / (focus.v || 1), maxDepth = 0;
    var svg = doc.createElementNS(SVGNS, "svg");
    var drawn = [];
    for (var a = focus; a; a = a.parent >= 0 ? nodes[a.parent] : null) { drawn.push([a, 0, width]); }
    var stack = focus.kids.slice();
    while (stack.length) {
      var n = stack.pop(), w = n.v * scale;
      if (w < 0.6) { continue; }
      drawn.push([n, (n.x - focus.x) * scale, w]);
      Array.prototype.push.apply(stack, n.kids);
    }
    drawn.forEach(function (d) {
      var n = d[0], g = doc.createElementNS(SVGNS, "g");
      maxDepth = Math.max(maxDepth, n.depth);
      g.setAttribute("transform", "translate(" + d[1].toFixed(1) + "," + n.depth * ROW + ")");
      var rect = doc.createElementNS(SVGNS, "rect");
      rect.setAttribute("width", Math.max(d[2] - 0.5, 0.5).toFixed(1));
      rect.setAttribute("height", ROW - 1);
      rect.setAttribute("fill", color(n));
      if (n === focus || n.depth < focus.depth) { rect.setAttribute("opacity", n === focus ? "1" : "0.55"); }
      g.appendChild(rect);
      var chars = Math.floor((d[2] - 8) / 6.7);
      if (chars >= 3) {
        var name = frameOf(n).name, text = doc.createElementNS(SVGNS, "text");
        text.textContent = name.length > chars ? name.slice(0, chars - 1) + "…" : name;
        text.setAttribute("x", 4);
        text.setAttribute("y", ROW - 6);
        g.appendChild(text);
      }
      g.addEventListener("mousemove", function (ev) { showTip(n, ev); });
      g.addEventListener("mouseleave", function () { tip.hidden = true; });
      g.addEventListener("click", function () { zoom(n === focus && n.parent >= 0 ? nodes[n.parent] : n); });
      svg.appendChild(g);
    });
    svg.setAttribute("height", (maxDepth + 1) * ROW);
    svg.setAttribute("viewBox", "0 0 " + width + " " + (maxDepth + 1) * ROW);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "call tree of the measured step");
    box.textContent = "";
    box.appendChild(svg);
    crumbs();
  }
  function crumbs() {
    var el = doc.getElementById("flame-crumbs"), path = [];
    for (var a = focus; a; a = a.parent >= 0 ? nodes[a.parent] : null) { path.unshift(a); }
    el.textContent = "";
    path.forEach(function (n, i) {
      if (i) { el.appendChild(doc.createTextNode(" › ")); }
      var link = doc.createElement(n === focus ? "b" : "a");
      link.textContent = frameOf(n).name;
      if (n !== focus) { link.addEventListener("click", function () { zoom(n); }); }
      el.appendChild(link);
    });
    el.appendChild(doc.createTextNode("  (" + pct(focus.v / root.v) + " of the step)"));
  }
  function zoom(n) { focus = n; tip.hidden = true; draw(); }
  doc.getElementById("flame-reset").addEventListener("click", function () { zoom(root); });
  var lastWidth = 0;
  window.addEventListener("resize", function () {
    if (box.clientWidth !== lastWidth) { lastWidth = box.clientWidth; draw(); }
  });
  draw();
})();
