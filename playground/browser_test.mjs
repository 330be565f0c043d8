// End-to-end test of the built playground (playground/dist) in headless
// Chromium (Debian's /usr/bin/chromium, driven by playwright-core). Run by
// tests/playground.rs; by hand:
//   node playground/browser_test.mjs DIST_DIR EXAMPLES_DIR [REPLAY_SUMMARY_FILE]
// REPLAY_SUMMARY_FILE: what `selfscrape replay --node NODE examples/v0.7-cri.log`
// printed on stderr; the page's summary must say the same.
// The ConfigMap view is checked against tests/router/ (EXAMPLES_DIR/../tests/
// router, or $SELFSCRAPE_ROUTER_DIR): every shape pasted, merged in every
// mode, must show exactly `selfscrape router`'s pinned stdout and stderr.
// Exits non-zero on the first failed check, printing what it saw.
import { chromium } from "playwright-core";
import { readFileSync, existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

const [distArg, examplesArg, replaySummaryArg] = process.argv.slice(2);
if (!distArg || !examplesArg) {
  console.error("usage: node browser_test.mjs DIST_DIR EXAMPLES_DIR [REPLAY_SUMMARY_FILE]");
  process.exit(2);
}
const dist = resolve(distArg);
const examples = resolve(examplesArg);
const routerDir = resolve(process.env.SELFSCRAPE_ROUTER_DIR || join(examples, "..", "tests", "router"));
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
if (!existsSync(executablePath)) {
  console.error(`browser test: no Chromium at ${executablePath}`);
  process.exit(3);
}

let checks = 0;
function check(cond, what, seen) {
  checks++;
  if (!cond) {
    console.error(`FAILED: ${what}` + (seen === undefined ? "" : `\n  saw: ${JSON.stringify(seen)}`));
    process.exitCode = 1;
    throw new Error(what);
  }
  console.log(`ok: ${what}`);
}

/** `[{drops, code}]` and the node of an .expect file. */
function readExpect(path) {
  let node = "";
  const verdicts = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line) continue;
    if (line.startsWith("#")) {
      const m = /^#\s*node:\s*(\S+)/.exec(line);
      if (m) node = m[1] === "-" ? "" : m[1];
      continue;
    }
    const [v, code] = line.split(" ");
    verdicts.push({ v, code });
  }
  return { node, verdicts };
}

