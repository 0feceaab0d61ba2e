"""The everyday-application scenarios of `omnirt bench desk`: screens of our own at 1280x800, each with a plain
instruction as a user would type it, and each judging its own result.

A scenario is a page (Chromium, app mode) or a native Tk window (tools/bench/desk_tk.py). It writes its verdict into
its window title, which the agent never sees (no window manager draws it): "desk pass", or "desk fail: WHY". The
verdict is worked out again and again from the page's whole state, so it covers "nothing else changed": every
control not named in the scenario's `fields` must still hold what it held at load, and the actions the page records
(a row deleted, a menu item run, a form submitted) must be exactly the wanted ones, in order. An untouched page
therefore fails ("desk fail: ..."), which is what the do-nothing agent of the bench shows.

Two groups: DEV, the screens the agent is developed against, and HELDOUT (tools/bench/desk_heldout.py), written
before any agent change and run only to measure: no rule in agents/ is written from them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

# The shared verdict script. Each page defines WANT = {fields: {id: value}, actions: [names]} (values compared
# trimmed and case-blind; true/false for boxes and switches) and calls act(name) when something is done.
VERDICT_JS = """
const WANT_FIELDS = WANT.fields || {}, WANT_ACTIONS = WANT.actions || [];
const controls = () => [...document.querySelectorAll('input,select,textarea,[role=switch]')].filter(e => e.id);
const valueOf = e => e.getAttribute('role') === 'switch' ? String(e.getAttribute('aria-checked') === 'true')
  : (e.type === 'checkbox' || e.type === 'radio') ? String(e.checked) : e.value.trim().toLowerCase();
const INITIAL = Object.fromEntries(controls().map(e => [e.id, valueOf(e)]));
const ACTIONS = [];
function act(name) { ACTIONS.push(name); }
function verdict() {
  for (const e of controls()) {
    const want = e.id in WANT_FIELDS ? String(WANT_FIELDS[e.id]).toLowerCase() : INITIAL[e.id];
    if (valueOf(e) !== want) return `fail: ${e.id}=${valueOf(e)}`;
  }
  if (JSON.stringify(ACTIONS) !== JSON.stringify(WANT_ACTIONS)) return `fail: actions [${ACTIONS}]`;
  return 'pass';
}
setInterval(() => { document.title = 'desk ' + verdict(); }, 100);
"""


@dataclass(frozen=True)
class Scenario:
    """name: short id; instruction: what a user would type; body: the page's HTML (style and markup; `script`: its
    own behaviour); want: the verdict's fields and actions; tk: a native Tk window (tools/bench/desk_tk.py) instead
    of a page; covers: what the screen exercises (for the report)."""

    name: str
    instruction: str
    body: str = ""
    script: str = ""
    want: dict = field(default_factory=dict)
    tk: bool = False
    covers: str = ""

    def page(self) -> str:
        return (f"<!doctype html><html><head><meta charset='utf-8'><title>desk loading</title></head><body>"
                f"{self.body}<script>const WANT = {json.dumps(self.want)};\n{self.script}\n{VERDICT_JS}</script>"
                f"</body></html>")


def next_month_day(day: int, today: date | None = None) -> str:
    """'YYYY-MM-DD' of `day` in the month after `today`'s (what "the 9th of next month" means)."""
    t = today or date.today()
    y, m = (t.year + 1, 1) if t.month == 12 else (t.year, t.month + 1)
    return f"{y:04d}-{m:02d}-{day:02d}"


SWITCH_CSS = """.switch{display:inline-block;width:44px;height:24px;border-radius:12px;background:#c5c9d1;
position:relative;cursor:pointer;vertical-align:middle}.switch::after{content:'';position:absolute;left:3px;top:3px;width:18px;height:18px;
border-radius:50%;background:#fff;transition:left .1s}.switch[aria-checked=true]{background:#2f7d4f}
.switch[aria-checked=true]::after{left:23px}"""
SWITCH_JS = """for (const s of document.querySelectorAll('[role=switch]')) s.addEventListener('click', () =>
  s.setAttribute('aria-checked', String(s.getAttribute('aria-checked') !== 'true')));"""
