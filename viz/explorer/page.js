// chainrule's backprop explorer: shows the numbers viz/explore.py computed, never computes one.
// Plain JavaScript, no library, nothing from the network: the page works from file://.
(function () {
  "use strict";

  var NBSP = "\u00a0";
  var SVGNS = "http://www.w3.org/2000/svg";
  var PLAY_MS = 700;

  var D = JSON.parse(document.getElementById("chainrule-data").textContent);
  var nodes = D.nodes;
  var N = nodes.length;
  var FWD = D.forward;
  var BWD = D.backward;
  var F = FWD.length;
  var B = BWD.length;
  var TOTAL = F + B;
  var ROOT = D.seed ? D.seed[0] : D.root;
  var WD = D.widths.data;
  var WG = D.widths.grad;
  var FILL = D.palette.fill;
  var INK = D.palette.ink;
  var HALF = (FILL.length - 1) / 2;
  var snapshots = D.training ? D.training.snapshots : null;

  function $(id) {
    return document.getElementById(id);
  }

  // ----- state: which data and grads the walk has reached ------------------------------
  var k = 0; // 0..TOTAL
  var snap = -1; // -1: stepping; else the training snapshot shown
  var curData = new Array(N); // text, or null for "?"
  var curGrad = new Array(N); // [number, text], or null for "?"
  var leaf = nodes.map(function (n) {
    return n.parents.length === 0;
  });

  // What each backward step overwrites, to step back without recomputing.
  var undo = (function () {
    var grad = new Array(N).fill(null);
    if (B > 0) grad[ROOT] = [D.seed[1], D.seed[2]];
    return BWD.map(function (step) {
      return step.updates.map(function (u) {
        var before = [u[0], grad[u[0]]];
        grad[u[0]] = [u[1], u[2]];
        return before;
      });
    });
  })();

  function computeState(target) {
    // One pass over the step lists: the state after `target` steps.
    for (var i = 0; i < N; i++) {
      curData[i] = leaf[i] ? nodes[i].data : null;
      curGrad[i] = null;
    }
    var f = Math.min(target, F);
    for (var j = 0; j < f; j++) curData[FWD[j].node] = nodes[FWD[j].node].data;
    if (target > F) curGrad[ROOT] = [D.seed[1], D.seed[2]];
    for (j = 0; j < target - F; j++) {
      var ups = BWD[j].updates;
      for (var u = 0; u < ups.length; u++) curGrad[ups[u][0]] = [ups[u][1], ups[u][2]];
    }
    k = target;
  }

  function stepForward(changed) {
    // k -> k + 1, collecting the nodes whose numbers change.
    if (k < F) {
      var n = FWD[k].node;
      curData[n] = nodes[n].data;
      changed.push(n);
    } else {
      var j = k - F;
      if (j === 0) {
        curGrad[ROOT] = [D.seed[1], D.seed[2]];
        changed.push(ROOT);
      }
      var ups = BWD[j].updates;
      for (var u = 0; u < ups.length; u++) {
        curGrad[ups[u][0]] = [ups[u][1], ups[u][2]];
        changed.push(ups[u][0]);
      }
    }
    k += 1;
  }

  function stepBack(changed) {
    // k -> k - 1
    k -= 1;
    if (k < F) {
      var n = FWD[k].node;
      curData[n] = null;
      changed.push(n);
    } else {
      var j = k - F;
      var before = undo[j];
      for (var u = before.length - 1; u >= 0; u--) {
        curGrad[before[u][0]] = before[u][1];
        changed.push(before[u][0]);
      }
      if (j === 0) {
        curGrad[ROOT] = null;
        changed.push(ROOT);
      }
    }
  }

  function currentNode() {
    if (snap >= 0 || k === 0) return -1;
    return k <= F ? FWD[k - 1].node : BWD[k - F - 1].node;
  }

  function currentUpdates() {
    if (snap >= 0 || k <= F) return [];
    var out = BWD[k - F - 1].updates.map(function (u) {
      return u[0];
    });
    if (k === F + 1) out.push(ROOT);
    return out;
  }

  // What node i shows now: [data text, grad text, grad number or null, scale].
  function shown(i) {
    if (snap >= 0) {
      var s = snapshots[snap];
      return [s.data[i], s.grad[i], s.g[i], s.scale];
    }
    var g = curGrad[i];
    return [curData[i] === null ? "?" : curData[i], g ? g[1] : "?", g ? g[0] : null, D.scale];
  }

  function colourIndex(g, scale) {
    if (g === null || !(scale > 0) || !isFinite(g)) return -1;
    var r = Math.max(-1, Math.min(1, g / scale));
    return Math.round((r + 1) * HALF);
  }

  // ----- views: one SVG per level, indexed once ----------------------------------------
  var graphEl = $("graph");
  var views = D.views.map(function () {
    return null;
  });
  var cur = null; // the view shown
  var curIndex = -1;

  function parseViewBox(svg) {
    var p = (svg.getAttribute("viewBox") || "0 0 100 100").trim().split(/[\s,]+/).map(Number);
    return { x: p[0], y: p[1], w: p[2] || 1, h: p[3] || 1 };
  }

  function buildView(v) {
    var spec = D.views[v];
    var div = document.createElement("div");
    div.className = "view";
    div.hidden = true;
    div.innerHTML = spec.svg;
    graphEl.insertBefore(div, graphEl.firstChild);
    var svg = div.querySelector("svg");
    svg.setAttribute("class", "drawing");
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    var V = {
      index: v,
      el: div,
      svg: svg,
      graph: svg.querySelector("g.graph"),
      base: parseViewBox(svg),
      vb: null,
      dataEl: new Array(N).fill(null),
      gradEl: new Array(N).fill(null),
      bgEl: new Array(N).fill(null),
      borderEl: new Array(N).fill(null),
      nameEl: new Array(N).fill(null), // the name cell (or the group's title cell)
      nodeEl: new Array(N).fill(null), // <g> of the node, or of the group holding it
      opEl: new Array(N).fill(null),
      groupOf: new Array(N).fill(null),
      groupEl: {},
      edgesTo: {},
      present: [],
      shownData: new Array(N).fill(null),
      shownGrad: new Array(N).fill(null),
    };
    var groups = spec.groups || {};
    var gnodes = svg.querySelectorAll("g.node");
    for (var a = 0; a < gnodes.length; a++) {
      var g = gnodes[a];
      var title = g.querySelector("title");
      if (!title) continue;
      var t = title.textContent;
      var m = /^n(\d+)(op)?$/.exec(t);
      if (m) {
        var i = +m[1];
        if (i >= N) continue;
        g.setAttribute("data-node", i);
        if (m[2]) {
          V.opEl[i] = g.querySelector("ellipse") || g.querySelector("polygon");
        } else {
          V.nodeEl[i] = g;
          indexCells(V, g, i);
        }
        continue;
      }
      m = /^g(\d+)$/.exec(t);
      if (m && groups[t]) {
        var info = groups[t];
        g.setAttribute("data-group", t);
        V.groupEl[t] = g;
        var titleCell = null;
        for (var c = g.firstElementChild; c; c = c.nextElementSibling) {
          if (c.localName === "polygon" && c.getAttribute("stroke") === "transparent") {
            titleCell = c;
            break;
          }
        }
        for (var b = 0; b < info.members.length; b++) {
          var member = info.members[b];
          V.groupOf[member] = t;
          V.nodeEl[member] = g;
          V.nameEl[member] = titleCell;
        }
        if (info.exit !== null && info.exit !== undefined) indexCells(V, g, info.exit, true);
      }
    }
    var edges = svg.querySelectorAll("g.edge");
    for (a = 0; a < edges.length; a++) {
      var et = edges[a].querySelector("title");
      if (!et) continue;
      var ends = et.textContent.split("->");
      if (ends.length !== 2) continue;
      (V.edgesTo[ends[1]] = V.edgesTo[ends[1]] || []).push(edges[a]);
    }
    for (i = 0; i < N; i++) if (V.dataEl[i] || V.gradEl[i]) V.present.push(i);
    views[v] = V;
    return V;
  }

  function isMono(el) {
    return /courier|mono/i.test(el.getAttribute("font-family") || "");
  }

  function indexCells(V, g, i, inGroup) {
    // Cells in order: [name fill, name text,] data text, grad fill, grad border, grad text.
    var fill = null;
    var border = null;
    var first = true;
    for (var c = g.firstElementChild; c; c = c.nextElementSibling) {
      var tag = c.localName;
      if (tag === "polygon") {
        if (c.getAttribute("stroke") === "transparent") {
          fill = c;
          if (first && !inGroup) V.nameEl[i] = c;
          first = false;
        } else {
          border = c;
        }
      } else if (tag === "text") {
        var text = c.textContent;
        if (isMono(c) && text.lastIndexOf("data ", 0) === 0) {
          V.dataEl[i] = c;
        } else if (isMono(c) && text.lastIndexOf("grad ", 0) === 0) {
          V.gradEl[i] = c;
          V.bgEl[i] = fill;
          V.borderEl[i] = border;
        }
        fill = null;
        first = false;
      }
    }
  }

  function renderNode(V, i) {
    var s = shown(i);
    var de = V.dataEl[i];
    if (de) {
      var dt = "data " + String(s[0]).padStart(WD[i], NBSP);
      if (V.shownData[i] !== dt) {
        de.textContent = dt;
        V.shownData[i] = dt;
      }
    }
    var ge = V.gradEl[i];
    if (ge) {
      var gt = "grad " + String(s[1]).padStart(WG[i], NBSP);
      var ci = s[1] === "?" ? -1 : colourIndex(s[2], s[3]);
      var key = gt + "|" + ci;
      if (V.shownGrad[i] !== key) {
        ge.textContent = gt;
        ge.setAttribute("fill", ci < 0 ? "#000000" : INK[ci]);
        if (V.bgEl[i]) V.bgEl[i].setAttribute("fill", ci < 0 ? "#ffffff" : FILL[ci]);
        V.shownGrad[i] = key;
      }
    }
  }

  function renderAll() {
    var p = cur.present;
    for (var a = 0; a < p.length; a++) renderNode(cur, p[a]);
  }

  // ----- highlight: the current node, its op, its input edges, the grads it updated ------
  var marks = []; // [element, attribute, old value]

  function mark(el, name, value) {
    if (!el) return;
    marks.push([el, name, el.getAttribute(name)]);
    el.setAttribute(name, value);
  }

  function clearMarks() {
    for (var a = marks.length - 1; a >= 0; a--) {
      var m = marks[a];
      if (m[2] === null) m[0].removeAttribute(m[1]);
      else m[0].setAttribute(m[1], m[2]);
    }
    marks = [];
  }

  function highlight() {
    clearMarks();
    var c = currentNode();
    if (c < 0) return;
    var V = cur;
    mark(V.nameEl[c], "fill", D.highlight);
    if (!V.groupOf[c]) {
      mark(V.opEl[c], "fill", D.highlight);
      var edges = V.edgesTo["n" + c + "op"] || [];
      for (var a = 0; a < edges.length; a++) {
        for (var e = edges[a].firstElementChild; e; e = e.nextElementSibling) {
          if (e.localName === "path") {
            mark(e, "stroke", D.edge_highlight);
            mark(e, "stroke-width", "2.5");
          } else if (e.localName === "polygon") {
            mark(e, "stroke", D.edge_highlight);
            mark(e, "fill", D.edge_highlight);
          }
        }
      }
    }
    var ups = currentUpdates();
    for (a = 0; a < ups.length; a++) {
      var border = V.borderEl[ups[a]];
      if (border && border.getAttribute("stroke") !== D.edge_highlight) {
        mark(border, "stroke", D.edge_highlight);
        mark(border, "stroke-width", "2.5");
      }
    }
  }

  // ----- the panel ---------------------------------------------------------------------
  var panelText = $("panel-text");
  var counter = $("step-counter");
  var INTRO =
    "Start: the leaves hold their data; every other value is \"?\".\n" +
    "Press \u2192 (Next) to compute the forward pass one value at a time,\n" +
    "then the backward pass spreads d(output)/d(value) from the output back to the leaves.";

  function updatePanel() {
    var text;
    var phase;
    if (snap >= 0) {
      var s = snapshots[snap];
      text =
        "Training snapshot " + (snap + 1) + " of " + snapshots.length + ": " + snapLabel(s) + "\n" +
        "Every value shows the data and grad recorded at that training step.\n" +
        "Press \u2192 or \u2190 (Next / Prev) to step through the pass again.";
      counter.textContent = "snapshot " + (snap + 1) + " of " + snapshots.length + " (training)";
      counter.className = "training";
    } else {
      if (k === 0) {
        text = TOTAL === 0 ? "This graph has no operations to step through." : INTRO;
        phase = "start";
      } else if (k <= F) {
        text = FWD[k - 1].text;
        phase = "forward";
      } else {
        text = BWD[k - F - 1].text;
        phase = "backward";
      }
      counter.textContent = "step " + k + " of " + TOTAL + " (" + phase + ")";
      counter.className = phase;
    }
    panelText.textContent = text;
    $("prev").disabled = snap < 0 && k === 0;
    $("start").disabled = snap < 0 && k === 0;
    $("next").disabled = snap < 0 && k === TOTAL;
    $("end").disabled = snap < 0 && k === TOTAL;
    refreshInfo();
  }

  // ----- moving through the steps ------------------------------------------------------
  function leaveSnapshot() {
    if (snap < 0) return false;
    snap = -1;
    renderAll();
    return true;
  }

  function go(target) {
    target = Math.max(0, Math.min(TOTAL, target));
    var wasSnap = leaveSnapshot();
    if (target === k + 1 || target === k - 1) {
      var changed = [];
      if (target > k) stepForward(changed);
      else stepBack(changed);
      for (var a = 0; a < changed.length; a++) renderNode(cur, changed[a]);
    } else if (target !== k) {
      computeState(target);
      renderAll();
    } else if (!wasSnap) {
      return;
    }
    highlight();
    updatePanel();
    follow();
  }

  function next() {
    go(k + 1);
  }

  function prev() {
    go(k - 1);
  }

  var timer = null;
  var playBtn = $("play");

  function setPlaying(on) {
    if (on && !timer) {
      if (k >= TOTAL) go(0); // from the end: play it again from the start
      timer = setInterval(function () {
        if (k >= TOTAL) setPlaying(false);
        else go(k + 1);
      }, PLAY_MS);
    } else if (!on && timer) {
      clearInterval(timer);
      timer = null;
    }
    playBtn.textContent = timer ? "\u275A\u275A Pause" : "\u25B6 Play";
    playBtn.setAttribute("aria-pressed", timer ? "true" : "false");
  }

  // ----- pan and zoom: the SVG viewBox -------------------------------------------------
  function setViewBox(V, vb) {
    V.vb = vb;
    V.svg.setAttribute("viewBox", vb.x + " " + vb.y + " " + vb.w + " " + vb.h);
  }

  // Show `box` (viewBox units) with `pad` of its size around it, clear of the tools
  // drawn over the top of the drawing; the viewBox takes the container's shape.
  function fitBox(V, box, pad) {
    var r = graphEl.getBoundingClientRect();
    var cw = Math.max(r.width, 50);
    var ch = Math.max(r.height, 50);
    var top = ch > 300 ? 52 : 8;
    var bottom = ch > 300 ? 26 : 8;
    var side = 12;
    var p = pad === undefined ? 0.03 : pad;
    var bw = box.w * (1 + 2 * p) || 1;
    var bh = box.h * (1 + 2 * p) || 1;
    var s = Math.min((cw - 2 * side) / bw, (ch - top - bottom) / bh);
    if (!(s > 0)) s = 1;
    var w = cw / s;
    var h = ch / s;
    var cx = box.x + box.w / 2;
    var cy = box.y + box.h / 2;
    var yMid = (top + (ch - bottom)) / 2 / s; // the centre of the free band, in viewBox units
    setViewBox(V, { x: cx - w / 2, y: cy - yMid, w: w, h: h });
  }

  function fit() {
    fitBox(cur, cur.base, 0);
  }

  function svgPoint(V, clientX, clientY) {
    var m = V.svg.getScreenCTM();
    if (!m) return { x: V.vb.x + V.vb.w / 2, y: V.vb.y + V.vb.h / 2 };
    var pt = V.svg.createSVGPoint();
    pt.x = clientX;
    pt.y = clientY;
    return pt.matrixTransform(m.inverse());
  }

  function zoom(factor, clientX, clientY) {
    var V = cur;
    var vb = V.vb;
    var r = graphEl.getBoundingClientRect();
    if (clientX === undefined) {
      clientX = r.left + r.width / 2;
      clientY = r.top + r.height / 2;
    }
    var maxW = V.base.w * 6;
    var minW = Math.min(V.base.w, 60);
    var w = Math.max(minW, Math.min(maxW, vb.w * factor));
    factor = w / vb.w;
    var p = svgPoint(V, clientX, clientY);
    setViewBox(V, {
      x: p.x - (p.x - vb.x) * factor,
      y: p.y - (p.y - vb.y) * factor,
      w: vb.w * factor,
      h: vb.h * factor,
    });
  }

  function unitsPerPixel(V) {
    var r = graphEl.getBoundingClientRect();
    return Math.max(V.vb.w / Math.max(1, r.width), V.vb.h / Math.max(1, r.height));
  }

  // Bounding box of elements in the root SVG's coordinates (those of the viewBox), read
  // from the shapes' attributes: no layout, so stepping never waits for one.
  var boxCache = new WeakMap();

  function localBox(el) {
    var b = boxCache.get(el);
    if (b) return b;
    var x0 = Infinity;
    var y0 = Infinity;
    var x1 = -Infinity;
    var y1 = -Infinity;
    var shapes = el.localName === "g" ? el.querySelectorAll("polygon, ellipse") : [el];
    for (var a = 0; a < shapes.length; a++) {
      var s = shapes[a];
      if (s.localName === "ellipse") {
        var cx = +s.getAttribute("cx");
        var cy = +s.getAttribute("cy");
        var rx = +s.getAttribute("rx");
        var ry = +s.getAttribute("ry");
        x0 = Math.min(x0, cx - rx);
        x1 = Math.max(x1, cx + rx);
        y0 = Math.min(y0, cy - ry);
        y1 = Math.max(y1, cy + ry);
      } else {
        var p = (s.getAttribute("points") || "").trim().split(/[\s,]+/);
        for (var i = 0; i + 1 < p.length; i += 2) {
          var x = +p[i];
          var y = +p[i + 1];
          if (x < x0) x0 = x;
          if (x > x1) x1 = x;
          if (y < y0) y0 = y;
          if (y > y1) y1 = y;
        }
      }
    }
    b = isFinite(x0) ? { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } : null;
    boxCache.set(el, b);
    return b;
  }

  function boxOf(V, elements) {
    var m = V.graph && V.graph.transform.baseVal.consolidate();
    var M = m ? m.matrix : { a: 1, b: 0, c: 0, d: 1, e: 0, f: 0 };
    var x0 = Infinity;
    var y0 = Infinity;
    var x1 = -Infinity;
    var y1 = -Infinity;
    for (var a = 0; a < elements.length; a++) {
      var b = localBox(elements[a]);
      if (!b) continue;
      var xs = [b.x, b.x + b.w];
      var ys = [b.y, b.y + b.h];
      for (var i = 0; i < 2; i++) {
        for (var j = 0; j < 2; j++) {
          var X = M.a * xs[i] + M.c * ys[j] + M.e;
          var Y = M.b * xs[i] + M.d * ys[j] + M.f;
          x0 = Math.min(x0, X);
          y0 = Math.min(y0, Y);
          x1 = Math.max(x1, X);
          y1 = Math.max(y1, Y);
        }
      }
    }
    if (!isFinite(x0)) return null;
    return { x: x0, y: y0, w: Math.max(x1 - x0, 1), h: Math.max(y1 - y0, 1) };
  }

  // Pan (keeping the zoom) when the current node is out of sight.
  function follow() {
    var c = currentNode();
    if (c < 0 || !cur.vb) return;
    var el = cur.nodeEl[c];
    if (!el) return;
    var b = boxOf(cur, [el]);
    if (!b) return;
    var vb = cur.vb;
    var inside = b.x >= vb.x && b.y >= vb.y && b.x + b.w <= vb.x + vb.w && b.y + b.h <= vb.y + vb.h;
    if (inside) return;
    setViewBox(cur, {
      x: b.x + b.w / 2 - vb.w / 2,
      y: b.y + b.h / 2 - vb.h / 2,
      w: vb.w,
      h: vb.h,
    });
  }

  function flash(V, box) {
    var rect = document.createElementNS(SVGNS, "rect");
    rect.setAttribute("class", "flash");
    rect.setAttribute("x", box.x - 6);
    rect.setAttribute("y", box.y - 6);
    rect.setAttribute("width", box.w + 12);
    rect.setAttribute("height", box.h + 12);
    rect.setAttribute("rx", 6);
    V.svg.appendChild(rect);
    setTimeout(function () {
      if (rect.parentNode) rect.parentNode.removeChild(rect);
    }, 2000);
  }

  // ----- switching views ---------------------------------------------------------------
  var select = $("view-select");
  var statusEl = document.createElement("div");
  statusEl.className = "status";
  graphEl.appendChild(statusEl);

  function showView(v) {
    if (cur) {
      clearMarks();
      cur.el.hidden = true;
    }
    var V = views[v] || buildView(v);
    cur = V;
    curIndex = v;
    V.el.hidden = false;
    renderAll();
    highlight();
    if (!V.vb) fit();
    select.value = String(v);
    $("collapse").disabled = v === 0;
    var label = D.views[v].label;
    var groupsHere = Object.keys(D.views[v].groups || {}).length > 0;
    statusEl.textContent =
      D.views.length < 2
        ? ""
        : "view " + (v + 1) + " of " + D.views.length + ": " + label +
          (groupsHere && v + 1 < D.views.length ? " \u00b7 click a box to open it" : "");
    statusEl.hidden = D.views.length < 2;
    if (pinnedEl) pinnedEl.classList.remove("pinned");
    pinnedEl = null;
    if (pinned && pinned.group) pinned = null;
    hovered = null;
    refreshInfo();
  }

  function openGroup(gid) {
    var from = curIndex;
    if (from + 1 >= D.views.length) return;
    var members = D.views[from].groups[gid].members;
    showView(from + 1);
    var V = cur;
    var els = [];
    var seen = new Set();
    for (var a = 0; a < members.length; a++) {
      var list = [V.nodeEl[members[a]], V.opEl[members[a]] && V.opEl[members[a]].parentNode];
      for (var b = 0; b < list.length; b++) {
        if (list[b] && !seen.has(list[b])) {
          seen.add(list[b]);
          els.push(list[b]);
        }
      }
    }
    var box = boxOf(V, els);
    if (box) {
      fitBox(V, box, 0.12);
      flash(V, box);
    }
  }

  // ----- node information --------------------------------------------------------------
  var infoEl = $("info");
  var pinned = null; // {node: i} or {group: "g3"}
  var hovered = null;

  function row(table, name, value) {
    var tr = document.createElement("tr");
    var th = document.createElement("th");
    th.textContent = name;
    var td = document.createElement("td");
    td.textContent = value;
    tr.appendChild(th);
    tr.appendChild(td);
    table.appendChild(tr);
  }

  function refreshInfo() {
    var what = hovered || pinned;
    infoEl.textContent = "";
    if (!what) {
      var p = document.createElement("div");
      p.className = "empty";
      p.textContent = "Hover over a value to see its formula and local derivatives; click to keep it here.";
      infoEl.appendChild(p);
      return;
    }
    var table = document.createElement("table");
    if (what.group) {
      var gr = D.views[curIndex].groups[what.group];
      row(table, "module", gr.name);
      row(table, "values", String(gr.members.length));
      if (gr.exit !== null && gr.exit !== undefined) {
        var s = shown(gr.exit);
        row(table, "output", nodes[gr.exit].name);
        row(table, "data", s[0]);
        row(table, "grad", s[1]);
      }
      if (curIndex + 1 < D.views.length) row(table, "", "click to open this module");
    } else {
      var i = what.node;
      var n = nodes[i];
      var sh = shown(i);
      row(table, "name", n.name);
      if (n.param) row(table, "model name", n.param);
      row(table, "op", n.op === null ? "(leaf)" : n.op);
      if (n.formula) row(table, "formula", n.formula);
      row(table, "data", sh[0]);
      row(table, "grad", sh[1]);
      for (var a = 0; a < n.local.length; a++) row(table, a === 0 ? "local" : "", n.local[a]);
    }
    infoEl.appendChild(table);
  }

  function targetOf(el) {
    var g = el && el.closest ? el.closest("g.node") : null;
    if (!g) return null;
    if (g.hasAttribute("data-node")) return { node: +g.getAttribute("data-node"), el: g };
    if (g.hasAttribute("data-group")) return { group: g.getAttribute("data-group"), el: g };
    return null;
  }

  var pinnedEl = null;
  function pin(t) {
    if (pinnedEl) pinnedEl.classList.remove("pinned");
    pinned = t;
    pinnedEl = t ? t.el : null;
    if (pinnedEl) pinnedEl.classList.add("pinned");
    refreshInfo();
  }

  // ----- training snapshots ------------------------------------------------------------
  function fmt(x, digits) {
    if (x === null || x === undefined) return "n/a";
    if (typeof x !== "number") return String(x);
    if (x === 0) return "0";
    var s = x.toPrecision(digits || 4);
    if (s.indexOf("e") < 0 && s.indexOf(".") >= 0) s = s.replace(/\.?0+$/, "");
    return s;
  }

  function snapLabel(s) {
    return "step " + s.step + ", epoch " + (s.epoch === null ? "-" : s.epoch) + ", loss " + fmt(s.loss);
  }

  var chart = null;

  function buildChart() {
    var svg = $("loss-chart");
    var losses = snapshots.map(function (s) {
      return typeof s.loss === "number" && isFinite(s.loss) ? s.loss : null;
    });
    var known = losses.filter(function (x) {
      return x !== null;
    });
    if (known.length === 0) {
      svg.style.display = "none";
      return;
    }
    var W = 320;
    var H = 96;
    var L = 58;
    var R = 8;
    var T = 10;
    var Bm = 22;
    var lo = Math.min.apply(null, known);
    var hi = Math.max.apply(null, known);
    if (hi === lo) {
      hi += 1;
      lo -= 1;
    }
    var S = snapshots.length;
    function X(i) {
      return L + (S === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (S - 1));
    }
    function Y(v) {
      return T + (1 - (v - lo) / (hi - lo)) * (H - T - Bm);
    }
    function el(tag, attrs, text) {
      var e = document.createElementNS(SVGNS, tag);
      for (var a in attrs) e.setAttribute(a, attrs[a]);
      if (text !== undefined) e.textContent = text;
      svg.appendChild(e);
      return e;
    }
    el("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - Bm });
    el("line", { class: "axis", x1: L, y1: H - Bm, x2: W - R, y2: H - Bm });
    el("text", { x: L - 5, y: T + 10, "text-anchor": "end" }, fmt(hi, 3));
    el("text", { x: L - 5, y: H - Bm, "text-anchor": "end" }, fmt(lo, 3));
    el("text", { x: (L + W - R) / 2, y: H - 5, "text-anchor": "middle" }, "loss per snapshot");
    var pts = [];
    for (var i = 0; i < S; i++) if (losses[i] !== null) pts.push(X(i).toFixed(1) + "," + Y(losses[i]).toFixed(1));
    el("polyline", { class: "line", points: pts.join(" ") });
    var cursor = el("line", { class: "cursor", x1: 0, y1: T, x2: 0, y2: H - Bm });
    var marker = el("circle", { class: "marker", r: 4.5, cx: 0, cy: 0 });
    chart = { X: X, Y: Y, losses: losses, cursor: cursor, marker: marker, L: L, R: R, W: W };
    svg.addEventListener("click", function (e) {
      var r = svg.getBoundingClientRect();
      var x = ((e.clientX - r.left) / r.width) * W;
      var best = 0;
      for (var j = 1; j < S; j++) if (Math.abs(X(j) - x) < Math.abs(X(best) - x)) best = j;
      slider.value = String(best);
      showSnapshot(best);
    });
  }

  function placeMarker(i) {
    if (!chart) return;
    var x = chart.X(i);
    chart.cursor.setAttribute("x1", x);
    chart.cursor.setAttribute("x2", x);
    if (chart.losses[i] === null) {
      chart.marker.style.display = "none";
    } else {
      chart.marker.style.display = "";
      chart.marker.setAttribute("cx", x);
      chart.marker.setAttribute("cy", chart.Y(chart.losses[i]));
    }
  }

  var slider = $("training-slider");

  function showSnapshot(i) {
    setPlaying(false);
    snap = i;
    $("training-label").textContent = snapLabel(snapshots[i]);
    placeMarker(i);
    clearMarks();
    renderAll();
    updatePanel();
  }

  // ----- wiring ------------------------------------------------------------------------
  function init() {
    $("title").textContent = D.title || "chainrule explorer";
    D.views.forEach(function (v, i) {
      var o = document.createElement("option");
      o.value = String(i);
      o.textContent = v.label;
      select.appendChild(o);
    });
    if (D.views.length < 2) {
      select.hidden = true; // one drawing: nothing to choose or go back to
      $("collapse").hidden = true;
    }

    var help =
      "<kbd>\u2192</kbd>/<kbd>\u2190</kbd> step \u00b7 <kbd>Home</kbd>/<kbd>End</kbd> start/end \u00b7 " +
      "<kbd>space</kbd> play/pause \u00b7 drag to pan, wheel or <kbd>+</kbd>/<kbd>\u2212</kbd> to zoom, " +
      "<kbd>f</kbd> fit \u00b7 click a value for its details";
    if (D.views.length > 1) help += " \u00b7 click a module box to open it, Coarser to go back";
    if (snapshots) {
      help +=
        " \u00b7 the training slider shows a recorded snapshot's data and grads; " +
        "stepping again shows the pass on the final graph";
    }
    $("help").innerHTML = help;

    computeState(0);
    showView(D.start_view || 0);

    if (snapshots) {
      $("training").hidden = false;
      slider.max = String(snapshots.length - 1);
      slider.value = String(snapshots.length - 1);
      $("training-label").textContent = snapLabel(snapshots[snapshots.length - 1]);
      buildChart();
      placeMarker(snapshots.length - 1);
      slider.addEventListener("input", function () {
        showSnapshot(+slider.value);
      });
    }
    updatePanel();

    $("next").addEventListener("click", function () {
      setPlaying(false);
      next();
    });
    $("prev").addEventListener("click", function () {
      setPlaying(false);
      prev();
    });
    $("start").addEventListener("click", function () {
      setPlaying(false);
      go(0);
    });
    $("end").addEventListener("click", function () {
      setPlaying(false);
      go(TOTAL);
    });
    playBtn.addEventListener("click", function () {
      setPlaying(!timer);
    });
    $("fit").addEventListener("click", fit);
    $("zoom-in").addEventListener("click", function () {
      zoom(1 / 1.25);
    });
    $("zoom-out").addEventListener("click", function () {
      zoom(1.25);
    });
    $("collapse").addEventListener("click", function () {
      if (curIndex > 0) showView(curIndex - 1);
    });
    select.addEventListener("change", function () {
      showView(+select.value);
      select.blur();
    });

    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      var t = e.target;
      var tag = t && t.tagName;
      if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
      var handled = true;
      switch (e.key) {
        case "ArrowRight":
          setPlaying(false);
          next();
          break;
        case "ArrowLeft":
          setPlaying(false);
          prev();
          break;
        case "Home":
          setPlaying(false);
          go(0);
          break;
        case "End":
          setPlaying(false);
          go(TOTAL);
          break;
        case " ":
        case "Spacebar":
          setPlaying(!timer);
          break;
        case "+":
        case "=":
          zoom(1 / 1.25);
          break;
        case "-":
        case "_":
          zoom(1.25);
          break;
        case "f":
        case "0":
          fit();
          break;
        default:
          handled = false;
      }
      if (handled) e.preventDefault();
    });

    // drag to pan; a click without a drag picks a node
    var drag = null;
    var dragged = false;
    graphEl.addEventListener("pointerdown", function (e) {
      if (e.button !== 0) return;
      drag = { x: e.clientX, y: e.clientY, vb: cur.vb, upp: unitsPerPixel(cur), id: e.pointerId, on: false };
      dragged = false;
    });
    graphEl.addEventListener("pointermove", function (e) {
      if (!drag) return;
      var dx = e.clientX - drag.x;
      var dy = e.clientY - drag.y;
      if (!drag.on && Math.abs(dx) + Math.abs(dy) > 4) {
        drag.on = true;
        dragged = true;
        graphEl.classList.add("dragging");
        try {
          graphEl.setPointerCapture(drag.id);
        } catch (err) {
          /* the pointer is gone already */
        }
      }
      if (drag.on) {
        setViewBox(cur, {
          x: drag.vb.x - dx * drag.upp,
          y: drag.vb.y - dy * drag.upp,
          w: drag.vb.w,
          h: drag.vb.h,
        });
      }
    });
    function endDrag() {
      drag = null;
      graphEl.classList.remove("dragging");
    }
    graphEl.addEventListener("pointerup", endDrag);
    graphEl.addEventListener("pointercancel", endDrag);
    graphEl.addEventListener("click", function (e) {
      if (dragged) {
        dragged = false;
        return;
      }
      var t = targetOf(e.target);
      if (t && t.group) {
        if (curIndex + 1 < D.views.length) openGroup(t.group);
        else pin(t);
        return;
      }
      pin(t);
    });
    graphEl.addEventListener(
      "wheel",
      function (e) {
        e.preventDefault();
        var dy = e.deltaY * (e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1);
        zoom(Math.exp(Math.max(-300, Math.min(300, dy)) * 0.0015), e.clientX, e.clientY);
      },
      { passive: false }
    );
    graphEl.addEventListener("mouseover", function (e) {
      var t = targetOf(e.target);
      if (!t) return;
      if (hovered && hovered.el === t.el) return;
      hovered = t;
      refreshInfo();
    });
    graphEl.addEventListener("mouseout", function (e) {
      if (!hovered) return;
      var to = e.relatedTarget;
      if (to && hovered.el.contains(to)) return;
      hovered = null;
      refreshInfo();
    });
  }

  init();
})();
