"""Random small web UIs for the widget detector's training data, written from a seed alone.

`page(seed)` returns the HTML and viewport of one random page: a MiniWoB++-style task (yellow 10 px instruction
over a 160x210 white area on a grey page, default Chromium controls) or a larger form/content page (tables of
labelled fields, choice groups, toolbars of icons and links, cards, paragraphs with inline links), with random fonts,
sizes, colours, zoom, control styles and distractors (headings, pictures, progress bars, tags). The same seed gives
the same page, so a dataset is reproducible from its seed list. The page carries no labels: render.py reads what
each element is from the DOM.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass

KINDS = ("checkbox", "radio", "text field", "button", "link", "dropdown", "slider", "icon")


@dataclass(frozen=True)
class Page:
    """A page to render: its HTML and the viewport (CSS px = screen px at device scale 1)."""

    html: str
    width: int
    height: int


# ------------------------------------------------------------------ random content

_UI = ("Submit OK Cancel Next Previous Yes No Save Delete Search Login Sign up Send Reply Back Close Apply Reset Edit "
       "Name Email Password Address City Phone Username Comment Title Date Amount Notes Country Message Go More "
       "Help Home About Contact Settings Profile Logout Cart Buy Share Like Follow Remove Add Update Download").split()
_SYL = ("ka ro mi ne tu sa li po ve da fe ga hi jo lu ma ni pe qui ra se ti vo wa xe yo zu bel cor den fin gal "
        "hor jin kel lom mur nor pim quas rut sol tam vin").split()
_FONTS = ("Arial", "Helvetica", "Liberation Sans", "DejaVu Sans", "Verdana", "Times New Roman", "Georgia",
          "DejaVu Serif", "Liberation Mono", "Courier New", "Liberation Sans Narrow", "DejaVu Sans Condensed")
_GLYPHS = "★☆✓✔✕✖✗✎✉☰⚙♥♡⌂▶◀▲▼↻⟳☎⚑✚⊕⊗⋮⋯⬇⬆➜☂⚲⌕♫✂"  # all in DejaVu (no tofu)


def _word(r: random.Random) -> str:
    if r.random() < 0.5:
        return r.choice(_UI)
    w = "".join(r.choice(_SYL) for _ in range(r.randint(1, 3)))
    return w.capitalize() if r.random() < 0.5 else w


def _words(r: random.Random, lo: int, hi: int) -> str:
    return " ".join(_word(r) for _ in range(r.randint(lo, hi)))


def _rgb(r: random.Random, lo: int = 0, hi: int = 255) -> str:
    return "#%02x%02x%02x" % tuple(r.randint(lo, hi) for _ in range(3))


def _svg(r: random.Random, size: int, col: str) -> str:
    s, h = size, size / 2
    shapes = [f'<circle cx="{h}" cy="{h}" r="{h * 0.8:.1f}" fill="none" stroke="{col}" stroke-width="2"/>',
              f'<path d="M{s * .2} {s * .2}L{s * .8} {s * .8}M{s * .8} {s * .2}L{s * .2} {s * .8}" stroke="{col}" '
              f'stroke-width="2"/>',
              "".join(f'<rect x="{s * .15}" y="{s * f}" width="{s * .7}" height="{max(1.5, s * .12):.1f}" '
                      f'fill="{col}"/>' for f in (.2, .45, .7)),
              f'<polygon points="{h},{s * .1} {s * .9},{s * .9} {s * .1},{s * .9}" fill="{col}"/>',
              f'<circle cx="{s * .42}" cy="{s * .42}" r="{s * .28:.1f}" fill="none" stroke="{col}" stroke-width="2"/>'
              f'<path d="M{s * .62} {s * .62}L{s * .9} {s * .9}" stroke="{col}" stroke-width="2.5"/>',
              f'<rect x="{s * .1}" y="{s * .1}" width="{s * .8}" height="{s * .8}" rx="{s * .2}" fill="{col}"/>'
              f'<path d="M{s * .3} {h}L{s * .7} {h}M{h} {s * .3}L{h} {s * .7}" stroke="#fff" stroke-width="2"/>',
              f'<path d="M{s * .15} {h}L{s * .4} {s * .8}L{s * .85} {s * .2}" fill="none" stroke="{col}" '
              f'stroke-width="2.5"/>',
              f'<path d="M{h} {s * .1}L{s * .9} {h}L{h} {s * .9}L{s * .1} {h}Z" fill="{col}"/>',
              f'<polygon points="{h},{s * .08} {s * .62},{s * .38} {s * .95},{s * .4} {s * .7},{s * .62} {s * .8},'
              f'{s * .93} {h},{s * .75} {s * .2},{s * .93} {s * .3},{s * .62} {s * .05},{s * .4} {s * .38},{s * .38}" '
              f'fill="{r.choice(("none", col))}" stroke="{col}" stroke-width="1.5"/>',
              f'<path d="M{s * .2} {s * .25}H{s * .8}M{s * .4} {s * .25}V{s * .12}H{s * .6}V{s * .25}M{s * .28} '
              f'{s * .25}L{s * .33} {s * .9}H{s * .67}L{s * .72} {s * .25}" fill="none" stroke="{col}" '
              f'stroke-width="1.5"/>']
    return (f'<svg role="img" width="{s}" height="{s}" viewBox="0 0 {s} {s}" style="vertical-align:middle;'
            f'margin:{r.randint(1, 6)}px">{r.choice(shapes)}</svg>')


class _Gen:
    """One page's random style and widget makers."""

    def __init__(self, r: random.Random, small: bool) -> None:
        self.r = r
        self.maxw = 150 if small else 320  # MiniWoB's area is 160 px wide
        dark = not small and r.random() < 0.12
        self.fg = _rgb(r, 200, 255) if dark else _rgb(r, 0, 70)
        self.bg = _rgb(r, 20, 60) if dark else (_rgb(r, 225, 255) if r.random() < 0.6 else "#ffffff")
        self.fs = r.choice((9, 10, 10, 10, 11, 12)) if small else r.randint(11, 18)
        self.font = r.choice(_FONTS[:3]) if small and r.random() < 0.7 else r.choice(_FONTS)
        self.accent = _rgb(r, 0, 200) if r.random() < 0.3 else ""
        self.link_col = r.choice(("#0000ee", "#0000ee", "#1a0dab", "#06c", _rgb(r, 0, 160)))
        self.underline = r.random() < 0.75
        self.custom_btn = r.random() < (0.25 if small else 0.55)
        self.btn_bg, self.btn_radius = _rgb(r, 30, 230), r.choice((0, 2, 3, 4, 6, 12, 20))
        self.custom_in = r.random() < (0.2 if small else 0.5)
        self.in_border, self.in_radius = _rgb(r, 90, 210), r.choice((0, 2, 3, 4, 8))

    def css(self) -> str:
        r = self.r
        s = [f"body{{margin:0;font-family:'{self.font}';font-size:{self.fs}px;color:{self.fg};background:{self.bg}}}",
             f"a,.alink{{color:{self.link_col};text-decoration:{'underline' if self.underline else 'none'};"
             "cursor:pointer}"]
        if self.accent:
            s.append(f"input{{accent-color:{self.accent}}}")
        if self.custom_btn:
            light = sum(int(self.btn_bg[i:i + 2], 16) for i in (1, 3, 5)) > 400
            s.append(f".cb{{background:{self.btn_bg};color:{'#222' if light else '#fff'};border:"
                     f"{r.choice(('none', '1px solid #888', '1px solid ' + self.btn_bg))};border-radius:"
                     f"{self.btn_radius}px;padding:{r.randint(2, 8)}px {r.randint(6, 18)}px;font-size:inherit}}")
        s.append(f".rb{{display:inline-block;background:{_rgb(r, 40, 220)};color:#fff;border-radius:"
                 f"{r.randint(0, 10)}px;padding:{r.randint(3, 8)}px {r.randint(8, 16)}px;cursor:pointer}}")
        if self.custom_in:
            s.append(f".ci{{border:1px solid {self.in_border};border-radius:{self.in_radius}px;padding:"
                     f"{r.randint(2, 7)}px {r.randint(3, 8)}px;font-size:inherit;background:"
                     f"{r.choice(('#fff', '#fff', '#f7f7f7', '#fffbe6'))}}}")
        s.append(".sl{display:inline-block;position:relative;height:.8em;border:1px solid #c5c5c5;background:#fff;"
                 "border-radius:3px;margin:8px;vertical-align:middle}.sl span{position:absolute;top:-.3em;"
                 f"width:1.2em;height:1.2em;margin-left:-.6em;border:1px solid #c5c5c5;background:"
                 f"{r.choice(('#f6f6f6', '#f6f6f6', '#007fff', '#e6e6e6'))};border-radius:3px}}")
        return "".join(s)

    # -- widgets: each returns an HTML fragment
    def checkbox(self, kind: str = "checkbox") -> str:
        r = self.r
        w = f' style="width:{r.choice((16, 20, 24))}px"' if r.random() < 0.15 else ""
        box = f'<input type="{kind}" name="g{r.randint(0, 3)}"{" checked" if r.random() < 0.35 else ""}{w}>'
        lab = _words(self.r, 1, 2)
        return f"<label>{box}{lab}</label>" if r.random() < 0.8 else f"<label>{lab} {box}</label>"

    def text_field(self) -> str:
        r = self.r
        cls = ' class="ci"' if self.custom_in and r.random() < 0.8 else ""
        if r.random() < 0.12:
            return (f'<textarea{cls} rows="{r.randint(2, 4)}" cols="{r.randint(8, self.maxw // 8)}">'
                    f'{_words(r, 0, 4) if r.random() < 0.5 else ""}</textarea>')
        ty = r.choice(("text", "text", "text", "password", "email", "search", "number", "tel"))
        extra = ""
        if r.random() < 0.35:
            extra = f' placeholder="{_words(r, 1, 2)}"'
        elif r.random() < 0.4:
            extra = f' value="{r.randint(0, 9999) if ty == "number" else _words(r, 1, 2)}"'
        w = f' style="width:{r.randint(40, self.maxw)}px"' if r.random() < 0.6 else ""
        return f'<input type="{ty}"{cls}{extra}{w}>'

    def button(self) -> str:
        r = self.r
        txt = _word(r) if r.random() < 0.7 else _words(r, 1, 3)
        u = r.random()
        if u < 0.12:
            return f'<span role="button" class="rb">{txt}</span>'
        cls = ' class="cb"' if self.custom_btn and r.random() < 0.85 else ""
        if u < 0.25:
            return f'<input type="{r.choice(("submit", "button", "reset"))}"{cls} value="{txt}">'
        if u < 0.33:
            icon = _svg(r, r.randint(10, 16), "currentColor")
            return f'<button{cls}>{icon}{txt if r.random() < 0.6 else ""}</button>'
        pad = f' style="padding:{r.randint(1, 8)}px {r.randint(4, 25)}px"' if not cls and r.random() < 0.3 else ""
        return f"<button{cls}{pad}>{txt}</button>"

    def link(self) -> str:
        r = self.r
        txt = _words(r, 1, 3)
        if r.random() < 0.15:
            return f'<span role="link" class="alink">{txt}</span>'
        return f'<a href="#">{txt}</a>'

    def dropdown(self) -> str:
        r = self.r
        opts = "".join(f"<option>{_words(r, 1, 2)}</option>" for _ in range(r.randint(1, 5)))
        st = f"width:{r.randint(50, min(220, self.maxw))}px;" if r.random() < 0.4 else ""
        if self.custom_in and r.random() < 0.5:
            st += f"border:1px solid {self.in_border};border-radius:{self.in_radius}px;padding:{r.randint(1, 6)}px"
        return f'<select style="{st}">{opts}</select>'

    def slider(self) -> str:
        r = self.r
        w = r.randint(50, min(220, self.maxw - 10))
        if r.random() < 0.3:  # jQuery-UI-like custom slider (MiniWoB's use-slider), sometimes upright
            p = r.randint(0, 100)
            if r.random() < 0.35:
                return (f'<div role="slider" class="sl" style="width:.8em;height:{r.randint(40, 120)}px">'
                        f'<span style="left:-.3em;top:auto;bottom:{p}%;margin:0 0 -.6em 0"></span></div>')
            return f'<div role="slider" class="sl" style="width:{w}px"><span style="left:{p}%"></span></div>'
        return f'<input type="range" value="{r.randint(0, 100)}"{f" style=width:{w}px" if r.random() < 0.6 else ""}>'

    def icon(self) -> str:
        r = self.r
        col = _rgb(r, 0, 180) if r.random() < 0.6 else self.fg
        size = r.randint(10, 26)
        u = r.random()
        if u < 0.4:
            return _svg(r, size, col)
        if u < 0.55:  # an <img>: the DOM calls it an icon by its size alone
            svg = _svg(r, size, col).replace(' role="img"', ' xmlns="http://www.w3.org/2000/svg"')
            return (f'<img src="data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}" '
                    f'style="vertical-align:middle;opacity:{r.choice((1, 1, 0.6))}">')
        # a glyph in an em square, the way icon fonts are set, so its box does not depend on the glyph's metrics
        return (f'<span role="img" style="display:inline-block;width:1.15em;line-height:1.15em;text-align:center;'
                f'font-size:{size}px;color:{col};margin:0 {r.randint(1, 6)}px;cursor:pointer;vertical-align:middle">'
                f"{r.choice(_GLYPHS)}</span>")

    def widget(self, weights: tuple[float, ...] = (3, 2.5, 3, 3, 3, 1.5, 1.8, 2.5)) -> str:
        k = self.r.choices(KINDS, weights)[0]
        return {"checkbox": lambda: self.checkbox("checkbox"), "radio": lambda: self.checkbox("radio"),
                "text field": self.text_field, "button": self.button, "link": self.link,
                "dropdown": self.dropdown, "slider": self.slider, "icon": self.icon}[k]()

    # -- distractors (no widget inside unless said)
    def paragraph(self) -> str:
        r = self.r
        parts = []
        for _ in range(r.randint(1, 4)):
            parts.append(_words(r, 3, 12))
            if r.random() < 0.4:
                parts.append(self.link())
        return f'<p style="margin:{r.randint(2, 12)}px 0">{" ".join(parts)}</p>'

    def decor(self) -> str:
        r = self.r
        u = r.random()
        if u < 0.3:
            n = r.randint(1, 4)
            return f"<h{n} style='margin:4px 0'>{_words(r, 1, 4)}</h{n}>"
        if u < 0.4:
            return "<hr>"
        if u < 0.55:  # a picture (too big to be an icon)
            return (f'<div role="{r.choice(("img", "none"))}" style="display:inline-block;width:{r.randint(60, 200)}px;'
                    f'height:{r.randint(50, 120)}px;background:linear-gradient({r.randint(0, 180)}deg,{_rgb(r)},'
                    f'{_rgb(r)});margin:4px"></div>')
        if u < 0.62:
            return f'<progress value="{r.randint(0, 100)}" max="100"></progress>'
        if u < 0.72:
            return (f'<span style="background:{_rgb(r, 120, 240)};border-radius:8px;padding:1px 6px;'
                    f'font-size:0.8em">{_word(r)}</span>')
        if u < 0.8:  # small grey meta text (names, handles, times), which is not a link
            return (f'<div><b>{_word(r)}</b> <span style="color:{_rgb(r, 100, 160)};font-size:0.85em">@{_word(r)} '
                    f"&middot; {r.randint(1, 59)}{r.choice('smhd')} ago</span></div>")
        return self.paragraph()