DIALOG_CSS = """.veil{position:fixed;inset:0;background:rgba(20,20,30,.45);display:none}.veil.open{display:block}
.dialog{position:absolute;left:430px;top:250px;width:420px;background:#fff;border-radius:8px;padding:22px;
box-shadow:0 8px 30px rgba(0,0,0,.3)}"""


def _settings() -> Scenario:
    rows = [("general", "Language auto-detect", "langauto", True), ("general", "Compact sidebar", "compact", False),
            ("notifications", "Email alerts", "emailalerts", True),
            ("notifications", "Push notifications", "push", False),
            ("notifications", "Weekly digest", "digest", True), ("privacy", "Share usage data", "usage", False)]
    sections = ""
    for sec in ("general", "notifications", "privacy"):
        items = "".join(f"<div class=row><span>{label}</span><span id={i} role=switch class=switch "
                        f"aria-checked={str(on).lower()}></span></div>" for s, label, i, on in rows if s == sec)
        sections += f"<h3>{sec.title()}</h3>{items}"
    body = (f"<style>body{{margin:0;font:15px 'DejaVu Sans',sans-serif;background:#f6f7fb;color:#1d2433}}"
            f"nav{{position:fixed;left:0;top:0;bottom:0;width:220px;background:#1d2433;color:#cfd6e4;padding:24px}}"
            f"nav div{{margin:14px 0}} main{{margin-left:300px;width:560px;padding-top:20px}}"
            f".row{{display:flex;justify-content:space-between;align-items:center;background:#fff;padding:14px 18px;"
            f"border-bottom:1px solid #e4e7ee}} h3{{margin:26px 0 8px;color:#56607a}}"
            f"button{{margin-top:24px;padding:10px 26px;background:#3b5bdb;color:#fff;border:0;border-radius:6px;"
            f"font-size:15px}}{SWITCH_CSS}</style><nav><b>Acme Cloud</b><div>Dashboard</div><div>Projects</div>"
            f"<div>Billing</div><div>Settings</div></nav><main><h2>Account settings</h2>{sections}"
            f"<button id=save>Save changes</button> <button id=reset>Reset</button></main>")
    return Scenario("settings-switch", "Switch off email alerts and save the changes", body,
                    SWITCH_JS + "save.onclick = () => act('save'); reset.onclick = () => act('reset');",
                    {"fields": {"emailalerts": False}, "actions": ["save"]}, covers="switch in a settings section")


def _profile_form() -> Scenario:
    def field_(label: str, fid: str, value: str = "") -> str:
        return f"<div class=f><label for={fid}>{label}</label><input id={fid} value='{value}'></div>"
    body = ("<style>body{margin:0;font:15px Georgia,serif;background:#fffaf0;color:#333}"
            "header{background:#7a3e1d;color:#fff;padding:16px 40px;font-size:20px}"
            "form{width:520px;margin:30px 0 0 120px}.f{margin-bottom:16px}"
            ".f label{display:block;margin-bottom:5px;font-weight:bold}"
            ".f input{width:100%;padding:9px;border:1px solid #b9a88f;border-radius:4px;background:#fff;font-size:15px}"
            "button{padding:10px 24px;border-radius:4px;border:1px solid #7a3e1d;background:#7a3e1d;color:#fff;"
            "font-size:15px}</style><header>Your profile</header><form onsubmit='return false'>"
            + field_("First name", "first") + field_("Last name", "last") + field_("City", "city")
            + field_("Phone", "phone", "+44 20 7946 0000")
            + "<button id=update>Update profile</button></form>")
    return Scenario("profile-labels-above", "Fill in first name Marie, last name Curie and city Paris, then click "
                    "Update profile", body, "update.onclick = () => act('update');",
                    {"fields": {"first": "Marie", "last": "Curie", "city": "Paris"}, "actions": ["update"]},
                    covers="labels above fields, 'and'-joined steps")


