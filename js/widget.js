// nbdebug widget: a plain ES module for anywidget (no bundler, no npm, no network).
//
// The same module runs in the notebook (anywidget model) and in the offline report (a small model
// shim over embedded data). What it uses of the model: get, set, save_changes, on, off, send.
//   state   summary (compact JSON string, see nbdebug/payload.py), cursor, selected, filter, status, live
//   msgs    -> {kind: "details", index}      <- {kind: "details", index, data}
//           -> {kind: "rerun"}               (the kernel traces again and replaces the summary)
//
// Every user-provided string (module names, class names, exception text, messages) is inserted as
// text (text nodes, textContent); no markup is ever built from data.

const SVG_NS = "http://www.w3.org/2000/svg";
const ICON = { error: "\u2716", warning: "\u26a0", info: "\u2139" }; // glyphs common fonts carry
const SEVERITY_RANK = { error: 0, warning: 1, info: 2 };
const BIG_MODEL = 400; // calls; above this, nested subtrees start collapsed
// the call table's columns: [key, header]; cells carry the class nbd-c-<key>
const COLUMNS = [
  ["index", "#"], ["module", "module"], ["finding", ""], ["type", "type"], ["io", "in \u2192 out"],
  ["dtype", "dtype"], ["device", "device"], ["params", "params"], ["moments", "mean \u00b1 std"],
  ["zero", "zero"], ["nonfinite", "non-finite"], ["grad", "\u2016grad\u2016"],
];
const NUMERIC = new Set(["index", "params", "moments", "zero", "nonfinite", "grad"]);
const FILLED = ["finding", "io", "dtype", "device", "params", "moments", "zero", "nonfinite", "grad"];
const KEYS = [
  ["\u2192 / j", "step"],
  ["\u2190 / k", "step back"],
  ["Home", "start"],
  ["End", "end"],
  ["n / p", "next / previous finding"],
  ["r", "re-run"],
  ["/", "filter"],
];

// ------------------------------------------------------------------ small DOM helpers
function h(tag, cls, ...children) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const c of children) append(e, c);
  return e;
}

function append(parent, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(parent, c);
  } else if (typeof child === "object" && child.nodeType) {
    parent.appendChild(child);
  } else {
    parent.appendChild(document.createTextNode(String(child)));
  }
}

function s(tag, attrs) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const k in attrs || {}) e.setAttribute(k, String(attrs[k]));
  return e;
}

function svgText(x, y, text, cls, anchor) {
  const t = s("text", { x, y, "text-anchor": anchor || "start" });
  if (cls) t.setAttribute("class", cls);
  t.textContent = text;
  return t;
}

function tooltip(node, text) {
  const t = s("title");
  t.textContent = text;
  node.appendChild(t);
  return node;
}

function severityClass(sev) {
  return "nbd-" + (sev in SEVERITY_RANK ? sev : "info");
}

// ------------------------------------------------------------------ numbers
function isNum(x) {
  return typeof x === "number" && isFinite(x);
}

function fmt(x) {
  if (x === null || x === undefined) return "\u2013";
  if (typeof x === "string") return x; // "NaN", "Inf", "-Inf"
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e4 || a < 1e-3) return x.toExponential(2);
  return String(Number(x.toPrecision(3)));
}

function pct(f) {
  if (f === null || f === undefined || typeof f === "string") return "\u2013";
  if (f > 0 && f < 0.005) return "<1 %";
  if (f < 1 && f > 0.995) return ">99 %";
  return Math.round(f * 100) + " %";
}