def _block(g: _Gen) -> str:
    """A piece of a larger page: a form, a choice group, a toolbar, a table, cards, or text."""
    r = g.r
    u = r.random()
    if u < 0.25:  # labelled fields
        rows = [(f"{_words(r, 1, 2)}:", r.choice((g.text_field, g.text_field, g.dropdown, g.slider))())
                for _ in range(r.randint(1, 5))]
        if r.random() < 0.5:
            return "<table>" + "".join(f"<tr><td>{a}</td><td>{b}</td></tr>" for a, b in rows) + "</table>"
        return "".join(f'<div style="margin:{r.randint(2, 10)}px 0">{a}{"<br>" if r.random() < 0.5 else " "}{b}'
                       "</div>" for a, b in rows)
    if u < 0.40:  # a group of checkboxes or radios
        kind = r.choice(("checkbox", "radio"))
        sep = r.choice(("<br>", " ", "&nbsp;&nbsp;"))
        return f"<div>{_words(r, 1, 3)}<br>{sep.join(g.checkbox(kind) for _ in range(r.randint(2, 6)))}</div>"
    if u < 0.50:  # buttons
        return f'<div style="margin:6px 0">{" ".join(g.button() for _ in range(r.randint(1, 4)))}</div>'
    if u < 0.58:  # toolbar of icons and links
        items = [g.icon() if r.random() < 0.6 else g.link() for _ in range(r.randint(3, 10))]
        return f'<div style="background:{_rgb(r, 200, 255)};padding:{r.randint(2, 8)}px">{" ".join(items)}</div>'
    if u < 0.66:  # list of links
        tag = r.choice(("ul", "div"))
        items = "".join(f"<{'li' if tag == 'ul' else 'div'}>{g.link()}</{'li' if tag == 'ul' else 'div'}>"
                        for _ in range(r.randint(2, 6)))
        return f"<{tag}>{items}</{tag}>"
    if u < 0.76:  # table with a checkbox column, links and small buttons
        rows = "".join(f'<tr><td>{g.checkbox("checkbox") if r.random() < 0.7 else ""}</td><td>{_words(r, 1, 3)}</td>'
                       f"<td>{g.link() if r.random() < 0.5 else _word(r)}</td>"
                       f"<td>{g.widget() if r.random() < 0.5 else ''}</td></tr>" for _ in range(r.randint(2, 6)))
        return f'<table border="{r.choice((0, 1))}" cellpadding="{r.randint(1, 5)}">{rows}</table>'
    if u < 0.86:  # cards
        cards = "".join(f'<div style="border:1px solid {_rgb(r, 150, 230)};border-radius:{r.randint(0, 8)}px;padding:'
                        f'{r.randint(4, 12)}px;margin:4px;display:inline-block;vertical-align:top;width:'
                        f'{r.randint(100, 220)}px">{g.icon() if r.random() < 0.5 else ""}<b>{_words(r, 1, 3)}</b>'
                        f"<div>{_words(r, 3, 10)}</div>{g.widget()}</div>" for _ in range(r.randint(1, 4)))
        return f"<div>{cards}</div>"
    if u < 0.93:
        return g.paragraph()
    return g.decor()


