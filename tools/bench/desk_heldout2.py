"""A second HELD-OUT set of desk scenarios (`omnirt bench desk --scenarios heldout2`), written on 2026-12-08
(session 34) after the first (tools/bench/desk_heldout.py) had been read in five stops, and before any agent ran on
these screens. Each covers a kind the issue names (switches with Apply, labels beside fields, an icon-only row action
behind a confirmation, a submenu, a date picker opened by its icon, a field's suggestions, a box below the fold, a
sign-in in a modal dialog) with wording, layout and styling of its own. They are run only to MEASURE: no rule,
phrasing or test in agents/ is written from these screens or their runs (tests/tools/test_bench_desk_scenarios.py
drives each page by its own script to show it can be passed, and that an untouched page fails).
"""

from __future__ import annotations

from omnirt.tools.bench.desk_scenarios import DIALOG_CSS, SWITCH_CSS, SWITCH_JS, Scenario, next_month_day


def _connections() -> Scenario:
    rows = [("Wi-Fi", "wifi", True, "Connected to HomeNet"), ("Bluetooth", "bt", True, "2 devices paired"),
            ("Airplane mode", "airplane", False, "Turns off all wireless radios"),
            ("Mobile hotspot", "hotspot", False, "Share this device's connection")]
    lines = "".join(f"<div class=ln><div><b>{label}</b><i>{note}</i></div><span role=switch id={i} class=switch "
                    f"aria-checked={str(on).lower()}></span></div>" for label, i, on, note in rows)
    body = ("<style>body{margin:0;font:15px 'DejaVu Sans',sans-serif;background:#e9edf2;color:#1b2430}"
            "header{background:#23395d;color:#fff;padding:16px 48px;font-size:20px}"
            ".card{margin:40px 0 0 300px;width:600px;background:#fff;border-radius:10px;padding:10px 28px 24px}"
            ".ln{display:flex;justify-content:space-between;align-items:center;padding:14px 0;"
            f"border-bottom:1px solid #e3e6ea}}i{{display:block;color:#7a8494;font-size:13px;font-style:normal}}"
            f"{SWITCH_CSS}.btns{{margin-top:22px;display:flex;gap:12px;justify-content:flex-end}}"
            ".btns button{padding:9px 22px;border-radius:6px;font-size:15px;border:1px solid #23395d}"
            "#apply{background:#23395d;color:#fff}#reset{background:#fff;color:#23395d}</style>"
            "<header>Settings &rsaquo; Connections</header><div class=card><h3>Wireless</h3>" + lines +
            "<div class=btns><button id=reset>Reset</button><button id=apply>Apply</button></div></div>")
    return Scenario("connections-apply", "Turn off Bluetooth, turn on Airplane mode and click Apply", body,
                    SWITCH_JS + "\napply.onclick = () => act('apply'); reset.onclick = () => act('reset');",
                    {"fields": {"bt": False, "airplane": True}, "actions": ["apply"]},
                    covers="two switches set either way, then Apply")