function count(n) {
  if (!n) return "0";
  if (n >= 1e9) return (n / 1e9).toFixed(1) + "G";
  if (n >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return String(n);
}

function shapeText(shape) {
  return shape && shape.length ? shape.join("\u00d7") : "scalar";
}

// ------------------------------------------------------------------ the summary
export function decode(text) {
  let raw;
  try {
    raw = typeof text === "string" ? JSON.parse(text || "{}") : text || {};
  } catch (e) {
    raw = {};
  }
  const cols = raw.cols || [];
  const C = {};
  cols.forEach((c, i) => (C[c] = i));
  const S = raw.s || [];
  const calls = [];
  for (const [i, r] of (raw.calls || []).entries()) {
    const parent = r[C.parent];
    let name = String(r[C.name]);
    if (name.startsWith(".") && parent >= 0 && calls[parent]) name = calls[parent].name + name;
    calls.push({
      i,
      depth: r[C.depth],
      parent,
      name,
      type: S[r[C.type]] || "",
      io: S[r[C.io]] || "",
      dtype: S[r[C.dtype]] || "",
      device: S[r[C.device]] || "",
      params: r[C.params],
      mean: r[C.mean],
      std: r[C.std],
      zero: r[C.zero],
      nonfin: r[C.nonfin],
      grad: r[C.grad],
      flags: r[C.flags] || 0,
      repeat: (raw.repeat || {})[String(i)] || 0,
      children: 0,
      findings: [],
    });
  }
  for (const c of calls) if (c.parent >= 0 && calls[c.parent]) calls[c.parent].children++;
  const findings = raw.findings || [];
  for (const f of findings) {
    if (f.call !== null && f.call !== undefined && calls[f.call]) calls[f.call].findings.push(f);
  }
  return { raw, calls, findings, explain: raw.explain || {} };
}

function worst(findings) {
  let best = null;
  for (const f of findings) {
    if (!best || (SEVERITY_RANK[f.severity] ?? 3) < (SEVERITY_RANK[best.severity] ?? 3)) best = f;
  }
  return best;
}

function whereText(where) {
  return where ? where : "(root)";
}

function firstNonfinite(calls) {
  // the first call whose output holds NaN/Inf while none of its children's outputs does
  const bad = (c) => c.nonfin > 0 || c.mean === "NaN";
  const badChild = new Set();
  for (const c of calls) if (bad(c) && c.parent >= 0) badChild.add(c.parent);
  return calls.find((c) => bad(c) && !badChild.has(c.i)) || null;
}

// ------------------------------------------------------------------ charts (SVG)
function histogram(stats, label, missing) {
  const box = h("div", "nbd-hist");
  box.appendChild(h("div", "nbd-hist-label", label));
  if (!stats) {
    box.appendChild(h("div", "nbd-muted", missing || "no tensor"));
    return box;
  }
  const nonfin = (stats.nan || 0) + (stats.inf || 0);
  if (!stats.hist) {
    let why = "no values";
    if (stats.note) why = stats.note;
    else if (nonfin && nonfin >= stats.numel) why = "all values non-finite (NaN/Inf)";
    box.appendChild(h("div", nonfin ? "nbd-bad" : "nbd-muted", why));
    return box;
  }
  const W = 220, H = 64, n = stats.hist.length;
  const max = Math.max(...stats.hist, 1);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H + 14}`, width: W, height: H + 14, class: "nbd-svg" });
  const bw = W / n;
  stats.hist.forEach((v, i) => {
    if (!v) return;
    const bh = Math.max(1, (Math.sqrt(v) / Math.sqrt(max)) * H);
    const lo = isNum(stats.lo) ? stats.lo + ((stats.hi - stats.lo) * i) / n : null;
    const rect = s("rect", { x: i * bw + 0.5, y: H - bh, width: Math.max(bw - 1, 1), height: bh, class: "nbd-bar" });
    tooltip(rect, `${fmt(lo)} \u2026 ${fmt(lo === null ? null : lo + (stats.hi - stats.lo) / n)}: ${v}`);
    svg.appendChild(rect);
  });
  svg.appendChild(s("line", { x1: 0, x2: W, y1: H + 0.5, y2: H + 0.5, class: "nbd-axis" }));
  svg.appendChild(svgText(0, H + 12, fmt(stats.lo), "nbd-tick"));
  svg.appendChild(svgText(W, H + 12, fmt(stats.hi), "nbd-tick", "end"));
  box.appendChild(svg);
  const notes = [];
  if (nonfin) notes.push(`${stats.nan ? stats.nan + " NaN " : ""}${stats.inf ? stats.inf + " \u00b1Inf " : ""}not shown`);
  if (stats.sampled) notes.push(`sampled ${count(stats.sampled)} of ${count(stats.numel)}`);
  if (notes.length) box.appendChild(h("div", nonfin ? "nbd-bad" : "nbd-muted", notes.join(" \u00b7 ")));
  return box;
}

function gradChart(params) {
  const box = h("div", "nbd-chart");
  box.appendChild(h("div", "nbd-chart-title", "\u2016grad\u2016 by depth (log scale)"));
  const finite = params.filter((p) => isNum(p[1]) && p[1] > 0).map((p) => p[1]);
  if (!params.length || (!finite.length && !params.some((p) => typeof p[1] === "string"))) {
    box.appendChild(h("div", "nbd-muted", "no parameter gradients (no backward, or nothing trainable)"));
    return box;
  }
  const W = 300, H = 110, L = 34;
  let lo = Math.floor(Math.log10(Math.min(...finite, 1)));
  let hi = Math.ceil(Math.log10(Math.max(...finite, 1)));
  if (hi <= lo) hi = lo + 1;
  const y = (v) => H - ((Math.log10(v) - lo) / (hi - lo)) * H;
  const svg = s("svg", { viewBox: `0 0 ${W + L} ${H + 16}`, width: W + L, height: H + 16, class: "nbd-svg" });
  if (finite.length) {
    for (let d = lo; d <= hi; d++) {
      svg.appendChild(s("line", { x1: L, x2: L + W, y1: y(10 ** d), y2: y(10 ** d), class: "nbd-grid" }));
      svg.appendChild(svgText(L - 3, y(10 ** d) + 3, "1e" + d, "nbd-tick", "end"));
    }
  } else {
    box.appendChild(h("div", "nbd-bad", "every parameter gradient is NaN/Inf"));
  }
  const bw = W / params.length;
  params.forEach(([name, v], i) => {
    const x = L + i * bw;
    let node;
    if (typeof v === "string") {
      node = s("rect", { x: x + 0.5, y: 0, width: Math.max(bw - 1, 1), height: H, class: "nbd-bar-bad" });
      tooltip(node, `${name}: ${v}`);
    } else if (isNum(v) && v > 0) {
      const top = y(v);
      node = s("rect", { x: x + 0.5, y: top, width: Math.max(bw - 1, 1), height: Math.max(H - top, 1), class: "nbd-bar" });
      tooltip(node, `${name}: ${fmt(v)}`);
    } else {
      node = s("rect", { x: x + 0.5, y: H - 2, width: Math.max(bw - 1, 1), height: 2, class: "nbd-bar-none" });
      tooltip(node, `${name}: ${v === 0 ? "0" : "no gradient"}`);
    }
    svg.appendChild(node);
  });
  svg.appendChild(svgText(L, H + 13, "input side", "nbd-tick"));
  svg.appendChild(svgText(L + W, H + 13, "output side", "nbd-tick", "end"));
  box.appendChild(svg);
  return box;
}

function lossChart(steps) {
  const box = h("div", "nbd-chart");
  box.appendChild(h("div", "nbd-chart-title", "probe loss by step"));
  if (!steps.length) {
    box.appendChild(h("div", "nbd-muted", "no probe steps (pass steps=N, or --steps N)"));
    return box;
  }
  const vals = steps.map((st) => st[0]);
  const finite = vals.filter(isNum);
  const W = 300, H = 110, L = 40;
  if (!finite.length) {
    box.appendChild(h("div", "nbd-bad", "the loss is " + vals.map(fmt).slice(0, 3).join(", ") + " at every step"));
    return box;
  }
  let lo = Math.min(...finite), hi = Math.max(...finite);
  if (hi === lo) { hi = lo + Math.abs(lo || 1) * 0.1; lo = lo - Math.abs(lo || 1) * 0.1; }
  const x = (i) => L + (steps.length === 1 ? W / 2 : (i * W) / (steps.length - 1));
  const y = (v) => 4 + (H - 8) * (1 - (v - lo) / (hi - lo));
  const svg = s("svg", { viewBox: `0 0 ${W + L + 4} ${H + 16}`, width: W + L + 4, height: H + 16, class: "nbd-svg" });
  svg.appendChild(s("line", { x1: L, x2: L + W, y1: H, y2: H, class: "nbd-axis" }));
  svg.appendChild(svgText(L - 3, y(hi) + 3, fmt(hi), "nbd-tick", "end"));
  svg.appendChild(svgText(L - 3, y(lo) + 3, fmt(lo), "nbd-tick", "end"));
  let path = "";
  vals.forEach((v, i) => {
    if (!isNum(v)) return;
    path += `${path ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
  });
  if (path) svg.appendChild(s("path", { d: path, class: "nbd-line" }));
  vals.forEach((v, i) => {
    const dot = isNum(v)
      ? s("circle", { cx: x(i), cy: y(v), r: 2.5, class: "nbd-dot" })
      : s("circle", { cx: x(i), cy: 4, r: 3, class: "nbd-dot-bad" });
    tooltip(dot, `step ${i}: loss ${fmt(v)}`);
    svg.appendChild(dot);
  });
  svg.appendChild(svgText(L, H + 13, "step 0", "nbd-tick"));
  svg.appendChild(svgText(L + W, H + 13, "step " + (steps.length - 1), "nbd-tick", "end"));
  box.appendChild(svg);
  return box;
}