def _table_delete() -> Scenario:
    people = [("Ana Souza", "Editor"), ("Carol Diaz", "Viewer"), ("Dmitri Volkov", "Admin"), ("Erin Walsh", "Editor")]
    rows = "".join(f"<tr data-name='{n}'><td>{n}</td><td>{r}</td><td class=acts><button title=Edit class=ico>&#9998;"
                   f"</button><button title=Delete class='ico del'>&#128465;</button></td></tr>" for n, r in people)
    body = ("<style>body{margin:0;font:14px Arial,sans-serif;background:#fff;color:#222}"
            "h2{margin:30px 60px 10px}table{margin-left:60px;border-collapse:collapse;width:720px}"
            "td,th{text-align:left;padding:12px 14px;border-bottom:1px solid #e3e3e3}th{background:#f5f5f5}"
            ".ico{border:0;background:none;font-size:18px;cursor:pointer;color:#555}"
            + DIALOG_CSS + ".dialog button{padding:8px 18px;margin-right:10px;font-size:14px}</style>"
            "<h2>Team members</h2><table><tr><th>Name</th><th>Role</th><th>Actions</th></tr>" + rows + "</table>"
            "<div class=veil id=veil><div class=dialog><h3>Remove member?</h3><p id=q></p>"
            "<button id=yes>Remove</button><button id=no>Keep</button></div></div>")
    script = """let pending = null;
for (const b of document.querySelectorAll('.del')) b.onclick = () => { pending = b.closest('tr');
  q.textContent = pending.dataset.name + ' will lose access.'; veil.classList.add('open'); };
for (const b of document.querySelectorAll('[title=Edit]'))
  b.onclick = () => act('edit ' + b.closest('tr').dataset.name);
yes.onclick = () => { act('delete ' + pending.dataset.name); pending.remove(); veil.classList.remove('open'); };
no.onclick = () => veil.classList.remove('open');"""
    return Scenario("table-row-delete", "Remove Carol Diaz from the team", body, script,
                    {"actions": ["delete Carol Diaz"]}, covers="icon-only row action, confirmation dialog")


def _menus() -> Scenario:
    body = ("<style>body{margin:0;font:14px 'Liberation Sans',sans-serif;background:#eceff1}"
            ".bar{background:#fafafa;border-bottom:1px solid #bbb;padding:0 8px;height:30px}"
            ".m{display:inline-block;position:relative;padding:6px 12px;cursor:default}"
            ".pop{display:none;position:absolute;left:0;top:30px;background:#fff;border:1px solid #aaa;min-width:170px;"
            "box-shadow:2px 2px 6px rgba(0,0,0,.2);z-index:5}.pop.open{display:block}"
            ".it{padding:7px 14px;position:relative;white-space:nowrap}.it:hover{background:#dde8f6}"
            ".sub{left:100%;top:-1px}.doc{margin:20px 80px;background:#fff;height:640px;padding:30px;"
            "box-shadow:0 1px 4px rgba(0,0,0,.2)}</style>"
            "<div class=bar><span class=m>File<div class=pop><div class=it>New</div><div class=it>Open</div>"
            "<div class=it>Save</div></div></span><span class=m>Edit<div class=pop><div class=it>Undo</div>"
            "<div class=it>Copy</div></div></span><span class=m>Image<div class=pop><div class=it>Crop</div>"
            "<div class=it>Rotate &#9656;<div class='pop sub'><div class=it>Rotate left</div>"
            "<div class=it>Rotate right</div><div class=it>Flip</div></div></div><div class=it>Resize</div>"
            "</div></span><span class=m>Help</span></div><div class=doc><h2>holiday-photo.png</h2>"
            "<div style='width:420px;height:280px;background:linear-gradient(#9ecbf0,#f4d58d)'></div></div>")
    script = """const closeAll = () => document.querySelectorAll('.pop').forEach(p => p.classList.remove('open'));
for (const m of document.querySelectorAll('.m')) m.addEventListener('click', e => {
  if (e.target !== m) return; const p = m.querySelector(':scope > .pop'); const was = p && p.classList.contains('open');
  closeAll(); if (p && !was) p.classList.add('open'); });
for (const it of document.querySelectorAll('.it')) it.addEventListener('click', e => { e.stopPropagation();
  const sub = it.querySelector(':scope > .pop'); if (sub) { sub.classList.add('open'); return; }
  act(it.textContent.trim()); closeAll(); });"""
    return Scenario("menu-submenu", "Rotate the image to the right using Image > Rotate > Rotate right", body,
                    script, {"actions": ["Rotate right"]}, covers="menu with a submenu")


