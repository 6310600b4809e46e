"""Drives zashboard (served by ss-redir's --external-ui) in headless Chromium for the controller tests.

  dashboard_browser.py HOST PORT SECRET SCREENSHOT_DIR EXPECT_PROXIES EXPECT_CONNECTION
opens /ui/?hostname=HOST&port=PORT&secret=SECRET#/proxies, waits until every comma-separated name of
EXPECT_PROXIES is on the page, then #/connections until EXPECT_CONNECTION is; screenshots of both pages go
to SCREENSHOT_DIR. Exit 0 when both were seen; otherwise the page text goes to stderr.
"""

import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

WAIT = 30  # seconds per page


def wait_for_texts(driver, texts):
    deadline = time.time() + WAIT
    body = ""
    while time.time() < deadline:
        try:
            body = driver.find_element(By.TAG_NAME, "body").text
        except Exception:  # the page is still being built
            body = ""
        if all(text in body for text in texts):
            return True, body
        time.sleep(0.5)
    return False, body


def main(argv):
    host, port, secret, shots, proxies, connection = argv[1:7]
    options = webdriver.ChromeOptions()
    for argument in [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,900",
        "--no-first-run", "--disable-background-networking",
        # zashboard looks for updates online; a lookup that hangs in a namespace stalls its start.
        f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {host}",
    ]:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        base = f"http://{host}:{port}/ui/?hostname={host}&port={port}&secret={secret}"
        driver.get(base + "#/proxies")
        names = proxies.split(",")
        # Groups start collapsed (only the selected member shows): the header's chevron expands them all.
        ok, body = wait_for_texts(driver, ["pool"])
        if ok and not all(name in body for name in names):
            chevron = "//button[.//*[local-name()='path' and starts-with(@d, 'm19.5 8.25')]]"
            for element in driver.find_elements(By.XPATH, chevron):
                if element.is_displayed():
                    # (a toast may cover it: click through script)
                    driver.execute_script("arguments[0].click()", element)
                    break
        ok, body = wait_for_texts(driver, names)
        time.sleep(1)
        driver.save_screenshot(f"{shots}/dashboard-proxies.png")
        if not ok:
            print(f"proxies page lacks {proxies}:\n{body}", file=sys.stderr)
            return False
        print("proxies page shows " + proxies, flush=True)
        driver.get(base + "#/connections")
        ok, body = wait_for_texts(driver, [connection])
        time.sleep(1)
        driver.save_screenshot(f"{shots}/dashboard-connections.png")
        if not ok:
            print(f"connections page lacks {connection}:\n{body}", file=sys.stderr)
            return False
        print("connections page shows " + connection, flush=True)
        return True
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv) else 1)