// ------------------------------------------------------------------ the view
class View {
  constructor(model, el) {
    this.model = model;
    this.el = el;
    this.cache = new Map();
    this.collapsed = new Set();
    this.rows = [];
    this.listeners = [];
    this.root = h("div", "nbd");
    this.root.tabIndex = 0;
    // Lumino (JupyterLab) leaves keys alone inside this element: our shortcuts, not the notebook's
    this.root.setAttribute("data-lm-suppress-shortcuts", "true");
    el.appendChild(this.root);
    this.build();
    this.on("change:summary", () => this.load());
    this.on("change:cursor", () => this.schedule());
    this.on("change:selected", () => this.schedule());
    this.on("change:filter", () => this.filterChanged());
    this.on("change:status", () => this.showStatus());
    this.on("change:live", () => this.showStatus());
    this.on("msg:custom", (msg) => this.message(msg));
    this.load();
  }

  on(event, fn) {
    this.model.on(event, fn);
    this.listeners.push([event, fn]);
  }

  destroy() {
    for (const [event, fn] of this.listeners) {
      if (this.model.off) this.model.off(event, fn);
    }
    this.listeners = [];
  }

  get(key, fallback) {
    const v = this.model.get(key);
    return v === undefined || v === null ? fallback : v;
  }

  set(changes) {
    for (const k in changes) this.model.set(k, changes[k]);
    this.model.save_changes();
  }

