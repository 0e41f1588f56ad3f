// Drives JupyterLab in Debian's Chromium: opens a workbook notebook, checks
// that it talks to the "Go (flowbook)" kernel, types a new Go cell at the top,
// runs it, waits for its output and saves a screenshot. Before that it checks
// that the stored figures show (the notebook is trusted) and fit the output
// area of a 1,440 px window with the file browser open.
//
//   node lab.test.mjs <lab base URL> <token> <screenshot.png> [other notebooks...]
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

// checkFigures checks the stored figures of the notebook on the page: shown
// as images, not as their "[figure: ...]" text (JupyterLab's fallback for an
// untrusted notebook), and none wider than the output area that holds it.
async function checkFigures(name) {
  // How many SVG figures the stored notebook holds, from JupyterLab's contents API.
  const stored = await (await fetch(`${baseURL}/api/contents/${name}?content=1&token=${token}`)).json();
  const want = stored.content.cells.flatMap((c) => c.outputs || []).filter((o) => o.data && o.data["image/svg+xml"]).length;
  const shown = () => page.evaluate(() =>
    document.querySelectorAll(".jp-NotebookPanel .jp-Notebook .jp-RenderedSVG img").length);
  for (const t0 = Date.now(); (await shown()) < want && Date.now() - t0 < 60_000; ) await page.waitForTimeout(250);
  const figures = await page.evaluate(() => {
    const panels = document.querySelectorAll(".jp-NotebookPanel");
    if (panels.length !== 1) return { panels: panels.length };
    const notebook = panels[0].querySelector(".jp-Notebook");
    const outputs = [...notebook.querySelectorAll(".jp-OutputArea-output")];
    return {
      asText: outputs.filter((o) => o.textContent.trim().startsWith("[figure")).length,
      // An image wider than the space right of the prompt is cut off at the
      // notebook's right edge (the output element may grow with its content).
      images: [...notebook.querySelectorAll(".jp-RenderedSVG img")].map((img) => ({
        width: img.getBoundingClientRect().width,
        area: notebook.getBoundingClientRect().right - img.closest(".jp-OutputArea-output").getBoundingClientRect().left,
      })),
    };
  });
  if (figures.panels) throw new Error(`${name}: ${figures.panels} notebooks open, want only this one`);
  if (figures.asText > 0) {
    throw new Error(`${name}: ${figures.asText} stored figures show as "[figure]" text: the notebook is not trusted (scripts/lab-setup trusts the stored notebooks)`);
  }
  if (figures.images.length < want) {
    throw new Error(`${name}: ${figures.images.length} of its ${want} stored SVG figures rendered within 60 s`);
  }
  const tooWide = figures.images.filter((f) => f.width > f.area + 1);
  if (tooWide.length > 0) {
    throw new Error(`${name}: ${tooWide.length} of ${figures.images.length} figures are wider than their output area (${tooWide.map((f) => `${Math.round(f.width)} > ${Math.round(f.area)} px`).join(", ")}): cut off at the right edge`);
  }
  return `${name}: ${figures.images.length} stored figures show, each within its output area (${Math.round(figures.images[0].area)} px)`;
}
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

  step(await checkFigures(notebook));

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

  // The other notebooks' stored figures, each opened in turn.
  for (const other of process.argv.slice(5)) {
    if (other === notebook) continue;
    // ?reset: a fresh workspace, so that the only notebook open is this one.
    await page.goto(`${baseURL}/lab/tree/${other}?reset&token=${token}`);
    await page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first().waitFor({ timeout: 60_000 });
    step(await checkFigures(other));
  }
} catch (err) {
  failed = true;
  console.error("browser test FAILED:", err.message);
  await page.screenshot({ path: screenshot.replace(/\.png$/, "-failure.png") }).catch(() => {});
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