// playwright starts Chromium with a fresh temporary profile (user data dir).
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const problems = [];
const requests = [];
try {
  // en-US: the page formats counts with the browser's locale.
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, locale: "en-US", acceptDownloads: true });
  // The ConfigMap view's Copy button writes the clipboard; the test reads it back.
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const page = await context.newPage();
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console error: ${m.text()}`);
  });
  page.on("request", (r) => requests.push(r.url()));
  const url = pathToFileURL(join(dist, "index.html")).href;
  await page.goto(url);
  await page.waitForSelector("body[data-state=ready]", { timeout: 30000 });
  check(true, `page loaded from ${url}, core ready`);

  // 1. Paste the CRI sample, type its node, analyse.
  const sample = readFileSync(join(examples, "v0.7-cri.log"), "utf8");
  const expect = readExpect(join(examples, "v0.7-cri.log.expect"));
  await page.click("#input");
  await page.fill("#input", sample);
  await page.fill("#node", expect.node);
  await page.click("#run");
  await page.waitForSelector("body[data-state=done]", { timeout: 60000 });
  const table = await page.$$eval("#rows tr", (trs) =>
    trs.map((tr) => ({
      cls: tr.className,
      line: tr.children[0].textContent,
      verdict: tr.children[1].textContent,
      code: tr.querySelector(".reason-code")?.textContent ?? "",
      own: tr.children[4].textContent,
    })),
  );
  check(table.length === expect.verdicts.length, `table has one row per line (${expect.verdicts.length})`, table.length);
  const got = table.map((r) => `${r.verdict} ${r.code}`);
  const want = expect.verdicts.map((e) => `${e.v} ${e.code}`);
  check(JSON.stringify(got) === JSON.stringify(want), "every row's verdict and reason equal the .expect file", got);
  check(table.every((r) => r.cls === r.verdict), "dropped rows are highlighted (class drop), kept rows not");
  check(table.every((r, i) => r.line === String(i + 1)), "rows carry their line numbers");
  check(table.every((r) => r.own === expect.node), "the typed-in node is each record's own node", table[0].own);
  const drops = expect.verdicts.filter((e) => e.v === "drop").length;
  const pct = ((100 * drops) / expect.verdicts.length).toFixed(1);
  const cards = await page.$eval("#cards", (c) => c.textContent);
  check(cards.includes(`${drops} (${pct}%)dropped`), `summary card: ${drops} dropped (${pct}%)`, cards);
  check(cards.includes("/month"), "summary card: a monthly savings estimate", cards);
  const summaryText = await page.$eval("#summary-text", (p) => p.textContent);
  check(
    summaryText.includes(`records    ${expect.verdicts.length} read, ${expect.verdicts.length - drops} passed on, ${drops} dropped (${pct}%)`),
    "replay summary text: records line",
    summaryText,
  );
  if (replaySummaryArg) {
    // Everything after the first line (which names the engine) must be what
    // selfscrape replay printed for the same file and node.
    const replay = readFileSync(replaySummaryArg, "utf8");
    const tail = (s) => s.split("\n").slice(1).join("\n").trim();
    check(tail(summaryText) === tail(replay), "the page's summary equals `selfscrape replay`'s summary", {
      page: summaryText,
      replay,
    });
  }

  // 2. Filters.
  await page.check("input[name=show][value=drop]");
  let verdicts = await page.$$eval("#rows tr", (trs) => trs.map((tr) => tr.className));
  check(verdicts.length === drops && verdicts.every((v) => v === "drop"), `filter "dropped" shows the ${drops} drops`, verdicts);
  await page.check("input[name=show][value=keep]");
  verdicts = await page.$$eval("#rows tr", (trs) => trs.map((tr) => tr.className));
  check(
    verdicts.length === expect.verdicts.length - drops && verdicts.every((v) => v === "keep"),
    "filter \"kept\" shows the kept records",
    verdicts,
  );
  await page.check("input[name=show][value=all]");

  // 3. A CloudWatch export (aws logs filter-log-events output, pretty JSON)
  //    of NDJSON records that carry kubernetes.host: no node typed.
  const mixedLines = readFileSync(join(examples, "cluster-mixed.ndjson"), "utf8").split("\n").filter((l) => l);
  const mixedExpect = readExpect(join(examples, "cluster-mixed.ndjson.expect"));
  const events = mixedLines.map((message, i) => ({
    logStreamName: "fluent-bit-abc",
    timestamp: 1764314000000 + i * 1000,
    message,
    ingestionTime: 1764314000500 + i * 1000,
    eventId: String(i),
  }));
  await page.fill("#node", "");
  await page.fill("#input", JSON.stringify({ events, searchedLogStreams: [] }, null, 2));
  await page.click("#run");
  await page.waitForSelector("body[data-state=done]", { timeout: 60000 });
  const cw = await page.$$eval("#rows tr", (trs) =>
    trs.map((tr) => `${tr.children[1].textContent} ${tr.querySelector(".reason-code")?.textContent ?? ""} ${tr.children[5].textContent}`),
  );
  const cwWant = mixedExpect.verdicts.map((e) => `${e.v} ${e.code} aws logs event`);
  check(JSON.stringify(cw) === JSON.stringify(cwWant), "CloudWatch JSON export: one row per event, verdicts of the .expect file", cw);
  const nodes = await page.$eval("#nodes", (n) => n.textContent);
  check(nodes.includes("Own node from kubernetes.host:"), "own nodes taken from kubernetes.host are listed", nodes);

  // 3b. The same records as a gzip file (decompressed by the browser).
  await page.evaluate(() => { document.body.dataset.state = "file-chosen"; });
  await page.setInputFiles("#file", {
    name: "cluster-mixed.ndjson.gz",
    mimeType: "application/gzip",
    buffer: gzipSync(Buffer.from(mixedLines.join("\n") + "\n")),
  });
  await page.waitForSelector("body[data-state=done]", { timeout: 60000 });
  const gz = await page.$$eval("#rows tr", (trs) =>
    trs.map((tr) => `${tr.children[1].textContent} ${tr.querySelector(".reason-code")?.textContent ?? ""}`),
  );
  check(
    JSON.stringify(gz) === JSON.stringify(mixedExpect.verdicts.map((e) => `${e.v} ${e.code}`)),
    "gzip file: decompressed, verdicts of the .expect file",
    gz,
  );

  // 4. 100k lines from a dropped-in file: processed in chunks with a progress
  //    bar, the page answering in between.
  const big = Array.from({ length: Math.ceil(100000 / expect.verdicts.length) }, () => sample).join("");
  const bigLines = big.split("\n").length - 1;
  await page.fill("#node", expect.node);
  // Forget the last run's "done" before the file's change event starts the next.
  await page.evaluate(() => { document.body.dataset.state = "file-chosen"; });
  const started = Date.now();
  await page.setInputFiles("#file", { name: "big-cri.log", mimeType: "text/plain", buffer: Buffer.from(big) });
  const seen = new Set();
  while ((await page.evaluate(() => document.body.dataset.state)) !== "done") {
    seen.add(await page.$eval("#progress", (p) => p.value));
    if (Date.now() - started > 300000) break;
  }
  const elapsed = (Date.now() - started) / 1000;
  check(await page.$("body[data-state=done]"), "large input: analysis finished");
  const intermediate = [...seen].filter((v) => v > 0 && v < 1).length;
  check(intermediate > 0, `the page answered while processing ${bigLines} lines (progress seen at ${intermediate} values between 0 and 1)`);
  const bigDrops = drops * (bigLines / expect.verdicts.length);
  const bigSummary = await page.$eval("#summary-text", (p) => p.textContent);
  const group = (n) => n.toLocaleString("en-US");
  check(
    bigSummary.includes(`records    ${group(bigLines)} read, ${group(bigLines - bigDrops)} passed on, ${group(bigDrops)} dropped`),
    "large input: the summary counts every record",
    bigSummary,
  );
  const counts = await page.$eval("#count-drop", (c) => c.textContent);
  check(counts === `(${bigDrops.toLocaleString("en-US")})`, `large input: ${bigDrops} drops counted`, counts);
  const shownRows = await page.$$eval("#rows tr", (trs) => trs.length);
  check(shownRows === 100, "large input: the table shows one page of 100 rows", shownRows);
  const fileNote = await page.$eval("#file-note", (n) => n.textContent);
  check(fileNote.startsWith("big-cri.log"), "the dropped file is named", fileNote);
  const pageTiming = await page.$eval("#progress-text", (p) => p.textContent);
  console.log(
    `measured: ${bigLines} lines (${big.length} bytes) in headless Chromium: the page says "${pageTiming}" ` +
      `(${elapsed.toFixed(1)} s including the test's file transfer)`,
  );

  // 5. The ConfigMap view: every shape of tests/router pasted and merged in
  //    every mode of tests/router_output.rs gives the CLI's pinned bytes.
  await page.click("#tab-router");
  check(await page.isVisible("#cm-input") && !(await page.isVisible("#input")), "the ConfigMap tab shows its view");
  await page.click("#cm-run");
  const empty = await page.$eval("#cm-error", (e) => (e.hidden ? "" : e.textContent));
  check(empty.startsWith("Nothing to merge"), "an empty box: a message, no merge", empty);
  const modes = [
    ["drop", async () => { await page.check("input[name=cm-mode][value=drop]"); }],
    ["dry-run", async () => { await page.check("input[name=cm-mode][value=dry-run]"); }],
    ["aggregator", async () => {
      await page.check("input[name=cm-mode][value=aggregator]");
      await page.fill("#cm-aggregator", "selfscrape-aggregator.logging.svc");
    }],
    ["ms-0.7", async () => {
      await page.check("input[name=cm-mode][value=drop]");
      await page.fill("#cm-ms", "0.7");
    }],
    ["container", async () => {
      await page.check("input[name=cm-mode][value=drop]");
      await page.fill("#cm-container", "metrics-server-nanny");
    }],
  ];
  let merges = 0;
  let refusals = 0;
  async function mergeOnce() {
    await page.evaluate(() => { document.body.dataset.cmState = "clicked"; });
    await page.click("#cm-run");
    await page.waitForSelector("body[data-cm-state=done]", { timeout: 30000 });
    return page.evaluate(() => ({
      exit: document.getElementById("cm-status").dataset.exit,
      stderr: document.getElementById("cm-stderr").textContent,
      yaml: document.getElementById("cm-yaml").value,
      mergedShown: !document.getElementById("cm-merged-box").hidden,
      error: document.getElementById("cm-error").hidden ? "" : document.getElementById("cm-error").textContent,
      size: document.getElementById("cm-size-box").hidden ? "" : document.getElementById("cm-size").textContent,
      before: document.getElementById("cm-check-before").textContent,
      after: document.getElementById("cm-check-after-box").hidden ? null : document.getElementById("cm-check-after").textContent,
    }));
  }
  const shapes = readdirSync(routerDir).filter((f) => f.endsWith(".yaml")).sort();
  check(shapes.length >= 16, `tests/router holds the ConfigMap shapes (${shapes.length})`);
  for (const shape of shapes) {
    const stem = shape.replace(/\.yaml$/, "");
    await page.fill("#cm-input", readFileSync(join(routerDir, shape), "utf8"));
    for (const [mode, set] of modes) {
      // Cleared directly: a field the mode disables cannot be typed into.
      await page.evaluate(() => {
        for (const id of ["cm-aggregator", "cm-ms", "cm-container"]) document.getElementById(id).value = "";
      });
      await set();
      const got = await mergeOnce();
      const wantYaml = readFileSync(join(routerDir, "expected", `${stem}.${mode}.yaml`), "utf8");
      const wantReport = readFileSync(join(routerDir, "expected", `${stem}.${mode}.report`), "utf8");
      const report = `exit ${got.exit}\n${got.stderr}`;
      if (report !== wantReport || got.yaml !== wantYaml) {
        check(false, `${stem}.${mode}: the page shows selfscrape router's stdout and stderr`, { report, wantReport });
      }
      if (got.exit === "0" || got.exit === "1") {
        merges++;
        const chars = /^([\d,]+) of the router's 5,300 characters/.exec(got.size);
        const reported = /size: (\d+) of the router's 5300 characters/.exec(got.stderr);
        if (!got.mergedShown || !chars || !reported || chars[1].replace(/,/g, "") !== reported[1]) {
          check(false, `${stem}.${mode}: the merged ConfigMap and its size are shown`, got);
        }
        if (got.after === null || !got.after.startsWith("$ selfscrape check aws-logging.merged.yaml ") ||
            !/^0 error\(s\), \d+ warning\(s\) in 1 file\(s\)$/m.test(got.after)) {
          check(false, `${stem}.${mode}: the check of the merged ConfigMap finds no error`, got.after);
        }
      } else {
        refusals++;
        if (got.mergedShown || !got.error.startsWith("selfscrape router: error:") || got.after !== null) {
          check(false, `${stem}.${mode}: a refusal shows its message and no ConfigMap`, got);
        }
      }
      if (!got.before.startsWith("$ selfscrape check aws-logging.yaml ")) {
        check(false, `${stem}.${mode}: the pasted ConfigMap is checked`, got.before);
      }
    }
  }
  check(merges > 0 && refusals > 0,
    `${shapes.length} shapes x ${modes.length} modes: the page shows selfscrape router's exact stdout and stderr (${merges} merged, ${refusals} refused)`);

  // Copy and download the last merge of a shape that merges.
  await page.fill("#cm-input", readFileSync(join(routerDir, "01-aws-cloudwatch.yaml"), "utf8"));
  await page.fill("#cm-container", "");
  await page.check("input[name=cm-mode][value=dry-run]");
  const dry = await mergeOnce();
  const wantDry = readFileSync(join(routerDir, "expected", "01-aws-cloudwatch.dry-run.yaml"), "utf8");
  check(dry.yaml === wantDry, "dry run of AWS's CloudWatch example: the pinned ConfigMap");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#cm-download")]);
  const downloaded = readFileSync(await download.path(), "utf8");
  check(download.suggestedFilename() === "aws-logging.merged.yaml" && downloaded === wantDry,
    "Download saves aws-logging.merged.yaml, byte for byte", download.suggestedFilename());
  await page.click("#cm-copy");
  await page.waitForFunction(() => document.getElementById("cm-copied").textContent !== "");
  const copied = await page.$eval("#cm-copied", (e) => e.textContent);
  check(copied === "copied", "Copy puts the merged ConfigMap on the clipboard", copied);
  const clip = await page.evaluate(() => navigator.clipboard.readText().catch((e) => "unreadable: " + e));
  check(clip === wantDry, "the clipboard holds the merged ConfigMap", clip.slice(0, 200));

  // AWS's documented ConfigMap, and kubectl's JSON output of it.
  await page.check("input[name=cm-mode][value=drop]");
  await page.click("#cm-aws");
  const aws = await mergeOnce();
  const wantAws = readFileSync(join(routerDir, "expected", "aws-default.drop.yaml"), "utf8");
  check(aws.yaml === wantAws, "AWS's documented ConfigMap (the button) merges as `selfscrape router` without a file does");
  const awsText = await page.$eval("#cm-input", (t) => t.value);
  const block = (key) => {
    const lines = awsText.split("\n");
    const at = lines.findIndex((l) => l === `  ${key}: |`);
    const body = [];
    for (const l of lines.slice(at + 1)) {
      if (!l.startsWith("    ")) break;
      body.push(l.slice(4) + "\n");
    }
    return body.join("");
  };
  const kubectlJson = JSON.stringify({
    apiVersion: "v1",
    data: {
      "filters.conf": block("filters.conf"),
      flb_log_cw: "false",
      "output.conf": block("output.conf"),
      "parsers.conf": block("parsers.conf"),
    },
    kind: "ConfigMap",
    metadata: { name: "aws-logging", namespace: "aws-observability", resourceVersion: "1234", uid: "0b4c7e6e-4d7f" },
  }, null, 4);
  await page.fill("#cm-input", kubectlJson);
  const fromJson = await mergeOnce();
  check(fromJson.exit === "0" && fromJson.stderr === aws.stderr && fromJson.yaml.includes("Name ss_klog"),
    "`kubectl get -o json` output merges, with the same report", fromJson);

  // Bad input and bad options: a message in the page, never a panic.
  for (const [text, want] of [
    ["a: [\n", "selfscrape router: error: not valid YAML"],
    ["kind: ConfigMap\nmetadata:\n  name: fluent-bit\n  namespace: logging\n", "selfscrape router: error: no aws-observability/aws-logging ConfigMap"],
    ["\u0000\u0001", "selfscrape router: error:"],
  ]) {
    await page.fill("#cm-input", text);
    const bad = await mergeOnce();
    check(bad.exit === "3" && bad.error.startsWith(want) && !bad.mergedShown, `bad input ${JSON.stringify(text)}: ${want}`, bad);
  }
  await page.click("#cm-aws");
  await page.fill("#cm-ms", "seven");
  const badOpt = await mergeOnce();
  check(badOpt.exit === "3" && badOpt.error.includes("is not a metrics-server release"), "a bad --metrics-server: the command's message", badOpt.error);
  await page.fill("#cm-ms", "");
  await page.check("input[name=cm-mode][value=aggregator]");
  await page.fill("#cm-aggregator", "not a host");
  const badAgg = await mergeOnce();
  check(badAgg.exit === "3" && badAgg.error.includes("is not HOST or HOST:PORT"), "a bad aggregator address: the command's message", badAgg.error);

  // 6. Nothing left the browser, nothing went wrong.
  const outside = requests.filter((u) => !/^(file|data|blob):/.test(u));
  check(outside.length === 0, "no request left the browser", outside);
  check(problems.length === 0, "no page or console errors", problems);
  console.log(`browser test: ${checks} checks passed`);
} catch (e) {
  if (!process.exitCode) {
    console.error(`FAILED: ${e.stack || e}`);
    process.exitCode = 1;
  }
  if (problems.length) console.error(problems.join("\n"));
} finally {
  await browser.close();
}