  // ---------------------------------------------------------------- skeleton
  build() {
    this.head = h("div", "nbd-head");
    this.banner = h("div", "nbd-banner");
    this.findingList = h("div", "nbd-findings");
    const button = (label, title, action, cls) => {
      const b = h("button", "nbd-btn" + (cls ? " " + cls : ""), label);
      b.type = "button";
      b.title = title;
      b.addEventListener("click", (ev) => {
        ev.preventDefault();
        action();
      });
      return b;
    };
    this.buttons = {
      start: button("\u21e4 start", "start (Home)", () => this.go(0), "nbd-start"),
      back: button("\u25c0 back", "step back (\u2190 or k)", () => this.go(this.cursor() - 1), "nbd-back"),
      step: button("step \u25b6", "step (\u2192 or j)", () => this.go(this.cursor() + 1), "nbd-step"),
      next: button("next finding \u00bb", "run to the next finding (n)", () => this.nextFinding(1), "nbd-next"),
      end: button("end \u21e5", "run to the end (End)", () => this.go(this.data.calls.length - 1), "nbd-end"),
      rerun: button("\u21bb re-run", "trace again, after editing the model (r)", () => this.rerun(), "nbd-rerun"),
    };
    this.pos = h("span", "nbd-pos");
    this.filterBox = h("input", "nbd-filter");
    this.filterBox.type = "search";
    this.filterBox.placeholder = "filter modules";
    this.filterBox.title = "show modules whose name or type contains this text (/)";
    this.filterBox.addEventListener("input", () => this.set({ filter: this.filterBox.value }));
    this.statusEl = h("span", "nbd-status");
    const help = h("span", "nbd-help", "?");
    help.title = KEYS.map(([k, what]) => `${k}: ${what}`).join("\n");
    this.toolbar = h("div", "nbd-toolbar", Object.values(this.buttons), this.pos, this.filterBox, help, this.statusEl);
    this.thead = h("thead", "");
    const headRow = h("tr", "");
    for (const [key, label] of COLUMNS) headRow.appendChild(h("th", "nbd-c-" + key + (NUMERIC.has(key) ? " nbd-num" : ""), label));
    this.thead.appendChild(headRow);
    this.tbody = h("tbody", "");
    this.table = h("table", "nbd-table", this.thead, this.tbody);
    this.tableWrap = h("div", "nbd-table-wrap", this.table);
    this.tbody.addEventListener("click", (ev) => this.rowClick(ev));
    this.detail = h("div", "nbd-detail");
    this.charts = h("div", "nbd-charts");
    this.notes = h("div", "nbd-notes");
    this.root.append(this.head, this.banner, this.findingList, this.toolbar, this.tableWrap,
      h("div", "nbd-lower", this.detail, this.charts), this.notes);
    this.root.addEventListener("keydown", (ev) => this.key(ev));
  }

  // ---------------------------------------------------------------- data in
  load() {
    this.data = decode(this.get("summary", "{}"));
    this.cache.clear();
    this.collapsed.clear();
    const calls = this.data.calls;
    if (calls.length > BIG_MODEL) {
      for (const c of calls) if (c.children && c.depth >= 1) this.collapsed.add(c.i);
    }
    this.renderHead();
    this.renderBanner();
    this.renderRows();
    this.renderCharts();
    this.renderNotes();
    this.filterBox.value = this.get("filter", "");
    this.shown = -1;
    this.revealed = -1;
    this.applyVisibility();
    this.moved();
    this.showStatus();
  }

  message(msg) {
    if (!msg || typeof msg !== "object") return;
    if (msg.kind === "details") {
      this.cache.set(msg.index, msg.data);
      if (msg.index === this.selected()) this.renderDetail();
    }
  }

  cursor() {
    return this.get("cursor", 0);
  }

  selected() {
    return this.get("selected", this.cursor());
  }

  // ---------------------------------------------------------------- head, banner, findings list
  renderHead() {
    const r = this.data.raw;
    const parts = ["nbdebug", r.model || "?", `${this.data.calls.length} calls`];
    if (r.device) parts.push(r.device);
    if (r.dtype) parts.push(r.dtype);
    parts.push(r.training ? "train" : "eval");
    if (r.loss) parts.push(`loss: ${r.loss.name}${r.loss.value !== null && r.loss.value !== undefined ? " = " + fmt(r.loss.value) : ""}`);
    this.head.replaceChildren(h("span", "nbd-title", parts.join(" \u00b7 ")));
  }