def _autocomplete() -> Scenario:
    cities = ["Lima, Peru", "Lisbon, Portugal", "Lille, France", "Linz, Austria", "Lyon, France", "Lagos, Nigeria"]
    body = ("<style>body{margin:0;font:16px Verdana,sans-serif;background:#0f3d3e;color:#f1f1f1}"
            ".card{position:absolute;left:340px;top:140px;width:560px;background:#f1f1f1;color:#222;padding:30px;"
            "border-radius:10px}input{width:420px;padding:10px;font-size:16px;border:2px solid #0f3d3e;"
            "border-radius:6px}#list div{padding:8px 10px;border-bottom:1px solid #ddd;background:#fff;width:400px}"
            "#list div:hover{background:#e0f0ee}button{margin-top:18px;padding:10px 22px;font-size:16px;"
            "background:#e2b93b;border:0;border-radius:6px}</style><div class=card><h2>Where to?</h2>"
            "<input id=dest placeholder='Destination city'><div id=list></div><br>"
            "<button id=go>Search trips</button></div>")
    script = f"""const CITIES = {json.dumps(cities)};
dest.addEventListener('input', () => {{ list.innerHTML = ''; const q = dest.value.trim().toLowerCase();
  if (q.length < 2) return; for (const c of CITIES.filter(c => c.toLowerCase().startsWith(q))) {{
    const d = document.createElement('div'); d.textContent = c;
    d.onclick = () => {{ dest.value = c; list.innerHTML = ''; }}; list.appendChild(d); }} }});
go.onclick = () => act('search ' + dest.value);"""
    return Scenario("autocomplete-city", "Set the destination to Lisbon and search trips", body, script,
                    {"fields": {"dest": "Lisbon, Portugal"}, "actions": ["search Lisbon, Portugal"]},
                    covers="autocomplete: type, then pick the suggestion")


def _modal_login() -> Scenario:
    body = ("<style>body{margin:0;font:15px Helvetica,Arial,sans-serif;background:#fdfdfd}"
            "header{height:56px;background:#6741d9;color:#fff;font-size:20px;line-height:56px;padding-left:30px}"
            ".feed p{margin:20px 40px;color:#999}" + DIALOG_CSS +
            ".dialog input{display:block;width:360px;padding:9px;margin:6px 0 14px;border:1px solid #bbb;"
            "border-radius:5px;font-size:15px}.dialog button{padding:10px 28px;background:#6741d9;color:#fff;"
            "border:0;border-radius:5px;font-size:15px}.x{position:absolute;right:14px;top:10px;border:0;"
            "background:none;font-size:20px;cursor:pointer}</style><header>Pinboard</header><div class=feed>"
            + "".join(f"<p>Post {i}: sign in to see it.</p>" for i in range(1, 7)) +
            "</div><div class='veil open'><div class=dialog><button class=x id=x>&times;</button><h3>Welcome back</h3>"
            "<label>Email<input id=email></label><label>Password<input id=pw type=password></label>"
            "<button id=login>Log in</button></div></div>")
    return Scenario("modal-login", "Log in with ines@example.org and the password Tulip44", body,
                    "login.onclick = () => act('login'); x.onclick = () => act('close');",
                    {"fields": {"email": "ines@example.org", "pw": "Tulip44"}, "actions": ["login"]},
                    covers="modal dialog, labels beside as field titles, password field")


