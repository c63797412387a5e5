"""The HTML index of the map set: every municipality, sortable and searchable, no external asset."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Any

import geopandas as gpd

from .._html import escape, format_value
from ..errors import InputError, MissingColumnError
from . import _prepare as P

__all__ = ["index_page"]

# (column, header, kind): kind "num" sorts numerically; "text" alphabetically.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("rank", "Rank", "num"),
    ("name", "Municipality", "text"),
    ("index", "Milieu index", "num"),
    ("rank_range", "Rank if weights vary", "num"),
    ("density", "Density", "num"),
    ("diversity", "Diversity", "num"),
    ("dynamics", "Dynamics", "num"),
    ("directionality", "Directionality", "num"),
    ("minutes_airport", "Airport (min)", "num"),
    ("minutes_tgv_station", "TGV station (min)", "num"),
    ("minutes_motorway_access", "Motorway (min)", "num"),
    ("minutes_chamber_of_commerce", "Chamber of commerce (min)", "num"),
    ("n_smes", "SMEs", "num"),
    ("population", "Population", "num"),
    ("epci_name", "EPCI", "text"),
    ("insee", "INSEE", "text"),
)

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1f1f1f;margin:0;background:#f6f7f9}
header{background:#253494;color:#fff;padding:14px 22px}
header h1{margin:0 0 4px;font-size:21px}
header p{margin:0;opacity:.92}
header a{color:#fff;font-weight:600}
main{padding:12px 22px 30px}
.tools{display:flex;gap:14px;align-items:center;flex-wrap:wrap;margin:6px 0 10px}
#q{font-size:15px;padding:6px 10px;width:380px;max-width:90vw;border:1px solid #aab;border-radius:5px}
.note{background:#fff4d6;border-left:3px solid #d99a00;padding:5px 9px;margin:8px 0;font-size:13px;max-width:1100px}
.wrap{overflow:auto;max-height:calc(100vh - 220px);background:#fff;border:1px solid #d5d8de;border-radius:6px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:4px 8px;border-bottom:1px solid #eceef2;white-space:nowrap}
td.wrap{white-space:normal;min-width:250px;max-width:320px}
th.num{white-space:normal;max-width:110px;vertical-align:bottom}
th{position:sticky;top:0;background:#eef0f5;text-align:left;cursor:pointer;user-select:none;z-index:1}
th.num,td.num{text-align:right;font-variant-numeric:tabular-nums}
th[aria-sort=ascending]::after{content:" ▲";font-size:10px}
th[aria-sort=descending]::after{content:" ▼";font-size:10px}
tbody tr:hover{background:#f1f5ff}
.chip{display:inline-block;width:11px;height:11px;border:1px solid rgba(0,0,0,.35);margin-right:6px;vertical-align:-1px}
footer{font-size:12px;color:#555;margin-top:12px;max-width:1100px}
footer li{margin:1px 0}
"""

SCRIPT = r"""
(function () {
  var table = document.getElementById("municipalities");
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var count = document.getElementById("count");
  var q = document.getElementById("q");
  function fold(s) { return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase(); }
  var keys = rows.map(function (r) { return fold(r.getAttribute("data-search")); });
  function filter() {
    var words = fold(q.value).split(/\s+/).filter(Boolean), shown = 0;
    rows.forEach(function (r, i) {
      var ok = words.every(function (w) { return keys[i].indexOf(w) >= 0; });
      r.hidden = !ok; if (ok) shown++;
    });
    count.textContent = shown + " of " + rows.length + " municipalities";
  }
  q.addEventListener("input", filter);
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    th.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var num = th.classList.contains("num");
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-v"), y = b.cells[col].getAttribute("data-v");
        var c = num ? (parseFloat(x) - parseFloat(y)) : x.localeCompare(y, "fr");
        if (isNaN(c)) { c = isNaN(parseFloat(x)) ? (isNaN(parseFloat(y)) ? 0 : 1) : -1; return c; }
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  filter();
})();
"""