  renderBanner() {
    const { raw, findings, calls } = this.data;
    const top = findings[0];
    let cls = "nbd-banner", icon = "", text = "", fix = "", target = null;
    if (top) {
      cls += " " + severityClass(top.severity);
      icon = ICON[top.severity] || "";
      text = `${top.cause} at ${whereText(top.where)}: ${top.message}`;
      fix = top.fix;
      target = top.call;
    } else if (raw.error) {
      const e = raw.error;
      cls += " nbd-error";
      icon = "\u2717";
      text = `${e.type}${e.where ? " in " + e.where : ""} during ${e.stage}: ${e.message}`;
      target = e.call;
    } else {
      const bad = firstNonfinite(calls);
      if (bad) {
        cls += " nbd-error";
        icon = ICON.error;
        const o = raw.origin;
        const op = o && o.op ? ` by ${o.op}` + (o.line ? ` (line ${o.line})` : "") : "";
        text = `NaN/Inf first appears in ${whereText(bad.name)} (${bad.type})${op}`;
        target = bad.i;
      } else if (raw.loss && typeof raw.loss.value === "string") {
        cls += " nbd-error";
        icon = ICON.error;
        text = `the loss is ${raw.loss.value}`;
      } else {
        cls += " nbd-ok";
        icon = "\u2713";
        text = "no findings: nothing looks wrong in this pass";
      }
    }
    this.banner.className = cls;
    const body = h("span", "nbd-banner-text", text);
    const kids = [h("span", "nbd-icon", icon), body];
    if (fix) kids.push(h("div", "nbd-banner-fix", "fix: ", h("code", "", fix)));
    this.banner.replaceChildren(...kids);
    this.banner.onclick = target !== null && target !== undefined && calls[target] ? () => this.go(target) : null;
    this.banner.title = this.banner.onclick ? "go to this call" : "";

    const list = findings.slice(1);
    this.findingList.replaceChildren();
    if (list.length) {
      const det = h("details", "");
      det.appendChild(h("summary", "", `${list.length} more finding${list.length > 1 ? "s" : ""}`));
      const ul = h("ul", "");
      for (const f of list) {
        const li = h("li", severityClass(f.severity),
          `${ICON[f.severity] || ""} ${f.rule} ${f.cause} at ${whereText(f.where)}: ${f.message}`);
        if (f.consequence_of) li.appendChild(h("span", "nbd-muted", ` (follows from ${f.consequence_of})`));
        if (f.call !== null && f.call !== undefined && calls[f.call]) {
          li.classList.add("nbd-link");
          li.addEventListener("click", () => this.go(f.call));
        }
        ul.appendChild(li);
      }
      det.appendChild(ul);
      this.findingList.appendChild(det);
    }
  }

  renderNotes() {
    const notes = this.data.raw.notes || [];
    this.notes.replaceChildren(...notes.map((n) => h("div", "", "note: " + n)));
  }

  renderCharts() {
    const raw = this.data.raw;
    this.charts.replaceChildren(gradChart(raw.params || []), lossChart(raw.steps || []));
  }

  // ---------------------------------------------------------------- the table
  renderRows() {
    const frag = document.createDocumentFragment();
    this.rows = this.data.calls.map((c) => {
      const tr = h("tr", "nbd-row nbd-pending");
      tr.dataset.index = String(c.i);
      const cells = {};
      for (const [key] of COLUMNS) {
        cells[key] = h("td", "nbd-c-" + key + (NUMERIC.has(key) ? " nbd-num" : ""));
        tr.appendChild(cells[key]);
      }
      cells.index.textContent = String(c.i);
      const name = cells.module;
      name.style.paddingLeft = 4 + 12 * Math.min(c.depth, 12) + "px";
      const toggle = h("span", "nbd-toggle", c.children ? "\u25be" : "");
      if (c.children) toggle.title = "collapse / expand this subtree";
      name.appendChild(toggle);
      const dot = c.name.lastIndexOf(".");
      if (dot > 0) name.appendChild(h("span", "nbd-prefix", c.name.slice(0, dot + 1)));
      name.appendChild(h("span", "nbd-local", dot > 0 ? c.name.slice(dot + 1) : c.name || "(root)"));
      name.title = c.name || "(root)";
      cells.type.textContent = c.type + (c.repeat ? ` \u00d7${c.repeat + 1}` : "");
      if (c.flags & 1) cells.type.appendChild(h("span", "nbd-bad", " \u2717 raised"));
      if (c.flags & 2) cells.type.appendChild(h("span", "nbd-bad", " \u2026 running"));
      if (c.flags & 4) cells.type.appendChild(h("span", "nbd-warning", " unregistered"));
      frag.appendChild(tr);
      const row = { tr, c, cells, toggle };
      this.fill(row);
      return row;
    });
    this.tbody.replaceChildren(frag);
    if (!this.data.calls.length) {
      const tr = h("tr", "", h("td", "nbd-muted", "no module calls were recorded"));
      tr.firstChild.colSpan = COLUMNS.length;
      this.tbody.appendChild(tr);
    }
  }