def _shipping_beside() -> Scenario:
    fields = [("Full name", "shipname", ""), ("Street address", "street", ""), ("Town / City", "town", ""),
              ("Postcode", "postcode", "")]
    lines = "".join(f"<div class=r><label for={i}>{label}</label><input id={i} value='{v}'></div>"
                    for label, i, v in fields)
    body = ("<style>body{margin:0;font:15px 'Liberation Serif',serif;background:#fbf7ef;color:#2d2a26}"
            ".shop{margin:36px 0 0 250px;width:720px}.r{display:flex;align-items:center;margin:12px 0}"
            ".r label{width:170px;text-align:right;padding-right:18px}"
            "input,select,textarea{font:15px 'Liberation Serif',serif;padding:8px;width:340px;background:#fffdf8;"
            "border:1px solid #cbbfa8;border-radius:3px}textarea{height:50px}"
            "#place{margin:18px 0 0 188px;padding:11px 34px;background:#6b4f2a;color:#fff;border:0;font-size:16px}"
            ".sum{position:absolute;left:1010px;top:60px;width:200px;border:1px solid #e0d6c2;padding:14px}"
            "</style><div class=shop><h1>Checkout</h1><h3>Delivery address</h3>" + lines +
            "<div class=r><label for=speed>Delivery</label><select id=speed><option value=standard>Standard "
            "(3-5 days) - free</option><option value=express>Express (2 days) - 4.99</option><option value=nextday>"
            "Next day - 8.99</option></select></div><div class=r><label for=gift>Gift message</label>"
            "<textarea id=gift></textarea></div><button id=place>Place order</button></div>"
            "<div class=sum><b>Your basket</b><p>Linen shirt x 1</p><p>Total 39.00</p></div>")
    return Scenario("shipping-beside", "Ship to Mara Jones, 4 Elm Street, Leeds, LS2 9JT with next day delivery and "
                    "place the order", body, "place.onclick = () => act('place');",
                    {"fields": {"shipname": "Mara Jones", "street": "4 Elm Street", "town": "Leeds",
                                "postcode": "LS2 9JT", "speed": "nextday"}, "actions": ["place"]},
                    covers="labels beside fields, values in one sentence, a select by its option's words")


def _contact_delete() -> Scenario:
    people = [("Anna Berg", "anna@berg.se"), ("Jonas Bergman", "jonas.b@mail.de"), ("Jonas Berg", "jb@post.no"),
              ("Lea Moss", "lea@moss.io")]
    rows = "".join(f"<tr data-who='{n}'><td>{n}</td><td>{e}</td><td class=ic><button class=ed title=Edit>&#9998;"
                   f"</button><button class=rm title=Delete>&#128465;</button></td></tr>" for n, e in people)
    body = ("<style>body{margin:0;font:14px 'Noto Sans',sans-serif;background:#fff;color:#222}"
            "table{margin:40px 0 0 160px;border-collapse:collapse;width:900px}th{text-align:left;background:#f1f3f5}"
            "td,th{padding:12px 14px;border-bottom:1px solid #e9ecef}.ic button{border:0;background:none;"
            "font-size:18px;cursor:pointer;margin-right:6px}" + DIALOG_CSS +
            "#yes{background:#c92a2a;color:#fff;border:0;padding:8px 20px;margin-right:10px}"
            "#no{padding:8px 20px}</style><h2 style='margin:30px 160px 0'>Contacts</h2><table><tr><th>Name</th>"
            "<th>Email</th><th></th></tr>" + rows + "</table><div class=veil id=veil><div class=dialog><p id=q></p>"
            "<button id=yes>Delete</button><button id=no>Keep</button></div></div>")
    script = """let row = null;
for (const b of document.querySelectorAll('.rm')) b.onclick = () => { row = b.closest('tr');
  q.textContent = `Delete ${row.dataset.who}? This cannot be undone.`; veil.classList.add('open'); };
for (const b of document.querySelectorAll('.ed')) b.onclick = () => act('edit ' + b.closest('tr').dataset.who);
yes.onclick = () => { act('delete ' + row.dataset.who); row.remove(); veil.classList.remove('open'); };
no.onclick = () => veil.classList.remove('open');"""
    return Scenario("contact-delete", "Delete the contact Jonas Berg", body, script,
                    {"actions": ["delete Jonas Berg"]},
                    covers="an icon-only row action among look-alike names, a confirmation")


