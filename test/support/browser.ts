import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";

/** Debian's Chromium, which the console tests drive; never a downloaded browser. */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether the console's browser tests can run here. */
export const hasChromium = existsSync(CHROMIUM);

/** Where screenshots go; git ignores it. */
export const SCREENSHOTS = fileURLToPath(new URL("../../test-output/console/", import.meta.url));

/**
 * Says loudly, once, that the browser tests are skipped and how to run them, so a machine
 * without Chromium never looks like it passed them.
 */
export function warnWithoutChromium(): void {
  if (hasChromium) return;
  const line = "=".repeat(78);
  console.warn(
    `${line}\nCONSOLE BROWSER TESTS DID NOT RUN: ${CHROMIUM} is missing.\n` +
      "Install Debian's Chromium to run them: apt-get update && apt-get install -y chromium\n" +
      `(.ci/run installs it.)\n${line}`,
  );
}

/** Starts headless Chromium with the flags this machine's closed network needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}

/** Saves a full-page screenshot under {@link SCREENSHOTS}. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
}

/**
 * The page's scroll width, and the last few elements that stick out past `limit` or past a
 * scrolling box (a table cut off at its card's edge counts too), so a failed width check names
 * what to fix. Runs in the browser (as a script, since the test program has no DOM types).
 */
export function measureWidth(
  page: Page,
  limit: number,
): Promise<{ width: number; wide: string[] }> {
  return page.evaluate(`(() => {
    const sticking = [...document.querySelectorAll("body *")].filter(
      (el) => el.getBoundingClientRect().right > ${limit} && !el.closest(".scroll"),
    );
    const cut = [...document.querySelectorAll(".scroll")].filter(
      (el) => el.scrollWidth > el.clientWidth + 1,
    );
    const width = Math.max(
      document.documentElement.scrollWidth,
      ...cut.map((el) => ${limit} + el.scrollWidth - el.clientWidth),
    );
    return {
      width,
      wide: [...sticking, ...cut].slice(-3).map((el) => el.outerHTML.slice(0, 120)),
    };
  })()`);
}