def page(seed: int) -> Page:
    """A random page from `seed` alone (same seed, same page)."""
    r = random.Random(seed)
    if r.random() < 0.45:
        return _miniwob(r)
    g = _Gen(r, small=False)
    w, h = r.randint(300, 1280), r.randint(220, 800)
    cols = 1 if w < 600 else r.randint(1, 3)
    col_html = ["".join(_block(g) if r.random() < 0.8 else g.decor() for _ in range(r.randint(2, 7)))
                for _ in range(cols)]
    nav = ""
    if r.random() < 0.5:
        items = [g.link() if r.random() < 0.6 else (g.icon() if r.random() < 0.5 else g.button())
                 for _ in range(r.randint(2, 8))]
        nav = (f'<div style="background:{_rgb(r, 0, 255)};padding:{r.randint(3, 12)}px">'
               + "&nbsp; ".join(items) + "</div>")
    zoom = 1.0 if r.random() < 0.5 else round(r.uniform(0.8, 1.5), 2)
    body = (f'{nav}<div style="zoom:{zoom};padding:{r.randint(4, 30)}px;display:flex;gap:{r.randint(8, 40)}px">'
            + "".join(f'<div style="flex:1">{c}</div>' for c in col_html) + "</div>")
    return Page(f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{g.css()}</style></head><body>{body}"
                "</body></html>", w, h)