  fill(row) {
    // every cell is built once; a row's numbers show once the cursor has reached it (reveal), so
    // stepping only flips a class and the table's column widths never change under the user
    const c = row.c, cells = row.cells;
    const text = (key, v, cls) => {
      cells[key].textContent = v;
      if (cls) cells[key].classList.add(cls);
    };
    text("io", c.io);
    text("dtype", c.dtype);
    text("device", c.device);
    text("params", c.params ? count(c.params) : "");
    text("moments", c.mean === null ? "\u2013" : `${fmt(c.mean)} \u00b1 ${fmt(c.std)}`, c.mean === "NaN" ? "nbd-bad" : "");
    text("zero", pct(c.zero), c.zero >= 0.5 && c.type.includes("ReLU") ? "nbd-warn-cell" : "");
    text("nonfinite", c.nonfin === null ? "\u2013" : c.nonfin > 0 ? "NaN/Inf " + pct(c.nonfin) : "0 %", c.nonfin > 0 ? "nbd-bad" : "");
    text("grad", c.grad === "NaN" ? "NaN" : fmt(c.grad), c.grad === "NaN" ? "nbd-bad" : "");
    for (const key of FILLED) cells[key].classList.add("nbd-stat");
    const f = worst(c.findings);
    if (f) {
      const badge = h("span", "nbd-badge " + severityClass(f.severity), `${ICON[f.severity] || ""} ${f.cause}`);
      badge.title = `${f.rule} ${f.cause}: ${f.message}`;
      cells.finding.appendChild(badge);
      row.tr.classList.add("nbd-flag-" + (f.severity in SEVERITY_RANK ? f.severity : "info"));
    }
    if (c.nonfin > 0 || c.flags & 1) row.tr.classList.add("nbd-row-bad");
  }

  // rows revealed so far: 0..cursor. Only the rows between the old and new cursor are touched.
  reveal(upto) {
    const pending = (i, yes) => this.rows[i].tr.classList.toggle("nbd-pending", yes);
    if (this.revealed < 0) {
      this.rows.forEach((r, i) => pending(i, i > upto));
    } else if (upto > this.revealed) {
      for (let i = this.revealed + 1; i <= upto; i++) pending(i, false);
    } else {
      for (let i = upto + 1; i <= this.revealed; i++) pending(i, true);
    }
    this.revealed = upto;
  }

  matches(c, needle) {
    return c.name.toLowerCase().includes(needle) || c.type.toLowerCase().includes(needle);
  }

  applyVisibility() {
    const calls = this.data.calls;
    const needle = this.get("filter", "").trim().toLowerCase();
    let keep = null;
    if (needle) {
      keep = new Set();
      for (const c of calls) {
        if (!this.matches(c, needle)) continue;
        for (let k = c; k && !keep.has(k.i); k = k.parent >= 0 ? calls[k.parent] : null) keep.add(k.i);
      }
    }
    const hiddenBy = new Array(calls.length).fill(false);
    for (const c of calls) {
      const p = c.parent;
      hiddenBy[c.i] = p >= 0 && !needle && (hiddenBy[p] || this.collapsed.has(p));
    }
    this.rows.forEach((r, i) => {
      const hide = hiddenBy[i] || (keep !== null && !keep.has(i));
      r.tr.classList.toggle("nbd-hidden", hide);
      r.toggle.textContent = r.c.children ? (this.collapsed.has(i) && !needle ? "\u25b8" : "\u25be") : "";
    });
  }

  expandTo(i) {
    let changed = false;
    const calls = this.data.calls;
    for (let p = calls[i] ? calls[i].parent : -1; p >= 0; p = calls[p].parent) {
      if (this.collapsed.delete(p)) changed = true;
    }
    if (changed) this.applyVisibility();
  }

  filterChanged() {
    const v = this.get("filter", "");
    if (this.filterBox.value !== v) this.filterBox.value = v;
    this.applyVisibility();
  }

  // ---------------------------------------------------------------- moving
  clamp(i) {
    const n = this.data.calls.length;
    return Math.max(0, Math.min(n - 1, i | 0));
  }

  go(i) {
    if (!this.data.calls.length) return;
    const j = this.clamp(i);
    this.set({ cursor: j, selected: j });
  }