def _below_fold() -> Scenario:
    terms = "".join(f"<p>{i}. The service is provided as is. You keep the rights to what you upload; we keep backups "
                    f"for thirty days after you close your account.</p>" for i in range(1, 25))
    body = ("<style>body{margin:0;font:15px 'DejaVu Serif',serif;background:#fff;color:#333}"
            "main{width:700px;margin:0 auto;padding:30px 0 80px}"
            "button{padding:10px 28px;font-size:15px;background:#222;color:#fff;border:0}</style>"
            "<main><h1>Terms of service</h1>" + terms +
            "<p><label><input type=checkbox id=agree> I agree to the terms</label></p>"
            "<p><label><input type=checkbox id=offers> Send me offers</label></p>"
            "<button id=cont>Continue</button></main>")
    return Scenario("below-fold-terms", "Agree to the terms and press Continue", body,
                    "cont.onclick = () => act('continue');",
                    {"fields": {"agree": True}, "actions": ["continue"]}, covers="content below the fold")


def _tk_preferences() -> Scenario:
    return Scenario("tk-preferences", "Type turing as the user name, tick Remember me and press Apply", tk=True,
                    want={"fields": {"user": "turing", "remember": True, "beta": False}, "actions": ["apply"]},
                    covers="native Tk window: label beside a field, a check button")


def _meeting_date() -> Scenario:
    """A date named inside a sentence: the field opens a calendar popup (greyed days of the next month fill its
    last row), whose arrows stand beside the month's name."""
    want = next_month_day(3)
    body = ("<style>body{margin:0;font:15px 'Liberation Sans',Arial,sans-serif;background:#eef2f7;color:#1f2a37}"
            ".panel{position:absolute;left:380px;top:90px;width:480px;background:#fff;border:1px solid #cfd8e3;"
            "border-radius:8px;padding:26px 30px}.f{margin:0 0 16px}.f label{display:block;color:#52607a;"
            "margin-bottom:5px}.f input{width:300px;padding:8px;border:1px solid #9aa8ba;border-radius:4px;"
            "font-size:15px}#cal{display:none;position:absolute;left:30px;top:226px;background:#fff;"
            "border:1px solid #9aa8ba;border-radius:6px;padding:10px;box-shadow:0 4px 14px rgba(0,0,0,.2)}"
            "#cal.open{display:block}#cal .hd{display:flex;justify-content:space-between;align-items:center;"
            "margin-bottom:8px;font-weight:bold}#cal .hd span{cursor:pointer;padding:2px 10px;font-size:18px}"
            "#cal td{width:34px;height:28px;text-align:center;cursor:pointer}#cal td.other{color:#b7bfcc}"
            "#cal th{color:#7a869a;font-weight:normal;font-size:13px}button{padding:9px 24px;font-size:15px;"
            "background:#0b7a75;color:#fff;border:0;border-radius:5px}</style><div class=panel>"
            "<h2>New meeting</h2><div class=f><label>Title</label><input id=title value='Team call'></div>"
            "<div class=f><label>When</label><input id=meetdate readonly placeholder='dd/mm/yyyy'></div>"
            "<div id=cal><div class=hd><span id=prev>&lsaquo;</span><span id=month></span>"
            "<span id=next>&rsaquo;</span></div><table id=grid></table></div>"
            "<button id=schedule>Schedule</button> <button id=discard style='background:#8a94a6'>Discard</button>"
            "</div>")
    script = """const MONTHS = ['January','February','March','April','May','June','July','August','September',
  'October','November','December'];
let shown = new Date(); shown.setDate(1);
const iso = d => d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' +
  String(d.getDate()).padStart(2, '0');
function draw() {
  month.textContent = MONTHS[shown.getMonth()] + ' ' + shown.getFullYear();
  let html = '<tr>' + ['Mo','Tu','We','Th','Fr','Sa','Su'].map(d => '<th>' + d + '</th>').join('') + '</tr>';
  const first = (shown.getDay() + 6) % 7, days = new Date(shown.getFullYear(), shown.getMonth() + 1, 0).getDate();
  const cells = [];
  for (let i = 0; i < first; i++) cells.push('<td></td>');
  for (let d = 1; d <= days; d++) cells.push('<td data-d=' + d + '>' + d + '</td>');
  for (let d = 1; cells.length % 7; d++) cells.push('<td class=other>' + d + '</td>');
  for (let i = 0; i < cells.length; i += 7) html += '<tr>' + cells.slice(i, i + 7).join('') + '</tr>';
  grid.innerHTML = html;
  for (const td of grid.querySelectorAll('td[data-d]')) td.onclick = () => {
    meetdate.value = iso(new Date(shown.getFullYear(), shown.getMonth(), +td.dataset.d));
    cal.classList.remove('open'); };
}
meetdate.onclick = () => { draw(); cal.classList.add('open'); };
prev.onclick = () => { shown.setMonth(shown.getMonth() - 1); draw(); };
next.onclick = () => { shown.setMonth(shown.getMonth() + 1); draw(); };
schedule.onclick = () => act('schedule ' + meetdate.value); discard.onclick = () => act('discard');"""
    return Scenario("meeting-date-sentence", "Schedule the team call on the 3rd of next month", body, script,
                    {"fields": {"meetdate": want}, "actions": [f"schedule {want}"]},
                    covers="a date inside a sentence, calendar popup, the sentence's verb as the button")


