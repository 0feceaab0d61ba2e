"""The MiniWoB++ task suites of `omnirt bench miniwob --suite`: DEV, the tasks the desktop agent was developed on, and
HELDOUT, tasks it was never tuned on.

HELDOUT is looked at only to MEASURE, never to tune: no rule, phrasing, threshold or test in agents/ may be written
for one of its tasks or from one of its trajectories (tests/tools/test_bench_miniwob_suites.py fails if a held-out
task's name appears in agents/). A fix that a held-out failure suggests is made, and shown to help, on DEV (or on a
new dev task moved out of HELDOUT for good, which then leaves HELDOUT and is replaced by a new unseen one); the
held-out figure is then measured again as it is.

DEV (as the repository shows it, 2026-12): the commits name 15 dev tasks ("MiniWoB 15 tasks x 5 seeds: 75/75",
42298ba) but not which; DEFAULT_TASKS of the bench, tests/agents/test_agent_miniwob.py and commit 12f5e80 name 11,
and the instruction policy's parser tests (tests/agents/test_agent_grounding.py) and the comments of
agents/policies.py quote the instruction wording of 9 more, all present since the agent's first commit (89b1e67).
All 20 count as DEV: the agent was shaped on their wording, so none of them can measure generalisation. Eight more
joined DEV on 2026-12-04 (see below), replaced in HELDOUT by eight not run before.

HELDOUT was chosen by category (clicking, typing, choosing, forms, popups and dialogs, collapsibles, trees, search
forms, scrolling, tabs) from the installed package's task pages, before any of them was run, preferring plain-English
instructions that MiniWoB's own reward scores. click-test is in neither: the environment opens it as its first page.
Since session 27 collapsibles, tabs and search forms have no held-out task left (every one of them has a sibling
developed on); games, hint searches, dragging and a colour wheel took their places.
"""

from __future__ import annotations