def _cell_value(value: Any) -> str:
    """The sort key of a numeric cell ('' for missing or infinite: sorted last)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return ""
    return "" if not math.isfinite(f) else repr(f)


def index_page(
    scores: Any,
    *,
    title: str = "Municipalities: internationalising-milieu index",
    link_pages: bool | Collection[str] = True,
    attribution: Sequence[str] = (),
) -> str:
    """A standalone HTML page listing every municipality with its scores and ranks.

    The table sorts by any column (click its header) and filters as one types
    (accent-insensitive, on name, INSEE code and EPCI); it uses a few lines of vanilla
    JavaScript and no external asset. Names link to ``communes/<insee>.html`` and the
    header to ``overview.html`` (the layout :func:`build_maps` writes). Every text from the
    data is escaped.

    Parameters
    ----------
    scores : proximity.scores.ScoreResult
        The scores of a territory.
    title : str
        Page title (escaped).
    link_pages : bool or collection of str, default True
        Which municipalities link to their page: all (True), none (False), or these INSEE codes.
    attribution : sequence of str
        Source lines for the footer (e.g. :func:`proximity.datasets.attributions`).

    Returns
    -------
    str
        The HTML document.

    Raises
    ------
    InputError
        ``scores`` is not a ScoreResult.
    MissingColumnError
        A listed column is missing.

    Examples
    --------
    Scoring the territory takes about a minute, so the example is not run as a doctest:

    >>> from proximity.scores import score_territory
    >>> html = index_page(score_territory(t))  # doctest: +SKIP
    >>> html.count("<tr data-insee=")  # doctest: +SKIP
    341
    """
    munis = getattr(scores, "municipalities", None)
    if not isinstance(munis, gpd.GeoDataFrame):
        raise InputError(
            f"scores must be the ScoreResult of proximity.scores.score_territory(territory), got {type(scores).__name__}"
        )
    needed = [c for c, _, _ in COLUMNS if c not in ("rank_range", "n_smes")] + ["rank_low", "rank_high"]
    missing = [c for c in needed if c not in munis.columns]
    if missing:
        raise MissingColumnError(
            f"scores.municipalities lacks columns {missing}; pass the result of proximity.scores.score_territory(territory)"
        )
    if isinstance(link_pages, bool):
        linked = set(munis.index) if link_pages else set()
    elif isinstance(link_pages, str) or not isinstance(link_pages, Collection):
        raise InputError(
            f"link_pages must be True/False or a collection of INSEE codes, got {type(link_pages).__name__}"
        )
    else:
        linked = set(map(str, link_pages))
    synthetic = bool(getattr(scores, "summary", {}).get("smes_synthetic", False))
    classes = P.classify(munis["index"].astype(float), P.VARIABLES[0], k=6)
    n = len(munis)
    by_key = {v.key: v for v in P.VARIABLES}

    head = "".join(
        f'<th class="{kind}" scope="col">{escape(label + (" (synthetic)" if key == "n_smes" and synthetic else ""))}</th>'
        for key, label, kind in COLUMNS
        if key != "n_smes" or "n_smes" in munis.columns
    )
    body = []
    for insee, r in munis.sort_values("rank").iterrows():
        cells = []
        for key, _, _kind in COLUMNS:
            if key == "n_smes" and "n_smes" not in munis.columns:
                continue
            if key == "name":
                text = escape(r["name"])
                if insee in linked:
                    text = f'<a href="communes/{escape(insee)}.html">{text}</a>'
                cells.append(f'<td data-v="{escape(r["name"])}">{text}</td>')
            elif key in ("insee", "epci_name"):
                wrap = ' class="wrap"' if key == "epci_name" else ""
                cells.append(f'<td{wrap} data-v="{escape(r[key])}">{escape(r[key])}</td>')
            elif key == "rank_range":
                cells.append(
                    f'<td class="num" data-v="{_cell_value(r["rank_low"])}">{int(r["rank_low"])}–{int(r["rank_high"])}</td>'
                )
            elif key == "index":
                c = int(classes.codes.loc[insee])
                chip = f'<span class="chip" style="background:{classes.colors[c]}"></span>' if c >= 0 else ""
                cells.append(
                    f'<td class="num" data-v="{_cell_value(r[key])}">{chip}{escape(by_key[key].fmt(float(r[key])))}</td>'
                )
            elif key in by_key:
                v = float(r[key])
                text = by_key[key].fmt(v).replace(" min", "")
                cells.append(f'<td class="num" data-v="{_cell_value(v)}">{escape(text)}</td>')
            else:
                cells.append(f'<td class="num" data-v="{_cell_value(r[key])}">{escape(format_value(int(r[key])))}</td>')
        search = f"{r['name']} {insee} {r['epci_name']}"
        body.append(f'<tr data-insee="{escape(insee)}" data-search="{escape(search)}">' + "".join(cells) + "</tr>")

    notes = []
    if synthetic:
        notes.append(f'<div class="note">{escape(P.SYNTHETIC_NOTE)}</div>')
    notes.append(f'<div class="note">{escape(P.APPROXIMATE_NOTE)}</div>')
    sources = "".join(f"<li>{escape(line)}</li>" for line in attribution)
    footer = (
        "<footer><p>Index: weighted mean of four components (density, diversity, dynamics, directionality), "
        "each 0–1; rank 1 is best; “rank if weights vary” is the 5–95 % range of ranks when the component "
        "weights are drawn at random around the profile's. Times are population-weighted minutes by car.</p>"
        + (f"<p>Sources:</p><ul>{sources}</ul>" if sources else "")
        + "</footer>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{n} municipalities ranked by their internationalising-milieu index. "
        '<a href="overview.html">Open the overview map →</a></p></header><main>'
        '<div class="tools"><input id="q" type="search" placeholder="Search a municipality, INSEE code or EPCI…" '
        'aria-label="Search municipalities" autocomplete="off"><span id="count"></span>'
        "<span>Click a column header to sort.</span></div>"
        + "".join(notes)
        + f'<div class="wrap"><table id="municipalities"><thead><tr>{head}</tr></thead><tbody>'
        + "".join(body)
        + "</tbody></table></div>"
        + footer
        + f"</main><script>{SCRIPT}</script></body></html>\n"
    )
