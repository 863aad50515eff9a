"""The console's administration view in a real browser (issue 21): Debian's
Chromium, headless, driven by Selenium, against the real zaulekd and the real
simulator, in this process's own network namespace (loopback only). An
administrator switches to the view, scans (WS-Discovery multicast on lo) and
sees the simulated camera as new; adds it from the result (a wrong camera
password first: the server's refusal in words; the password field is emptied
each time), it shows in both camera lists and REST reads it back; renames it;
moves it where it announced itself (a sighting) and, when it goes offline
there, the Live button says an alarm came;
creates a user (a mismatched password is refused by the page first), resets
their password (REST login with the new one works), disables them (their REST
login fails, and the page's login form shows the server's words); places and
releases an evidence hold, adds and deletes a rule (a duplicate shows the
server's 409). An operator is offered no administration view. Every wait is
bounded; times are printed, never asserted. Screenshots of the steps go to
<build dir>/test-artifacts/web_console_admin/ (docs/img/admin-*.png are
taken from there)."""
import time

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from camera_helpers import FAST_CAMERAS_TOML, admin_headers, enter_netns, free_base_port
from simfleet import SimFleet
from console_browser import Shots, browser, console_daemon, login, page_text, wait
from zaulekd_fixture import ROLE_USERS

enter_netns()

USER = "admincam"
PASSWORD = "Admin-Cam-Secret-5d1e"
CONFIG = FAST_CAMERAS_TOML + '\n[discovery]\ninterfaces = ["lo"]\n'


def css(drv, sel):
    return drv.find_elements(By.CSS_SELECTOR, sel)


def one(drv, sel):
    found = css(drv, sel)
    return found[0] if found else None


def fill(form, **values):
    for name, value in values.items():
        el = form.find_element(By.NAME, name)
        el.clear()
        el.send_keys(value)


def rest_login(d, name, password):
    return requests.post(d.url("/api/v1/auth/login"), json={"username": name, "password": password},
                         timeout=30)


def two_clicks(drv, button):
    """A remove/disable button asks once more before it acts."""
    button.click()
    wait(drv, "the button asks to be sure", lambda d: button.get_attribute("data-armed") == "true")
    button.click()