def _signup() -> Scenario:
    """A sign-up form: the name split over two fields, the password asked twice, a box to leave alone."""
    def field_(label: str, fid: str, kind: str = "text", width: int = 380) -> str:
        return (f"<div class=f><label for={fid}>{label}</label><input id={fid} type={kind} "
                f"style='width:{width}px'></div>")
    body = ("<style>body{margin:0;font:15px 'DejaVu Sans',sans-serif;background:#fbeee6;color:#2b2118}"
            ".card{position:absolute;left:120px;top:60px;width:440px;background:#fff;padding:28px 34px;"
            "border-radius:10px;box-shadow:0 2px 10px rgba(0,0,0,.12)}.f{margin-bottom:14px}"
            ".f label{display:block;margin-bottom:4px;font-size:14px;color:#6b5a4c}"
            ".f input{padding:8px;border:1px solid #d4bfae;border-radius:5px;font-size:15px}"
            ".two{display:flex;gap:20px}button{margin-top:8px;padding:10px 30px;font-size:15px;background:#c4512b;"
            "color:#fff;border:0;border-radius:20px}aside{position:absolute;left:680px;top:90px;width:420px;"
            "color:#6b5a4c;line-height:1.6}</style><div class=card><h2>Join Potter's Wheel</h2>"
            "<div class=two>" + field_("First name", "first", width=180) + field_("Last name", "last", width=180)
            + "</div>" + field_("Email address", "email") + field_("Password", "pw", "password")
            + field_("Repeat password", "pw2", "password")
            + "<p><label><input type=checkbox id=news> Send me class schedules</label></p>"
            "<button id=signup>Sign up</button></div><aside><h3>Why join?</h3><p>Book wheel time, keep your "
            "glaze notes and get a reminder before each class.</p></aside>")
    return Scenario("signup-split-name", "Sign up as Omar Haddad using omar.h@example.net and the password Cedar2031",
                    body, "signup.onclick = () => act('signup');",
                    {"fields": {"first": "Omar", "last": "Haddad", "email": "omar.h@example.net", "pw": "Cedar2031",
                                "pw2": "Cedar2031"}, "actions": ["signup"]},
                    covers="sign-up: name over two fields, password twice, the verb's button")