def _view_zoom() -> Scenario:
    body = ("<style>body{margin:0;font:13px 'DejaVu Sans',sans-serif;background:#fdfdfd}"
            ".bar{display:flex;background:#ececec;border-bottom:1px solid #c8c8c8}.bar div{padding:6px 14px;"
            "cursor:default}.bar div:hover{background:#dcdcdc}.m{display:none;position:absolute;background:#fff;"
            "border:1px solid #aaa;min-width:170px;box-shadow:2px 3px 8px rgba(0,0,0,.2)}.m.open{display:block}"
            ".m div{padding:7px 14px}.m div:hover{background:#cfe2ff}.doc{margin:40px 200px;line-height:1.7}"
            ".status{position:fixed;bottom:0;left:0;right:0;background:#ececec;padding:4px 14px}</style>"
            "<div class=bar><div id=file>File</div><div id=edit>Edit</div><div id=view>View</div><div id=help>Help"
            "</div></div><div class=m id=vm style='left:86px;top:28px'><div id=ruler>Show ruler</div><div id=zoom>"
            "Zoom &#9656;</div><div id=full>Full screen</div></div><div class=m id=zm style='left:256px;top:62px'>"
            "<div>50%</div><div>75%</div><div>100%</div><div>150%</div><div>200%</div></div>"
            "<div class=m id=fm style='left:0;top:28px'><div>New</div><div>Open</div><div>Save</div></div>"
            "<div class=doc><h2>Meeting notes</h2><p>Budget review moved to Thursday. Marketing will send the draft "
            "plan by Friday noon; the design team needs two more weeks for the new icons.</p></div>"
            "<div class=status id=st>Zoom: 100%</div>")
    script = """const shut = () => { for (const m of document.querySelectorAll('.m')) m.classList.remove('open'); };
view.onclick = e => { shut(); vm.classList.add('open'); e.stopPropagation(); };
file.onclick = e => { shut(); fm.classList.add('open'); e.stopPropagation(); };
zoom.onmouseenter = () => zm.classList.add('open');
zoom.onclick = e => { zm.classList.add('open'); e.stopPropagation(); };
ruler.onclick = () => { act('ruler'); shut(); }; full.onclick = () => { act('full screen'); shut(); };
for (const d of zm.querySelectorAll('div')) d.onclick = () => { act('zoom ' + d.textContent);
  st.textContent = 'Zoom: ' + d.textContent; shut(); };
for (const d of fm.querySelectorAll('div')) d.onclick = () => { act('file ' + d.textContent); shut(); };
document.body.addEventListener('click', shut);"""
    return Scenario("view-zoom", "Set the zoom to 150% from the View menu", body, script,
                    {"actions": ["zoom 150%"]}, covers="a menu bar, a submenu opened from its item")