DEV: tuple[str, ...] = (
    # named as benchmarked: DEFAULT_TASKS, tests/agents/test_agent_miniwob.py, commit 12f5e80
    "click-button", "click-link", "enter-text", "focus-text", "click-dialog", "click-checkboxes",
    "login-user", "click-collapsible", "navigate-tree", "click-widget", "click-option",
    # their instructions quoted in the parser's tests or agents/policies.py since the first agent commit
    "click-button-sequence", "click-test-2", "enter-text-2", "focus-text-2", "choose-list", "enter-password",
    "enter-date", "click-tab", "click-checkboxes-soft",
    # held out until 2026-12-04, when the failures the baseline measured on them ("the trash icon to delete it",
    # "5 with the spinner", "the 3rd radio", "the 5th search result", "X from the scroll list", an instruction cut
    # short, "scroll to the bottom") shaped agents/phrases.py and agents/instruction_text.py: seen since
    "click-shape", "email-inbox-delete", "use-spinner", "form-sequence-2", "form-sequence-3", "search-engine",
    "click-scroll-list", "scroll-text-2",
    # added 2026-12-06 from neither suite, to develop reading the screen on (a number shown, rows of numbers, prices
    # and durations on cards): agents/readings.py was written on these, never on a held-out task
    "generate-number", "odd-or-even", "ascending-numbers", "buy-ticket",
    # added 2026-12-06 (later) from neither suite, siblings of held-out tasks (read-table-2, copy-paste-2,
    # choose-date-*) left out as too close to them: to develop answers the screen decides on - objects counted and
    # summed (blocks shown as pictures), shapes counted by a description (a question answered by a numbered
    # button), a cell of a grid read by its axis labels; agents/ reads these kinds in general, never per task
    "visual-addition", "count-shape", "grid-coordinate",
    # added 2026-12-06 (session 20) from neither suite: a piece of a text named by its place, not its words ("the
    # 2nd paragraph", "the paragraph below"), selected with the pointer; agents/selecting.py was written on these.
    # (order-food, email-inbox-forward-nl and terminal were run once at HEAD, 0/3 each, and left out: their items
    # are told by "+" glyphs and icons the grounding does not see, or by 8 px terminal text)
    "highlight-text-2", "highlight-text",
    # added 2026-12-06 (session 24) from neither suite: a pause the instruction asks for ("click ONE, wait 3 seconds,
    # then click TWO"), timed to within 15 %; agents/pausing.py was written on it (0/2 at HEAD, by then 5/5)
    "button-delay",
    # added 2026-12-06 (session 24) from neither suite: a value set with a slider ("Select 5 with the slider"), its knob
    # and the number shown beside it found by layout; agents/sliding.py was written on these
    "form-sequence", "use-slider",
    # added 2026-12-07 (session 25) from neither suite: controls told by an icon, not a word ("click the star icon to
    # mark it as important"), and an email answered or passed on ("reply to them with the text ...", "forward that
    # email to ..."), whose send control is an icon; agents/icons.py was written on these
    "email-inbox-important", "email-inbox-reply", "email-inbox-forward",
    # added 2026-12-07 (session 25), from neither suite, run once at 29adf99 to see how the above carries over
    # (3 seeds: the first three 8/9, the last three, the same requests worded freely, 0/9: "Locate Ann's email and
    # delete it", "send it on to Bo", "the email I got from Ann"); the wording of messages is developed on them since
    "email-inbox", "email-inbox-noscroll", "email-inbox-star-reply", "email-inbox-nl-turk", "email-inbox-forward-nl",
    "email-inbox-forward-nl-turk",
    # added 2026-12-07 (session 26) from neither suite: a search said in one sentence over a form of labelled fields
    # ("Search for surreal movies directed by Baxter from year 1995", 0/2 before); agents/search_forms.py
    "multi-orderings",
    # added 2026-12-07 (session 26) from neither suite, though siblings of held-out tasks: looking through tabs or
    # sections for a link none shows yet ("Switch between the tabs to find and click on the link X", "Expand the
    # sections below, to find and click ..."); agents/exploring.py
    "click-tab-2-easy", "click-tab-2-medium", "click-tab-2-hard", "click-collapsible-2-nodelay",
    # added 2026-12-07 (session 26) from neither suite, a sibling of a held-out task: an entry chosen from a field's
    # suggestions by how it starts and ends ("Enter an item that starts with "Sa" and ends with "ino"", 0/2 before)
    "use-autocomplete-nodelay",
    # moved out of HELDOUT on 2026-12-07 (session 27): their siblings above were developed on in session 26
    # (multi-orderings for multi-layouts, -nodelay / -easy / -medium / -hard for the other three), so they no longer
    # measure unseen work; replaced in HELDOUT by four tasks never run, chosen by kind before any was opened
    "use-autocomplete", "click-collapsible-2", "click-tab-2", "multi-layouts",
    # added 2026-12-07 (session 27) from neither suite: things moved with the pointer ("Drag the item down", "Drag the
    # smaller box so that it is completely inside the larger box", "Drag all circles into the black box"; drag-circle
    # first run as a check, then its white circle drawn only by its outline was fixed on it); agents/dragging.py
    "drag-box", "drag-single-shape", "drag-shapes", "drag-circle",
    # added 2026-12-07 (session 27) from neither suite: "Drag all triangles into the left box, and everything else into
    # the right box" (0/3 at a895e95, 0/6 with the first drag code; 5/6, 6/6 with "everything else" read in
    # agents/dragging.py)
    "drag-shapes-2",
    # added 2026-12-07 (session 27) from neither suite: named items ordered with a row's "+" ("Order one of each item:
    # A, B"; agents/ordering.py), 0/1 by name at HEAD, 1/4 by name after (items above a scrolled list are not looked
    # for yet); its other form, items described by diet icons ("Order 2 items that are meat"), is not read
    "order-food",
    # added 2026-12-07 (session 28) from neither suite: several sliders set in turn ("Set the sliders to the
    # combination [10,18,15] and submit", 0/2 at HEAD): counted in reading order on the first screen, each read by
    # the number on the same side of every slider (agents/sliding.py)
    "use-slider-2",
    # added 2026-12-07 (session 28) from neither suite: a box resized by its grip ("Resize the textarea so that the
    # height is larger than its initial size", 0/2 at HEAD, 4/4 after; agents/resizing.py)
    "resize-textarea",
    # added 2026-12-07 (session 28) from neither suite: text given a style in an editor ("give the text X the style
    # underlined", "give everything the style bold", 0/2 at HEAD; 2/2 of those after, its colour form 0/4 not read;
    # agents/formatting.py). Added after the session's whole-DEV run
    "text-editor",
    # added 2026-12-07 (session 29) from neither suite: controls pressed in the order the page lit them ("Push the
    # buttons in the order displayed", 0/2 at HEAD, 9/9 after): frames watched during a wait (agents/repeating.py,
    # agents/loop.py's watch)
    "simon-says",
    # added 2026-12-07 (session 29) from neither suite: a line drawn through a drawn point ("Draw a vertical line that
    # runs through the dot", 0/2 at HEAD, 10/12 at full credit after, the rest 0.95; agents/geometry.py). Its siblings
    # circle-center, find-midpoint, right-angle and bisect-angle (0/2 each before, raw reward 0.975-1.0 after) stay
    # out: their pages score full credit only for a point half a css pixel off the drawn centre, or an exact angle
    "draw-line",
    # added 2026-12-07 (session 30) from neither suite: a file removed at a command line ("Use the terminal below to
    # delete a file ending with the extension .py", 0/2 at HEAD, 9/9 after; agents/shell.py), an event dragged on a
    # day calendar ("Create a 1 hour event named X, between 12PM and 4PM", 0/2 at HEAD, 9/9 after;
    # agents/scheduling.py) and a circle drawn around a point (0/2 at HEAD, 8/8 after; agents/geometry.py's trace)
    "terminal",
    "daily-calendar",
    "draw-circle",
)

