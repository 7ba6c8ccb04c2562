"""Self-contained HTML pages of a student's card, a report and a sync, with their charts.

Each page is one file that opens without a network: its styles are inline, its charts
inline SVG drawn by matplotlib (its SVG backend, no pyplot state), its text laid out by
the Jinja2 templates of ``tracker/templates`` with autoescaping on, so that every text
that came from Canvas or from a person (a name holding ``<script>``) shows as text. The
charts hold no such text: only dates, percentages and grade bands.

matplotlib and Jinja2 come with the ``html`` extra (``pip install 'tracker[html]'``);
without them every page function raises ConfigurationError saying so.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tracker import __version__, analytics, sync
from tracker.errors import ConfigurationError

__all__ = ["INSTALL", "distribution_svg", "report_page", "require", "student_page",
           "sync_page", "trajectory_svg"]

#: What to install for HTML pages, as the error says it.
INSTALL = "pip install 'tracker[html]'"

#: At most this many small trajectories on a report page (each is a chart to draw).
MAX_TRAJECTORIES = 200

#: The bands of canvas.course_figures' score distribution, in the order drawn.
BANDS = ("A", "B", "C", "D", "F", "none")


def require() -> None:
    """Raise ConfigurationError, saying what to install, when matplotlib or Jinja2 is
    missing; a command calls it before it reads anything."""
    try:
        import jinja2  # noqa: F401
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ConfigurationError(f"HTML pages need matplotlib and Jinja2 ({exc.name} is not "
                                 f"installed): {INSTALL}") from None


# -- charts --------------------------------------------------------------------------------------


def _svg(fig: Any) -> Any:
    """The figure as an inline ``<svg>`` element (Markup: Jinja2 leaves it as it is)."""
    import matplotlib
    from markupsafe import Markup

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "font.size": 9}):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buf.getvalue()
    return Markup(text[text.index("<svg"):])


def trajectory_svg(points: Sequence[analytics.Point], *, predicted: float | None = None,
                   low: float | None = None, high: float | None = None,
                   clock: datetime | None = None, small: bool = False) -> Any:
    """A student's graded percentages over time in a course, and when given, the predicted
    final score as a point with its 95% band after the last one (``clock`` or the last
    point). ``small``: a thumbnail with no axes' labels, for a list of students."""
    require()
    from matplotlib import dates
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1.8, 0.5) if small else (6.4, 2.6))
    ax = fig.add_subplot()
    xs = [float(dates.date2num(p.at)) for p in points]
    ax.plot(xs, [p.percent for p in points], marker="o", markersize=2 if small else 4,
            linewidth=1 if small else 1.5, color="#1f5fa8", label="graded work")
    if predicted is not None:
        start = max([*xs, *([float(dates.date2num(clock))] if clock else [])],
                    default=float(dates.date2num(datetime.now(UTC))))
        end = start + 14  # days
        if low is not None and high is not None:
            ax.fill_between([start, end], [low, low], [high, high], color="#e3a21a",
                            alpha=0.3, linewidth=0, label="95% interval")
        ax.plot([end], [predicted], marker="D", markersize=3 if small else 6,
                color="#b05a00", linestyle="none", label="predicted final")
        if xs:
            ax.plot([xs[-1], end], [points[-1].percent, predicted], linestyle=":",
                    color="#b05a00", linewidth=1)
    ax.set_ylim(0, max(105, *(p.percent + 5 for p in points), (high or 0) + 5))
    ax.xaxis.set_major_formatter(dates.DateFormatter("%b %d"))
    if small:
        ax.set_axis_off()
    else:
        ax.set_ylabel("% of points")
        ax.grid(axis="y", color="#ddd")
        ax.legend(loc="lower left", fontsize=8, frameon=False)
        fig.autofmt_xdate()
    return _svg(fig)


def distribution_svg(distribution: Mapping[str, int]) -> Any:
    """A course's students per band of current score (canvas.course_figures' bands)."""
    require()
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(4.2, 2.2))
    ax = fig.add_subplot()
    bands = [b for b in BANDS if b in distribution] + [b for b in distribution if b not in BANDS]
    counts = [int(distribution[b]) for b in bands]
    bars = ax.bar(bands, counts, color="#1f5fa8")
    ax.bar_label(bars)
    ax.set_ylabel("students")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max([*counts, 1]) * 1.2)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


# -- pages ---------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    """One table cell as text: a list of texts "; "-joined, anything else structured as
    compact JSON, None empty, yes or no, dates to the minute."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return "; ".join(value)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value)


def _render(template: str, **context: Any) -> str:
    require()
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("tracker", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["cell"] = _cell
    env.filters["pct"] = lambda v: "–" if v is None else f"{v:.1f}%"
    env.filters["day"] = lambda v: "" if v is None else f"{v:%Y-%m-%d}"
    return env.get_template(template).render(
        version=__version__, generated=f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC", **context)


def student_page(card: analytics.StudentCard) -> str:
    """A student's card as one HTML page: per course its figures, a trajectory chart with
    the prediction band, the risk and how it moved, missing and late work, score history."""
    require()
    charts = {c.course_id: trajectory_svg(c.graded, predicted=c.predicted_score, low=c.low,
                                          high=c.high, clock=c.clock)
              for c in card.courses if c.graded}
    return _render("student.html", title=card.name, card=card, charts=charts)


def report_page(report: analytics.Report, *,
                trajectories: Mapping[tuple[int, int], Sequence[analytics.Point]] | None = None
                ) -> str:
    """A report of ``sql/reports`` as one HTML page: its rows as a table; for
    course_statistics a distribution chart per course; with ``trajectories`` (the points
    of each (user_id, course_id), e.g. :func:`tracker.analytics.course_momentum`'s) a
    small trajectory beside each of the first :data:`MAX_TRAJECTORIES` rows."""
    require()
    distributions = []
    if report.name == "course_statistics":
        distributions = [(row, distribution_svg(row["score_distribution"] or {}))
                         for row in report.rows if not row.get("suppressed")]
    thumbs: dict[int, Any] = {}
    if trajectories is not None:
        for i, row in enumerate(report.rows[:MAX_TRAJECTORIES]):
            points = trajectories.get((row.get("user_id", 0), row.get("course_id", 0)), ())
            if points:
                thumbs[i] = trajectory_svg(points, small=True)
    return _render("report.html", title=report.name.replace("_", " "), report=report,
                   distributions=distributions, thumbs=thumbs,
                   with_thumbs=trajectories is not None, max_thumbs=MAX_TRAJECTORIES)


def sync_page(result: sync.ChangeReport) -> str:
    """What a sync changed as one HTML page: its counts per table and the grades it moved."""
    require()
    run = result.run
    columns = ["table", *(f.name for f in dataclasses.fields(sync.TableCounts))]
    counts = [{"table": name, **counts} for name, counts in run.counts.items()]
    return _render("sync.html", title=f"sync {run.sync_id}", run=run, counts=counts,
                   columns=columns, changes=result.grade_changes)
