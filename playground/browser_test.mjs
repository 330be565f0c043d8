// End-to-end test of the built playground (playground/dist) in headless
// Chromium (Debian's /usr/bin/chromium, driven by playwright-core). Run by
// tests/playground.rs; by hand:
//   node playground/browser_test.mjs DIST_DIR EXAMPLES_DIR [REPLAY_SUMMARY_FILE]
// REPLAY_SUMMARY_FILE: what `selfscrape replay --node NODE examples/v0.7-cri.log`
// printed on stderr; the page's summary must say the same.
// Exits non-zero on the first failed check, printing what it saw.
import { chromium } from "playwright-core";
import { readFileSync, existsSync } from "node:fs";
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
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, locale: "en-US" });
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

  // 5. Nothing left the browser, nothing went wrong.
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
