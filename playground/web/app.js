// The page: reads the input, feeds it in chunks of whole lines to the wasm
// core (selfscrape_playground), and shows what the core returns. No rule,
// no parsing of log formats and no arithmetic of the savings live here.
// The ConfigMap view hands the pasted ConfigMap and the options to the
// core's `configmap` (selfscrape router and selfscrape check) and shows its
// answer as it is: no YAML is read or written here.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const CHUNK_CHARS = 256 * 1024; // per core call; the page repaints between calls
  const PAGE_ROWS = 100;

  let core = null; // the wasm-bindgen exports
  let playground = null; // the last run's Playground (for price changes)
  let rows = [];
  let shown = [];
  let page = 0;
  let fileText = null; // a loaded file's text, when not shown in the box
  let generation = 0; // a newer run cancels an older one

  function setState(state) {
    document.body.dataset.state = state;
  }

  function showError(message) {
    const e = $("error");
    e.textContent = message;
    e.hidden = !message;
  }

  function decodeBase64(b64) {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes;
  }

  async function start() {
    setState("loading");
    try {
      // The module is embedded as base64 (selfscrape_playground_wasm.js) so
      // that the page works opened from disk, where fetch() is not allowed.
      await wasm_bindgen({ module_or_path: decodeBase64(self.SELFSCRAPE_WASM) });
      core = wasm_bindgen;
    } catch (e) {
      showError("The WebAssembly core failed to load: " + e);
      setState("error");
      return;
    }
    for (const s of JSON.parse(core.samples())) {
      const o = document.createElement("option");
      o.value = s.name;
      o.textContent = s.name + (s.node ? "  (node " + s.node + ")" : "");
      o.dataset.node = s.node;
      o.dataset.text = s.text;
      $("sample").appendChild(o);
    }
    for (const r of JSON.parse(core.reasons())) {
      const o = document.createElement("option");
      o.value = r.code;
      o.textContent = r.code;
      $("reason-filter").appendChild(o);
    }
    wire();
    wireRouter();
    setState("ready");
    if (location.hash === "#configmap") showView("router");
    const m = /^#sample=(.+)$/.exec(location.hash);
    if (m) {
      loadSample(decodeURIComponent(m[1]));
      run();
    }
  }

  function loadSample(name) {
    const o = [...$("sample").options].find((x) => x.value === name);
    if (!o || !o.value) return;
    $("sample").value = name;
    setText(o.dataset.text);
    $("node").value = o.dataset.node;
  }

  function setText(text, note) {
    fileText = null;
    $("file-note").hidden = true;
    if (note && text.length > 2 * 1024 * 1024) {
      // A large file stays out of the text box (which would be slow).
      fileText = text;
      $("input").value = "";
      $("file-note").textContent = note + ": not shown in the box; type or paste to replace it.";
      $("file-note").hidden = false;
    } else {
      $("input").value = text;
      if (note) {
        $("file-note").textContent = note;
        $("file-note").hidden = false;
      }
    }
  }

  async function readFile(file) {
    const buf = new Uint8Array(await file.arrayBuffer());
    let text;
    if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
      const stream = new Blob([buf]).stream().pipeThrough(new DecompressionStream("gzip"));
      text = await new Response(stream).text();
    } else {
      text = new TextDecoder("utf-8").decode(buf);
    }
    const lines = text.split("\n").length;
    setText(text, `${file.name}: ${buf.length.toLocaleString()} bytes, ${lines.toLocaleString()} lines`);
  }

  // A file chosen in the input `inputId` or dropped on `dropId` goes to
  // `take` (both tabs read files so).
  function acceptFiles(inputId, dropId, take) {
    $(inputId).addEventListener("change", async (e) => {
      if (e.target.files[0]) await take(e.target.files[0]);
    });
    const drop = $(dropId);
    drop.addEventListener("dragover", (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", async (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      const f = e.dataTransfer.files[0];
      if (f) await take(f);
    });
  }

  function wire() {
    $("run").addEventListener("click", run);
    $("sample").addEventListener("change", (e) => loadSample(e.target.value));
    $("input").addEventListener("input", () => {
      fileText = null;
      $("file-note").hidden = true;
    });
    acceptFiles("file", "drop", async (f) => {
      await readFile(f);
      run();
    });
    $("price").addEventListener("change", () => {
      if (!playground) return;
      playground.set_price(price());
      renderSummary();
    });
    for (const r of document.querySelectorAll("input[name=show]")) {
      r.addEventListener("change", applyFilter);
    }
    $("reason-filter").addEventListener("change", applyFilter);
    $("prev").addEventListener("click", () => { page--; renderPage(); });
    $("next").addEventListener("click", () => { page++; renderPage(); });
    $("rows").addEventListener("click", (e) => {
      if (e.target.classList.contains("rec")) e.target.classList.toggle("open");
    });
  }

  function price() {
    const p = parseFloat($("price").value);
    return Number.isFinite(p) && p >= 0 ? p : 0.5;
  }

  const nextFrame = () => new Promise((resolve) => setTimeout(resolve, 0));

  async function run() {
    if (!core) return;
    const mine = ++generation;
    showError("");
    let text = fileText !== null ? fileText : $("input").value;
    if (!text.trim()) {
      showError("Nothing to analyse: paste log lines or drop a file.");
      return;
    }
    setState("running");
    $("run").disabled = true;
    $("progress-box").hidden = false;
    const doc = core.expand_document(text);
    if (doc !== undefined) text = doc; // a CloudWatch JSON export: one event per line
    if (playground) playground.free();
    const pg = new core.Playground($("node").value, new Date().getUTCFullYear(), price());
    playground = pg;
    rows = [];
    const started = performance.now();
    let pos = 0;
    while (pos < text.length) {
      let end = Math.min(text.length, pos + CHUNK_CHARS);
      if (end < text.length) {
        const nl = text.indexOf("\n", end);
        end = nl < 0 ? text.length : nl + 1;
      }
      const out = JSON.parse(pg.feed(text.slice(pos, end)));
      for (const r of out) rows.push(r);
      pos = end;
      $("progress").value = pos / text.length;
      $("progress-text").textContent =
        `${Math.round((100 * pos) / text.length)}%, ${rows.length.toLocaleString()} records`;
      await nextFrame();
      if (mine !== generation) return; // a newer run took over
    }
    for (const r of JSON.parse(pg.finish())) rows.push(r);
    const secs = (performance.now() - started) / 1000;
    $("progress").value = 1;
    $("progress-text").textContent =
      `done: ${rows.length.toLocaleString()} records in ${secs.toFixed(1)} s`;
    $("run").disabled = false;
    renderSummary();
    renderNodes();
    $("results").hidden = false;
    applyFilter();
    setState("done");
  }

  function card(value, key, cls) {
    const d = document.createElement("div");
    d.className = "card " + (cls || "");
    const v = document.createElement("div");
    v.className = "v";
    v.textContent = value;
    const k = document.createElement("div");
    k.className = "k";
    k.textContent = key;
    d.append(v, k);
    return d;
  }

  function fmt(n, digits) {
    return n.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: digits });
  }

  function renderSummary() {
    const s = JSON.parse(playground.summary_json());
    const pct = s.records ? (100 * s.dropped) / s.records : 0;
    const cards = $("cards");
    cards.replaceChildren(
      card(s.records.toLocaleString(), `records (from ${s.lines.toLocaleString()} lines)`),
      card(`${s.dropped.toLocaleString()} (${pct.toFixed(1)}%)`, "dropped", "dropc"),
      card(s.kept.toLocaleString(), "kept", "keepc"),
      card(s.dropped_human, `dropped, as CloudWatch bills it (${s.dropped_billed.toLocaleString()} bytes)`, "dropc"),
    );
    const e = s.estimate;
    if (e.kind === "monthly") {
      cards.append(
        card(`$${fmt(e.usd, 2)}/month`, `saved at $${fmt(s.price, 2)}/GB (${fmt(e.gb, 3)} GB, ${fmt(e.events, 0)} events)`, "dropc"),
        card(e.span, "time span the estimate extrapolates"),
      );
    } else {
      cards.append(card("no estimate", e.kind === "no_timestamps"
        ? "no record has a timestamp" : "all timestamps are equal: no rate"));
    }
    if (s.unreadable) cards.append(card(s.unreadable.toLocaleString(), "unreadable lines (not replayed)", "dropc"));
    $("summary-text").textContent = playground.summary_text();
    const hints = [];
    if (!s.node && s.reasons.some((r) => r.code === "own_node_unknown")) {
      hints.push("Some failed scrapes name no own node (no kubernetes.host in the record): " +
        "type the node the logs come from into \u201cOwn node\u201d and analyse again.");
    }
    if (s.self_scraping) {
      hints.push(`${s.self_scraping} records show metrics-server failing to scrape its OWN node without ` +
        "a refusal (own_node_not_refused_*): probably a misconfiguration; these records are kept.");
    }
    $("hint").textContent = hints.join(" ");
    $("hint").hidden = hints.length === 0;
  }

  // Display only: which nodes the records name (the rule decides nothing here).
  function renderNodes() {
    const own = new Map();
    const failing = new Map();
    let added = 0;
    for (const r of rows) {
      if (r.a) added++;
      else if (r.h) own.set(r.h, (own.get(r.h) || 0) + 1);
      if (r.n) failing.set(r.n, (failing.get(r.n) || 0) + 1);
    }
    const list = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, 5)
      .map(([k, v]) => `${k} (${v.toLocaleString()})`).join(", ");
    const parts = [];
    if (own.size) parts.push(`Own node from kubernetes.host: ${list(own)}.`);
    if (added) parts.push(`Typed-in node added to ${added.toLocaleString()} records without kubernetes metadata.`);
    if (!own.size && !added) parts.push("No record names its own node.");
    if (failing.size) parts.push(`Failing nodes named: ${list(failing)}.`);
    $("nodes").textContent = parts.join(" ");
    const dl = $("node-suggestions");
    dl.replaceChildren(...[...failing.keys()].slice(0, 20).map((n) => {
      const o = document.createElement("option");
      o.value = n;
      return o;
    }));
  }

  function applyFilter() {
    const show = document.querySelector("input[name=show]:checked").value;
    const reason = $("reason-filter").value;
    const counts = { all: rows.length, drop: 0, keep: 0, unreadable: 0 };
    for (const r of rows) counts[r.v]++;
    for (const k in counts) $("count-" + k).textContent = `(${counts[k].toLocaleString()})`;
    shown = rows.filter((r) => (show === "all" || r.v === show) && (!reason || r.r === reason));
    page = 0;
    renderPage();
  }

  function td(text, cls) {
    const c = document.createElement("td");
    if (cls) c.className = cls;
    c.textContent = text;
    return c;
  }

  function renderPage() {
    const pages = Math.max(1, Math.ceil(shown.length / PAGE_ROWS));
    page = Math.min(Math.max(page, 0), pages - 1);
    const slice = shown.slice(page * PAGE_ROWS, (page + 1) * PAGE_ROWS);
    const out = slice.map((r) => {
      const tr = document.createElement("tr");
      tr.className = r.v;
      tr.dataset.line = r.l;
      const reason = document.createElement("td");
      if (r.r) {
        const code = document.createElement("div");
        code.className = "reason-code";
        code.textContent = r.r;
        const d = document.createElement("div");
        d.className = "describe";
        d.textContent = r.d;
        reason.append(code, d);
      }
      const own = td(r.h, r.a ? "added" : "");
      if (r.a) own.title = "typed-in node, added as kubernetes.host";
      const rec = document.createElement("td");
      const div = document.createElement("div");
      div.className = "rec";
      div.textContent = r.t.length > 20000 ? r.t.slice(0, 20000) + " \u2026" : r.t;
      rec.append(div);
      tr.append(td(String(r.l)), td(r.v, "verdict"), reason, td(r.n), own, td(r.f), rec);
      return tr;
    });
    $("rows").replaceChildren(...out);
    $("page-text").textContent = shown.length
      ? `${(page * PAGE_ROWS + 1).toLocaleString()}\u2013${(page * PAGE_ROWS + slice.length).toLocaleString()} of ${shown.length.toLocaleString()}`
      : "no records";
    $("prev").disabled = page === 0;
    $("next").disabled = page >= pages - 1;
  }

  // --- The views -----------------------------------------------------------

  function showView(view) {
    const router = view === "router";
    $("view-replay").hidden = router;
    $("view-router").hidden = !router;
    $("lead-replay").hidden = router;
    $("lead-router").hidden = !router;
    $("tab-replay").setAttribute("aria-selected", String(!router));
    $("tab-router").setAttribute("aria-selected", String(router));
    document.body.dataset.view = view;
  }

  // --- The ConfigMap view: selfscrape router and selfscrape check ----------

  let merged = ""; // the last merged ConfigMap (stdout)

  function setCmState(state) {
    document.body.dataset.cmState = state;
  }

  function showCmError(message) {
    const e = $("cm-error");
    e.textContent = message;
    e.hidden = !message;
  }

  function cmMode() {
    return document.querySelector("input[name=cm-mode]:checked").value;
  }

  function setCmText(text, note) {
    $("cm-input").value = text;
    $("cm-file-note").textContent = note || "";
    $("cm-file-note").hidden = !note;
  }

  async function readCmFile(file) {
    const text = new TextDecoder("utf-8").decode(new Uint8Array(await file.arrayBuffer()));
    setCmText(text, `${file.name}: ${text.length.toLocaleString()} characters`);
  }

  function wireRouter() {
    $("tab-replay").addEventListener("click", () => showView("replay"));
    $("tab-router").addEventListener("click", () => showView("router"));
    $("cm-run").addEventListener("click", merge);
    $("cm-aws").addEventListener("click", () => {
      setCmText(core.aws_default_configmap(), "AWS's documented ConfigMap (EKS user guide, Fargate logging, CloudWatch Logs)");
    });
    $("cm-input").addEventListener("input", () => { $("cm-file-note").hidden = true; });
    for (const r of document.querySelectorAll("input[name=cm-mode]")) {
      r.addEventListener("change", () => {
        const agg = cmMode() === "aggregator";
        $("cm-aggregator").disabled = !agg;
        // The command takes --metrics-server only without --aggregator.
        $("cm-ms").disabled = agg;
        if (agg) $("cm-aggregator").focus();
      });
    }
    acceptFiles("cm-file", "cm-drop", async (f) => {
      await readCmFile(f);
      merge();
    });
    $("cm-copy").addEventListener("click", copyMerged);
    $("cm-download").addEventListener("click", () => {
      const url = URL.createObjectURL(new Blob([merged], { type: "application/yaml" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = "aws-logging.merged.yaml";
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    });
  }

  async function copyMerged() {
    let done = false;
    try {
      await navigator.clipboard.writeText(merged);
      done = true;
    } catch (_) {
      // No clipboard API here (an insecure context, a refused permission):
      // copy the selection instead.
      const box = $("cm-yaml");
      box.focus();
      box.select();
      done = document.execCommand("copy");
    }
    $("cm-copied").textContent = done ? "copied" : "select the text and copy it (the browser refused)";
  }

  const EXIT_MEANING = {
    0: ["merged", "ok"],
    1: ["merged, with warnings: read them", "warn"],
    2: ["refused: the report says why and what to do", "bad"],
    3: ["bad input or option", "bad"],
  };

  function merge() {
    if (!core) return;
    showCmError("");
    const text = $("cm-input").value;
    if (!text.trim()) {
      showCmError("Nothing to merge: paste your aws-logging ConfigMap, drop its file, or load AWS's documented one.");
      $("cm-results").hidden = true;
      setCmState("empty");
      return;
    }
    setCmState("running");
    const mode = cmMode();
    let out;
    try {
      out = JSON.parse(core.configmap(
        text,
        mode === "dry-run",
        mode === "aggregator" ? $("cm-aggregator").value : "",
        $("cm-container").value,
        mode === "aggregator" ? "" : $("cm-ms").value,
      ));
    } catch (e) {
      showCmError("The WebAssembly core failed: " + e);
      setCmState("error");
      return;
    }
    renderMerge(out);
    setCmState("done");
  }

  function renderMerge(out) {
    merged = out.yaml;
    const [meaning, cls] = EXIT_MEANING[out.exit_code] || ["?", "bad"];
    const status = $("cm-status");
    status.className = "status " + cls;
    status.textContent = `${out.command}: exit status ${out.exit_code}, ${meaning}`;
    status.dataset.exit = String(out.exit_code);
    $("cm-stderr").textContent = out.stderr;
    if (!out.merged) showCmError(out.stderr.trim());
    $("cm-merged-box").hidden = !out.merged;
    $("cm-yaml").value = out.yaml;
    $("cm-copied").textContent = "";
    $("cm-size-box").hidden = !out.merged;
    if (out.merged) {
      $("cm-meter").max = out.max_chars;
      $("cm-meter").value = out.chars;
      $("cm-size").textContent =
        `${out.chars.toLocaleString()} of the router's ${out.max_chars.toLocaleString()} characters ` +
        `(the rule: ${out.rule_chars.toLocaleString()}; ${(out.max_chars - out.chars).toLocaleString()} left)`;
    }
    $("cm-check-before").textContent = checkText(out.before);
    $("cm-check-after-box").hidden = !out.after;
    $("cm-check-after").textContent = out.after ? checkText(out.after) : "";
    $("cm-results").hidden = false;
  }

  function checkText(c) {
    return `$ selfscrape check ${c.name}   (exit status ${c.exit_code})\n${c.text}`;
  }

  start();
})();