HELDOUT: tuple[str, ...] = (
    # clicking
    "click-color",            # click the box of a named colour
    "unicode-test",           # click the button whose label is a given unicode string
    "social-media",           # in a feed of posts, click an action button ("Like", "Reply") of a named user
    # typing
    "enter-text-dynamic",     # type a given string into a text field whose text is changed by the page
    "enter-time",             # type a time ("2:45 PM") into a time input and submit
    "copy-paste",             # copy a textarea's text and paste it into a text box (keyboard chords)
    "find-word",              # read the Nth word of a paragraph and type it into a text box
    "read-table",             # look up a labelled value in a table and type it into a field
    # choosing
    "choose-date",            # pick a date in a jQuery-UI date picker (month navigation)
    "click-shades",           # select every box of one colour family among colour swatches
    # forms
    "book-flight",            # fill a flight-search form (from, to, date), then book the cheapest or shortest
    # popups and dialogs
    "click-dialog-2",         # click the dialog's button with a given label (not its close button)
    "login-user-popup",       # log in with a username and password while a popup may cover the form
    "click-menu-2",           # open a "Menu" button's popup menu and click a named (or iconed) item
    "click-pie",              # open a pie menu and click the item with a given label
    # trees (nested menus)
    "click-menu",             # follow a nested menu path ("Select Xx>Yy"): hover to open submenus, click a leaf
    "phone-book",             # page through a contact book to find a person and click their phone/email/address
    # scrolling
    "scroll-text",            # scroll a textarea to its last word and type that word into a field
    # added 2026-12-04 in place of the eight that became seen (chosen by kind, not run before they were added)
    "identify-shape",         # click the button that names the shape shown
    "count-sides",            # click the button with the number of sides of the shape shown
    "hover-shape",            # hover over a shape to reveal it, then click the one asked for
    "find-greatest",          # turn over cards and click the one with the greatest number
    "simple-arithmetic",      # type the result of a small sum into a field and submit
    "simple-algebra",         # type the value of x that solves a small equation and submit
    "text-transform",         # type a distorted word shown in an image-like box and submit
    "guess-number",           # guess a number with "higher"/"lower" hints, typed into a field
    # added 2026-12-07 (session 27) in place of four whose siblings were developed on (see DEV), by kind, never run
    "use-colorwheel-2",       # choosing: pick a named colour on a colour wheel and submit
    "tic-tac-toe",            # a game: place marks on a board to win
    "hot-cold",               # searching by hints: find a hidden spot from "hotter"/"colder" answers
    "drag-items",             # dragging: move a list item to the place asked for
)

SUITES: dict[str, tuple[str, ...]] = {"dev": DEV, "heldout": HELDOUT, "all": DEV + HELDOUT}