def _due_date() -> Scenario:
    body = ("<style>body{margin:0;font:15px 'Liberation Sans',sans-serif;background:#f4f1fa;color:#2b2340}"
            ".ed{margin:60px 0 0 330px;width:560px;background:#fff;padding:24px 30px;border:1px solid #ddd5ee}"
            "label{display:block;margin-top:16px;color:#6a5d8a;font-size:13px}input{padding:9px;font-size:15px;"
            "border:1px solid #bfb3da;width:260px}#pick{border:1px solid #bfb3da;background:#f4f1fa;padding:8px 10px;"
            "margin-left:4px;font-size:16px;cursor:pointer}#cal{display:none;position:absolute;background:#fff;"
            "border:1px solid #bfb3da;padding:10px;width:290px;box-shadow:0 6px 18px rgba(40,20,80,.18)}"
            "#cal.open{display:block}#cal table{width:100%;text-align:center}#cal td{padding:6px;cursor:pointer}"
            "#cal td:hover{background:#e5dcff}.hd{display:flex;justify-content:space-between;margin-bottom:6px}"
            ".hd span{cursor:pointer;padding:0 8px;font-size:18px}.acts{margin-top:26px}.acts button{padding:9px "
            "24px;font-size:15px;margin-right:10px}#save{background:#5f3dc4;color:#fff;border:0}</style>"
            "<div class=ed><h2>Edit task</h2><label for=title>Title</label><input id=title value='Quarterly report'>"
            "<label for=due>Due date</label><input id=due readonly placeholder='dd/mm/yyyy'><button id=pick "
            "title='Choose date'>&#128197;</button><div id=cal><div class=hd><span id=back>&laquo;</span><b id=mon>"
            "</b><span id=fwd>&raquo;</span></div><table id=grid></table></div><div class=acts><button id=save>"
            "Save task</button><button id=cancel>Cancel</button></div></div>")
    script = """let shown = new Date(); shown.setDate(1); const pad = n => String(n).padStart(2, '0');
function draw() { mon.textContent = shown.toLocaleString('en-US', {month: 'long', year: 'numeric'});
  const first = shown.getDay(), n = new Date(shown.getFullYear(), shown.getMonth() + 1, 0).getDate();
  let h = '<tr><th>Su</th><th>Mo</th><th>Tu</th><th>We</th><th>Th</th><th>Fr</th><th>Sa</th></tr><tr>';
  for (let i = 0; i < first; i++) h += '<td></td>';
  for (let d = 1; d <= n; d++) { h += `<td data-d=${d}>${d}</td>`; if ((first + d) % 7 === 0) h += '</tr><tr>'; }
  grid.innerHTML = h + '</tr>';
  for (const td of grid.querySelectorAll('td[data-d]')) td.onclick = () => {
    due.value = `${shown.getFullYear()}-${pad(shown.getMonth() + 1)}-${pad(td.dataset.d)}`;
    cal.classList.remove('open'); };
}
pick.onclick = () => { cal.classList.toggle('open'); draw(); };
back.onclick = () => { shown.setMonth(shown.getMonth() - 1); draw(); };
fwd.onclick = () => { shown.setMonth(shown.getMonth() + 1); draw(); };
save.onclick = () => act('save'); cancel.onclick = () => act('cancel');"""
    want = next_month_day(3)
    return Scenario("due-date-icon", "Set the due date to the 3rd of next month and save the task", body, script,
                    {"fields": {"due": want}, "actions": ["save"]},
                    covers="a read-only date field opened by a calendar icon beside it, weeks from Sunday")


def _flight_suggest() -> Scenario:
    body = ("<style>body{margin:0;font:16px 'DejaVu Sans',sans-serif;background:linear-gradient(#0c8599,#1098ad);"
            "color:#123}.box{margin:110px 0 0 240px;width:800px;background:#fff;border-radius:14px;padding:26px}"
            ".row{display:flex;gap:18px;align-items:flex-end}.f{display:flex;flex-direction:column;font-size:13px;"
            "color:#567}.f input{margin-top:4px;padding:11px;font-size:16px;width:250px;border:1px solid #9bb}"
            "#sug{position:absolute;background:#fff;border:1px solid #9bb;width:272px;display:none}"
            "#sug div{padding:9px 11px}#sug div:hover{background:#e3fafc}#go{padding:12px 22px;font-size:16px;"
            "background:#e8590c;color:#fff;border:0;border-radius:8px}</style><div class=box><h2>Where to next?</h2>"
            "<div class=row><label class=f>From<input id=from value='London'></label><label class=f>To<input id=dest "
            "placeholder='City or airport' autocomplete=off></label><button id=go>Search flights</button></div>"
            "<div id=sug></div></div>")
    script = """const CITIES = ['Barcelona, Spain', 'Bari, Italy', 'Barranquilla, Colombia', 'Basel, Switzerland',
  'Belfast, United Kingdom', 'Berlin, Germany', 'Bergen, Norway', 'Bologna, Italy'];
const place = () => { const r = dest.getBoundingClientRect();
  sug.style.left = r.left + 'px'; sug.style.top = (r.bottom + scrollY) + 'px'; };
dest.addEventListener('input', () => { const q = dest.value.trim().toLowerCase(); place();
  const hits = q ? CITIES.filter(c => c.toLowerCase().startsWith(q)) : [];
  sug.innerHTML = hits.map(c => `<div>${c}</div>`).join(''); sug.style.display = hits.length ? 'block' : 'none';
  for (const d of sug.querySelectorAll('div')) d.onclick = () => { dest.value = d.textContent;
    sug.style.display = 'none'; }; });
go.onclick = () => { const q = dest.value.trim().toLowerCase();
  const hits = CITIES.filter(c => c.toLowerCase().startsWith(q));
  if (q && hits.length === 1) dest.value = hits[0];  // a site takes the one city the words can mean
  act('search'); };"""
    return Scenario("flight-suggest", "Find flights to Barcelona", body, script,
                    {"fields": {"dest": "Barcelona, Spain"}, "actions": ["search"]},
                    covers="a field with suggestions among look-alike names, a prefilled field left alone")