def _row_menu() -> Scenario:
    """A row action behind a row's "more" menu, then a confirmation; the sidebar has a link with the verb's word."""
    projects = [("Harbor redesign", "12 files"), ("Quarterly report", "4 files"), ("Spring campaign", "9 files"),
                ("Website copy", "21 files")]
    rows = "".join(f"<div class=row data-name='{n}'><b>{n}</b><span class=meta>{m}</span>"
                   f"<button class=more title='More actions'>&#8943;</button></div>" for n, m in projects)
    body = ("<style>body{margin:0;font:14px 'Liberation Sans',Arial,sans-serif;background:#fff;color:#222}"
            "nav{position:fixed;left:0;top:0;bottom:0;width:200px;background:#f1f3f5;padding:24px 20px}"
            "nav div{margin:12px 0;color:#445}main{margin-left:280px;width:640px;padding-top:20px}"
            ".row{display:flex;align-items:center;padding:14px 12px;border-bottom:1px solid #e5e5e5;position:relative}"
            ".row b{width:260px}.meta{color:#888;flex:1}.more{border:1px solid #ccc;background:#fff;border-radius:4px;"
            "font-size:16px;padding:2px 10px;cursor:pointer}.menu{position:absolute;right:10px;top:44px;"
            "background:#fff;"
            "border:1px solid #bbb;box-shadow:0 3px 10px rgba(0,0,0,.2);z-index:3;min-width:150px}"
            ".menu div{padding:8px 14px;cursor:pointer}.menu div:hover{background:#eef}"
            + DIALOG_CSS + ".dialog button{padding:8px 18px;margin-right:10px;font-size:14px}</style>"
            "<nav><b>Studio</b><div>Projects</div><div>Shared with me</div><div>Archive</div><div>Trash</div></nav>"
            "<main><h2>Projects</h2>" + rows + "</main><div class=veil id=veil><div class=dialog>"
            "<h3 id=q></h3><p>Archived projects are read-only.</p><button id=ok>Archive project</button>"
            "<button id=cancel>Cancel</button></div></div>")
    script = """let pending = null;
const closeMenus = () => document.querySelectorAll('.menu').forEach(m => m.remove());
for (const b of document.querySelectorAll('.more')) b.onclick = e => { e.stopPropagation(); closeMenus();
  const row = b.closest('.row'), m = document.createElement('div'); m.className = 'menu';
  for (const name of ['Rename', 'Duplicate', 'Archive', 'Delete']) { const it = document.createElement('div');
    it.textContent = name; it.onclick = ev => { ev.stopPropagation(); closeMenus();
      if (name === 'Archive') { pending = row; q.textContent = 'Archive ' + row.dataset.name + '?';
        veil.classList.add('open'); } else act(name.toLowerCase() + ' ' + row.dataset.name); };
    m.appendChild(it); } row.appendChild(m); };
document.addEventListener('click', closeMenus);
ok.onclick = () => { act('archive ' + pending.dataset.name); pending.remove(); veil.classList.remove('open'); };
cancel.onclick = () => veil.classList.remove('open');"""
    return Scenario("row-more-menu", "Archive the project called Spring campaign", body, script,
                    {"actions": ["archive Spring campaign"]},
                    covers="row action behind a 'more' menu, then a confirmation; the verb also names a link")


DEV: tuple[Scenario, ...] = (_settings(), _profile_form(), _table_delete(), _menus(), _autocomplete(),
                             _modal_login(), _below_fold(), _tk_preferences(), _meeting_date(), _signup(),
                             _row_menu())


def scenarios(group: str) -> tuple[Scenario, ...]:
    """The scenarios of `group`: dev | heldout | heldout2 | all | a comma-separated list of names."""
    from omnirt.tools.bench.desk_heldout import HELDOUT
    from omnirt.tools.bench.desk_heldout2 import HELDOUT2

    groups = {"dev": DEV, "heldout": HELDOUT, "heldout2": HELDOUT2, "all": DEV + HELDOUT + HELDOUT2}
    if group in groups:
        return groups[group]
    by_name = {s.name: s for s in DEV + HELDOUT + HELDOUT2}
    unknown = [n for n in group.split(",") if n not in by_name]
    if unknown:
        raise ValueError(f"unknown desk scenario {unknown[0]!r}: dev, heldout, heldout2, all or names of "
                         f"{sorted(by_name)}")
    return tuple(by_name[n] for n in group.split(","))
