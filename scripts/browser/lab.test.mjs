// Drives JupyterLab in Debian's Chromium: opens a workbook notebook, checks
// that it talks to the "Go (flowbook)" kernel, types a new Go cell at the top,
// runs it, waits for its output and saves a screenshot.
//
//   node lab.test.mjs <lab base URL> <token> <screenshot.png>
//
// scripts/browser-test starts the server and calls this.
import { chromium } from "playwright-core";

const [baseURL, token, screenshot] = process.argv.slice(2);
if (!baseURL || !token || !screenshot) {
  console.error("usage: node lab.test.mjs <lab base URL> <token> <screenshot.png>");
  process.exit(2);
}
const notebook = process.env.FLOWBOOK_BROWSER_NOTEBOOK || "01-change-of-variables.ipynb";
// A Go computation whose answer cannot already be on the page.
const answer = String(Date.now() % 100000);
const code = `%%\nfmt.Printf("browser check: %d\\n", ${answer}*2/2)`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
let failed = false;
const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
if (process.env.FLOWBOOK_BROWSER_WS) {
  page.on("websocket", (ws) => {
    console.log(`[ws open] ${ws.url()}`);
    const show = (dir) => (f) => console.log(`[ws ${dir}] ${String(f.payload).replace(/[^ -~]/g, ".").slice(0, 300)}`);
    ws.on("framesent", show("sent"));
    ws.on("framereceived", show("recv"));
    ws.on("close", () => console.log("[ws close]"));
  });
}
// Browser-side errors explain most failures: keep them in the log.
page.on("console", (msg) => {
  if (msg.type() === "error" || process.env.FLOWBOOK_BROWSER_CONSOLE) console.log(`[browser ${msg.type()}] ${msg.text()}`);
});
try {
  const t0 = Date.now();
  const step = (msg) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
  await page.goto(`${baseURL}/lab/tree/${notebook}?token=${token}`);
  await page.locator(".jp-Notebook .jp-Cell").first().waitFor({ timeout: 60_000 });
  step(`opened ${notebook}`);

  // The notebook's kernel is ours (its name shows in the toolbar and status bar).
  await page.getByText(/Go \(flowbook\)/).first().waitFor({ timeout: 60_000 });
  step("the notebook uses the Go (flowbook) kernel");

  // Select the first cell in command mode, insert a code cell above it, type, run.
  await page.locator(".jp-Notebook .jp-Cell").first().locator(".jp-InputPrompt").click();
  await page.keyboard.press("Escape");
  await page.keyboard.press("a");
  const cell = page.locator(".jp-Notebook .jp-Cell").first();
  await cell.locator(".cm-content").click();
  await page.keyboard.insertText(code);
  await page.keyboard.press("Shift+Enter");
  step("typed and ran a new Go cell");

  const output = cell.locator(".jp-OutputArea-output");
  await output.getByText(`browser check: ${answer}`).waitFor({ timeout: 240_000 });
  step(`the cell printed "browser check: ${answer}"`);

  // Let the page settle so the screenshot shows the stored figures below the cell.
  await page.waitForTimeout(1500);
  await page.screenshot({ path: screenshot });
  step(`screenshot saved to ${screenshot}`);
} catch (err) {
  failed = true;
  console.error("browser test FAILED:", err.message);
  await page.screenshot({ path: screenshot.replace(/\.png$/, "-failure.png") }).catch(() => {});
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