def test_administrator_cameras_users_holds_rules(make_daemon, tmp_path):
    d = console_daemon(make_daemon, CONFIG)
    h = admin_headers(d)
    d_url_users = d.url("/api/v1/users")
    admin, operator = ROLE_USERS["administrator"], ROLE_USERS["operator"]
    base = free_base_port(1)
    with SimFleet(cameras=1, user=USER, password=PASSWORD, extra_args=["--base-port", str(base)]) as sim:
        sim_cam = sim.cameras[0]
        drv = browser(tmp_path)
        shot = Shots(drv, "web_console_admin")
        try:
            drv.get(d.url("/"))
            text = page_text(drv)
            pl = text["pl"]
            login(drv, admin, d.passwords[admin])

            # The view switch is offered to an administrator.
            switch = one(drv, '#views button[data-view="admin"]')
            assert switch is not None and switch.is_displayed()
            assert switch.text == pl["view.admin"]
            switch.click()
            wait(drv, "the administration view", lambda d: d.find_element(By.ID, "admin-view").is_displayed()
                 and not d.find_element(By.ID, "center").is_displayed()
                 and d.find_element(By.ID, "adm-camera-table").get_attribute("data-loaded") == "true")
            assert css(drv, "#adm-camera-rows tr") == []

            # Scan: a bad target is refused by the page; then a multicast
            # scan finds the simulated camera, new.
            scan = drv.find_element(By.ID, "scan-form")
            fill(scan, targets="camera.example", timeout_s="1.5")
            scan.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            assert scan.get_attribute("data-invalid") == "targets"
            assert scan.find_element(By.CSS_SELECTOR, '[data-error="targets"]').text == pl["adm.err.target"]
            fill(scan, targets="")
            t0 = time.monotonic()
            scan.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            wait(drv, "the scan's progress", lambda d: d.find_element(By.ID, "scan-progress").is_displayed())
            wait(drv, "the scan done", lambda d: scan.get_attribute("data-scans") == "1", 20)
            dev = wait(drv, "the simulated camera found", lambda d: next(
                (tr for tr in css(d, "#device-rows tr") if sim_cam["onvif_url"] in tr.text), None))
            print(f"scan in the page: {time.monotonic() - t0:.2f} s")
            assert dev.get_attribute("data-known") == "false"
            assert sim_cam["onvif_url"] in dev.text, dev.text
            assert pl["adm.dev.new"] in dev.text
            assert pl["adm.scan.done"].replace("{n}", "1") in drv.find_element(By.ID, "scan-status").text
            shot("scan")

            # Add it from the result: the address and name come from the
            # scan; a wrong password gets the server's 422 in words.
            dev.find_element(By.CSS_SELECTOR, "button.add").click()
            add = drv.find_element(By.ID, "camera-add-form")
            assert add.find_element(By.NAME, "address").get_attribute("value") == sim_cam["onvif_url"]
            assert add.find_element(By.NAME, "endpoint").get_attribute("value")
            fill(add, name="Zaułek Piekarzy", username=USER, password="wrong-password", retention_days="14")
            Select(add.find_element(By.NAME, "mode")).select_by_value("off")
            add.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            err = wait(drv, "the camera's refusal", lambda d: (lambda p: p if p.text else None)(
                add.find_element(By.CSS_SELECTOR, '[data-error="form"]')), 30)
            assert err.get_attribute("data-status") == "422", err.text
            assert err.text.startswith(pl["adm.e.422"] + " (422): "), err.text
            assert add.find_element(By.NAME, "password").get_attribute("value") == ""
            shot("add-refused")
            fill(add, password=PASSWORD)
            Select(add.find_element(By.NAME, "mode")).select_by_value("off")
            add.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            cam_id = wait(drv, "the camera added", lambda d: add.get_attribute("data-added"), 30)
            assert add.find_element(By.NAME, "password").get_attribute("value") == ""
            row = wait(drv, "the camera in the admin list",
                       lambda d: one(d, f'#adm-camera-rows tr[data-camera-id="{cam_id}"]:not(.editing)'))
            assert "Zaułek Piekarzy" in row.text and pl["mode.off"] in row.text, row.text
            wait(drv, "the camera in the side list",
                 lambda d: one(d, f'#camera-list li[data-camera-id="{cam_id}"]'))
            wait(drv, "the result known now", lambda d: one(
                d, '#device-rows tr[data-known="true"]'))
            r = requests.get(d.url(f"/api/v1/cameras/{cam_id}"), headers=h, timeout=10)
            assert r.status_code == 200, r.text
            cam = r.json()
            assert (cam["name"], cam["recording"]["mode"], cam["recording"]["retention_days"]) \
                == ("Zaułek Piekarzy", "off", 14), cam
            assert cam["endpoint"], cam  # from the scan: later sightings can name it
            assert PASSWORD not in drv.page_source
            wait(drv, "the streams listed", lambda d: "main:" in one(
                d, f'#adm-camera-rows tr[data-camera-id="{cam_id}"]:not(.editing)').text, 20)
            shot("camera-added")

            # Edit: a new name, read back over REST.
            one(drv, f'#adm-camera-rows tr[data-camera-id="{cam_id}"] button.edit').click()
            edit = wait(drv, "the edit form", lambda d: one(d, f'#adm-camera-rows tr.editing[data-camera-id="{cam_id}"] form'))
            fill(edit, name="Zaułek Piekarzy, wejście")
            edit.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            wait(drv, "the form closed", lambda d: one(d, "#adm-camera-rows tr.editing") is None)
            assert requests.get(d.url(f"/api/v1/cameras/{cam_id}"), headers=h,
                                timeout=10).json()["name"] == "Zaułek Piekarzy, wejście"

            # The same camera announces itself at another address (the same
            # endpoint reference from 127.0.0.2): only proposed; the
            # administrator confirms the move in the page.
            with SimFleet(cameras=1, user=USER, password=PASSWORD,
                          extra_args=["--base-port", str(base), "--bind", "127.0.0.2"]) as moved:
                new_url = moved.cameras[0]["onvif_url"]
                sighting = wait(drv, "the sighting shown", lambda d: one(
                    d, f'#adm-camera-rows tr.sighting[data-camera-id="{cam_id}"]'), 30)
                assert new_url in sighting.text, sighting.text
                shot("sighting")
                two_clicks(drv, sighting.find_element(By.CSS_SELECTOR, "button.move"))
                wait(drv, "the camera moved", lambda d: one(d, "#adm-camera-rows tr.sighting") is None
                     and new_url in one(d, f'#adm-camera-rows tr[data-camera-id="{cam_id}"]').text, 30)
                cam = requests.get(d.url(f"/api/v1/cameras/{cam_id}"), headers=h, timeout=10).json()
                assert cam["onvif_url"] == new_url and cam["sighting"] is None, cam
            # That simulator is gone now: the camera goes offline, the
            # built-in rule raises a health alarm, and the Live button says
            # so while the administrator stays here.
            wait(drv, "the Live button marked", lambda d: one(
                d, '#views button[data-view="live"][data-attention="true"]'), 30)
            assert drv.find_element(By.ID, "admin-view").is_displayed()

            # Users: a mismatched password stays in the page; then a new
            # operator, listed.
            drv.find_element(By.CSS_SELECTOR, '#admin-view button.tab[data-tab="users"]').click()
            wait(drv, "the users listed", lambda d: d.find_element(By.ID, "user-table")
                 .get_attribute("data-loaded") == "true" and one(d, f'#user-rows tr[data-user="{admin}"]'))
            form = drv.find_element(By.ID, "user-form")
            fill(form, name="jan.kowalski", password="Pierwsze-Haslo-1", password2="Pierwsze-Haslo-2")
            Select(form.find_element(By.NAME, "role")).select_by_value("operator")
            form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            assert form.get_attribute("data-invalid") == "password2"
            assert form.find_element(By.CSS_SELECTOR, '[data-error="password2"]').text \
                == pl["adm.err.password_mismatch"]
            fill(form, password="Pierwsze-Haslo-1", password2="Pierwsze-Haslo-1")
            form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            jan = wait(drv, "the new user listed", lambda d: one(d, '#user-rows tr[data-user="jan.kowalski"]'), 20)
            assert pl["role.operator"] in jan.text and pl["adm.user.active"] in jan.text, jan.text
            # Creating the same name again: the server's 409 in words.
            fill(form, name="jan.kowalski", password="Pierwsze-Haslo-1", password2="Pierwsze-Haslo-1")
            form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            err = wait(drv, "the duplicate refused", lambda d: (lambda p: p if p.text else None)(
                form.find_element(By.CSS_SELECTOR, '[data-error="form"]')), 20)
            assert err.get_attribute("data-status") == "409" and pl["adm.e.409"] in err.text, err.text
            assert rest_login(d, "jan.kowalski", "Pierwsze-Haslo-1").status_code == 200
            # His role, changed from the table; one's own has no choice.
            assert one(drv, f'#user-rows tr[data-user="{admin}"] select.user-role') is None
            Select(one(drv, '#user-rows tr[data-user="jan.kowalski"] select.user-role')).select_by_value("investigator")
            wait(drv, "jan an investigator", lambda d: [u["role"] for u in requests.get(
                d_url_users, headers=h, timeout=10).json()["users"] if u["name"] == "jan.kowalski"] == ["investigator"], 20)
            wait(drv, "the table read again", lambda d: Select(one(
                d, '#user-rows tr[data-user="jan.kowalski"] select.user-role')).first_selected_option
                .get_attribute("value") == "investigator", 20)

            # Reset jan's password: the new one logs in, the old one no more.
            one(drv, '#user-rows tr[data-user="jan.kowalski"] button.reset').click()
            reset = wait(drv, "the reset form", lambda d: one(d, '#user-rows tr[data-form="reset"] form'))
            fill(reset, password="Drugie-Haslo-22", password2="Drugie-Haslo-22")
            reset.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            wait(drv, "the password reset", lambda d: reset.get_attribute("data-done") == "true", 20)
            assert pl["adm.user.reset_done"].split("{n}")[0] in reset.text, reset.text
            r = rest_login(d, "jan.kowalski", "Drugie-Haslo-22")
            assert r.status_code == 200, r.text
            jan_token = {"Authorization": "Bearer " + r.json()["token"]}
            assert rest_login(d, "jan.kowalski", "Pierwsze-Haslo-1").status_code == 401
            # His sessions: the one since the reset, ended from the page.
            one(drv, '#user-rows tr[data-user="jan.kowalski"] button.sessions').click()
            sess = wait(drv, "jan's session", lambda d: css(d, '#user-rows tr[data-form="sessions"] li[data-session-id]'))
            assert len(sess) == 1 and "127.0.0.1" in sess[0].text, [s.text for s in sess]
            shot("users")
            assert requests.get(d.url("/api/v1/auth/me"), headers=jan_token, timeout=10).status_code == 200
            two_clicks(drv, sess[0].find_element(By.CSS_SELECTOR, "button.revoke"))
            wait(drv, "no session left", lambda d: one(d, '#user-rows tr[data-form="sessions"] .sessions-empty'))
            assert requests.get(d.url("/api/v1/auth/me"), headers=jan_token, timeout=10).status_code == 401

            # The investigator sees only the new camera from now on.
            inv = ROLE_USERS["investigator"]
            one(drv, f'#user-rows tr[data-user="{inv}"] button.visibility').click()
            vis = wait(drv, "the cameras form", lambda d: one(d, '#user-rows tr[data-form="cameras"] form'))
            vis.find_element(By.NAME, "all").click()
            Select(vis.find_element(By.NAME, "cameras")).select_by_value(cam_id)
            vis.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            wait(drv, "the investigator restricted", lambda d: one(d, '#user-rows tr[data-form="cameras"]') is None
                 and cam_id in one(d, f'#user-rows tr[data-user="{inv}"]').text)
            users = requests.get(d.url("/api/v1/users"), headers=h, timeout=10).json()["users"]
            assert [u["cameras"] for u in users if u["name"] == inv] == [[cam_id]], users

            # Disable jan: his login fails, in the server's words.
            two_clicks(drv, one(drv, '#user-rows tr[data-user="jan.kowalski"] button.disable'))
            wait(drv, "jan disabled", lambda d: one(d, '#user-rows tr[data-user="jan.kowalski"][data-disabled="true"]'))
            assert one(drv, f'#user-rows tr[data-user="{admin}"] button.disable') is None  # not oneself
            r = rest_login(d, "jan.kowalski", "Drugie-Haslo-22")
            assert r.status_code == 401, r.text
            said = r.json()["error"]["message"]
            shot("user-disabled")

            # Holds: place one for the camera over the last hour, release it.
            drv.find_element(By.CSS_SELECTOR, '#admin-view button.tab[data-tab="holds"]').click()
            wait(drv, "the holds listed", lambda d: d.find_element(By.ID, "hold-table").get_attribute("data-loaded") == "true")
            hold = drv.find_element(By.ID, "hold-form")
            Select(hold.find_element(By.NAME, "camera_id")).select_by_value(cam_id)
            drv.execute_script(
                "const f = arguments[0], now = new Date(), pad = (n) => String(n).padStart(2, '0');"
                "const local = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T"
                "${pad(d.getHours())}:${pad(d.getMinutes())}`;"
                "f.elements.from.value = local(new Date(now - 3600e3)); f.elements.to.value = local(now);", hold)
            fill(hold, reason="Zgłoszenie policji 123/2026")
            hold.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            hrow = wait(drv, "the hold listed", lambda d: one(d, f'#hold-rows tr[data-camera-id="{cam_id}"]'), 20)
            assert "Zgłoszenie policji 123/2026" in hrow.text and admin in hrow.text
            holds = requests.get(d.url("/api/v1/holds"), headers=h, timeout=10).json()["holds"]
            assert [x["reason"] for x in holds] == ["Zgłoszenie policji 123/2026"], holds
            shot("holds")
            two_clicks(drv, hrow.find_element(By.CSS_SELECTOR, "button.delete"))
            wait(drv, "the hold released", lambda d: one(d, "#hold-rows tr") is None)
            assert requests.get(d.url("/api/v1/holds"), headers=h, timeout=10).json()["holds"] == []

            # Rules: add one; the same id again is the server's 409; delete it.
            drv.find_element(By.CSS_SELECTOR, '#admin-view button.tab[data-tab="rules"]').click()
            wait(drv, "the rules listed", lambda d: d.find_element(By.ID, "rule-table").get_attribute("data-loaded") == "true")
            rule = drv.find_element(By.ID, "rule-form")
            fill(rule, id="noc-piekarzy", hours="22:00-06:00", priority="5")
            Select(rule.find_element(By.NAME, "cameras")).select_by_value(cam_id)
            rule.find_element(By.CSS_SELECTOR, '#rule-kinds input[value="motion"]').click()
            rule.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            rrow = wait(drv, "the rule listed", lambda d: one(d, '#rule-rows tr[data-rule-id="noc-piekarzy"]'), 20)
            assert rrow.get_attribute("data-origin") == "api"
            listed = [x for x in requests.get(d.url("/api/v1/rules"), headers=h, timeout=10).json()["rules"]
                      if x["id"] == "noc-piekarzy"]
            assert listed and (listed[0]["cameras"], listed[0]["kinds"], listed[0]["hours"], listed[0]["priority"]) \
                == ([cam_id], ["motion"], "22:00-06:00", 5), listed
            fill(rule, id="noc-piekarzy")
            rule.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            err = wait(drv, "the duplicate rule refused", lambda d: (lambda p: p if p.text else None)(
                rule.find_element(By.CSS_SELECTOR, '[data-error="form"]')), 20)
            assert err.get_attribute("data-status") == "409", err.text
            shot("rules")
            two_clicks(drv, rrow.find_element(By.CSS_SELECTOR, "button.delete"))
            wait(drv, "the rule deleted", lambda d: one(d, '#rule-rows tr[data-rule-id="noc-piekarzy"]') is None)

            # Remove the camera: gone from both lists.
            drv.find_element(By.CSS_SELECTOR, '#admin-view button.tab[data-tab="cameras"]').click()
            two_clicks(drv, one(drv, f'#adm-camera-rows tr[data-camera-id="{cam_id}"] button.remove'))
            wait(drv, "the camera removed", lambda d: one(d, f'#adm-camera-rows tr[data-camera-id="{cam_id}"]') is None
                 and one(d, f'#camera-list li[data-camera-id="{cam_id}"]') is None, 20)
            assert requests.get(d.url(f"/api/v1/cameras/{cam_id}"), headers=h, timeout=10).status_code == 404

            # English: the view's tabs and headings switch at once.
            drv.find_element(By.ID, "lang-en").click()
            en = text["en"]
            assert drv.find_element(By.CSS_SELECTOR, '#admin-view button.tab[data-tab="users"]').text \
                == en["adm.tab.users"]
            assert drv.find_element(By.CSS_SELECTOR, '#views button[data-view="admin"]').text == en["view.admin"]
            drv.find_element(By.ID, "lang-pl").click()

            # Sign out; jan cannot sign in, and the form says the server's words.
            drv.find_element(By.ID, "logout").click()
            wait(drv, "the login form", lambda d: d.find_element(By.ID, "login-view").is_displayed())
            drv.find_element(By.NAME, "username").send_keys("jan.kowalski")
            drv.find_element(By.NAME, "password").send_keys("Drugie-Haslo-22")
            drv.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
            msg = wait(drv, "jan's login refused", lambda d: d.find_element(By.ID, "login-error").text)
            assert pl["login.failed"] in msg and said in msg and "401" in msg, msg
            assert not drv.find_element(By.ID, "console-view").is_displayed()
            shot("disabled-login")

            # An operator: no view switch, no administration.
            drv.find_element(By.NAME, "username").clear()
            drv.find_element(By.NAME, "password").clear()
            login(drv, operator, d.passwords[operator])
            # Even when the tab remembers the view and the page loads afresh.
            drv.execute_script("sessionStorage.setItem('zaulek.view', 'admin')")
            drv.get(d.url("/"))
            wait(drv, "the operator's console again", lambda d: d.find_element(By.ID, "console-view").is_displayed()
                 and d.find_element(By.ID, "status-ws").get_attribute("data-state") == "open")
            # The operator's views: live and the timeline, no administration.
            assert not drv.find_element(By.CSS_SELECTOR, '#views button[data-view="admin"]').is_displayed()
            assert drv.find_element(By.CSS_SELECTOR, '#views button[data-view="timeline"]').is_displayed()
            assert not drv.find_element(By.ID, "admin-view").is_displayed()
            assert drv.find_element(By.ID, "center").is_displayed()
            asked = drv.execute_script(
                "return performance.getEntriesByType('resource').map((e) => e.name)"
                ".filter((n) => n.includes('/api/v1/users') || n.includes('/api/v1/discovery'))")
            assert asked == [], asked
            # The server would refuse anyway.
            assert requests.get(d.url("/api/v1/users"), headers=d.bearer(operator), timeout=10).status_code == 403
            shot("operator")
        finally:
            drv.quit()
    print(f"screenshots: {shot.dir}")