  nextFinding(direction) {
    const cur = this.cursor();
    const idx = [...new Set(this.data.findings.map((f) => f.call).filter((c) => c !== null && c !== undefined))]
      .sort((a, b) => a - b);
    if (!idx.length) {
      // no findings: the first NaN/Inf is the next thing worth seeing
      const bad = firstNonfinite(this.data.calls);
      if (bad) this.go(bad.i);
      return;
    }
    const after = direction > 0 ? idx.find((i) => i > cur) : [...idx].reverse().find((i) => i < cur);
    this.go(after !== undefined ? after : direction > 0 ? idx[0] : idx[idx.length - 1]);
  }

  rerun() {
    if (!this.get("live", true)) return;
    this.model.send({ kind: "rerun" });
  }

  schedule() {
    // cursor and selection change together: draw once, after both have arrived
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.moved();
    });
  }

  moved() {
    if (!this.data) return;
    const n = this.data.calls.length;
    const cur = n ? this.clamp(this.cursor()) : -1;
    const sel = n ? this.clamp(this.selected()) : -1;
    if (cur === this.shown && sel === this.prevSel) return;
    this.reveal(cur);
    const old = this.shown;
    if (old !== undefined && old >= 0 && this.rows[old]) this.rows[old].tr.classList.remove("nbd-current");
    if (this.prevSel !== undefined && this.rows[this.prevSel]) this.rows[this.prevSel].tr.classList.remove("nbd-selected");
    if (cur >= 0) {
      this.rows[cur].tr.classList.add("nbd-current");
      this.rows[sel].tr.classList.add("nbd-selected");
      this.expandTo(cur);
      this.expandTo(sel);
      this.scrollTo(this.rows[sel].tr);
    }
    this.shown = cur;
    this.prevSel = sel;
    this.pos.textContent = n ? `call ${cur} \u00b7 step ${cur + 1} / ${n}` : "no calls";
    this.buttons.start.disabled = this.buttons.back.disabled = cur <= 0;
    this.buttons.step.disabled = this.buttons.end.disabled = cur >= n - 1;
    this.renderDetail();
  }

  scrollTo(tr) {
    // scroll the table only (never the notebook around it)
    const wrap = this.tableWrap;
    const top = tr.offsetTop, bottom = top + tr.offsetHeight;
    const head = this.thead.offsetHeight || 0;
    if (top - head < wrap.scrollTop) wrap.scrollTop = top - head;
    else if (bottom > wrap.scrollTop + wrap.clientHeight) wrap.scrollTop = bottom - wrap.clientHeight;
  }

  rowClick(ev) {
    const tr = ev.target.closest("tr.nbd-row");
    if (!tr) return;
    const i = Number(tr.dataset.index);
    if (ev.target.classList.contains("nbd-toggle") && this.data.calls[i].children) {
      if (this.collapsed.has(i)) this.collapsed.delete(i);
      else this.collapsed.add(i);
      this.applyVisibility();
      return;
    }
    // clicking a row that has not been reached yet runs to it; a reached row is just selected
    if (i > this.cursor()) this.go(i);
    else this.set({ selected: i });
  }

  key(ev) {
    if (ev.target === this.filterBox) {
      if (ev.key === "Escape") {
        this.filterBox.value = "";
        this.set({ filter: "" });
        this.root.focus();
      }
      ev.stopPropagation();
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const actions = {
      ArrowRight: () => this.go(this.cursor() + 1),
      ArrowDown: () => this.go(this.cursor() + 1),
      j: () => this.go(this.cursor() + 1),
      ArrowLeft: () => this.go(this.cursor() - 1),
      ArrowUp: () => this.go(this.cursor() - 1),
      k: () => this.go(this.cursor() - 1),
      Home: () => this.go(0),
      End: () => this.go(this.data.calls.length - 1),
      n: () => this.nextFinding(1),
      p: () => this.nextFinding(-1),
      r: () => this.rerun(),
      "/": () => this.filterBox.focus(),
    };
    const act = actions[ev.key];
    if (!act) return;
    ev.preventDefault();
    ev.stopPropagation();
    act();
  }

  showStatus() {
    const live = this.get("live", true);
    this.buttons.rerun.disabled = !live;
    this.buttons.rerun.title = live ? "trace again, after editing the model (r)" : "re-run needs a live kernel";
    const status = this.get("status", "");
    this.statusEl.textContent = status;
    this.root.classList.toggle("nbd-busy", status === "running");
  }

  // ---------------------------------------------------------------- the detail pane
  renderDetail() {
    const n = this.data.calls.length;
    if (!n) {
      this.detail.replaceChildren();
      return;
    }
    const i = this.clamp(this.selected());
    const c = this.data.calls[i];
    const d = this.cache.get(i);
    const title = h("div", "nbd-detail-title", `call ${i} \u00b7 ${whereText(c.name)} (${c.type})`);
    const parts = [title];
    if (d === undefined) {
      parts.push(h("div", "nbd-muted", "loading\u2026"));
      this.model.send({ kind: "details", index: i });
      this.cache.set(i, null);
    } else if (d === null) {
      parts.push(h("div", "nbd-muted", "loading\u2026"));
    } else {
      parts.push(...this.detailBody(d));
    }
    for (const f of c.findings) parts.push(this.findingBlock(f));
    const err = this.data.raw.error;
    if (err && err.call === i) {
      parts.push(h("div", "nbd-finding nbd-error", `\u2717 ${err.type} during ${err.stage}: ${err.message}`));
    }
    this.detail.replaceChildren(...parts);
  }

  detailBody(d) {
    const out = [];
    const attrs = Object.entries(d.attrs || {}).map(([k, v]) => `${k}=${Array.isArray(v) ? "(" + v.join(", ") + ")" : v}`);
    const meta = [];
    if (d.params) meta.push(`${count(d.params)} parameters`);
    meta.push(d.training ? "train mode" : "eval mode");
    if (d.output_kind) meta.push(`returns ${d.output_kind}`);
    if (d.status && d.status !== "ok") meta.push(d.status);
    if (!d.registered) meta.push("not registered in named_modules()");
    out.push(h("div", "nbd-muted", meta.join(" \u00b7 ")));
    if (attrs.length) out.push(h("div", "nbd-attrs", h("code", "", attrs.join(", "))));
    const hists = h("div", "nbd-hists");
    hists.appendChild(histogram((d.outputs || [])[0], "activations (output)"));
    const g = (d.grads || []).find((x) => x);
    hists.appendChild(histogram(g, "gradients (w.r.t. output)",
      (d.grads || []).length ? "no gradient reached this output" : "no backward pass"));
    hists.appendChild(histogram((d.inputs || [])[0], "input"));
    out.push(hists);
    const table = h("table", "nbd-stats");
    table.appendChild(h("tr", "", ...["", "path", "shape", "dtype", "mean \u00b1 std", "min \u2026 max", "zero", "NaN", "Inf"].map((x) => h("th", "", x))));
    const addRows = (role, list) => {
      (list || []).forEach((st) => {
        if (!st) return;
        const tr = h("tr", "", h("td", "nbd-muted", role), h("td", "", st.path || ""), h("td", "", shapeText(st.shape)),
          h("td", "", st.dtype), h("td", "nbd-num", `${fmt(st.mean)} \u00b1 ${fmt(st.std)}`),
          h("td", "nbd-num", `${fmt(st.min)} \u2026 ${fmt(st.max)}`), h("td", "nbd-num", pct(st.zero)),
          h("td", st.nan ? "nbd-num nbd-bad" : "nbd-num", String(st.nan)), h("td", st.inf ? "nbd-num nbd-bad" : "nbd-num", String(st.inf)));
        table.appendChild(tr);
      });
    };
    addRows("in", d.inputs);
    addRows("out", d.outputs);
    addRows("grad", d.grads);
    out.push(table);
    if (d.more_inputs || d.more_outputs) out.push(h("div", "nbd-muted", `(${d.more_inputs} more inputs, ${d.more_outputs} more outputs not listed)`));
    if ((d.own_params || []).length) {
      const ps = h("div", "nbd-params");
      for (const p of d.own_params) {
        ps.appendChild(h("div", "", h("code", "", p.name), ` ${shapeText(p.shape)} \u00b7 \u2016w\u2016 ${fmt(p.norm)} \u00b7 \u2016grad\u2016 ${p.requires_grad ? fmt(p.grad_norm) : "frozen"}`));
      }
      out.push(ps);
    }
    return out;
  }

  findingBlock(f) {
    const box = h("div", "nbd-finding " + severityClass(f.severity));
    box.appendChild(h("div", "nbd-finding-head", `${ICON[f.severity] || ""} ${f.rule} ${f.cause}`, f.title ? h("span", "nbd-muted", " \u00b7 " + f.title) : null));
    box.appendChild(h("div", "", f.message));
    const why = this.data.explain[f.rule];
    if (why) box.appendChild(h("div", "nbd-why", h("b", "", "why: "), why));
    if (f.fix) box.appendChild(h("div", "nbd-fix", h("b", "", "fix: "), h("code", "", f.fix)));
    return box;
  }
}

function render({ model, el }) {
  const start = performance.now();
  const view = new View(model, el);
  // a User Timing entry (table built, rows and banner in the DOM): the browser tests read it for
  // docs/benchmarks.md; it costs nothing and changes nothing on the page
  performance.measure("nbd-render", { start });
  return () => view.destroy();
}

export default { render };