def _newsletter_below() -> Scenario:
    para = ("<p>Your account keeps your orders, addresses and saved payment cards in one place. You can change "
            "the details below at any time; changes take effect the next time you sign in on another device.</p>")
    body = ("<style>body{margin:0;font:16px 'Liberation Sans',sans-serif;background:#fff;color:#333}"
            "main{width:680px;margin:0 auto;padding:30px 0 90px}h2{margin-top:40px}label{display:block;margin:10px 0}"
            "#keep{margin-top:18px;padding:11px 26px;background:#2b8a3e;color:#fff;border:0;font-size:16px}"
            "</style><main><h1>Your account</h1>" + para * 3 + "<h2>Privacy</h2>" + para * 3 +
            "<h2>Email preferences</h2>" + para +
            "<label><input type=checkbox id=announce checked> Product announcements</label>"
            "<label><input type=checkbox id=monthly> Monthly newsletter</label>"
            "<label><input type=checkbox id=partners> Offers from partners</label>"
            "<button id=keep>Save preferences</button></main>")
    return Scenario("newsletter-below", "Sign me up for the monthly newsletter and save my preferences", body,
                    "keep.onclick = () => act('save');", {"fields": {"monthly": True}, "actions": ["save"]},
                    covers="a box and its button below the fold, worded unlike the box")


def _modal_login() -> Scenario:
    body = ("<style>body{margin:0;font:15px 'Noto Sans',sans-serif;background:#101820;color:#e8e8e8}"
            "nav{display:flex;justify-content:space-between;padding:16px 40px;background:#1b2733}"
            "#login{background:#ffd43b;color:#101820;border:0;padding:8px 18px;border-radius:5px;font-size:15px}"
            ".hero{margin:120px 0 0 160px;font-size:38px;width:700px}" + DIALOG_CSS +
            ".dialog{color:#222}.dialog input[type=text],.dialog input[type=password]{display:block;width:360px;"
            "padding:9px;margin:4px 0 12px;font-size:15px}#signin{background:#1971c2;color:#fff;border:0;"
            "padding:9px 26px;font-size:15px;margin-top:8px}.dialog a{margin-left:14px;color:#1971c2}</style>"
            "<nav><b>Orbit Notes</b><button id=login>Log in</button></nav><div class=hero>Write it down before it "
            "drifts away.</div><div class=veil id=veil><div class=dialog><h3>Welcome back</h3>Username<input type=text "
            "id=uname>Password<input type=password id=pw><label><input type=checkbox id=stay> Keep me signed in"
            "</label><br><button id=signin>Sign in</button><a href='#' id=forgot>Forgot password?</a></div></div>")
    script = """login.onclick = () => veil.classList.add('open');
signin.onclick = () => act('sign in'); forgot.onclick = e => { e.preventDefault(); act('forgot'); };"""
    return Scenario("signin-dialog", "Log in as ada_l with the password Engine1843", body, script,
                    {"fields": {"uname": "ada_l", "pw": "Engine1843"}, "actions": ["sign in"]},
                    covers="a sign-in form that opens in a modal dialog, on a dark page")


HELDOUT2: tuple[Scenario, ...] = (_connections(), _shipping_beside(), _contact_delete(), _view_zoom(), _due_date(),
                                  _flight_suggest(), _newsletter_below(), _modal_login())