def _miniwob(r: random.Random) -> Page:
    """A MiniWoB++-like task: yellow 10 px instruction over a 160x210 white area on a grey page."""
    g = _Gen(r, small=True)
    n = r.randint(1, 8)
    fam = r.random()
    if fam < 0.25:  # absolutely placed, like click-button / click-widget tasks
        items = "".join(f'<div style="position:absolute;left:{r.randint(0, 120)}px;top:{r.randint(0, 130)}px">'
                        f"{g.widget()}</div>" for _ in range(n))
        area = f'<div style="position:relative;height:150px">{items}</div>'
    elif fam < 0.55:  # one kind repeated, like click-checkboxes / click-option / click-link
        kind = r.choice(KINDS)
        weights = tuple(6 if k == kind else 0.3 for k in KINDS)
        area = "<br>".join(g.widget(weights) for _ in range(n))
    else:
        sep = lambda: r.choice(("<br>", " ", "<br>"))  # noqa: E731
        area = "".join((g.paragraph() if r.random() < 0.15 else g.widget()) + sep() for _ in range(n))
    sub = '<br><button class="secondary-action" style="padding:6px 25px">Submit</button>' if r.random() < 0.4 else ""
    css = (g.css() + "body{background:#555}#wrap{width:160px;height:210px;background:#fff;overflow:hidden}"
           "#query{background:#ff0;font-size:10px;height:44px;padding:3px}#area{font-size:10px;padding:2px}"
           "#area input[type=text]{width:120px}")
    if r.random() < 0.3:
        css += f"#area{{font-size:{r.randint(9, 13)}px}}"
    html = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{css}</style></head><body><div id='wrap'>"
            f"<div id='query'>{_words(r, 4, 12)}</div><div id='area'>{area}{sub}</div></div></body></html>")
    return Page(html, r.randint(160, 480), r.randint(210, 330))
