"""Opens one page in headless Chromium (Debian's chromium + chromedriver,
through selenium) and prints what it loaded as one JSON object:

  {"url", "title",
   "resources": [{"url", "type", "status"}],   every stylesheet, script,
                                               image, font the page fetched
   "stylesheets": [{"href", "rules"}],         document.styleSheets
   "navbar_background": "rgb(…)" or null,      computed style of .navbar
   "body_font": "…",                           computed font-family of body
   "default_body_font": "…"}                   the same of an unstyled page

and saves a screenshot. Statuses come from Chromium's own network log
(Network.responseReceived), so a 404 stylesheet shows as 404, not as a page
that happens to look plain.

usage: browser.py URL SCREENSHOT.png
"""

import json
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def options(profile):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    # As root Chromium needs --no-sandbox; the rest keeps it off the
    # network (updates, sync, field trials) so only the page is fetched.
    for flag in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return opts


def responses(driver):
    """(url, type, status) of every response in the performance log."""
    seen = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") != "Network.responseReceived":
            continue
        params = message["params"]
        seen.append(
            {
                "url": params["response"]["url"],
                "type": params.get("type", ""),
                "status": params["response"]["status"],
            }
        )
    return seen


STYLE = """
const sheets = Array.from(document.styleSheets).map(s => {
  let rules = -1;  // a cross-origin sheet hides its rules: -1
  try { rules = s.cssRules.length; } catch (e) {}
  return {href: s.href, rules: rules};
});
const navbar = document.querySelector('.navbar');
return {
  title: document.title,
  stylesheets: sheets,
  navbar_background: navbar ? getComputedStyle(navbar).backgroundColor : null,
  body_font: getComputedStyle(document.body).fontFamily,
};
"""


def main():
    url, screenshot = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        driver = webdriver.Chrome(
            service=Service(executable_path=CHROMEDRIVER), options=options(profile)
        )
        try:
            driver.set_page_load_timeout(60)
            # The browser's own default font, to tell a styled body from one.
            driver.get("data:text/html,<body>plain</body>")
            default_font = driver.execute_script(
                "return getComputedStyle(document.body).fontFamily"
            )
            driver.get_log("performance")  # drop the blank page's events
            driver.get(url)
            report = driver.execute_script(STYLE)
            report["url"] = driver.current_url
            report["default_body_font"] = default_font
            report["resources"] = [
                r
                for r in responses(driver)
                if r["type"] in ("Stylesheet", "Script", "Image", "Font")
            ]
            driver.save_screenshot(screenshot)
        finally:
            driver.quit()
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
